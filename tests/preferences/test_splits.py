"""Splitting pairs by figure."""

from __future__ import annotations

import pytest

from biomed_vital.preferences import mix_preferences, preference_build_stats, train_test_split_by_figure


def test_split_by_figure_is_disjoint_and_holds_out_clinician_pairs(clinician_and_judge):
    mixed = mix_preferences(*clinician_and_judge, clinician_weight=100)
    splits = train_test_split_by_figure(mixed, test_size=0.2, seed=3)

    def figures(split):
        return set(split["chosen_figure_id"]) | set(split["rejected_figure_id"])

    assert not figures(splits["train"]) & figures(splits["test"])
    assert "clinician" in splits["test"]["source"] and "clinician" in splits["train"]["source"]
    dropped = preference_build_stats(splits["test"])["split"]["pairs_dropped_across_splits"]
    assert len(splits["train"]) + len(splits["test"]) + dropped == len(mixed)
    again = train_test_split_by_figure(mixed, test_size=0.2, seed=3)
    assert again["test"]["chosen_text"] == splits["test"]["chosen_text"]
    with pytest.raises(ValueError, match="test_size"):
        train_test_split_by_figure(mixed, test_size=1.5)
