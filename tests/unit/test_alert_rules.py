"""The shipped alert rules are valid for Prometheus and fire when they should (promtool)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

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
    assert "SUCCESS: 8 rules found" in result.stdout


def test_the_alerts_fire_on_an_overdue_life_at_risk_referral_a_growing_lag_and_dead_letters() -> (
    None
):
    result = subprocess.run(
        [_promtool(), "test", "rules", str(CASES)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _rules() -> list[dict]:
    return yaml.safe_load(RULES.read_text())["groups"][0]["rules"]


def test_each_alert_has_a_promtool_case_that_expects_it_to_fire_and_a_row_in_the_doc() -> None:
    cases = yaml.safe_load(CASES.read_text())["tests"]
    fired = {
        check["alertname"]
        for case in cases
        for check in case.get("alert_rule_test", [])
        if check.get("exp_alerts")
    }
    doc = (ROOT / "docs" / "METRICS.md").read_text()
    documented = set(re.findall(r"^\| `(\w+)` \|", doc, re.MULTILINE))
    alerts = {rule["alert"] for rule in _rules()}
    assert alerts <= fired
    assert alerts <= documented


def test_the_down_alerts_name_every_job_the_compose_prometheus_scrapes_and_no_other() -> None:
    # `up{job=...}` matches the scrape job's name: a job named otherwise is never alerted on.
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    config = yaml.safe_load(compose["configs"]["prometheus_config"]["content"])
    scraped = {job["job_name"] for job in config["scrape_configs"]}
    named: list[str] = []
    for rule in _rules():
        for matcher in re.findall(r'up\{job=~?"([^"]+)"\}', rule["expr"]):
            named.extend(matcher.split("|"))
    assert sorted(named) == sorted(scraped)  # each job once
    doc = (ROOT / "docs" / "METRICS.md").read_text()
    for job in scraped:
        assert f"`{job}`" in doc, job
