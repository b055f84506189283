"""The demo's table ④ files (CSV, Excel, chart) lie in its home, a var folder whose files
are 0600 whatever the umask (README, HUB_VAR_DIR), as the store and inboxes beside them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hub.settings import Settings
from ops import wiring
from ops.demo.pipeline import DemoOptions, DemoOutcome, _projections


def test_the_demos_indicator_files_are_private_under_umask_022(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    settings = Settings(mode="development", var_dir=home, sqlite_path=home / "hub.sqlite")
    before = os.umask(0o022)
    try:
        app = wiring.open_application(settings, "sqlite")
        try:
            _projections(DemoOutcome(DemoOptions(home=home), settings), app, lambda *_: None)
        finally:
            app.close()
    finally:
        os.umask(before)
    written = sorted(home.glob("indicators-R7.*"))
    assert [p.suffix for p in written] == [".csv", ".png", ".xlsx"]
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in written} == {
        p.name: "0o600" for p in written
    }
