from __future__ import annotations

import json

import pytest
from transformers import AutoConfig, BertConfig, CLIPVisionConfig, SiglipVisionConfig

import biomed_vital  # noqa: F401  (registers the selector with the Auto classes)
from biomed_vital.selection import SelectorConfig


def _text_config():
    return BertConfig(
        vocab_size=300, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
    )


def test_defaults_are_a_single_score_with_vit_and_bert_towers():
    config = SelectorConfig()
    assert config.num_labels == 1
    assert config.vision_config.model_type == "vit"
    assert config.text_config.model_type == "bert"


@pytest.mark.parametrize("vision", [CLIPVisionConfig, SiglipVisionConfig])
def test_sub_configs_round_trip_with_their_own_model_type(tmp_path, vision):
    config = SelectorConfig(
        vision_config=vision(
            hidden_size=32, num_attention_heads=2, intermediate_size=64, num_hidden_layers=1
        ),
        text_config=_text_config(),
        projection_dim=16,
        feature_combination=["img", "img*txt"],
        freeze_vision=True,
    )
    config.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == "biomed_vital_selector"
    assert saved["vision_config"]["model_type"] == config.vision_config.model_type
    assert saved["text_config"]["model_type"] == "bert"

    reloaded = AutoConfig.from_pretrained(tmp_path)
    assert type(reloaded) is SelectorConfig
    assert type(reloaded.vision_config) is vision
    assert reloaded.feature_combination == ["img", "img*txt"]
    assert reloaded.freeze_vision and reloaded.projection_dim == 16 and reloaded.num_labels == 1


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("feature_combination", ["img", "cosine"], "feature_combination"),
        ("feature_combination", [], "feature_combination"),
        ("text_pooling", "max", "text_pooling"),
        ("head_dropout", 1.5, "head_dropout"),
        ("projection_dim", 0, "projection_dim"),
    ],
)
def test_invalid_head_options_are_rejected_with_the_option_named(option, value, message):
    with pytest.raises(Exception, match=message):
        SelectorConfig(**{option: value})
