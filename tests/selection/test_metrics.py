from __future__ import annotations

import pytest

from biomed_vital.selection import preference_metrics


def test_accuracy_per_source_and_auc():
    metrics = preference_metrics(
        [2.0, 0.0, 3.0, 1.0], [1.0, 1.0, 0.0, 2.0], ["clinician", "clinician", "judge", "judge"]
    )
    assert metrics["accuracy"] == 0.5
    assert metrics["clinician_alignment"] == 0.5
    assert metrics["judge_accuracy"] == 0.5
    assert metrics["num_clinician_pairs"] == 2
    # differences s_c - s_r = [1, -1, 3, -1] are the positives, their negatives [-1, 1, -3, 1] the negatives:
    # of the 16 (positive, negative) pairs, 8 are ordered, 4 tied (half each) and 4 reversed: AUC 10/16
    assert metrics["roc_auc"] == pytest.approx(10 / 16)
    assert metrics["clinician_roc_auc"] == pytest.approx(2 / 4)  # [1, -1] against [-1, 1]
    assert metrics["judge_roc_auc"] == pytest.approx(3 / 4)  # [3, -1] against [-3, 1]


def test_perfectly_separated_pairs_have_auc_one_and_reversed_zero():
    assert preference_metrics([3.0, 2.0], [0.0, 1.0])["roc_auc"] == 1.0
    assert preference_metrics([0.0, 1.0], [3.0, 2.0])["roc_auc"] == 0.0


def test_ties_count_as_wrong():
    assert preference_metrics([1.0], [1.0])["accuracy"] == 0.0


def test_rank_and_map_of_clinician_preferred_answers():
    # Figure f1: clinicians preferred answer "a" over "b" and "c". Figure f2: preferred "x" over "y".
    chosen_keys = ["a", "a", "x"]
    rejected_keys = ["b", "c", "y"]
    groups = ["f1", "f1", "f2"]
    # Scores: a=1.0 ranks 2nd behind b=2.0 (f1); x=5.0 ranks 1st (f2).
    metrics = preference_metrics(
        [1.0, 1.0, 5.0],
        [2.0, 0.0, 4.0],
        ["clinician"] * 3,
        groups=groups,
        chosen_keys=chosen_keys,
        rejected_keys=rejected_keys,
    )
    assert metrics["clinician_mean_rank"] == pytest.approx((2 + 1) / 2)
    assert metrics["clinician_map"] == pytest.approx((0.5 + 1.0) / 2)
    assert metrics["num_ranked_groups"] == 2


def test_judge_pairs_are_left_out_of_clinician_ranking():
    metrics = preference_metrics(
        [1.0], [0.0], ["judge"], groups=["f"], chosen_keys=["a"], rejected_keys=["b"]
    )
    assert "clinician_mean_rank" not in metrics


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError, match="one per pair"):
        preference_metrics([1.0, 2.0], [0.0])
    with pytest.raises(ValueError, match="sources"):
        preference_metrics([1.0], [0.0], ["judge", "judge"])
