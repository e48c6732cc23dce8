"""Judge pairs across whole-number score levels (the ``biomed-vital`` preset), on real demonstrations."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest
from datasets import DatasetDict

from biomed_vital.data import format_selector_text, qa_pairs
from biomed_vital.preferences import PreferenceDataset, build_preferences, preference_build_stats
from biomed_vital.preferences.judge_pairs import sample_score_level_pairs
from tests.preferences.helpers import pairwise_record, with_judge_scores

LEVELS = (2, 4, 5, 6, 8, 9)


@pytest.fixture()
def judged(candidates):
    return with_judge_scores(candidates, [float(LEVELS[i % len(LEVELS)]) for i in range(len(candidates))])


def _level_parts(judged):
    """candidate id -> "train" or "test": the first 80 % of each level's rows (in row order) train."""
    members = defaultdict(list)
    for candidate_id, score in zip(judged["candidate_id"], judged["judge_score"], strict=True):
        members[score].append(candidate_id)
    part = {}
    for ids in members.values():
        cut = len(ids) * 4 // 5  # the authors' split
        part.update({i: "train" for i in ids[:cut]})
        part.update({i: "test" for i in ids[cut:]})
    return part


def test_the_preset_draws_integer_level_cross_figure_pairs_split_80_20_within_levels(judged):
    splits = PreferenceDataset.from_judge_scores(
        judged, preset="biomed-vital", num_pairs=400, num_test_pairs=100
    )
    assert isinstance(splits, DatasetDict) and sorted(splits) == ["test", "train"]
    part = _level_parts(judged)
    rows = {
        row["candidate_id"]: row
        for row in judged.select_columns(["candidate_id", "caption", "mentions", "messages"])
    }
    for name, drawn in (("train", 400), ("test", 100)):
        pairs = splits[name]
        assert sum(pairs["votes"]) == drawn  # repeated draws are merged and counted
        assert preference_build_stats(pairs)["judge"]["sampled_pairs"] == drawn
        chosen, rejected = np.array(pairs["chosen_score"]), np.array(pairs["rejected_score"])
        assert np.all(chosen == np.round(chosen)) and np.all(rejected == np.round(rejected))
        assert np.all(chosen - rejected >= 1)
        assert set(pairs["pair_kind"]) == {"judge_score_levels"}
        for chosen_id, rejected_id in zip(
            pairs["chosen_candidate_id"], pairs["rejected_candidate_id"], strict=True
        ):
            assert part[chosen_id] == part[rejected_id] == name
        # the items meet across figures
        assert np.mean(np.array(pairs["chosen_figure_id"]) != np.array(pairs["rejected_figure_id"])) > 0.9
    # every level pair is drawn, and each side is a candidate's first question and answer
    levels_met = {
        (r, c)
        for c, r in zip(splits["train"]["chosen_score"], splits["train"]["rejected_score"], strict=True)
    }
    assert len(levels_met) == math.comb(len(LEVELS), 2)
    first = splits["train"][0]
    row = rows[first["chosen_candidate_id"]]
    question, answer = qa_pairs(row["messages"])[0]
    assert first["chosen_text"] == format_selector_text(row["caption"], row["mentions"], question, answer)
    again = PreferenceDataset.from_judge_scores(
        judged, preset="biomed-vital", num_pairs=400, num_test_pairs=100
    )
    assert again["train"]["chosen_text"] == splits["train"]["chosen_text"]


def test_the_preset_draws_thirty_thousand_training_pairs(judged):
    splits = PreferenceDataset.from_judge_scores(judged, preset="biomed-vital")
    stats = {name: preference_build_stats(splits[name])["judge"] for name in splits}
    assert stats["train"]["sampled_pairs"] == 30_000 == sum(splits["train"]["votes"])
    assert stats["test"]["sampled_pairs"] == 10_000
    assert stats["train"]["train_items"] == sum(
        n * 4 // 5 for n in np.bincount(np.arange(len(judged)) % len(LEVELS))
    )


def test_levels_with_one_item_are_never_drawn_and_fractional_scores_are_refused():
    scores = np.array([9.0, 9.0, 9.0, 9.0, 9.0, 1.0, 1.0, 1.0, 1.0, 1.0, 5.0])
    (train_high, train_low), (test_high, test_low), counts = sample_score_level_pairs(
        scores, 1.0, 0.8, 50, 20, np.random.default_rng(0)
    )
    assert set(train_high.tolist()) <= {0, 1, 2, 3} and set(train_low.tolist()) <= {5, 6, 7, 8}
    assert set(test_high.tolist()) == {4} and set(test_low.tolist()) == {9}
    assert 10 not in np.concatenate([train_high, train_low, test_high, test_low])
    assert counts["train_items"] == 8 and counts["test_items"] == 2
    with pytest.raises(ValueError, match="whole-number score.*scores 7.5"):
        sample_score_level_pairs(np.array([7.5, 2.0, 2.0]), 1.0, 0.8, 5, 0, np.random.default_rng(0))
    # with a gap of 3, levels 9 and 8 never meet; both meet level 2
    (high, low), _, _ = sample_score_level_pairs(
        np.array([9.0] * 3 + [8.0] * 3 + [2.0] * 3), 3.0, 0.7, 40, 0, np.random.default_rng(1)
    )
    assert set(low.tolist()) == {6, 7} and set(high.tolist()) == {0, 1, 3, 4}


def test_the_build_puts_the_first_fifty_clinician_pairs_in_training(judged, candidates, candidate_rows):
    records = [pairwise_record(candidate_rows, i, "A", annotator=f"rad-{i % 2}") for i in range(58)]
    with pytest.raises(ValueError, match="clinician_weight"):
        build_preferences(judged, records, preset="biomed-vital", num_pairs=300)
    splits = build_preferences(
        judged, records, preset="biomed-vital", num_pairs=300, num_test_pairs=60, clinician_weight=100.0
    )
    clinician = {name: splits[name].filter(lambda r: r["source"] == "clinician") for name in splits}
    assert len(clinician["train"]) == 50 and len(clinician["test"]) == 8
    expected = [candidate_rows[2 * i]["candidate_id"] for i in range(50)]
    assert clinician["train"]["chosen_candidate_id"] == expected
    for name in splits:
        weights = dict(zip(splits[name]["source"], splits[name]["weight"], strict=True))
        assert weights == {"clinician": 100.0, "judge": 1.0}
    assert sum(splits["train"].filter(lambda r: r["source"] == "judge")["votes"]) == 300


def test_the_command_builds_the_papers_splits_with_the_preset(judged, tmp_path):
    from datasets import load_from_disk

    from biomed_vital.cli.commands.preferences import main

    judged.save_to_disk(tmp_path / "judged")
    out = tmp_path / "pairs"
    args = ["build", "--judged", str(tmp_path / "judged"), "--preset", "biomed-vital", "--num-pairs", "120"]
    assert main([*args, "--num-test-pairs", "30", "--output", str(out)]) == 0
    splits = load_from_disk(out)
    assert sum(splits["train"]["votes"]) == 120 and sum(splits["test"]["votes"]) == 30
    assert set(splits["train"]["pair_kind"]) == {"judge_score_levels"}
