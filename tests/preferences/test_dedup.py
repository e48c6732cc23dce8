"""Duplicate and contradictory pairs: merged, dropped or kept, and counted."""

from __future__ import annotations

from biomed_vital.preferences import (
    PreferenceDataset,
    deduplicate_preferences,
    mix_preferences,
    preference_build_stats,
    summarize_preferences,
)
from tests.preferences.helpers import pairwise_record


def test_duplicates_merge_and_contradictions_are_dropped_or_kept(candidates, candidate_rows):
    agree = [
        pairwise_record(candidate_rows, 0, "A", "rad-1"),
        pairwise_record(candidate_rows, 0, "A", "rad-2"),
    ]
    contradict = [
        pairwise_record(candidate_rows, 1, "A", "rad-1"),
        pairwise_record(candidate_rows, 1, "B", "rad-2"),
    ]
    dropped = PreferenceDataset.from_clinician_annotations(agree + contradict, candidates)
    assert len(dropped) == 1 and dropped[0]["votes"] == 2
    stats = preference_build_stats(dropped)["clinician"]
    assert stats["duplicates_merged"] == 1 and stats["contradictory_pairs_dropped"] == 2
    kept = PreferenceDataset.from_clinician_annotations(agree + contradict, candidates, contradictions="keep")
    assert len(kept) == 3 and preference_build_stats(kept)["clinician"]["contradictory_pairs"] == 2
    assert "contradictory pairs 2 (dropped 0)" in summarize_preferences(kept)
    again = deduplicate_preferences(mix_preferences(kept, kept, clinician_weight=1.0))
    assert len(again) == 1 and again[0]["votes"] == 4  # both copies of the agreed pair, 2 votes each
