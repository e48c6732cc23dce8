"""The option dataclasses of the pair builders and of build_preferences."""

from __future__ import annotations

import dataclasses

import pytest

from biomed_vital.data import DEFAULT_MAX_MENTIONS
from biomed_vital.preferences import (
    ClinicianPairConfig,
    JudgePairConfig,
    PairConfig,
    PreferenceBuildConfig,
)
from biomed_vital.preferences.pair_config import resolve_config


def _defaults(config_class):
    return {f.name: f.default for f in dataclasses.fields(config_class)}


def test_the_build_config_has_every_builder_option_once_with_the_builders_defaults():
    build = _defaults(PreferenceBuildConfig)
    for builder in (ClinicianPairConfig, JudgePairConfig):
        assert _defaults(builder).items() <= build.items()
    names = [f.name for f in dataclasses.fields(PreferenceBuildConfig)]
    assert len(names) == len(set(names))
    assert {"clinician_weight", "judge_pairs", "test_size", "split_seed", "stratify_by_source"} <= set(names)
    # a build config is a config of each builder, so it can be handed to either as it is
    assert isinstance(PreferenceBuildConfig(), ClinicianPairConfig)
    assert isinstance(PreferenceBuildConfig(), JudgePairConfig)


def test_defaults_and_help_text():
    assert (JudgePairConfig().min_gap, JudgePairConfig().pairs_per_item, JudgePairConfig().unit) == (
        2.0,
        2,
        "auto",
    )
    assert ClinicianPairConfig().contradictions == "drop"
    assert PairConfig().max_mentions == DEFAULT_MAX_MENTIONS and PairConfig().image_column == "image"
    assert PreferenceBuildConfig().clinician_weight is None and PreferenceBuildConfig().test_size == 0.0
    for field in dataclasses.fields(PreferenceBuildConfig):
        assert field.metadata.get("help"), f"{field.name} has no help text"
    assert PreferenceBuildConfig(min_gap=3).to_dict()["min_gap"] == 3


@pytest.mark.parametrize(
    ("config_class", "options", "message"),
    [
        (JudgePairConfig, {"min_gap": 0}, "min_gap must be a positive number"),
        (JudgePairConfig, {"pairs_per_item": 0}, "pairs_per_item must be an integer >= 1"),
        (
            JudgePairConfig,
            {"unit": "sentence"},
            r"unit must be one of \['auto', 'turn', 'first_pair', 'conversation'\]",
        ),
        (JudgePairConfig, {"pairing": "random"}, r"pairing must be one of \['anchored', 'score_levels'\]"),
        (JudgePairConfig, {"pairing": "score_levels"}, "pairing='score_levels' needs num_pairs"),
        (JudgePairConfig, {"level_train_fraction": 1.0}, "level_train_fraction must be between 0 and 1"),
        (ClinicianPairConfig, {"contradictions": "maybe"}, "contradictions must be 'drop' or 'keep'"),
        (PairConfig, {"weight": -1}, "weight must be a positive finite number"),
        (PairConfig, {"max_mentions": -1}, "max_mentions must be an integer >= 0"),
        (PreferenceBuildConfig, {"clinician_weight": 0}, "clinician_weight must be a positive finite number"),
        (PreferenceBuildConfig, {"test_size": 2.5}, "neither a fraction"),
        (PreferenceBuildConfig, {"test_size": -0.1}, "test_size must be 0, a fraction"),
        # the build config checks the builders' fields too
        (PreferenceBuildConfig, {"min_gap": -1}, "min_gap must be a positive number"),
        (PreferenceBuildConfig, {"contradictions": "maybe"}, "contradictions must be"),
        (
            PreferenceBuildConfig,
            {"pairing": "score_levels", "num_pairs": 10, "test_size": 0.2},
            "splits the items of each score level into train and test itself",
        ),
        (PreferenceBuildConfig, {"clinician_train_pairs": 50}, "clinician_train_pairs applies with pairing"),
    ],
)
def test_bad_values_are_refused_with_the_option_named(config_class, options, message):
    with pytest.raises(ValueError, match=message):
        config_class(**options)


def test_a_whole_test_size_is_a_number_of_figures():
    assert PreferenceBuildConfig(test_size=3.0).split_test_size == 3
    assert isinstance(PreferenceBuildConfig(test_size=3.0).split_test_size, int)
    assert PreferenceBuildConfig(test_size=0.25).split_test_size == pytest.approx(0.25)


def test_resolve_config_applies_overrides_to_a_copy():
    base = JudgePairConfig(min_gap=4)
    resolved = resolve_config(JudgePairConfig, base, {"seed": 9})
    assert (resolved.min_gap, resolved.seed, base.seed) == (4, 9, 0)
    assert resolve_config(JudgePairConfig, None, {}) == JudgePairConfig()
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['seeds'\]"):
        resolve_config(JudgePairConfig, None, {"seeds": 1})
