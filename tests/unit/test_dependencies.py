"""What the product imports is installed by ``pip install .`` (the image's Dockerfile), not
only by the development extra the set-up scripts add."""

from __future__ import annotations

import ast
import importlib.util
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


def _imports() -> Iterator[tuple[str, str]]:
    """(file, module) of every import of the product, inside functions too; for ``from a
    import b``, ``a.b`` when that is a module (``a`` may be a namespace of several
    distributions, as ``opentelemetry`` is)."""
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            where = str(path.relative_to(ROOT))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    for alias in node.names:
                        yield where, alias.name
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    yield where, node.module
                    if _ours_or_standard(node.module):
                        continue
                    for alias in node.names:
                        if _is_module(f"{node.module}.{alias.name}"):
                            yield where, f"{node.module}.{alias.name}"


def _ours_or_standard(module: str) -> bool:
    top = module.split(".")[0]
    return top in sys.stdlib_module_names or top in PRODUCT


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ModuleNotFoundError, ValueError):
        return False


def _file_owners() -> dict[Path, str]:
    """Every installed file, by its resolved path, with the distribution that installed it."""
    owners: dict[Path, str] = {}
    for distribution in metadata.distributions():
        for file in distribution.files or ():
            if file.suffix in {".py", ".so", ".pyd"}:
                owners[Path(str(file.locate())).resolve()] = _name(distribution.metadata["Name"])
    return owners


def _provider(module: str, owners: dict[Path, str]) -> str | None:
    """The distribution whose files hold ``module``; "" for a namespace package (its parts
    are checked one by one); None when it is not installed."""
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        return None
    if spec is None:
        return None
    if spec.origin is None or spec.origin == "namespace":
        return ""
    return owners.get(Path(spec.origin).resolve())


# Imported only when asked for, each with the refusal that names it when it is absent.
OPTIONAL = {
    "opentelemetry.exporter.otlp.proto.http.trace_exporter": "HUB_TRACE_EXPORTER=otlp",
}


def test_every_library_the_product_imports_is_a_dependency_of_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    installed = _installed_by(project["dependencies"])
    owners = _file_owners()
    missing = set()
    for where, module in _imports():
        if _ours_or_standard(module) or module in OPTIONAL:
            continue
        provider = _provider(module, owners)
        if provider != "" and provider not in installed:
            missing.add(f"{where}: {module} ({provider or 'not installed'})")
    assert not missing, "imported but only in the dev extra (or nowhere):\n" + "\n".join(
        sorted(missing)
    )


# Libraries the product never imports, used by one it does when they are there.
USED_WHEN_PRESENT = {
    "crc32c": "kafka-python checks fetched batches in C instead of Python",
    "python-multipart": "FastAPI reads the web pages' POST forms with it",
}


def test_libraries_used_only_when_present_are_dependencies_of_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    direct = {_name(Requirement(r).name) for r in project["dependencies"]}
    assert not {name for name in USED_WHEN_PRESENT if _name(name) not in direct}
