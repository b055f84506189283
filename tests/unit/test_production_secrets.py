"""Attacker's view of the secrets: the public development defaults are refused in production.

The defaults of every secret are in the source, so anyone who read it could log in as any
principal or link the analysts' pseudonyms back. Outside ``HUB_MODE=development`` (never the
default) every secret the hub uses must be set to a value of one's own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from hub.errors import InsecureSecretError
from hub.kafka_config import client_config
from hub.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SECRETS = [name for name, f in Settings.model_fields.items() if f.annotation is SecretStr]
REAL = {name: SecretStr(f"試験-{name}-0123456789abcdef0123456789abcdef") for name in SECRETS}


def production(**update: object) -> Settings:
    values: dict[str, object] = {"mode": "production", "store": "postgres", **REAL, **update}
    return Settings(**values)  # type: ignore[arg-type]


def test_production_is_the_default_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_MODE", raising=False)
    assert Settings().mode == "production"


def test_the_known_secrets_are_all_checked() -> None:
    assert {"provisioning_secret", "pseudonym_key", "kafka_password", "postgres_password"} <= set(
        SECRETS
    )


@pytest.mark.parametrize("name", SECRETS)
def test_a_default_secret_is_refused_naming_its_variable(name: str) -> None:
    default = Settings.model_fields[name].default
    settings = production(**{name: default})
    with pytest.raises(InsecureSecretError) as refused:
        settings.require_secrets()
    message = str(refused.value)
    # HUB_KEK has no public default: development makes a key file of its own instead.
    why = "is the public development default" if default.get_secret_value() else "is missing"
    assert f"HUB_{name.upper()} {why}" in message
    assert "\n" not in message
    assert [n for n in SECRETS if f"HUB_{n.upper()}" in message] == [name]
    with pytest.raises(InsecureSecretError):
        settings.secret(name)


@pytest.mark.parametrize("value", ["", "   "])
@pytest.mark.parametrize("name", SECRETS)
def test_a_missing_secret_is_refused_naming_its_variable(name: str, value: str) -> None:
    with pytest.raises(InsecureSecretError, match=f"HUB_{name.upper()} is missing"):
        production(**{name: SecretStr(value)}).require_secrets()


@pytest.mark.parametrize("name", [n for n in SECRETS if n != "kek"])  # HUB_KEK has none
def test_a_default_in_another_case_or_with_spaces_around_is_refused(name: str) -> None:
    default = Settings.model_fields[name].default.get_secret_value()
    disguised = SecretStr(f" \t{default.upper()}  ")
    with pytest.raises(InsecureSecretError, match=f"HUB_{name.upper()} is the public"):
        production(**{name: disguised}).require_secrets()


# Each secret's public default, given as another secret (but HUB_KEK's, which is empty).
OTHERS = [
    (name, Settings.model_fields[owner].default.get_secret_value())
    for name in SECRETS
    for owner in SECRETS
    if owner not in (name, "kek")
]


@pytest.mark.parametrize(("name", "default"), OTHERS)
def test_the_public_default_of_another_secret_is_refused(name: str, default: str) -> None:
    # "dev-only-pseudonym-key-change-me" is 32 bytes: as HUB_KEK it was taken for a secret.
    with pytest.raises(InsecureSecretError) as refused:
        production(**{name: SecretStr(f" {default.upper()}")}).require_secrets()
    message = str(refused.value)
    assert f"HUB_{name.upper()} is the public development default of another secret" in message
    assert [n for n in SECRETS if f"HUB_{n.upper()}" in message] == [name]


@pytest.mark.parametrize("value", ["q", "x" * 31, " " + "x" * 31 + " ", "試験" * 5 + "1"])
@pytest.mark.parametrize("name", SECRETS)
def test_a_secret_shorter_than_32_bytes_is_refused_naming_its_variable(
    name: str, value: str
) -> None:
    with pytest.raises(InsecureSecretError) as refused:
        production(**{name: SecretStr(value)}).require_secrets()
    message = str(refused.value)
    assert f"HUB_{name.upper()} is shorter than 32 bytes" in message
    assert [n for n in SECRETS if f"HUB_{n.upper()}" in message] == [name]
    assert "\n" not in message


def test_a_secret_of_32_bytes_is_long_enough() -> None:
    production(
        kek=SecretStr("0123456789abcdef" + "fedcba9876543210"),
        pseudonym_key=SecretStr("試験" * 5 + "123456"),
    ).require_secrets()


@pytest.mark.parametrize(
    "value", ["x" * 32, "passwordpasswordpasswordpassword", "ab" * 40, " 試験" * 11]
)
@pytest.mark.parametrize("name", SECRETS)
def test_a_long_secret_of_few_characters_is_refused_naming_its_variable(
    name: str, value: str
) -> None:
    with pytest.raises(InsecureSecretError) as refused:
        production(**{name: SecretStr(value)}).require_secrets()
    message = str(refused.value)
    assert f"HUB_{name.upper()} has fewer than 8 different characters" in message
    assert [n for n in SECRETS if f"HUB_{n.upper()}" in message] == [name]


@pytest.mark.parametrize(
    "value", ["kitakyushu" * 4, "0123456789abcdef" * 2, "Kitakyushu-試験-" * 3]
)
def test_a_secret_of_one_piece_repeated_is_refused_without_naming_the_piece(value: str) -> None:
    """Eight different letters or more, so the count of characters let a word written four
    times through."""
    with pytest.raises(InsecureSecretError) as refused:
        production(kek=SecretStr(value)).require_secrets()
    message = str(refused.value)
    assert "HUB_KEK is one piece repeated" in message
    assert value[:8] not in message


def test_one_value_for_two_secrets_is_refused_naming_both() -> None:
    shared = SecretStr(" 試験-shared-0123456789abcdef0123456789abcdef")
    with pytest.raises(InsecureSecretError) as refused:
        production(kek=shared, pseudonym_key=shared).require_secrets()
    message = str(refused.value)
    assert "HUB_KEK is the same as HUB_PSEUDONYM_KEY" in message
    assert "HUB_PSEUDONYM_KEY is the same as HUB_KEK" in message
    assert shared.get_secret_value().strip() not in message


def test_short_secrets_are_accepted_in_development_mode() -> None:
    Settings(
        mode="development", kek=SecretStr("q"), kafka_password=SecretStr("x")
    ).require_secrets()


def test_a_missing_secret_in_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_MODE", "production")
    for name in SECRETS:
        monkeypatch.setenv(f"HUB_{name.upper()}", REAL[name].get_secret_value())
    monkeypatch.setenv("HUB_PSEUDONYM_KEY", "")
    with pytest.raises(InsecureSecretError, match="HUB_PSEUDONYM_KEY is missing"):
        Settings().eventsourcing_env()


def test_proper_secrets_start(tmp_path: Path) -> None:
    settings = production(store="sqlite", sqlite_path=tmp_path / "hub.sqlite")
    settings.require_secrets()
    assert settings.eventsourcing_env()["SQLITE_DBNAME"] == str(tmp_path / "hub.sqlite")
    password = client_config(settings)["sasl_plain_password"]
    assert password == REAL["kafka_password"].get_secret_value()
    assert settings.secret("pseudonym_key") == REAL["pseudonym_key"].get_secret_value()


def test_the_hub_store_and_the_super_user_need_every_secret(tmp_path: Path) -> None:
    settings = production(
        store="sqlite", sqlite_path=tmp_path / "hub.sqlite", provisioning_secret=SecretStr("")
    )
    with pytest.raises(InsecureSecretError, match="HUB_PROVISIONING_SECRET"):
        settings.eventsourcing_env()
    assert not (tmp_path / "hub.sqlite").exists()
    with pytest.raises(InsecureSecretError, match="HUB_PROVISIONING_SECRET"):
        client_config(settings)


def test_an_agency_client_needs_only_its_own_password() -> None:
    agency = Settings(
        mode="production",
        kafka_user="moji.houkatsu",
        kafka_password=SecretStr("試験-agency-password-0123456789abcdef"),
    )
    config = client_config(agency, "moji.houkatsu", agency.secret("kafka_password"))
    assert config["sasl_plain_username"] == "moji.houkatsu"
    with pytest.raises(InsecureSecretError, match="HUB_PROVISIONING_SECRET"):
        agency.principal_password("moji.houkatsu")


def test_the_postgres_password_counts_where_postgres_is_used() -> None:
    on_sqlite = production(store="sqlite", postgres_password=SecretStr("hub"))
    on_sqlite.require_secrets()
    with pytest.raises(InsecureSecretError, match="HUB_POSTGRES_PASSWORD"):
        on_sqlite.postgres_connection()
    with pytest.raises(InsecureSecretError, match="HUB_POSTGRES_PASSWORD"):
        production(postgres_password=SecretStr("hub")).require_secrets()


def test_a_secret_added_later_is_covered_without_a_list() -> None:
    class Later(Settings):
        webhook_token: SecretStr = SecretStr("dev-only-webhook-token")

    with pytest.raises(InsecureSecretError, match="HUB_WEBHOOK_TOKEN is the public"):
        Later(mode="production", **REAL).require_secrets()  # type: ignore[arg-type]
    Later(
        mode="production", webhook_token=SecretStr("試験-token-0123456789abcdef0123456789"), **REAL
    ).require_secrets()  # type: ignore[arg-type]


def test_development_mode_accepts_the_defaults() -> None:
    settings = Settings(mode="development")
    settings.require_secrets()
    assert settings.secret("provisioning_secret") == "dev-only-provisioning-secret"


@pytest.mark.parametrize("script", ["ops/run-main.sh", "ops/run-tests.sh"])
def test_the_readme_commands_say_development_mode(script: str) -> None:
    text = (ROOT / script).read_text()
    assert "\nexport HUB_MODE=development\n" in text
    assert text.index("export HUB_MODE=development") < text.index("ops/setup.sh")


# A default of 8 characters or more, edited rather than replaced ("…-change-me" with the
# year added): still the public text, with a guessable end.
DEFAULTS = sorted(
    {
        value
        for f in Settings.model_fields.values()
        if isinstance(f.default, SecretStr) and len(value := f.default.get_secret_value()) >= 8
    }
)


@pytest.mark.parametrize("default", DEFAULTS)
@pytest.mark.parametrize("name", SECRETS)
def test_a_public_default_with_something_added_is_refused(name: str, default: str) -> None:
    for edited in (f"{default}-2026-kitakyushu", f"Prod_{default.upper()}_試験"):
        with pytest.raises(InsecureSecretError) as refused:
            production(**{name: SecretStr(edited)}).require_secrets()
        message = str(refused.value)
        assert f"HUB_{name.upper()} holds a public development default" in message
        assert [n for n in SECRETS if f"HUB_{n.upper()}" in message] == [name]
        assert edited not in message and default not in message


def test_a_short_default_inside_a_random_secret_is_no_default() -> None:
    """``hub`` (the PostgreSQL password's default) is three letters: a random secret holds
    it by chance, and is no edit of it."""
    production(postgres_password=SecretStr("q7HUBx2Lm9Vd4RtY8kWp3ZsN6bJc1FgA")).require_secrets()


@pytest.mark.parametrize("around", [(" ", ""), ("", "\n"), ("\t", ""), ("", "\r\n"), ("　", "")])
@pytest.mark.parametrize("name", SECRETS)
def test_a_strong_secret_with_whitespace_around_it_is_refused_as_written(
    name: str, around: tuple[str, str]
) -> None:
    """Checked stripped, used raw: a secret passed the checks on its stripped form while the
    hub keyed with, or logged in by, the value as written (a line break `echo` left, an env
    file's stray space). Refused naming its variable, never the value; the same value without
    it starts, and development takes it as it takes any secret."""
    strong = REAL[name].get_secret_value()
    written = SecretStr(f"{around[0]}{strong}{around[1]}")
    with pytest.raises(InsecureSecretError) as refused:
        production(**{name: written}).require_secrets()
    message = str(refused.value)
    assert f"HUB_{name.upper()} has whitespace or a line break around it" in message
    assert [n for n in SECRETS if f"HUB_{n.upper()}" in message] == [name]
    assert strong not in message
    production(**{name: SecretStr(strong)}).require_secrets()
    Settings(mode="development", **{name: written}).require_secrets()  # type: ignore[arg-type]


def test_a_key_encryption_key_with_a_line_break_from_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in REAL.items():
        monkeypatch.setenv(f"HUB_{name.upper()}", value.get_secret_value())
    monkeypatch.setenv("HUB_MODE", "production")
    monkeypatch.setenv("HUB_KEK", REAL["kek"].get_secret_value() + "\n")
    with pytest.raises(InsecureSecretError, match="HUB_KEK has whitespace"):
        Settings().secret("kek")
