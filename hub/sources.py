"""A digest of source files: what keys state written by code (the relay's stored governance
state, the benchmarks' logs) to the code that wrote it, so other code never reads it back."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path


def source_digest(root: Path, patterns: Iterable[str], *, salt: str = "") -> str:
    """SHA-256 (hex) of ``salt`` and every file under ``root`` matching ``patterns``, each with
    its path, in path order."""
    digest = hashlib.sha256(salt.encode())
    for path in sorted({p for pattern in patterns for p in root.glob(pattern)}):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
