"""A case named on the command line: a whole id or a unique prefix of one the store holds."""

from __future__ import annotations

import pytest

from hub.errors import InvalidCommandError, NotFoundError
from ops.cli._cases import case_among, resolve_case

A = "5f1c0c1e-0000-5000-8000-000000000001"
B = "5f1c0c1e-9999-5000-8000-000000000002"
C = "7a000000-0000-5000-8000-000000000003"
D = "5f1c0c1e-0000-5000-8000-000000000004"  # shares 35 characters with A


class FakeCases:
    def case_ids(self) -> list[str]:
        return [A, B, C]


NO_ZZZ = "--case: no case id is or starts with 'zzzzzzzz'"


def test_a_unique_prefix_names_its_case() -> None:
    assert resolve_case("7a000000", FakeCases()) == C  # type: ignore[arg-type]
    assert resolve_case("5f1c0c1e-9", FakeCases()) == B  # type: ignore[arg-type]
    assert resolve_case(A, FakeCases()) == A  # type: ignore[arg-type]


def test_a_prefix_of_several_cases_is_invalid_input() -> None:
    with pytest.raises(InvalidCommandError, match="ambiguous"):
        resolve_case("5f1c0c1e", FakeCases(), "--case")  # type: ignore[arg-type]


def test_what_names_no_case_is_invalid_input_and_a_whole_unknown_id_not_found() -> None:
    with pytest.raises(InvalidCommandError, match=NO_ZZZ):
        resolve_case("zzzzzzzz", FakeCases(), "--case")  # type: ignore[arg-type]
    unknown = "00000000-0000-4000-8000-000000000000"  # no case's (the nil UUID is refused as no id)
    with pytest.raises(NotFoundError):
        resolve_case(unknown, FakeCases())  # type: ignore[arg-type]
    with pytest.raises(InvalidCommandError, match="--case: no case"):
        resolve_case(unknown, FakeCases(), "--case", filters=True)  # type: ignore[arg-type]


def test_a_well_formed_prefix_of_no_case_is_not_found_as_a_whole_unknown_id() -> None:
    # README's exit codes: 3 not found. Only text that cannot start an id is invalid input.
    for prefix in ("00000000", "7a000000-1", "5f1c0c1e-0000-5000-8000-0000000009"):
        with pytest.raises(NotFoundError, match="no case id starts with"):
            resolve_case(prefix, FakeCases(), "case")  # type: ignore[arg-type]
    for text in ("zzzzzzzz", "00000000_", "5f1c0c1e0000"):  # not as the hub prints an id
        with pytest.raises(InvalidCommandError):
            resolve_case(text, FakeCases(), "case")  # type: ignore[arg-type]
    with pytest.raises(InvalidCommandError):  # a filter refuses what names nothing
        resolve_case("00000000", FakeCases(), "--case", filters=True)  # type: ignore[arg-type]


def test_a_filter_of_what_kafka_holds_needs_no_store() -> None:
    # An auditor reading audit.consent may hold no store: the ids the stream names decide.
    assert case_among(None, []) is None
    assert case_among(A, []) == A  # a whole id as it is, nothing looked up
    assert case_among("7a000000", [A, B, C]) == C
    with pytest.raises(InvalidCommandError, match="ambiguous"):
        case_among("5f1c0c1e", [A, B, C])
    with pytest.raises(InvalidCommandError, match=NO_ZZZ):
        case_among("zzzzzzzz", [A, B, C])


def test_an_ambiguous_prefix_names_each_match_as_far_as_it_differs() -> None:
    # README's own ids differ only in their last characters: the 12 first told nothing.
    with pytest.raises(InvalidCommandError) as refused:
        case_among("5f1c0c1e-0000", [A, B, C, D])
    assert f"2 match: {A}, {D});" in str(refused.value)
    with pytest.raises(InvalidCommandError) as refused:
        case_among("5f1c0c1e", [A, B, C])
    assert "2 match: 5f1c0c1e-0, 5f1c0c1e-9);" in str(refused.value)


def test_a_whole_id_written_another_way_names_its_case() -> None:
    # Upper case, without hyphens, in braces or as a URN: the id other systems print, and
    # the API takes. Told "no case", an auditor would take a case the hub holds for absent.
    for text in (A.upper(), A.replace("-", ""), "{" + A + "}", f"urn:uuid:{A}"):
        assert resolve_case(text, FakeCases(), "--case") == A  # type: ignore[arg-type]


def test_text_pasted_whole_is_said_back_cut_short() -> None:
    """A page pasted for an id came back whole in the one line of its refusal."""
    with pytest.raises(InvalidCommandError) as refused:
        resolve_case("z" * 10_000, FakeCases(), "--case")  # type: ignore[arg-type]
    assert str(refused.value) == f"--case: no case id is or starts with '{'z' * 40}…'"
