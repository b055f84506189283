"""When a consent is in force: the one rule the case and governance both apply.

(The auditor's replay, projections/audit/, keeps its own on purpose: a second implementation
that must agree.)
"""

from __future__ import annotations

from datetime import datetime


def in_force(valid_from: datetime, valid_until: datetime, withdrawn: bool, at: datetime) -> bool:
    """From ``valid_from`` (inclusive) until ``valid_until`` (exclusive), unless withdrawn."""
    return not withdrawn and valid_from <= at < valid_until
