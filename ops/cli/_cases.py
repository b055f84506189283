"""A case named on the command line: a whole id or the short id a table printed (its shortest
unique prefix), resolved against the cases the store holds. Every command that takes a case
goes through here, so a prefix printed by one command is accepted by all of them."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from uuid import UUID

from hub.application import HubApplication
from hub.errors import InvalidCommandError, NotFoundError
from hub.ids import check_not_nil
from hub.prefixes import echoed, id_prefix, resolve_prefix
from hub.settings import get_settings
from ops import wiring
from projections.case_state import CaseStateView
from projections.runner import catch_up


def case_view(app: HubApplication) -> CaseStateView:
    """The case state view, caught up with the log."""
    projection = wiring.open_projection(get_settings(), "case_state")
    catch_up(projection, app)
    view: CaseStateView = projection.view
    return view


def resolve_case(
    text: str, view: CaseStateView, option: str = "case", *, filters: bool = False
) -> str:
    """The whole id of the one case ``text`` names (a whole id or a unique prefix).

    A prefix of several cases, or text that is no case id and no prefix of one, is invalid
    input (exit 2); a well-formed id or prefix of no case is not found (exit 3), as the
    README's exit codes say, except when the option ``filters`` a listing, which refuses what
    names nothing as invalid input."""
    check_not_nil(text, option)
    with suppress(ValueError):
        text = str(UUID(text))  # a whole id as other systems write it (upper case, a URN)
    try:
        return resolve_prefix(text, view.case_ids(), "case")
    except NotFoundError:
        try:
            UUID(text)
        except ValueError:
            if not id_prefix(text) or filters:
                raise InvalidCommandError(
                    f"{option}: no case id is or starts with {echoed(text)}"
                ) from None
            raise NotFoundError(f"{option}: no case id starts with {echoed(text)}") from None
        if filters:
            raise InvalidCommandError(f"{option}: no case {text}") from None
        raise


def named_case(text: str, option: str = "--case", *, filters: bool = False) -> str:
    """The whole id of the case an option names, resolved as ``resolve_case``."""
    with wiring.application(get_settings()) as app:
        return resolve_case(text, case_view(app), option, filters=filters)


def case_among(text: str | None, known: Iterable[str], option: str = "--case") -> str | None:
    """A filter's case resolved against the cases a stream read from Kafka names, not the
    store (an auditor reading ``audit.consent`` may hold none): a whole id as it is, or a
    unique prefix of one of them."""
    if text is None:
        return None
    check_not_nil(text, option)
    try:
        return str(UUID(text))
    except ValueError:
        pass
    try:
        return resolve_prefix(text, set(known), "case")
    except NotFoundError:
        raise InvalidCommandError(f"{option}: no case id is or starts with {text!r}") from None


def case_filter(text: str | None, option: str = "--case") -> str | None:
    """The whole id of the case a filter option names; None when it is not given."""
    return None if text is None else named_case(text, option, filters=True)
