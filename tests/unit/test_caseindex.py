"""Which cases a stored row is indexed under (``hub.caseindex.references``), at the edges
of what the stored bytes show."""

from __future__ import annotations

import json
import zlib
from uuid import uuid4

from hub.caseindex import EVERY_CASE, references

OWN, OTHER, THIRD = uuid4(), uuid4(), uuid4()


def _state(type_name: str, **data: object) -> bytes:
    payload = {"_type_": type_name, "_data_": data}
    return json.dumps({"originator_topic": "x", "payload": payload}, separators=(",", ":")).encode()


def test_a_cases_own_event_is_found_by_its_stream_not_the_index() -> None:
    assert references(OWN, _state("OutreachVisitMade", case_id=str(OWN))) == set()
    assert references(OWN.hex, _state("OutreachVisitMade", case_id=str(OWN))) == set()


def test_a_row_naming_other_cases_is_indexed_under_each() -> None:
    meeting = _state("MeetingHeld", case_ids=[str(OTHER), str(THIRD)])
    assert references(OWN, meeting) == {str(OTHER), str(THIRD)}
    linked = _state("DiscoveryLinkedToCase", discovery_id=str(OWN), case_id=OTHER.hex)
    assert references(OWN, linked) == {str(OTHER)}  # any spelling of the id, canonical
    spaced = b'{"payload":{"_type_":"DiscoveryLinkedToCase","_data_":{"case_id" : "%s"}}}'
    assert references(OWN, spaced % str(OTHER).encode()) == {str(OTHER)}


def test_the_networks_rows_and_rows_that_do_not_show_their_type_are_every_cases() -> None:
    assert references(OWN, _state("AgencyRegistered", agency_id="a")) == {EVERY_CASE}
    assert references(OWN, zlib.compress(_state("MeetingHeld", case_ids=[str(OTHER)]))) == {
        EVERY_CASE
    }
    assert references(OWN, b"") == {EVERY_CASE}
    assert references(OWN, b'{"payload":{"_type_":"Unterminated') == {EVERY_CASE}


def test_fields_that_only_look_like_a_case_id_index_nothing() -> None:
    assert references(OWN, _state("CommandAccepted", command_id=str(OTHER))) == set()
    assert references(OWN, _state("ConsentGiven", case_id="not-a-uuid")) == set()
    assert references(OWN, _state("MeetingHeld", case_ids=[])) == set()


def test_a_case_field_in_a_form_not_read_here_is_every_cases() -> None:
    """Errs wide, never narrow: a case id encoded otherwise (an object, a number) cannot
    be read by the index, so every case's replay reads the row and decodes it."""
    encoded = b'"case_id":{"_type_":"uuid_hex","_data_":"%s"}' % OTHER.hex.encode()
    state = b'{"payload":{"_type_":"MeetingHeld","_data_":{' + encoded + b"}}}"
    assert references(OWN, state) == {EVERY_CASE}
    assert references(OWN, _state("MeetingHeld", case_ids=7)) == {EVERY_CASE}
    assert references(OWN, _state("DiscoveryReported", case_id=None)) == set()  # null: none
