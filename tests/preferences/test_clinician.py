"""Clinician pairs on real demonstrations (with stand-in images of the same domain)."""

from __future__ import annotations

import json

import pytest
from PIL import Image as PILImage

from biomed_vital.data import format_selector_text, qa_pairs
from biomed_vital.preferences import (
    AnnotationError,
    PreferenceDataset,
    preference_build_stats,
    summarize_preferences,
)
from biomed_vital.schema import preference_features
from tests.preferences.helpers import figure_of, pairwise_record

DESIGN_COLUMNS = [
    "chosen_image",
    "rejected_image",
    "chosen_text",
    "rejected_text",
    "weight",
    "source",
    "annotator",
    "figure_id",
]


def test_pairwise_choices_become_pairs_with_the_design_columns(candidates, candidate_rows, fixtures_dir):
    records = [
        pairwise_record(candidate_rows, 0, "A"),
        pairwise_record(candidate_rows, 1, "B", annotator="rad-2"),
    ]
    pairs = PreferenceDataset.from_clinician_annotations(records, candidates)
    assert pairs.column_names[: len(DESIGN_COLUMNS)] == DESIGN_COLUMNS
    assert pairs.features == preference_features()
    assert pairs["source"] == ["clinician", "clinician"] and pairs["annotator"] == ["rad-1", "rad-2"]
    first, second = pairs[0], pairs[1]
    _, question, orig, swap = figure_of(candidate_rows, 0)
    assert first["chosen_candidate_id"] == orig["candidate_id"]
    assert first["chosen_text"].endswith("Answer: " + qa_pairs(orig["messages"])[0][1])
    assert first["rejected_text"].endswith("Answer: " + qa_pairs(swap["messages"])[0][1])
    assert first["question"] == question and first["pair_kind"] == "clinician_pairwise"
    assert second["chosen_candidate_id"].endswith("/swap")  # choice B
    stand_in = PILImage.open(orig["image"])
    assert first["chosen_image"].size == stand_in.size and first["rejected_image"].size == stand_in.size
    assert first["chosen_score"] is None and first["timestamp"] == "2026-11-20T10:00:00Z"


def test_ties_and_both_bad_are_counted_but_make_no_pair(candidates, candidate_rows):
    records = [
        pairwise_record(candidate_rows, 0, "A"),
        pairwise_record(candidate_rows, 1, "tie"),
        pairwise_record(candidate_rows, 2, "both_bad"),
        pairwise_record(candidate_rows, 3, "both_bad"),
    ]
    pairs = PreferenceDataset.from_clinician_annotations(records, candidates)
    assert len(pairs) == 1
    stats = preference_build_stats(pairs)["clinician"]
    assert (stats["records"], stats["ties"], stats["both_bad"]) == (4, 1, 2)
    assert "ties 1, both bad 2" in summarize_preferences(pairs)


def test_accept_and_reject_marks_pair_within_a_question(candidates, candidate_rows):
    figure_id, question, orig, swap = figure_of(candidate_rows, 4)
    marks = [
        {"candidate_id": orig["candidate_id"], "question": question, "accepted": True, "annotator": "rad-1"},
        {"candidate_id": swap["candidate_id"], "question": question, "accepted": False, "annotator": "rad-1"},
        # another clinician's lone rejection: no accepted answer from them, so no pair by default
        {"candidate_id": swap["candidate_id"], "question": question, "accepted": False, "annotator": "rad-9"},
    ]
    pairs = PreferenceDataset.from_clinician_annotations(marks, candidates)
    assert len(pairs) == 1 and pairs[0]["pair_kind"] == "clinician_marks"
    assert pairs[0]["chosen_candidate_id"] == orig["candidate_id"] and pairs[0]["figure_id"] == figure_id
    assert preference_build_stats(pairs)["clinician"]["unpaired_marks"] == 1
    across = PreferenceDataset.from_clinician_annotations(
        marks[:1] + marks[2:], candidates, pair_marks_across_annotators=True
    )
    assert len(across) == 1 and across[0]["annotator"] == "rad-1+rad-9"


