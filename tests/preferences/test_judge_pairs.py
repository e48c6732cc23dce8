"""Judge-score pairs on real demonstrations (with stand-in images of the same domain)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image as PILImage

from biomed_vital.preferences import PreferenceDataset, preference_build_stats, summarize_preferences
from tests.preferences.helpers import with_judge_scores, with_turn_scores


def test_judge_pairs_respect_min_gap_order_and_skip_unusable_rows(candidates):
    n = len(candidates)
    rng = np.random.default_rng(1)
    scores = [float(s) for s in rng.integers(0, 11, size=n)]
    scores[0], scores[5], scores[9] = None, None, float("nan")
    statuses = ["ok"] * n
    statuses[3] = "parse_error"
    judged = with_judge_scores(candidates, scores, statuses)
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
    judged = with_judge_scores(candidates, scores)
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
    judged = with_judge_scores(candidates, [1.0] * len(candidates))
    with pytest.raises(ValueError, match="min_gap must be a positive number"):
        PreferenceDataset.from_judge_scores(judged, min_gap=0)
    with pytest.raises(ValueError, match="pairs_per_item"):
        PreferenceDataset.from_judge_scores(judged, pairs_per_item=0)
    with pytest.raises(ValueError, match=r"lack the column\(s\) \['judge_score'\]"):
        PreferenceDataset.from_judge_scores(candidates)
    assert len(PreferenceDataset.from_judge_scores(judged)) == 0  # all equal: nothing to order


def test_images_follow_their_rows_through_a_shuffled_view(candidates, candidate_rows):
    # a shuffled dataset is an index mapping over the table: images must come from the mapped rows
    scores = [9.0 if r["candidate_id"].endswith("orig") else 1.0 for r in candidate_rows]
    judged = with_judge_scores(candidates, scores).shuffle(seed=4)
    pairs = PreferenceDataset.from_judge_scores(judged, min_gap=5, pairs_per_item=1, seed=0)
    size_of = {r["candidate_id"]: PILImage.open(r["image"]).size for r in candidate_rows}
    assert len({size for size in size_of.values()}) > 1
    for pair in pairs.select(range(min(len(pairs), 30))):
        assert pair["chosen_image"].size == size_of[pair["chosen_candidate_id"]]
        assert pair["rejected_image"].size == size_of[pair["rejected_candidate_id"]]


def test_judge_turn_scores_pair_answers_to_the_same_question(candidates, candidate_rows):
    judged = with_turn_scores(candidates, candidate_rows)
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
