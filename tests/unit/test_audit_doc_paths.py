"""docs/AUDIT.md lists every path an access record can name, each with the Japanese label
the pages and the audit page give it (hub/labels.py ``read_field``): the narratives of
ops/case_notes.py, the person's details and an agency's ``note``. It named three narratives
by the form that writes them (見守りの手配, 支援の記録, 評価) instead of their labels
(見守りの手配の内容, 支援の内容, 評価の要旨), and none of the person's fields but the name."""

from __future__ import annotations

from pathlib import Path

from hub.events import PersonDetails
from hub.labels import VOCABULARY
from ops.case_notes import NOTE_FIELDS

AUDIT = " ".join((Path(__file__).parents[2] / "docs" / "AUDIT.md").read_text().split())


def test_every_narrative_path_is_listed_with_its_label() -> None:
    for fields in NOTE_FIELDS.values():
        for _, path in fields:
            assert f"{VOCABULARY['read_field'][path]} `{path}`" in AUDIT, path


def test_every_other_path_a_record_names_is_listed_and_labelled() -> None:
    paths = [f"person.{name}" for name in PersonDetails.model_fields] + ["note"]
    for path in paths:
        assert path in VOCABULARY["read_field"], path
        assert f"`{path}`" in AUDIT, path
