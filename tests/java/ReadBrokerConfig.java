// Reads a broker's server.properties as the broker does (Utils.loadProps) and each listener's
// JAAS login options as the broker does (JaasContext.loadServerContext), and prints them one
// a line, each value in Base64 of its UTF-8 (a PEM value holds line breaks):
//   property\t<name>\t<value>    and    jaas\t<listener>\t<option>\t<value>
// Run by tests/integration/test_broker_config.py with `java` single-file source launch and
// the broker's jars:  java -cp '<kafka lib>/*' ReadBrokerConfig.java server.properties
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.security.auth.login.AppConfigurationEntry;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.common.network.ListenerName;
import org.apache.kafka.common.security.JaasContext;
import org.apache.kafka.common.utils.Utils;

public class ReadBrokerConfig {
    static String b64(Object value) {
        return Base64.getEncoder().encodeToString(value.toString().getBytes(StandardCharsets.UTF_8));
    }

    public static void main(String[] args) throws Exception {
        Properties props = Utils.loadProps(args[0]);
        Pattern jaas = Pattern.compile("listener\\.name\\.([^.]+)\\.([^.]+)\\.sasl\\.jaas\\.config");
        for (String name : props.stringPropertyNames()) {
            System.out.println("property\t" + name + "\t" + b64(props.getProperty(name)));
            Matcher m = jaas.matcher(name);
            if (!m.matches()) {
                continue;
            }
            // The broker hands each listener its own settings, the listener's prefix taken off.
            Map<String, Object> configs = new HashMap<>();
            configs.put(m.group(2) + ".sasl.jaas.config", new Password(props.getProperty(name)));
            JaasContext context = JaasContext.loadServerContext(
                    new ListenerName(m.group(1).toUpperCase()), m.group(2).toUpperCase(), configs);
            for (AppConfigurationEntry entry : context.configurationEntries()) {
                for (Map.Entry<String, ?> option : entry.getOptions().entrySet()) {
                    System.out.println(
                            "jaas\t" + m.group(1) + "\t" + option.getKey() + "\t" + b64(option.getValue()));
                }
            }
        }
    }
}
