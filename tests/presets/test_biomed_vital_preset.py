"""The ``biomed-vital`` preset against the published method, setting by setting, and the registry around it.

Every row of ``PAPER_SETTINGS`` is a value from BioMed-VITAL's released scripts (``generate/``, ``filter/``),
checked on the config that ``from_preset("biomed-vital")`` builds; the library's own defaults must stay as
they are (``LIBRARY_DEFAULTS``).
"""

from __future__ import annotations

import pytest

from biomed_vital.generation import GeneratorConfig, JudgeConfig
from biomed_vital.preferences import JudgePairConfig, PreferenceBuildConfig
from biomed_vital.presets import PAPER_TOP_FRACTIONS, get_preset, preset_names, preset_values
from biomed_vital.selection import SelectionConfig

# (config, field, the paper's value)
PAPER_SETTINGS = [
    # generation: persona and rules (prompt style), the figure label, max_tokens 4096, the API's temperature
    (GeneratorConfig, "prompt_style", "biomed-vital"),
    (GeneratorConfig, "fig_label", True),
    (GeneratorConfig, "max_tokens", 4096),
    (GeneratorConfig, "temperature", None),
    (GeneratorConfig, "attach_demonstration_images", True),
    # judge: the criteria, temperature 0, the score on the first line, the first pair only
    (JudgeConfig, "prompt_style", "biomed-vital"),
    (JudgeConfig, "temperature", 0.0),
    (JudgeConfig, "score_parsing", "first_line"),
    (JudgeConfig, "granularity", "first_pair"),
    (JudgeConfig, "structured_output", False),
    # judge pairs: distinct integer levels at random, across figures, gap >= 1, 80/20 per level, 30,000 pairs
    (JudgePairConfig, "pairing", "score_levels"),
    (JudgePairConfig, "unit", "first_pair"),
    (JudgePairConfig, "min_gap", 1.0),
    (JudgePairConfig, "level_train_fraction", 0.8),
    (JudgePairConfig, "num_pairs", 30_000),
    (JudgePairConfig, "num_test_pairs", 10_000),
    # clinician pairs: 50 for training
    (PreferenceBuildConfig, "clinician_train_pairs", 50),
    (PreferenceBuildConfig, "pairing", "score_levels"),
    # selection: the first pair's score, every candidate ranked together, int(fraction * n) kept
    (SelectionConfig, "score_by", "first_pair"),
    (SelectionConfig, "per_modality", False),
    (SelectionConfig, "fraction_rounding", "floor"),
]

# (config, field, the library's default), which the preset must leave alone
LIBRARY_DEFAULTS = [
    (GeneratorConfig, "prompt_style", "library"),
    (GeneratorConfig, "max_tokens", 1024),
    (GeneratorConfig, "temperature", 0.7),
    (GeneratorConfig, "min_rounds", 3),
    (GeneratorConfig, "fig_label", False),
    (JudgeConfig, "granularity", "turn"),
    (JudgeConfig, "score_parsing", "anywhere"),
    (JudgePairConfig, "pairing", "anchored"),
    (JudgePairConfig, "min_gap", 2.0),
    (SelectionConfig, "score_by", "qa_mean"),
    (SelectionConfig, "fraction_rounding", "ceil"),
]

PAPER_TRAINING = {
    "learning_rate": 1e-5,
    "num_train_epochs": 6,
    "per_device_train_batch_size": 64,
    "lr_scheduler_type": "constant",
    "weight_decay": 0.0,
    "loss_type": "hinge",
    "margin": 1.0,
    "loss_reduction": "batch_mean",
    "max_length": 256,
    "truncation_side": "right",
}


@pytest.mark.parametrize(("config_class", "name", "value"), PAPER_SETTINGS)
def test_the_preset_sets_the_papers_value(config_class, name, value):
    assert getattr(config_class.from_preset("biomed-vital"), name) == value


@pytest.mark.parametrize(("config_class", "name", "value"), LIBRARY_DEFAULTS)
def test_the_library_defaults_stay_as_they_are(config_class, name, value):
    assert getattr(config_class(), name) == value


def test_the_paper_sweeps_are_listed_not_chosen():
    preset = get_preset("biomed-vital")
    assert preset.sweeps["clinician_weight"] == (1.0, 10.0, 100.0, 200.0, 300.0, 400.0)
    assert preset.sweeps["top_fraction"] == PAPER_TOP_FRACTIONS == (0.1, 0.4, 0.8, 0.9)
    assert PreferenceBuildConfig.from_preset("biomed-vital").clinician_weight is None
    assert SelectionConfig.from_preset("biomed-vital").top_fraction is None


def test_training_settings(tmp_path):
    from biomed_vital.selection import SelectorTrainingConfig

    args = SelectorTrainingConfig.from_preset(
        "biomed-vital", output_dir=str(tmp_path), use_cpu=True, report_to="none"
    )
    for name, value in PAPER_TRAINING.items():
        assert getattr(args, name) == value, name
    assert args.optim.startswith("adamw")  # with weight_decay 0, AdamW is the scripts' Adam
    assert SelectorTrainingConfig(str(tmp_path), use_cpu=True).loss_reduction == "weighted_mean"


