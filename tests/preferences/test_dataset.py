"""PreferenceDataset: its two constructors, and the names it keeps for one release."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from biomed_vital.preferences import (
    ClinicianPairConfig,
    JudgePairConfig,
    PreferenceDataset,
    deduplicate_preferences,
    mix_preferences,
    summarize_preferences,
    train_test_split_by_figure,
)
from tests.preferences.helpers import pairwise_record, with_judge_scores


def test_building_pairs_does_not_import_torch():
    code = (
        "import sys, biomed_vital.preferences as p; p.PreferenceDataset; p.summarize_preferences; "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


KEY = ["chosen_candidate_id", "rejected_candidate_id", "chosen_text", "pair_kind"]


def _scores(candidate_rows):
    return [
        8.0 + (i % 3) if r["candidate_id"].endswith("orig") else 1.0 + (i % 4)
        for i, r in enumerate(candidate_rows)
    ]


def test_constructors_take_a_config_and_keyword_overrides(candidates, candidate_rows):
    judged = with_judge_scores(candidates, _scores(candidate_rows))
    by_keywords = PreferenceDataset.from_judge_scores(judged, min_gap=5, pairs_per_item=1, seed=3)
    config = JudgePairConfig(min_gap=5, pairs_per_item=1, seed=3)
    by_config = PreferenceDataset.from_judge_scores(judged, config)
    assert len(by_config) > 0
    assert by_config.select_columns(KEY).to_list() == by_keywords.select_columns(KEY).to_list()
    # a keyword overrides the config's field and leaves the config as it was
    overridden = PreferenceDataset.from_judge_scores(judged, config, min_gap=8)
    assert min(np.subtract(overridden["chosen_score"], overridden["rejected_score"])) >= 8
    assert config.min_gap == 5
    records = [pairwise_record(candidate_rows, 0, "A"), pairwise_record(candidate_rows, 0, "B", "rad-2")]
    kept = PreferenceDataset.from_clinician_annotations(
        records, candidates, ClinicianPairConfig(contradictions="keep")
    )
    assert len(kept) == 2 and set(kept["weight"]) == {1.0}
    weighted = PreferenceDataset.from_clinician_annotations(records[:1], candidates, weight=3.0)
    assert weighted["weight"] == [3.0]


def test_unknown_options_and_wrong_configs_are_named(candidates):
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['min_gapp'\]; JudgePairConfig fields are"):
        PreferenceDataset.from_judge_scores(candidates, min_gapp=2)
    with pytest.raises(TypeError, match="config must be a ClinicianPairConfig, got JudgePairConfig"):
        PreferenceDataset.from_clinician_annotations([], candidates, JudgePairConfig())


def test_forwarding_methods_warn_and_name_the_function(clinician_and_judge):
    clinician, judge = clinician_and_judge
    mixed = mix_preferences(clinician, judge, clinician_weight=10)
    calls = {
        "mix": (lambda: PreferenceDataset.mix(clinician, judge, clinician_weight=10), "mix_preferences"),
        "weight_sweep": (
            lambda: PreferenceDataset.weight_sweep(clinician, judge, [2.0]),
            "clinician_weight_sweep",
        ),
        "train_test_split_by_figure": (
            lambda: PreferenceDataset.train_test_split_by_figure(mixed, test_size=0.2, seed=1),
            "train_test_split_by_figure",
        ),
        "deduplicate": (lambda: PreferenceDataset.deduplicate(mixed), "deduplicate_preferences"),
        "summarize": (lambda: PreferenceDataset.summarize(mixed), "summarize_preferences"),
    }
    results = {}
    for old, (call, new) in calls.items():
        with pytest.warns(
            DeprecationWarning,
            match=rf"PreferenceDataset\.{old} is deprecated.*biomed_vital\.preferences\.{new}$",
        ):
            results[old] = call()
    assert results["mix"]["weight"] == mixed["weight"]
    assert list(results["weight_sweep"]) == [2.0]
    assert (
        results["train_test_split_by_figure"]["test"]["chosen_text"]
        == train_test_split_by_figure(mixed, test_size=0.2, seed=1)["test"]["chosen_text"]
    )
    assert len(results["deduplicate"]) == len(deduplicate_preferences(mixed))
    assert results["summarize"] == summarize_preferences(mixed)


def test_names_that_left_the_dataset_module_still_import_with_a_warning():
    from biomed_vital.preferences import dataset, mixing, summary

    with pytest.warns(
        DeprecationWarning, match=r"dataset\.mix_preferences is deprecated.*preferences\.mixing"
    ):
        assert dataset.mix_preferences is mixing.mix_preferences
    with pytest.warns(DeprecationWarning, match=r"preferences\.summary\.preference_build_stats"):
        assert dataset.preference_build_stats is summary.preference_build_stats
