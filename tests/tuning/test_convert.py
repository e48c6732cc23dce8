"""Original-layout LLaVA checkpoints convert to transformers' Llava and compute what the original computed.

The reference is `tests.tuning.original_llava.OriginalLlava`, written from the original architecture's
definition (vision tower hidden state, projector, embeddings spliced at IMAGE_TOKEN_INDEX), not from the
converter. Tiny checkpoints are written in the original key layout by `tiny_original_llava`.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoProcessor, LlavaForConditionalGeneration

from biomed_vital.cli.main import main as cli
from biomed_vital.testing import tiny_original_llava
from biomed_vital.tuning import ConversionError, convert_llava_checkpoint
from biomed_vital.tuning import convert as convert_module
from tests.tuning.original_llava import IMAGE_TOKEN_INDEX, OriginalLlava

QUESTION = "What does the image show?"  # synthetic question


@pytest.fixture(scope="module")
def image():
    """A non-square synthetic image, so LLaVA's padding to a square matters."""
    return Image.fromarray(np.random.default_rng(7).integers(0, 255, (40, 56, 3), dtype=np.uint8))


def _converted_and_reference_logits(folder, paths, image):
    model = LlavaForConditionalGeneration.from_pretrained(folder).eval()
    processor = AutoProcessor.from_pretrained(folder)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTION}]}]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
    batch = processor(images=[image], text=[prompt], return_tensors="pt", add_special_tokens=False)
    ids = batch["input_ids"][0].tolist()
    first, count = ids.index(processor.image_token_id), ids.count(processor.image_token_id)
    assert count == 16 and ids[first : first + count] == [processor.image_token_id] * count
    reference = OriginalLlava(paths)
    expected = reference.logits([*ids[:first], IMAGE_TOKEN_INDEX, *ids[first + count :]], image)
    torch.testing.assert_close(batch["pixel_values"], reference.pixel_values(image))
    with torch.no_grad():
        logits = model(**batch).logits[0]
    # the converted vocabulary adds <image> after the original tokens; compare the original ones
    return logits[:, : expected.shape[-1]], expected


@pytest.mark.parametrize(
    ("layout", "text", "projector", "vision_in_checkpoint"),
    [
        ("single", "llama", "mlp2x_gelu", True),  # LLaVA-1.5 / LLaVA-Med v1.5 style, one .bin
        ("sharded", "mistral", "linear", False),  # sharded with an index, tower loaded from mm_vision_tower
        ("projector", "llama", "mlp2x_gelu", True),  # a stage-1 run: mm_projector.bin + base language model
        ("projector_checkpoints", "llama", "linear", True),  # mm_projector/checkpoint-*.bin: the latest one
    ],
)
def test_converted_checkpoint_gives_the_original_logits(
    tmp_path, image, layout, text, projector, vision_in_checkpoint
):
    paths = tiny_original_llava(
        tmp_path, layout=layout, text=text, projector=projector, vision_in_checkpoint=vision_in_checkpoint
    )
    folder = convert_llava_checkpoint(paths["checkpoint"], tmp_path / "converted")
    assert any(path.suffix == ".safetensors" for path in folder.iterdir())
    logits, expected = _converted_and_reference_logits(folder, paths, image)
    torch.testing.assert_close(logits, expected, rtol=1e-5, atol=1e-5)
    record = json.loads((folder / "conversion.json").read_text())
    assert record["projector_type"] == projector and record["added_tokens"] == ["<image>"]
    assert record["projector_only"] == layout.startswith("projector")


def test_a_wrong_key_mapping_fails_the_comparison(tmp_path, image, monkeypatch):
    paths = tiny_original_llava(tmp_path, layout="single")
    swapped = [
        ("model.mm_projector.0.", "model.multi_modal_projector.linear_2."),
        ("model.mm_projector.2.", "model.multi_modal_projector.linear_1."),
        *convert_module.KEY_RULES[2:],
    ]
    monkeypatch.setattr(convert_module, "KEY_RULES", swapped)
    folder = convert_llava_checkpoint(paths["checkpoint"], tmp_path / "converted")
    logits, expected = _converted_and_reference_logits(folder, paths, image)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(logits, expected, rtol=1e-5, atol=1e-5)


def test_chat_template_follows_the_language_model(tmp_path):
    mistral = tiny_original_llava(tmp_path / "m", layout="single", text="mistral")
    folder = convert_llava_checkpoint(mistral["checkpoint"], tmp_path / "m-hf", dtype="float32")
    processor = AutoProcessor.from_pretrained(folder)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTION}]}]
    assert (
        processor.apply_chat_template(messages, add_generation_prompt=True)
        == f"<s>[INST]  <image>\n{QUESTION} [/INST]"
    )


def test_missing_parts_are_clear_errors(tmp_path):
    paths = tiny_original_llava(tmp_path, layout="projector")
    config_file = paths["checkpoint"] / "config.json"
    config = json.loads(config_file.read_text())
    config.pop("_name_or_path")
    config_file.write_text(json.dumps(config))
    with pytest.raises(ConversionError, match="projector-only checkpoint; pass language_model"):
        convert_llava_checkpoint(paths["checkpoint"], tmp_path / "out")
    config["mm_projector_type"] = "mlp3x_gelu"
    config_file.write_text(json.dumps(config))
    with pytest.raises(ConversionError, match="only 'linear' and 'mlp2x_gelu'"):
        convert_llava_checkpoint(
            paths["checkpoint"], tmp_path / "out", language_model=str(paths["language_model"])
        )
    with pytest.raises(ConversionError, match="checkpoint not found"):
        convert_llava_checkpoint(tmp_path / "nowhere", tmp_path / "out")


def test_convert_command(tmp_path, capsys):
    paths = tiny_original_llava(tmp_path, layout="sharded")
    assert cli(["convert", str(paths["checkpoint"]), "--output-dir", str(tmp_path / "hf")]) == 0
    assert "converted" in capsys.readouterr().out
    assert LlavaForConditionalGeneration.from_pretrained(tmp_path / "hf").config.image_seq_length == 16
    capsys.readouterr()
    assert cli(["convert", str(tmp_path / "missing"), "--output-dir", str(tmp_path / "x")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("biomed-vital convert: error: checkpoint not found") and error.count("\n") == 1