def test_the_selector_architecture():
    import torch
    from torch import nn
    from transformers import BertConfig, ViTConfig

    from biomed_vital.selection import SelectorConfig, SelectorModel

    config = SelectorConfig.from_preset("biomed-vital")
    vision, text = config.vision_config, config.text_config
    assert (
        vision.model_type,
        vision.hidden_size,
        vision.num_hidden_layers,
        vision.patch_size,
        vision.image_size,
    ) == (
        "vit",
        768,
        12,
        16,
        224,
    )
    assert vision.layer_norm_eps == 1e-6
    assert (text.model_type, text.hidden_size, text.num_hidden_layers, text.vocab_size) == (
        "bert",
        768,
        12,
        30522,
    )
    assert config.feature_combination == ["txt", "img"] and config.normalize_features
    assert (config.vision_pooling, config.text_pooling) == ("cls", "cls")
    assert not config.freeze_vision and not config.freeze_text  # the whole model is fine-tuned

    # the same head on small towers: 1024 -> 512 -> 512 -> 512 -> 1, ReLU, sigmoid output
    small = SelectorConfig.from_preset(
        "biomed-vital",
        vision_config=ViTConfig(
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=64,
            image_size=16,
            patch_size=8,
        ),
        text_config=BertConfig(
            vocab_size=50, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
        ),
    )
    model = SelectorModel(small).eval()
    linears = [m for m in model.score_head if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (1024, 512),
        (512, 512),
        (512, 512),
        (512, 1),
    ]
    assert sum(isinstance(m, nn.ReLU) for m in model.score_head) == 3
    assert isinstance(model.score_head[-1], nn.Sigmoid)
    assert isinstance(model.text_projection, nn.Sequential) and model.vision_projection.bias is None
    scores = model.score_features(torch.randn(5, 32) * 50, torch.randn(5, 32) * 50)
    assert scores.shape == (5, 1) and bool(((scores > 0) & (scores < 1)).all())


def test_the_registry_covers_sampling_with_the_samplers_own_values():
    from biomed_vital.sampling import SAMPLER_PRESETS, SamplerConfig

    assert preset_values("biomed-vital", SamplerConfig) == SAMPLER_PRESETS["biomed-vital"]
    assert preset_values("biomed-vital", SamplerConfig)["n_clusters"] == 60


def test_the_registry_by_name():
    assert preset_names() == ["biomed-vital"]
    assert preset_values("biomed-vital", "JudgeConfig") == preset_values("biomed-vital", JudgeConfig)
    # a config inherits the values set on its bases
    assert preset_values("biomed-vital", PreferenceBuildConfig)["num_pairs"] == 30_000
    with pytest.raises(ValueError, match="unknown preset 'paper'; choose from biomed-vital"):
        get_preset("paper")
    from biomed_vital.preferences import ClinicianPairConfig

    with pytest.raises(ValueError, match="sets nothing on ClinicianPairConfig"):
        ClinicianPairConfig.from_preset("biomed-vital")
    with pytest.raises(TypeError, match="unknown option"):
        GeneratorConfig.from_preset("biomed-vital", max_tokenz=1)
    # values given next to the preset win, and a lookup never hands out the registry's own objects
    assert GeneratorConfig.from_preset("biomed-vital", max_tokens=2048).max_tokens == 2048
    preset_values("biomed-vital", "SelectionConfig")["score_by"] = "changed"
    assert SelectionConfig.from_preset("biomed-vital").score_by == "first_pair"


def test_tasks_builders_and_select_take_the_name():
    from biomed_vital.generation import GPT4VGenerator, GPT4VJudge
    from biomed_vital.preferences.pair_config import resolve_config

    generator = GPT4VGenerator("gpt-4o", api_key="sk-local-test", preset="biomed-vital", two_answers=True)
    assert generator.config.max_tokens == 4096 and generator.config.two_answers
    assert GPT4VJudge("gpt-4o", api_key="sk-local-test", preset="biomed-vital").granularity == "first_pair"
    with pytest.raises(ValueError, match="not both"):
        GPT4VJudge("gpt-4o", api_key="sk-local-test", preset="biomed-vital", config=JudgeConfig())
    assert resolve_config(JudgePairConfig, None, {"preset": "biomed-vital", "num_pairs": 10}).num_pairs == 10


def test_commands_take_the_preset_and_flags_override_it(tmp_path):
    from biomed_vital.cli.commands import judge, select

    _, config = select.build_parser().parse(
        ["candidates/", "--preset", "biomed-vital", "--top-fraction", "0.4"]
    )
    assert (config.score_by, config.fraction_rounding, config.top_fraction) == ("first_pair", "floor", 0.4)
    parser = judge.build_parser()
    parsed = parser.parse(["candidates/", "--preset", "biomed-vital", "--temperature", "0.2"])
    judge_config = next(c for c in parsed if isinstance(c, JudgeConfig))
    assert judge_config.granularity == "first_pair" and judge_config.temperature == 0.2
    assert parser.preset == "biomed-vital"
    config_file = tmp_path / "options.yaml"
    config_file.write_text("score_by: qa_mean\n")
    _, config = select.build_parser().parse(["c/", "--preset", "biomed-vital", "--config", str(config_file)])
    assert (
        config.score_by == "qa_mean" and config.fraction_rounding == "floor"
    )  # the file overrides the preset
    with pytest.raises(SystemExit) as raised:
        select.build_parser().parse(["c/", "--preset", "paper"])
    assert raised.value.code == 2
