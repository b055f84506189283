"""Ids as people type them back: the shortest prefix that tells one id from the others
shown, and the one id a typed prefix names (the CLI, the agency client)."""

from __future__ import annotations

from collections.abc import Iterable

from hub.errors import InvalidCommandError, NotFoundError

SHORT = 8
ECHOED = 40  # characters of a typed id said back in a refusal (a pasted page is not)


def echoed(text: str) -> str:
    """``text`` as a refusal says it back: quoted, cut after ``ECHOED`` characters."""
    return repr(text if len(text) <= ECHOED else text[:ECHOED] + "…")


def short_ids(ids: Iterable[str], length: int = SHORT) -> dict[str, str]:
    """Each id → its shortest prefix (at least ``length``) unique among ``ids``."""
    unique = sorted(set(ids))
    result: dict[str, str] = {}
    for index, full in enumerate(unique):
        n = length
        neighbours = unique[max(0, index - 1) : index] + unique[index + 1 : index + 2]
        while n < len(full) and any(other.startswith(full[:n]) for other in neighbours):
            n += 1
        result[full] = full[:n]
    return result


def resolve_prefix(prefix: str, ids: Iterable[str], what: str) -> str:
    """The one id starting with ``prefix``; NotFoundError or InvalidCommandError otherwise."""
    text = prefix.strip().lower()
    matches = sorted({i for i in ids if i.lower().startswith(text)}) if text else []
    if not matches:
        raise NotFoundError(f"no {what} {echoed(prefix)}")
    if len(matches) > 1:
        # Each as far as it differs from the others, so one of them can be typed back.
        prefixes = short_ids(matches, max(SHORT, len(text) + 1))
        shown = ", ".join(prefixes[m] for m in matches[:5]) + ("…" if len(matches) > 5 else "")
        raise InvalidCommandError(
            f"{what} prefix {echoed(prefix)} is ambiguous ({len(matches)} match: {shown}); "
            "give more characters"
        )
    return matches[0]


_UUID_SHAPE = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"


def id_prefix(text: str) -> bool:
    """Whether ``text`` is the start of an id as the hub prints one (hex digits and hyphens
    where a UUID has them): such text naming nothing is not found (exit 3), other text is
    invalid input (exit 2)."""
    text = text.strip().lower()
    if not text or len(text) > len(_UUID_SHAPE):
        return False
    return all(
        (c == "-") if shape == "-" else c in "0123456789abcdef"
        for c, shape in zip(text, _UUID_SHAPE, strict=False)
    )
