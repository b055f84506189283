"""What the product imports is installed by ``pip install .`` (the image's Dockerfile), not
only by the development extra the set-up scripts add."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("hub", "projections", "producers", "consumers", "ops")


def _name(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _installed_by(requirements: list[str]) -> set[str]:
    """The distributions ``requirements`` install here, theirs included: a requirement
    whose marker does not hold (another Python, an extra not asked for) installs nothing."""
    seen: set[str] = set()
    pending = [(Requirement(r), "") for r in requirements]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = _name(requirement.name)
        asked = {(name, e) for e in ("", *requirement.extras)}
        if asked <= seen:
            continue
        seen |= asked
        for needed in metadata.requires(name) or []:
            pending += [(Requirement(needed), e) for e in ("", *requirement.extras)]
    return {name for name, _extra in seen}


def _top_level_imports() -> Iterator[tuple[str, str]]:
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    yield str(path.relative_to(ROOT)), name.split(".")[0]


def test_every_library_the_product_imports_is_a_dependency_of_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    installed = _installed_by(project["dependencies"])
    providers = metadata.packages_distributions()
    missing = sorted(
        f"{where}: {module} ({', '.join(providers.get(module, ['not installed']))})"
        for where, module in set(_top_level_imports())
        if module not in sys.stdlib_module_names
        and module not in PRODUCT
        and not {_name(d) for d in providers.get(module, [])} & installed
    )
    assert not missing, "imported but only in the dev extra (or nowhere):\n" + "\n".join(missing)
