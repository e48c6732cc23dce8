"""merge_adapter: a LoRA adapter folded into its base gives the adapter model's logits, standalone."""

from __future__ import annotations

import warnings

import pytest
import torch
from transformers import AutoModelForImageTextToText, AutoProcessor

from biomed_vital.tuning import VisualInstructionTrainer, merge_adapter
from tests.tuning.conftest import cpu_config


@pytest.mark.slow
def test_merged_model_matches_the_trained_adapter(tmp_path, tiny_model_dir, short_conversations):
    args = cpu_config(tmp_path / "lora", method="lora", max_steps=2, learning_rate=1e-2)
    trainer = VisualInstructionTrainer(
        str(tiny_model_dir), args, train_dataset=short_conversations.select(range(4))
    )
    trainer.train()
    trainer.save_model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        merged_dir = merge_adapter(tmp_path / "lora", tmp_path / "merged")
    # peft's read of the old is_gradient_checkpointing name is not passed on to the user
    assert not [str(w.message) for w in caught if "is_gradient_checkpointing" in str(w.message)]
    merged = AutoModelForImageTextToText.from_pretrained(merged_dir).eval()
    processor = AutoProcessor.from_pretrained(merged_dir)
    row = trainer.train_dataset[0]
    batch = processor.apply_chat_template(
        [
            [
                {
                    "role": "user",
                    "content": [{"type": "image", "image": row["images"][0]}, {"type": "text", "text": "Q?"}],
                }
            ]
        ],
        add_generation_prompt=True,
        tokenize=True,
        return_dict=True,
        return_tensors="pt",
    )
    trainer.model.eval()
    with torch.no_grad():
        torch.testing.assert_close(
            merged(**batch).logits, trainer.model(**batch).logits, rtol=1e-4, atol=1e-4
        )
    card = (merged_dir / "README.md").read_text()
    assert "merged into its base model" in card and "## Training data" in card
    assert "adapter_config.json" not in {path.name for path in merged_dir.iterdir()}
