"""Dependencies point inward, and the parts are built in one place (ops/wiring.py).

Every import counts, including the ones inside functions: a lazy import that runs back up
the layers is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("hub", "projections", "producers", "consumers", "ops")
MAY_IMPORT = {
    "hub": {"hub"},
    "projections": {"hub", "projections"},
    "producers": {"hub", "producers"},
    "consumers": {"hub", "consumers"},
}
# What only the composition root constructs (ops/wiring.py); the classes' own modules and
# the benchmark's instrumented subclass aside.
BUILT_BY_WIRING = {"HubApplication", "Relay", "AgencyConsumer", "ReplyIngester"}


def _modules(package: str) -> Iterator[Path]:
    yield from sorted((ROOT / package).rglob("*.py"))


def _imported(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_no_import_runs_back_up_the_layers() -> None:
    wrong = []
    for package, allowed in MAY_IMPORT.items():
        for path in _modules(package):
            for name in _imported(ast.parse(path.read_text(encoding="utf-8"))):
                top = name.split(".")[0]
                if top in PRODUCT and top not in allowed:
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


def test_only_the_composition_root_builds_the_parts() -> None:
    built = []
    for package in PRODUCT:
        for path in _modules(package):
            where = path.relative_to(ROOT).as_posix()
            if where == "ops/wiring.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in BUILT_BY_WIRING
                ):
                    built.append(f"{where}:{node.lineno} builds {node.func.id}")
    assert built == []


def test_there_is_one_composition_root() -> None:
    assert not (ROOT / "hub" / "bootstrap.py").exists()
    assert (ROOT / "ops" / "wiring.py").is_file()


def test_fault_injection_lives_with_the_tests_not_in_the_shipped_package() -> None:
    assert not (ROOT / "ops" / "faults").exists()
    assert (ROOT / "tests" / "faults" / "kill.py").is_file()
