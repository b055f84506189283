"""The shipped alert rules are valid for Prometheus and fire when they should (promtool)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "ops" / "prometheus" / "alerts.yml"
CASES = Path(__file__).with_name("alerts_test.yml")


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: ops/setup.sh installs Debian's prometheus", False)
    return found


def test_the_alert_rules_pass_promtool_check_rules() -> None:
    result = subprocess.run(
        [_promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 5 rules found" in result.stdout


def test_the_alerts_fire_on_an_overdue_life_at_risk_referral_a_growing_lag_and_dead_letters() -> (
    None
):
    result = subprocess.run(
        [_promtool(), "test", "rules", str(CASES)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
