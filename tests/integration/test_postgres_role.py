"""The hub's role is given a SCRAM verifier made from its password, never the password
itself (`ops/services/postgres.py`), and logs in with that password over TCP. A private
server checks TCP logins with SCRAM (the shared one is never re-provisioned by a test)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from hub.errors import PasswordRefusedError
from hub.settings import Settings
from ops.services import postgres
from tests.faults.private_postgres import private_postgres

# ASCII, then text that SASLprep changes (full-width letters and an ideographic space become
# ASCII under NFKC), then quotes and a backslash beside kanji.
PASSWORDS = [
    "shiken-ascii-only-0123456789-abcdef",
    "Ｓｈｉｋｅｎ　ｐａｓｓ",
    "試験の'秘密\"です\\（架空）",
]


def _settings(port: int, password: str, role: str = "hub_role_probe") -> Settings:
    return Settings(
        mode="production",
        store="postgres",
        postgres_host="127.0.0.1",
        postgres_port=port,
        postgres_user=role,
        postgres_dbname=role,
        postgres_password=SecretStr(password),
    )


def test_the_role_logs_in_with_its_password_and_not_another() -> None:
    with private_postgres(host_auth="scram-sha-256") as server:
        for n, password in enumerate(PASSWORDS):
            settings = _settings(server.port, password, f"hub_role_probe_{n}")
            server.script(postgres.provision_sql(settings))
            postgres.check_login(settings)
            wrong = _settings(server.port, password + "x", settings.postgres_user)
            with pytest.raises(PasswordRefusedError):
                postgres.check_login(wrong)
