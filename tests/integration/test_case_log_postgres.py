"""The case log on PostgreSQL: the same test bodies as on SQLite."""

from __future__ import annotations

import pytest

from tests.case_log_contract import CaseLogContract

pytestmark = pytest.mark.integration


class TestCaseLogOnPostgres(CaseLogContract):
    @pytest.fixture
    def env(self, pg_env: dict[str, str]) -> dict[str, str]:
        return pg_env
