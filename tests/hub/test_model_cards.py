"""Model cards of a selector, a tuned VLM and a VLM adapter."""

from __future__ import annotations

import pytest
from huggingface_hub import ModelCard

from biomed_vital.hub import MODEL_KINDS, model_card


def test_model_card_yaml_and_sections_parse():
    card = model_card(
        repo_id="user/vital-selector",
        model_kind="selector",
        description="Selection model trained on stand-in preference pairs.",
        base_models=["user/tiny-vit", "user/tiny-bert"],
        datasets=["user/vital-preferences"],
        metrics={"eval_accuracy": 0.8125, "eval_loss": 0.41},
        training={"learning_rate": 1e-4, "num_train_epochs": 3, "clinician_weight": 5.0},
    )
    parsed = ModelCard(str(card))
    assert parsed.data.base_model == ["user/tiny-vit", "user/tiny-bert"]
    assert parsed.data.datasets == ["user/vital-preferences"]
    assert parsed.data.tags == ["biomed_vital", "selector", "biomedical"]
    assert parsed.data.library_name == "transformers"
    assert "| eval_accuracy | 0.8125 |" in card.text and "| clinician_weight | 5.0 |" in card.text
    assert 'AutoModel.from_pretrained("user/vital-selector")' in card.text
    adapter = model_card(
        repo_id="user/vital-lora",
        model_kind="vlm-adapter",
        description="LoRA",
        base_models=["user/tiny-llava"],
    )
    assert adapter.data.pipeline_tag == "image-text-to-text" and adapter.data.library_name == "peft"
    assert 'PeftModel.from_pretrained(base, "user/vital-lora")' in adapter.text
    with pytest.raises(ValueError, match="unknown model_kind"):
        model_card(repo_id=None, model_kind="classifier", description="")


def test_every_kind_says_what_it_is_and_how_to_load_it():
    for kind, what in MODEL_KINDS.items():
        card = model_card(repo_id=None, model_kind=kind, description="Stand-in description.")
        assert what in card.text and "## Usage" in card.text
        assert card.data.tags == ["biomed_vital", kind, "biomedical"]
    vlm = model_card(repo_id=None, model_kind="vlm", description="Tuned.")
    assert 'AutoModelForImageTextToText.from_pretrained("path/to/model")' in vlm.text
    assert vlm.data.base_model is None and "## Training" not in vlm.text and "## Evaluation" not in vlm.text
    custom = model_card(repo_id="user/m", model_kind="vlm", description="Tuned.", usage="print('hello')")
    assert "print('hello')" in custom.text and "from_pretrained" not in custom.text
