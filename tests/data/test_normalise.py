"""normalise_record: raw records of every shape become the figure columns; nothing is lost, bad fields are row errors.

Records are the real clinician demonstrations and fixture records; the few hand-written ones carry
synthetic, labelled stand-in text.
"""

from __future__ import annotations

import json

from biomed_vital.data.normalise import (
    MODALITY_TEXT_KEY,
    MORE_IMAGES_KEY,
    READ_FIELDS,
    normalise_record,
)
from biomed_vital.data.records import DOMAIN_GROUP_KEY, PARSE_ERROR_KEY, RawRecord
from tests.data.conftest import demonstrations, fixture_records


def _normalise(record, *, use_pair_id_image: bool = False, location: str = "item 0") -> dict:
    return normalise_record(
        RawRecord(0, location, record),
        origin="source.json",
        use_pair_id_image=use_pair_id_image,
        image_suffix=".jpg",
    )


def test_a_clinician_demonstration_becomes_figure_columns_without_loss(clinician_demonstrations_path):
    record = demonstrations(clinician_demonstrations_path)[0]
    row = _normalise(record)
    assert row["_errors"] == []
    assert row["id"] == str(record["id"]) and row["caption"] == record["fig_caption"]
    assert row["mentions"] == [mention["tokens"] for mention in record["in_text_mention"]]
    assert row["modality"] == "ct_scan" and row["domain"]["ct_scan"] is True
    assert [m["role"] for m in row["messages"]][:2] == ["user", "assistant"]
    assert row["messages"][0]["content"] == record["conversations"][0]["value"]
    assert row["_image_path"] == record["imgs"] and row["source"] == "source.json"
    extra = json.loads(row["extra"])
    assert extra["pair_id"] == record["pair_id"]  # kept for the LLaVA-Med export
    assert extra["in_text_mention"] == record["in_text_mention"]  # with its entity offsets
    assert set(record) - READ_FIELDS <= set(extra)  # every field without a column is kept


def test_a_fixture_record_keeps_its_free_text_modality_and_other_fields_in_extra(fixtures_dir):
    record = fixture_records(fixtures_dir)[0]
    row = _normalise(record)
    assert row["modality"] == "ct_scan" and row["source"] == record["source"]
    extra = json.loads(row["extra"])
    assert extra[MODALITY_TEXT_KEY] == record["modality"]  # "CT" is text, the column holds the label
    assert extra["license"] == record["license"] and extra["dicom_text"] == record["dicom_text"]


def test_the_first_present_field_wins_and_the_others_are_kept():
    row = _normalise(
        {"id": "fig-1", "pair_id": "PMC1_F1", "caption": "(stand-in A)", "fig_caption": "(stand-in B)"}
    )
    assert row["id"] == "fig-1" and row["caption"] == "(stand-in A)"
    assert json.loads(row["extra"]) == {"pair_id": "PMC1_F1", "fig_caption": "(stand-in B)"}


def test_ids_come_from_pair_id_or_the_image_file_name_and_are_text():
    from_pair_id = _normalise({"pair_id": "PMC1_F2"})
    assert from_pair_id["id"] == "PMC1_F2"
    assert json.loads(from_pair_id["extra"]) == {"pair_id": "PMC1_F2"}  # the export writes it back
    assert _normalise({"file_name": "images/ct_head.png"})["id"] == "ct_head"
    assert _normalise({"id": 7, "image": "x.png"})["id"] == "7"
    missing = _normalise({"caption": "(stand-in)"}, location="line 4")
    assert missing["id"] == "line 4" and "missing required field 'id'" in missing["_errors"][0]


def test_image_fields_in_every_shape():
    several = _normalise({"id": "a", "imgs": ["first.png", "second.png", "third.png"]})
    assert several["_image_path"] == "first.png"
    assert json.loads(several["extra"])[MORE_IMAGES_KEY] == ["second.png", "third.png"]
    stored = _normalise({"id": "b", "image": {"bytes": b"\x89PNG", "path": "b.png"}})
    assert (stored["_image_path"], stored["_image_bytes"]) == ("b.png", b"\x89PNG")
    assert _normalise({"pair_id": "PMC3_F1"}, use_pair_id_image=True)["_image_path"] == "PMC3_F1.jpg"
    assert _normalise({"pair_id": "PMC3_F1"})["_image_path"] is None
    bad = _normalise({"id": "c", "image": 12})
    assert bad["_image_path"] is None and "image field must be a path" in bad["_errors"][0]


def test_domain_flags_from_the_struct_top_level_booleans_or_the_per_domain_key():
    assert _normalise({"id": "a", "domain": {"mri": True}})["modality"] == "mri"
    top_level = _normalise({"id": "b", "histology": True, "gross": False})
    assert top_level["modality"] == "histology" and top_level["extra"] == ""
    assert _normalise({"id": "c", DOMAIN_GROUP_KEY: "chest_xray"})["domain"]["chest_xray"] is True
    assert _normalise({"id": "d", "modality": "MRI"})["modality"] == "mri"  # a label, case-insensitive
    unknown = _normalise({"id": "e", "domain": {"ct_scan": "maybe"}})
    assert unknown["modality"] == "other" and "domain flag 'ct_scan'" in unknown["_errors"][0]


def test_trl_messages_are_read_like_llava_conversations():
    messages = [
        {"role": "user", "content": "(stand-in question)"},
        {"role": "assistant", "content": "(stand-in)"},
    ]
    assert _normalise({"id": "a", "messages": messages})["messages"] == messages
    bad = _normalise({"id": "b", "conversations": [{"from": "nurse", "value": "?"}]})
    assert bad["messages"] == [] and bad["_errors"][0].startswith("invalid conversations")


def test_records_that_cannot_be_read_are_row_errors_named_by_their_location():
    not_an_object = _normalise(["a", "list"], location="line 3")
    assert not_an_object["id"] == "line 3"
    assert not_an_object["_errors"] == ["invalid record: expected a JSON object, got list"]
    unparsed = _normalise({PARSE_ERROR_KEY: "invalid JSON on line 5 of x.jsonl"}, location="line 5")
    assert unparsed["_errors"] == ["invalid record: invalid JSON on line 5 of x.jsonl"]
    wrong_type = _normalise({"id": "a", "caption": True, "pmid": 12345})
    assert wrong_type["pmid"] == "12345"
    assert wrong_type["_errors"] == ["invalid record: field 'caption' must be text, got bool True"]
