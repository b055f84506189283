"""The key-encryption key's rotation on PostgreSQL (the SQLite store and the command:
`tests/unit/test_kek_rotation.py`): the key table locked, every live key wrapped anew in
one transaction, a second rotation wrapping nothing."""

from __future__ import annotations

from typing import Any

import pytest

from hub.application import HubApplication
from hub.keys import LocalKeyWrapper, Rewrapped
from tests import factories as f

OLD = "試験の旧い鍵暗号化鍵-0123456789-abcdefghij"
NEW = "試験の新しい鍵暗号化鍵-9876543210-zyxwvutsrq"

pytestmark = pytest.mark.integration


def test_postgres_keys_move_to_the_new_kek_once(pg_env: dict[str, Any]) -> None:
    before = HubApplication(env={**pg_env, "HUB_KEK": OLD})
    try:
        case_id = before.execute(f.consultation(person=f.person())).aggregate_ids[0]
    finally:
        before.close()
    after = HubApplication(env={**pg_env, "HUB_KEK": NEW})
    try:
        assert after.rewrap_data_keys(LocalKeyWrapper(OLD.encode())) == Rewrapped(1, 0, 0)
        assert after.rewrap_data_keys(LocalKeyWrapper(OLD.encode())) == Rewrapped(0, 1, 0)
    finally:
        after.close()
    reader = HubApplication(env={**pg_env, "HUB_KEK": NEW})
    try:
        person = reader.get_case(case_id).person
        assert person is not None and person.name == f.SYNTHETIC_NAME
    finally:
        reader.close()
