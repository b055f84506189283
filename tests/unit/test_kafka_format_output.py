"""A failed broker format shows the storage tool's output without the super user's
credential: the tool is given the salted password (enough to log in with SCRAM), and one
that echoes its argument would have put it on the terminal and in the journal."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from hub.settings import Settings
from ops.services.kafka import _scram_credential, without_credential


def test_the_credential_is_masked_in_a_failed_formats_output() -> None:
    settings = Settings(
        mode="development", var_dir=Path("/unused"), kafka_password=SecretStr("試験-pass-1234")
    )
    scram = _scram_credential(settings)
    echoed = f"Error while parsing --add-scram {scram}: 試験-pass-1234 refused\n"

    shown = without_credential(echoed, settings)

    salted = scram.split("saltedpassword=")[1].split(",")[0]
    salt = scram.split("salt=")[1].split(",")[0]
    assert salted not in shown and salt not in shown and "試験-pass-1234" not in shown
    assert "saltedpassword=***" in shown and "name=" in shown  # the rest stays readable
