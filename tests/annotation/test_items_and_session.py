"""Items from two-answer candidates, and the annotator's session: records, resume, order, crash safety."""

from __future__ import annotations

import json

import pytest

from biomed_vital.annotation import AnnotationSession, annotation_items
from biomed_vital.preferences import PreferenceDataset, read_annotations
from biomed_vital.sampling import select_demonstrations
from tests.annotation.conftest import make_candidates


def test_every_question_of_a_pair_is_one_item_in_candidate_order(synthetic_candidates) -> None:
    items, skipped = annotation_items(synthetic_candidates)
    assert skipped == []
    assert len(items) == 4 * 3
    first = items[0]
    assert (first.item_id, first.figure_id, first.turn) == ("fig0-c0#0", "fig0", 0)
    assert first.question == "Synthetic question 1 about figure 0?"
    assert first.answers == (
        "Synthetic answer A1 for figure 0 (stand-in).",
        "Synthetic answer B1 for figure 0 (stand-in).",
    )
    assert first.candidate_ids == ("fig0-c0-A", "fig0-c0-B")


def test_failed_and_imageless_pairs_are_skipped_with_the_reason() -> None:
    items, skipped = annotation_items(make_candidates(pairs=3, failed_pair=1, imageless_pair=2))
    assert {item.figure_id for item in items} == {"fig0"}
    assert skipped == [
        "figure 'fig1' (fig1-c0): generation failed for answer(s) B",
        "figure 'fig2' (fig2-c0): no image",
    ]


def test_one_answer_candidates_are_refused_with_what_to_do(synthetic_candidates) -> None:
    with pytest.raises(ValueError, match="--two-answers"):
        annotation_items(synthetic_candidates.remove_columns(["pair_id", "answer_variant"]))


def judge_all(session: AnnotationSession, choices: str) -> None:
    for choice in choices:
        position = session.next_index()
        assert position is not None
        assert session.judge(
            session.items[position], {"a": "A", "b": "B", "t": "tie", "x": "both_bad"}[choice]
        )


def test_a_judgement_writes_a_pairwise_record_and_a_mark_per_marked_answer(
    tmp_path, synthetic_candidates
) -> None:
    items, _ = annotation_items(synthetic_candidates)
    out = tmp_path / "annotations.jsonl"
    session = AnnotationSession(items, out, "rad-1")
    item = items[0]
    shown = session.show(item)
    assert session.judge(item, "A", marks={"A": True, "B": False}, comment=" unclear margin ", seconds=3.21)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    pairwise, accept, reject = records
    assert pairwise["kind"] == "pairwise" and pairwise["choice"] == "A"
    assert (pairwise["candidate_id_a"], pairwise["candidate_id_b"]) == shown.candidate_ids
    assert pairwise["swapped"] == (shown.candidate_ids[0] == "fig0-c0-B")
    assert pairwise["seconds"] == 3.21 and pairwise["comment"] == "unclear margin"
    assert pairwise["annotator"] == "rad-1" and pairwise["item_id"] == "fig0-c0#0" and pairwise["timestamp"]
    assert (accept["candidate_id"], accept["accepted"]) == (shown.candidate_ids[0], True)
    assert (reject["candidate_id"], reject["accepted"]) == (shown.candidate_ids[1], False)
    assert len(read_annotations(out)) == 3  # the contract's reader accepts them


def test_the_order_is_randomised_per_item_fixed_per_annotator_and_recorded(
    synthetic_candidates, tmp_path
) -> None:
    items, _ = annotation_items(synthetic_candidates)
    session = AnnotationSession(items, tmp_path / "a.jsonl", "rad-1")
    orders = [session.swapped(item) for item in items]
    assert True in orders and False in orders
    assert orders == [AnnotationSession(items, tmp_path / "b.jsonl", "rad-1").swapped(i) for i in items]
    assert orders != [AnnotationSession(items, tmp_path / "c.jsonl", "rad-2").swapped(i) for i in items]
    for item, swapped in zip(items, orders, strict=True):
        shown = session.show(item)
        assert shown.answers == (item.answers[::-1] if swapped else item.answers)


def test_reopening_resumes_at_the_first_item_this_annotator_has_not_done(
    tmp_path, synthetic_candidates
) -> None:
    items, _ = annotation_items(synthetic_candidates)
    out = tmp_path / "annotations.jsonl"
    judge_all(AnnotationSession(items, out, "rad-1"), "abt")
    judge_all(AnnotationSession(items, out, "rad-2"), "a")
    reopened = AnnotationSession(items, out, "rad-1")
    assert reopened.done == {"fig0-c0#0", "fig0-c0#1", "fig0-c0#2"}
    assert reopened.next_index() == 3
    assert AnnotationSession(items, out, "rad-2").next_index() == 1
    assert AnnotationSession(items, out, "rad-3").next_index() == 0


def test_judging_an_item_twice_writes_it_once(tmp_path, synthetic_candidates) -> None:
    items, _ = annotation_items(synthetic_candidates)
    session = AnnotationSession(items, tmp_path / "annotations.jsonl", "rad-1")
    assert session.judge(items[0], "A") is True
    assert session.judge(items[0], "B") is False
    assert len((tmp_path / "annotations.jsonl").read_text().splitlines()) == 1


def test_a_line_cut_short_by_a_crash_is_closed_and_nothing_confirmed_is_lost(
    tmp_path, synthetic_candidates
) -> None:
    items, _ = annotation_items(synthetic_candidates)
    out = tmp_path / "annotations.jsonl"
    judge_all(AnnotationSession(items, out, "rad-1"), "ab")
    with open(out, "a") as handle:
        handle.write('{"kind": "pairwise", "figure_id": "fi')  # the server died mid-write
    session = AnnotationSession(items, out, "rad-1")
    assert session.next_index() == 2
    judge_all(session, "t")
    lines = out.read_text().splitlines()
    assert json.loads(lines[-1])["choice"] == "tie"
    assert len([line for line in lines if line.startswith("{") and line.endswith("}")]) == 3


def test_the_records_feed_the_clinician_pairs_and_the_demonstrations(tmp_path, synthetic_candidates) -> None:
    items, _ = annotation_items(synthetic_candidates)
    out = tmp_path / "annotations.jsonl"
    session = AnnotationSession(items, out, "rad-1")
    for item in items:
        shown = session.show(item)
        side = (
            "A" if shown.candidate_ids[0].endswith("-A") else "B"
        )  # always prefer the generator's variant A
        session.judge(item, side, marks={side: True})
    pairs = PreferenceDataset.from_clinician_annotations(str(out), synthetic_candidates)
    assert len(pairs) == len(items)
    assert set(pairs["chosen_candidate_id"]) == {f"fig{p}-c0-A" for p in range(4)}
    assert set(pairs["source"]) == {"clinician"}
    demonstrations = select_demonstrations(synthetic_candidates, str(out))
    assert sorted(demonstrations["id"]) == ["fig0", "fig1", "fig2", "fig3"]
    answers = [m["content"] for m in demonstrations[0]["messages"] if m["role"] == "assistant"]
    assert all(" A" in answer for answer in answers)


def test_an_annotator_name_is_required(tmp_path, synthetic_candidates) -> None:
    items, _ = annotation_items(synthetic_candidates)
    with pytest.raises(ValueError, match="annotator"):
        AnnotationSession(items, tmp_path / "a.jsonl", "  ")