def test_text_answers_are_paired_on_the_namedfigure_of(candidates, candidate_rows):
    figure_id, question, orig, swap = figure_of(candidate_rows, 5)
    record = {
        "figure_id": figure_id,
        "question": question,
        "answer_a": qa_pairs(swap["messages"])[0][1],
        "answer_b": qa_pairs(orig["messages"])[0][1],
        "choice": "B",
    }
    pair = PreferenceDataset.from_clinician_annotations([record], candidates)[0]
    expected = format_selector_text(
        orig["caption"], orig["mentions"], question, qa_pairs(orig["messages"])[0][1]
    )
    assert pair["chosen_text"] == expected and pair["chosen_candidate_id"] == ""


def test_annotations_are_read_from_a_jsonl_file(tmp_path, candidates, candidate_rows):
    path = tmp_path / "annotations.jsonl"
    path.write_text("".join(json.dumps(pairwise_record(candidate_rows, i, "A")) + "\n" for i in range(3)))
    assert len(PreferenceDataset.from_clinician_annotations(path, candidates)) == 3


def test_every_bad_record_is_named_and_nothing_is_built(candidates, candidate_rows):
    other_figure = figure_of(candidate_rows, 1)[0]
    records = [
        pairwise_record(candidate_rows, 0, "A"),
        {**pairwise_record(candidate_rows, 0, "A"), "candidate_id_b": "no-such-candidate"},
        {**pairwise_record(candidate_rows, 0, "A"), "figure_id": other_figure},
        {**pairwise_record(candidate_rows, 2, "A"), "question": "A question no candidate asks?"},
        {**pairwise_record(candidate_rows, 3, "A"), "question": None},
    ]
    with pytest.raises(AnnotationError) as caught:
        PreferenceDataset.from_clinician_annotations(records, candidates)
    text = str(caught.value)
    assert "record 1: answer B names candidate 'no-such-candidate', which is not in the candidates" in text
    assert f"record 2: answer A is candidate '{records[2]['candidate_id_a']}' of figure" in text
    assert f"but the record is about figure '{other_figure}'" in text
    with pytest.raises(AnnotationError) as caught:
        PreferenceDataset.from_clinician_annotations(records[3:], candidates)
    assert "record 0: candidate" in str(caught.value) and "has no turn asking" in str(caught.value)
    assert "record 1: candidate" in str(caught.value) and "give 'question'" in str(caught.value)
    with pytest.raises(AnnotationError, match=r"record 0: choice 'maybe'"):
        PreferenceDataset.from_clinician_annotations(
            [pairwise_record(candidate_rows, 0, "maybe")], candidates
        )


def test_answers_from_different_figures_are_rejected(candidates, candidate_rows):
    record = pairwise_record(candidate_rows, 0, "A")
    record.pop("figure_id")
    record["candidate_id_b"] = figure_of(candidate_rows, 1)[2]["candidate_id"]
    with pytest.raises(AnnotationError, match="record 0: answers A and B belong to different figures"):
        PreferenceDataset.from_clinician_annotations([record], candidates)


def test_question_matching_ignores_case_and_spacing_and_keeps_the_candidates_wording(
    candidates, candidate_rows
):
    record = pairwise_record(candidate_rows, 6, "A")
    wording = record["question"]
    record["question"] = "  " + wording.upper().replace(" ", "   ") + " "
    pair = PreferenceDataset.from_clinician_annotations([record], candidates)[0]
    assert pair["question"] == wording and f"\nQuestion: {wording}\n" in pair["chosen_text"]


def test_text_answers_work_on_figures_without_text_columns(candidate_rows):
    from datasets import Dataset, Image

    figures = Dataset.from_list([{"id": r["id"], "image": r["image"]} for r in candidate_rows[:4:2]])
    figures = figures.cast_column("image", Image())
    _, question, orig, swap = figure_of(candidate_rows, 0)
    record = {
        "figure_id": orig["id"],
        "question": question,
        "answer_a": qa_pairs(orig["messages"])[0][1],
        "answer_b": qa_pairs(swap["messages"])[0][1],
        "choice": "A",
    }
    pair = PreferenceDataset.from_clinician_annotations([record], figures)[0]
    assert pair["chosen_text"] == format_selector_text("", [], question, record["answer_a"])
