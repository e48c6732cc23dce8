"""The clinician annotation record: shape checks, JSONL reading and appending."""

from __future__ import annotations

import json

import pytest

from biomed_vital.preferences.annotations import (
    AnnotationError,
    append_annotations,
    normalize_annotation,
    read_annotations,
)

PAIRWISE = {"figure_id": "f1", "question": "q", "candidate_id_a": "c1", "candidate_id_b": "c2", "choice": "b"}
MARK = {"candidate_id": "c1", "question": "q", "accepted": False, "annotator": "rad-2"}


def test_kinds_are_inferred_and_fields_normalised():
    pairwise = normalize_annotation(PAIRWISE)
    assert pairwise["kind"] == "pairwise" and pairwise["choice"] == "B"
    assert pairwise["annotator"] == "" and pairwise["timestamp"] == ""
    mark = normalize_annotation(MARK)
    assert mark["kind"] == "mark" and mark["accepted"] is False and mark["figure_id"] is None
    assert normalize_annotation({**PAIRWISE, "choice": "Both-Bad"})["choice"] == "both_bad"


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({**PAIRWISE, "choice": "C"}, "choice 'C' is not one of"),
        ({"figure_id": "f1", "question": "q"}, "cannot tell the record kind"),
        ({**MARK, "accepted": "yes"}, "'accepted' must be true or false"),
        ({"figure_id": "f1", "choice": "A", "candidate_id_a": "c1"}, "answer B is missing"),
        ({"question": "q", "answer": "text", "accepted": True}, "needs 'figure_id'"),
        ({**PAIRWISE, "candidate_id_b": "c1"}, "same candidate"),
        ({**MARK, "kind": "pairwise"}, "needs 'choice'"),
    ],
)
def test_bad_records_name_their_index(record, message):
    with pytest.raises(ValueError, match=f"record 7: .*{message}"):
        normalize_annotation(record, 7)


def test_read_collects_every_problem_with_line_numbers(tmp_path):
    path = tmp_path / "annotations.jsonl"
    path.write_text(json.dumps(PAIRWISE) + "\n\n{not json\n" + json.dumps({**MARK, "accepted": 1}) + "\n")
    with pytest.raises(AnnotationError) as caught:
        read_annotations(path)
    problems = caught.value.problems
    assert len(problems) == 2
    assert problems[0].startswith("record 1 (annotations.jsonl line 3) is not valid JSON")
    assert problems[1].startswith("record 2: 'accepted' must be true or false")


def test_read_accepts_lists_and_datasets_and_rejects_a_single_record():
    from datasets import Dataset

    assert [r["kind"] for r in read_annotations([PAIRWISE, MARK])] == ["pairwise", "mark"]
    assert read_annotations(Dataset.from_list([MARK, MARK]))[1]["annotator"] == "rad-2"
    with pytest.raises(TypeError, match="not a single mapping"):
        read_annotations(PAIRWISE)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_annotations("/nonexistent/annotations.jsonl")


def test_append_writes_all_or_nothing_and_stamps_time(tmp_path):
    path = tmp_path / "log.jsonl"
    assert append_annotations(path, [PAIRWISE, MARK]) == 2
    with pytest.raises(AnnotationError, match="record 1"):
        append_annotations(path, [MARK, {**MARK, "accepted": None}])
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == 2  # the rejected submission left nothing behind
    assert all(line["timestamp"].endswith("+00:00") for line in lines)
    assert [r["choice"] for r in read_annotations(path) if r["kind"] == "pairwise"] == ["B"]
