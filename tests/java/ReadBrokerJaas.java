// Reads a broker's server.properties as the broker does (Utils.loadProps) and each listener's
// JAAS login options as the broker does (JaasContext.loadServerContext), and prints them as
// UTF-8, one option per line: <listener>\t<option>\t<value>. Run by tests/integration/
// test_broker_config.py with `java` single-file source launch and the broker's jars:
//   java -cp '<kafka lib>/*' ReadBrokerJaas.java server.properties
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
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

public class ReadBrokerJaas {
    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        Properties props = Utils.loadProps(args[0]);
        Pattern key = Pattern.compile("listener\\.name\\.([^.]+)\\.([^.]+)\\.sasl\\.jaas\\.config");
        for (String name : props.stringPropertyNames()) {
            Matcher m = key.matcher(name);
            if (!m.matches()) {
                continue;
            }
            // The broker hands each listener its own settings, the listener's prefix taken off.
            Map<String, Object> configs = new HashMap<>();
            configs.put(m.group(2) + ".sasl.jaas.config", new Password(props.getProperty(name)));
            String mechanism = m.group(2).toUpperCase();
            JaasContext context = JaasContext.loadServerContext(
                    new ListenerName(m.group(1).toUpperCase()), mechanism, configs);
            for (AppConfigurationEntry entry : context.configurationEntries()) {
                for (Map.Entry<String, ?> option : entry.getOptions().entrySet()) {
                    out.println(m.group(1) + "\t" + option.getKey() + "\t" + option.getValue());
                }
            }
        }
    }
}
