"""The case log on the embedded default store (SQLite file)."""

from __future__ import annotations

import pytest

from tests.case_log_contract import CaseLogContract


class TestCaseLogOnSQLite(CaseLogContract):
    @pytest.fixture
    def env(self, sqlite_env: dict[str, str]) -> dict[str, str]:
        return sqlite_env
