"""PreferenceDataset on real clinician demonstrations (with stand-in images of the same domain)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
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


def _figure(candidate_rows, position):
    """(figure id, first question, orig row, swap row) of the position-th demonstrated figure."""
    orig, swap = candidate_rows[2 * position], candidate_rows[2 * position + 1]
    return orig["id"], qa_pairs(orig["messages"])[0][0], orig, swap


def _pairwise(candidate_rows, position, choice, annotator="rad-1", turn=0):
    figure_id, _, orig, swap = _figure(candidate_rows, position)
    question = qa_pairs(orig["messages"])[turn][0]
    return {
        "figure_id": figure_id,
        "question": question,
        "candidate_id_a": orig["candidate_id"],
        "candidate_id_b": swap["candidate_id"],
        "choice": choice,
        "annotator": annotator,
        "timestamp": "2026-11-20T10:00:00Z",
    }


def _judged(candidates, scores, statuses=None):
    statuses = statuses or ["ok"] * len(scores)
    return candidates.add_column("judge_score", scores).add_column("judge_status", statuses)


# ----------------------------------------------------------------------------- clinician pairs


def test_pairwise_choices_become_pairs_with_the_design_columns(candidates, candidate_rows, fixtures_dir):
    records = [_pairwise(candidate_rows, 0, "A"), _pairwise(candidate_rows, 1, "B", annotator="rad-2")]
    pairs = PreferenceDataset.from_clinician_annotations(records, candidates)
    assert pairs.column_names[: len(DESIGN_COLUMNS)] == DESIGN_COLUMNS
    assert pairs.features == preference_features()
    assert pairs["source"] == ["clinician", "clinician"] and pairs["annotator"] == ["rad-1", "rad-2"]
    first, second = pairs[0], pairs[1]
    _, question, orig, swap = _figure(candidate_rows, 0)
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
        _pairwise(candidate_rows, 0, "A"),
        _pairwise(candidate_rows, 1, "tie"),
        _pairwise(candidate_rows, 2, "both_bad"),
        _pairwise(candidate_rows, 3, "both_bad"),
    ]
    pairs = PreferenceDataset.from_clinician_annotations(records, candidates)
    assert len(pairs) == 1
    stats = preference_build_stats(pairs)["clinician"]
    assert (stats["records"], stats["ties"], stats["both_bad"]) == (4, 1, 2)
    assert "ties 1, both bad 2" in summarize_preferences(pairs)


def test_accept_and_reject_marks_pair_within_a_question(candidates, candidate_rows):
    figure_id, question, orig, swap = _figure(candidate_rows, 4)
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


def test_text_answers_are_paired_on_the_named_figure(candidates, candidate_rows):
    figure_id, question, orig, swap = _figure(candidate_rows, 5)
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
    path.write_text("".join(json.dumps(_pairwise(candidate_rows, i, "A")) + "\n" for i in range(3)))
    assert len(PreferenceDataset.from_clinician_annotations(path, candidates)) == 3


def test_every_bad_record_is_named_and_nothing_is_built(candidates, candidate_rows):
    other_figure = _figure(candidate_rows, 1)[0]
    records = [
        _pairwise(candidate_rows, 0, "A"),
        {**_pairwise(candidate_rows, 0, "A"), "candidate_id_b": "no-such-candidate"},
        {**_pairwise(candidate_rows, 0, "A"), "figure_id": other_figure},
        {**_pairwise(candidate_rows, 2, "A"), "question": "A question no candidate asks?"},
        {**_pairwise(candidate_rows, 3, "A"), "question": None},
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
        PreferenceDataset.from_clinician_annotations([_pairwise(candidate_rows, 0, "maybe")], candidates)


def test_answers_from_different_figures_are_rejected(candidates, candidate_rows):
    record = _pairwise(candidate_rows, 0, "A")
    record.pop("figure_id")
    record["candidate_id_b"] = _figure(candidate_rows, 1)[2]["candidate_id"]
    with pytest.raises(AnnotationError, match="record 0: answers A and B belong to different figures"):
        PreferenceDataset.from_clinician_annotations([record], candidates)


def test_duplicates_merge_and_contradictions_are_dropped_or_kept(candidates, candidate_rows):
    agree = [_pairwise(candidate_rows, 0, "A", "rad-1"), _pairwise(candidate_rows, 0, "A", "rad-2")]
    contradict = [_pairwise(candidate_rows, 1, "A", "rad-1"), _pairwise(candidate_rows, 1, "B", "rad-2")]
    dropped = PreferenceDataset.from_clinician_annotations(agree + contradict, candidates)
    assert len(dropped) == 1 and dropped[0]["votes"] == 2
    stats = preference_build_stats(dropped)["clinician"]
    assert stats["duplicates_merged"] == 1 and stats["contradictory_pairs_dropped"] == 2
    kept = PreferenceDataset.from_clinician_annotations(agree + contradict, candidates, contradictions="keep")
    assert len(kept) == 3 and preference_build_stats(kept)["clinician"]["contradictory_pairs"] == 2
    assert "contradictory pairs 2 (dropped 0)" in summarize_preferences(kept)
    again = PreferenceDataset.deduplicate(PreferenceDataset.mix(kept, kept, clinician_weight=1.0))
    assert len(again) == 1 and again[0]["votes"] == 4  # both copies of the agreed pair, 2 votes each


# ----------------------------------------------------------------------------- judge pairs


def test_judge_pairs_respect_min_gap_order_and_skip_unusable_rows(candidates):
    n = len(candidates)
    rng = np.random.default_rng(1)
    scores = [float(s) for s in rng.integers(0, 11, size=n)]
    scores[0], scores[5], scores[9] = None, None, float("nan")
    statuses = ["ok"] * n
    statuses[3] = "parse_error"
    judged = _judged(candidates, scores, statuses)
    pairs = PreferenceDataset.from_judge_scores(judged, min_gap=3, pairs_per_item=2, seed=0)
    gaps = np.array(pairs["chosen_score"]) - np.array(pairs["rejected_score"])
    assert len(pairs) > n // 2 and gaps.min() >= 3
    bad_ids = {candidates[i]["candidate_id"] for i in (0, 3, 5, 9)}
    assert not bad_ids & (set(pairs["chosen_candidate_id"]) | set(pairs["rejected_candidate_id"]))
    stats = preference_build_stats(pairs)["judge"]
    assert (stats["skipped_no_score"], stats["skipped_judge_status"], stats["usable_rows"]) == (3, 1, n - 4)
    assert set(pairs["source"]) == {"judge"} and set(pairs["question"]) == {""}
    assert len(pairs) <= stats["usable_rows"] * 2


def test_judge_pairs_prefer_the_same_figure_and_are_seeded(candidates):
    # the original demonstration outscores its mismatched copy on every other figure
    scores = [(9.0 if i % 2 == 0 else 2.0) if (i // 2) % 2 == 0 else 5.0 for i in range(len(candidates))]
    judged = _judged(candidates, scores)
    pairs = PreferenceDataset.from_judge_scores(judged, min_gap=2, pairs_per_item=1, seed=7)
    same = [p for p in pairs.select_columns(["pair_kind", "chosen_candidate_id", "rejected_candidate_id"])]
    within = [p for p in same if p["pair_kind"] == "judge_same_figure"]
    scored_apart = {candidates[i]["id"] for i in range(0, len(candidates), 2) if (i // 2) % 2 == 0}
    assert len(within) == len(scored_apart)
    assert all(p["chosen_candidate_id"].endswith("/orig") for p in within)
    assert all(
        p["chosen_candidate_id"].split("/")[0] == p["rejected_candidate_id"].split("/")[0] for p in within
    )
    cross = [p for p in same if p["pair_kind"] == "judge_score_levels"]
    assert cross and all(p["chosen_candidate_id"] != p["rejected_candidate_id"] for p in cross)
    again = PreferenceDataset.from_judge_scores(judged, min_gap=2, pairs_per_item=1, seed=7)
    other = PreferenceDataset.from_judge_scores(judged, min_gap=2, pairs_per_item=1, seed=8)
    key = ["chosen_candidate_id", "rejected_candidate_id"]
    assert again.select_columns(key).to_list() == pairs.select_columns(key).to_list()
    assert other.select_columns(key).to_list() != pairs.select_columns(key).to_list()


def test_judge_arguments_are_checked(candidates):
    judged = _judged(candidates, [1.0] * len(candidates))
    with pytest.raises(ValueError, match="min_gap must be a positive number"):
        PreferenceDataset.from_judge_scores(judged, min_gap=0)
    with pytest.raises(ValueError, match="pairs_per_item"):
        PreferenceDataset.from_judge_scores(judged, pairs_per_item=0)
    with pytest.raises(ValueError, match=r"lack the column\(s\) \['judge_score'\]"):
        PreferenceDataset.from_judge_scores(candidates)
    assert len(PreferenceDataset.from_judge_scores(judged)) == 0  # all equal: nothing to order


def test_clinician_and_judge_texts_share_one_layout(candidate_rows):
    from datasets import Dataset, Image

    # single-turn candidates: the judge's whole-conversation text is the clinician's one-question text
    rows = [{**row, "messages": row["messages"][:2]} for row in candidate_rows[:8]]
    single_turn = Dataset.from_list(rows).cast_column("image", Image())
    judged = _judged(single_turn, [9.0 if r["candidate_id"].endswith("orig") else 1.0 for r in rows])
    judge_pairs = PreferenceDataset.from_judge_scores(judged, min_gap=5, pairs_per_item=1, seed=0)
    figure_id, question, orig, swap = _figure(rows, 0)
    record = {"candidate_id_a": orig["candidate_id"], "candidate_id_b": swap["candidate_id"], "choice": "A"}
    clinician = PreferenceDataset.from_clinician_annotations([record], single_turn)[0]
    judge = next(
        p for p in judge_pairs if p["pair_kind"] == "judge_same_figure" and p["figure_id"] == figure_id
    )
    assert clinician["chosen_text"] == judge["chosen_text"]
    assert clinician["rejected_text"] == judge["rejected_text"]
    assert clinician["chosen_text"].startswith(f"Caption: {orig['caption']}\nMention: ")


# ----------------------------------------------------------------------------- mixing, splitting, summary


@pytest.fixture()
def clinician_and_judge(candidates, candidate_rows):
    records = [_pairwise(candidate_rows, i, "A", annotator=f"rad-{i % 3}") for i in range(0, 40, 2)]
    clinician = PreferenceDataset.from_clinician_annotations(records, candidates)
    scores = [7.0 + (i % 3) if i % 2 == 0 else 1.0 + (i % 4) for i in range(len(candidates))]
    judge = PreferenceDataset.from_judge_scores(
        _judged(candidates, scores), min_gap=2, pairs_per_item=2, seed=0
    )
    return clinician, judge


def test_mix_sets_weights_by_source(clinician_and_judge):
    clinician, judge = clinician_and_judge
    mixed = PreferenceDataset.mix(clinician, judge, clinician_weight=100)
    assert len(mixed) == len(clinician) + len(judge) and mixed.column_names == clinician.column_names
    assert set(zip(mixed["source"], mixed["weight"], strict=True)) == {("clinician", 100.0), ("judge", 1.0)}
    mapped = PreferenceDataset.mix(clinician, judge, clinician_weight={"clinician": 10, "judge": 0.5})
    assert set(mapped.to_pandas().groupby("source")["weight"].first().items()) == {
        ("clinician", 10.0),
        ("judge", 0.5),
    }
    assert mixed[0]["chosen_image"].size == clinician[0]["chosen_image"].size
    with pytest.raises(ValueError, match=r"no weight given for source\(s\) \['judge'\]"):
        PreferenceDataset.mix(clinician, judge, clinician_weight={"clinician": 10})
    with pytest.raises(ValueError, match="clinician_weight must be a positive finite number"):
        PreferenceDataset.mix(clinician, judge, clinician_weight=-1)
    summary = summarize_preferences(mixed)
    assert f"clinician{len(clinician):>11,}" in summary
    assert "ties 0" in summary and "judge rows: 116" in summary


def test_weight_sweep_defaults_to_the_paper_values(clinician_and_judge):
    sweep = PreferenceDataset.weight_sweep(*clinician_and_judge)
    assert list(sweep) == [1.0, 10.0, 100.0, 200.0, 300.0, 400.0]
    assert max(sweep[400.0]["weight"]) == 400.0 and min(sweep[400.0]["weight"]) == 1.0


def test_split_by_figure_is_disjoint_and_holds_out_clinician_pairs(clinician_and_judge):
    mixed = PreferenceDataset.mix(*clinician_and_judge, clinician_weight=100)
    splits = PreferenceDataset.train_test_split_by_figure(mixed, test_size=0.2, seed=3)

    def figures(split):
        return set(split["chosen_figure_id"]) | set(split["rejected_figure_id"])

    assert not figures(splits["train"]) & figures(splits["test"])
    assert "clinician" in splits["test"]["source"] and "clinician" in splits["train"]["source"]
    dropped = preference_build_stats(splits["test"])["split"]["pairs_dropped_across_splits"]
    assert len(splits["train"]) + len(splits["test"]) + dropped == len(mixed)
    again = PreferenceDataset.train_test_split_by_figure(mixed, test_size=0.2, seed=3)
    assert again["test"]["chosen_text"] == splits["test"]["chosen_text"]
    with pytest.raises(ValueError, match="test_size"):
        PreferenceDataset.train_test_split_by_figure(mixed, test_size=1.5)


def test_pairs_from_disk_are_memory_mapped_and_survive_a_round_trip(tmp_path, candidates, candidate_rows):
    from datasets import load_from_disk

    candidates.save_to_disk(tmp_path / "candidates")
    on_disk = load_from_disk(tmp_path / "candidates")
    records = [_pairwise(candidate_rows, 0, "A"), _pairwise(candidate_rows, 1, "tie")]
    pairs = PreferenceDataset.from_clinician_annotations(records, on_disk)
    assert pairs.cache_files and pairs.cache_files[0]["filename"].startswith(str(tmp_path / "candidates"))
    pairs.save_to_disk(tmp_path / "pairs")
    reloaded = load_from_disk(tmp_path / "pairs")
    assert preference_build_stats(reloaded)["clinician"]["ties"] == 1
    assert reloaded[0]["chosen_image"].size == pairs[0]["chosen_image"].size


def test_building_pairs_does_not_import_torch():
    code = (
        "import sys, biomed_vital.preferences as p; p.PreferenceDataset; p.summarize_preferences; "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_question_matching_ignores_case_and_spacing_and_keeps_the_candidates_wording(
    candidates, candidate_rows
):
    record = _pairwise(candidate_rows, 6, "A")
    wording = record["question"]
    record["question"] = "  " + wording.upper().replace(" ", "   ") + " "
    pair = PreferenceDataset.from_clinician_annotations([record], candidates)[0]
    assert pair["question"] == wording and f"\nQuestion: {wording}\n" in pair["chosen_text"]


def test_images_follow_their_rows_through_a_shuffled_view(candidates, candidate_rows):
    # a shuffled dataset is an index mapping over the table: images must come from the mapped rows
    scores = [9.0 if r["candidate_id"].endswith("orig") else 1.0 for r in candidate_rows]
    judged = _judged(candidates, scores).shuffle(seed=4)
    pairs = PreferenceDataset.from_judge_scores(judged, min_gap=5, pairs_per_item=1, seed=0)
    size_of = {r["candidate_id"]: PILImage.open(r["image"]).size for r in candidate_rows}
    assert len({size for size in size_of.values()}) > 1
    for pair in pairs.select(range(min(len(pairs), 30))):
        assert pair["chosen_image"].size == size_of[pair["chosen_candidate_id"]]
        assert pair["rejected_image"].size == size_of[pair["rejected_candidate_id"]]


def _turn_judged(candidates, candidate_rows):
    """Per-turn judge scores: each turn of the demonstration 8, of the mismatched copy 2."""
    turn_scores = []
    for index, row in enumerate(candidate_rows):
        n_turns = len(qa_pairs(row["messages"]))
        scores = [8.0 if row["candidate_id"].endswith("orig") else 2.0] * n_turns
        if index == 0:
            scores = scores[:-1]  # does not match the turns: skipped, counted
        if index == 2:
            scores[0] = None  # one failed turn: that turn is skipped
        turn_scores.append(scores)
    judged = _judged(candidates, [5.0] * len(candidate_rows))
    return judged.add_column("judge_turn_scores", turn_scores)


def test_judge_turn_scores_pair_answers_to_the_same_question(candidates, candidate_rows):
    judged = _turn_judged(candidates, candidate_rows)
    pairs = PreferenceDataset.from_judge_scores(judged, min_gap=3, pairs_per_item=1, seed=0)
    stats = preference_build_stats(pairs)["judge"]
    assert stats["rows_turn_count_mismatch"] == 1 and stats["skipped_turns_no_score"] == 1
    assert "turns without a score 1" in summarize_preferences(pairs)
    same_question = pairs.filter(lambda kind: kind == "judge_same_question", input_columns="pair_kind")
    assert len(same_question) > len(candidate_rows) // 2
    for pair in same_question.select(range(20)):
        assert pair["chosen_candidate_id"].endswith("/orig") and pair["rejected_candidate_id"].endswith(
            "/swap"
        )
        assert pair["chosen_score"] - pair["rejected_score"] == 6.0
        assert f"\nQuestion: {pair['question']}\n" in pair["rejected_text"]
    conversation = PreferenceDataset.from_judge_scores(judged, min_gap=3, unit="conversation")
    assert len(conversation) == 0  # every judge_score is 5.0: nothing to order per conversation
    with pytest.raises(ValueError, match="unit must be"):
        PreferenceDataset.from_judge_scores(judged, unit="sentence")


def test_turn_judge_pairs_and_clinician_pairs_share_one_layout(candidates, candidate_rows):
    judged = _turn_judged(candidates, candidate_rows)
    judge_pairs = PreferenceDataset.from_judge_scores(judged, min_gap=3, pairs_per_item=1, seed=0)
    record = _pairwise(candidate_rows, 3, "A", turn=2)
    clinician = PreferenceDataset.from_clinician_annotations([record], candidates)[0]
    match = judge_pairs.filter(
        lambda kind, question, figure: (
            kind == "judge_same_question" and question == record["question"] and figure == record["figure_id"]
        ),
        input_columns=["pair_kind", "question", "figure_id"],
    )
    assert len(match) == 1
    assert match[0]["chosen_text"] == clinician["chosen_text"]
    assert match[0]["rejected_text"] == clinician["rejected_text"]


def test_text_answers_work_on_figures_without_text_columns(candidate_rows):
    from datasets import Dataset, Image

    figures = Dataset.from_list([{"id": r["id"], "image": r["image"]} for r in candidate_rows[:4:2]])
    figures = figures.cast_column("image", Image())
    _, question, orig, swap = _figure(candidate_rows, 0)
    record = {
        "figure_id": orig["id"],
        "question": question,
        "answer_a": qa_pairs(orig["messages"])[0][1],
        "answer_b": qa_pairs(swap["messages"])[0][1],
        "choice": "A",
    }
    pair = PreferenceDataset.from_clinician_annotations([record], figures)[0]
    assert pair["chosen_text"] == format_selector_text("", [], question, record["answer_a"])
