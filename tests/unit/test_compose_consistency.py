"""docker-compose.yml must run the same broker and database as `hub services up`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import yaml

from hub.settings import Settings
from ops.services import kafka

ROOT = Path(__file__).resolve().parents[2]


def _defaults() -> Settings:
    """The settings as shipped: compose pins the (development) defaults, whatever this shell
    exports."""
    return Settings.model_construct(mode="development")


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _compose_broker_properties() -> dict[str, str]:
    text = _compose()["configs"]["kafka_server_properties"]["content"]
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def test_the_compose_broker_has_the_same_security_and_topic_settings():
    # Every setting except where the broker binds and keeps its data must be identical.
    assert {
        key: value
        for key, value in _compose_broker_properties().items()
        if key not in {"listeners", "log.dirs"}
    } == kafka.security_properties(_defaults())


def test_the_compose_broker_listens_on_the_same_ports():
    settings = _defaults()
    compose = _compose_broker_properties()
    ours = kafka.server_properties(settings, kafka.KafkaPaths(Path("/unused")))

    def ports(listeners: str) -> dict[str, str]:
        return {item.split("://")[0]: item.rsplit(":", 1)[1] for item in listeners.split(",")}

    assert ports(compose["listeners"]) == ports(ours["listeners"])
    published = _compose()["services"]["kafka"]["ports"]
    client_port = settings.kafka_bootstrap.rsplit(":", 1)[1]
    assert f"127.0.0.1:{client_port}:{client_port}" in published


def test_the_compose_broker_bootstraps_the_same_scram_user():
    settings = _defaults()
    command = " ".join(_compose()["services"]["kafka"]["command"])
    password = settings.kafka_password.get_secret_value()
    assert f"SCRAM-SHA-512=[name={settings.kafka_user},password={password}]" in command
    assert "--standalone" in command


def test_the_compose_database_matches_the_settings():
    settings = _defaults()
    service = _compose()["services"]["postgres"]
    assert service["image"].startswith("postgres:15")
    assert service["environment"] == {
        "POSTGRES_USER": settings.postgres_user,
        "POSTGRES_PASSWORD": settings.postgres_password.get_secret_value(),
        "POSTGRES_DB": settings.postgres_dbname,
    }
    port = settings.postgres_port
    assert f"{settings.postgres_host}:{port}:5432" in service["ports"]


# The hub's own processes (Dockerfile and the compose services built from it) ---------------

HUB_SERVICES = ("relay", "replies", "escalations", "follow", "agency-tobata-houkatsu", "api")


def _hub_services() -> dict[str, dict]:
    return {
        name: service
        for name, service in _compose()["services"].items()
        if service.get("image") == "kitakyushu-hub"
    }


def _parse(args: list[str]) -> tuple[Any, Any]:
    """The `hub` subcommand ``args`` name, parsed as the real CLI parses them (typer's own
    click: groups are told by their ``commands``)."""
    from ops.cli.main import app

    command = typer.main.get_command(app)
    context = command.make_context("hub", list(args))
    while hasattr(command, "commands"):
        rest = [*context._protected_args, *context.args]
        name, sub, rest = command.resolve_command(context, rest)
        assert sub is not None and name is not None, args
        command, context = sub, sub.make_context(name, rest, parent=context)
    return command, context


def _long_running() -> set[str]:
    """The CLI's commands that take --metrics-port: the processes that run until stopped."""
    from ops.cli.main import app

    found = set()

    def walk(command: Any, path: tuple[str, ...]) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, (*path, name))
        elif any("--metrics-port" in p.opts for p in command.params):
            found.add(" ".join(path))

    walk(typer.main.get_command(app), ())
    return found


def test_compose_runs_every_long_running_process_with_a_command_the_cli_accepts():
    services = _hub_services()
    assert set(services) == {"provision", *HUB_SERVICES}
    run = set()
    for name, service in services.items():
        command, context = _parse(service["command"])
        assert command.callback is not None, name
        run.add(context.command_path.removeprefix("hub "))
    assert _long_running() == {
        "relay",
        "agency run",
        "replies run",
        "escalations run",
        "follow",
        "serve",
    }
    assert _long_running() <= run


def test_each_hub_service_serves_metrics_on_its_own_port_and_prometheus_scrapes_them_all():
    ports = {
        name: int(_hub_services()[name]["environment"]["HUB_METRICS_PORT"]) for name in HUB_SERVICES
    }
    assert len(set(ports.values())) == len(ports)
    config = yaml.safe_load(_compose()["configs"]["prometheus_config"]["content"])
    scraped = {
        target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    assert scraped == {f"127.0.0.1:{port}" for port in ports.values()}
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    mounts = _compose()["services"]["prometheus"]["volumes"]
    assert "./ops/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in mounts


def test_the_hub_services_set_only_settings_the_hub_reads_and_never_a_secret():
    from consumers.config import ConsumerSettings

    known = {f"HUB_{name.upper()}" for name in Settings.model_fields} | {
        f"HUB_{name.upper()}" for name in ConsumerSettings.model_fields
    }
    for name, service in _hub_services().items():
        environment = service["environment"]
        assert set(environment) <= known, name
        assert environment["HUB_MODE"] == "development"  # production needs secrets given
        assert not {k for k in environment if "PASSWORD" in k or "SECRET" in k or "KEY" in k}


def test_the_image_installs_the_packages_the_project_declares_and_runs_hub():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dockerfile = (ROOT / "Dockerfile").read_text()
    base = next(line for line in dockerfile.splitlines() if line.startswith("FROM "))
    version = base.split(":")[1].split("-")[0]
    assert project["project"]["requires-python"] == ">=3.11" and version >= "3.11"
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    for folder in [*packages, "schemas"]:  # the codec reads schemas/ beside the packages
        assert f"COPY {folder} ./{folder}" in dockerfile, folder
    assert "pip install -e ." in dockerfile
    assert project["project"]["scripts"] == {"hub": "ops.cli.main:app"}
    assert 'ENTRYPOINT ["hub"]' in dockerfile
    assert "USER hub" in dockerfile
