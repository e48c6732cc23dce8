"""build_preferences: the whole build from one PreferenceBuildConfig, on real demonstrations."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset, DatasetDict

from biomed_vital.preferences import (
    PreferenceBuildConfig,
    PreferenceDataset,
    build_preferences,
    mix_preferences,
    preference_build_stats,
    train_test_split_by_figure,
)
from biomed_vital.schema import preference_features
from tests.preferences.helpers import pairwise_record, with_judge_scores

KEY = ["chosen_candidate_id", "rejected_candidate_id", "chosen_text", "source", "weight"]


@pytest.fixture()
def judged(candidates, candidate_rows):
    # each figure's two candidates are 1, 2 or 3 points apart, so min_gap decides which pairs exist
    scores = [6.0 if i % 2 == 0 else 6.0 - (1 + (i // 2) % 3) for i in range(len(candidate_rows))]
    return with_judge_scores(candidates, scores)


@pytest.fixture()
def records(candidate_rows):
    return [pairwise_record(candidate_rows, i, "A", annotator=f"rad-{i % 2}") for i in range(0, 30, 3)]


def test_the_defaults_of_the_config_are_applied(judged):
    pairs = build_preferences(judged)
    assert isinstance(pairs, Dataset)  # test_size 0 by default: no split
    gaps = np.subtract(pairs["chosen_score"], pairs["rejected_score"])
    assert len(pairs) > 0 and gaps.min() == pytest.approx(2.0)  # min_gap 2.0: gap-1 figures pair elsewhere
    defaults = PreferenceDataset.from_judge_scores(judged, min_gap=2.0, pairs_per_item=2, seed=0)
    assert pairs.select_columns(KEY).to_list() == defaults.select_columns(KEY).to_list()
    smaller_gap = build_preferences(judged, min_gap=1.0)
    assert np.subtract(smaller_gap["chosen_score"], smaller_gap["rejected_score"]).min() == pytest.approx(1.0)


def test_build_is_the_steps_one_by_one(judged, records):
    splits = build_preferences(judged, records, clinician_weight=50.0, test_size=0.2, seed=4)
    assert isinstance(splits, DatasetDict) and set(splits) == {"train", "test"}
    clinician = PreferenceDataset.from_clinician_annotations(records, judged)
    judge = PreferenceDataset.from_judge_scores(judged, seed=4)
    expected = train_test_split_by_figure(
        mix_preferences(clinician, judge, clinician_weight=50.0), test_size=0.2, seed=4
    )
    for name in ("train", "test"):
        assert splits[name].select_columns(KEY).to_list() == expected[name].select_columns(KEY).to_list()
    assert set(zip(splits["train"]["source"], splits["train"]["weight"], strict=True)) == {
        ("clinician", 50.0),
        ("judge", 1.0),
    }
    stats = preference_build_stats(splits["test"])
    assert stats["clinician"]["records"] == len(records) and stats["judge"]["rows"] == len(judged)


def test_a_config_with_overrides_and_the_split_options(judged, records):
    config = PreferenceBuildConfig(min_gap=1.0, clinician_weight=10.0, weight=0.5)
    pairs = build_preferences(judged, records, config=config, min_gap=3.0)
    judge = pairs.filter(lambda source: source == "judge", input_columns="source")
    assert len(judge) > 0 and np.subtract(judge["chosen_score"], judge["rejected_score"]).min() == 3.0
    assert set(judge["weight"]) == {0.5}  # judge pairs keep `weight`, clinician pairs get clinician_weight
    assert set(pairs.filter(lambda s: s == "clinician", input_columns="source")["weight"]) == {10.0}
    # a whole number is a number of figures (as a float it would be refused as a fraction)
    three_figures = build_preferences(judged, test_size=3.0)
    expected = train_test_split_by_figure(build_preferences(judged), test_size=3, seed=0)
    assert three_figures["test"]["chosen_text"] == expected["test"]["chosen_text"]
    by_split_seed = build_preferences(judged, test_size=0.3, seed=0, split_seed=5)
    by_seed = train_test_split_by_figure(build_preferences(judged, seed=0), test_size=0.3, seed=5)
    assert by_split_seed["test"]["chosen_text"] == by_seed["test"]["chosen_text"]


def test_an_empty_set_of_pairs_keeps_the_preference_columns(judged, records):
    no_judge_pairs = build_preferences(judged, records, clinician_weight=10.0, min_gap=9.0)
    assert no_judge_pairs.features == preference_features()
    assert set(no_judge_pairs["source"]) == {"clinician"} and len(no_judge_pairs) == len(records)
    assert preference_build_stats(no_judge_pairs)["judge"]["pairs"] == 0


def test_clinician_pairs_only_and_inputs_from_disk(tmp_path, judged, records):
    only_clinician = build_preferences(judged, records, judge_pairs=False)
    assert set(only_clinician["source"]) == {"clinician"} and set(only_clinician["weight"]) == {1.0}
    judged.save_to_disk(tmp_path / "judged")
    from_disk = build_preferences(str(tmp_path / "judged"), records, judge_pairs=False)
    assert from_disk.select_columns(KEY).to_list() == only_clinician.select_columns(KEY).to_list()


def test_what_cannot_be_built_is_said_before_anything_is_built(judged, records):
    with pytest.raises(ValueError, match="nothing to build"):
        build_preferences()
    with pytest.raises(ValueError, match="nothing to build"):
        build_preferences(judged, judge_pairs=False)
    with pytest.raises(ValueError, match="clinician annotations need the rows they name"):
        build_preferences(annotations=records)
    with pytest.raises(ValueError, match="needs clinician_weight"):
        build_preferences(judged, records)
