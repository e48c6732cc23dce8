"""BiomedCLIP's open_clip checkpoint as the selector's towers, checked against open_clip's own embeddings.

``data/tiny_biomedclip`` is a checkpoint in BiomedCLIP's layout (timm ViT + BERT with an MLP projection), built
with open_clip by ``tests/fixtures_build/make_tiny_biomedclip.py``, with the embeddings open_clip computed for its
synthetic images and texts. Head counts are not stored in open_clip weights; the tiny towers have 2 heads.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from biomed_vital.selection import SelectorModel, SelectorProcessor
from biomed_vital.selection.biomedclip import (
    biomedclip_tower_configs,
    convert_biomedclip_state_dict,
    read_biomedclip,
)

CHECKPOINT = Path(__file__).parent / "data" / "tiny_biomedclip"
HEADS = {"vision_num_heads": 2, "text_num_heads": 2}
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def reference():
    return load_file(str(CHECKPOINT / "reference_embeddings.safetensors"))


@pytest.fixture(scope="module")
def converted():
    return SelectorModel.from_biomedclip(str(CHECKPOINT), **HEADS).eval()


def _images():
    return [Image.open(CHECKPOINT / f"image_{index}.png") for index in range(3)]


def _texts():
    return json.loads((CHECKPOINT / "texts.json").read_text())


def test_the_converted_towers_give_open_clips_embeddings(converted, reference):
    ids = reference["input_ids"]
    with torch.no_grad():
        image = converted.get_image_features(reference["pixel_values"])
        text = converted.get_text_features(ids, (ids != 0).long())
        image_normalized = converted.get_image_features(reference["pixel_values"], normalize=True)
        text_normalized = converted.get_text_features(ids, (ids != 0).long(), normalize=True)
    torch.testing.assert_close(image, reference["image_features"], atol=TOLERANCE, rtol=0)
    torch.testing.assert_close(text, reference["text_features"], atol=TOLERANCE, rtol=0)
    torch.testing.assert_close(
        image_normalized, reference["image_features_normalized"], atol=TOLERANCE, rtol=0
    )
    torch.testing.assert_close(text_normalized, reference["text_features_normalized"], atol=TOLERANCE, rtol=0)
    # the checkpoint's embeddings are not trivially small, so the tolerance means something
    assert reference["image_features"].abs().mean() > 0.1 and reference["text_features"].abs().mean() > 0.1


def test_the_processor_prepares_images_and_texts_as_open_clip_does(converted, reference):
    processor = SelectorProcessor.from_biomedclip(str(CHECKPOINT))
    pixels = processor.preprocess_images(_images())["pixel_values"]
    torch.testing.assert_close(pixels, reference["pixel_values"], atol=TOLERANCE, rtol=0)
    batch = processor.tokenize(_texts())
    length = batch["input_ids"].shape[1]
    assert torch.equal(batch["input_ids"], reference["input_ids"][:, :length])
    assert bool((reference["input_ids"][:, length:] == 0).all())  # open_clip pads to the context length
    assert processor.tokenizer.model_max_length == 48 and processor.truncation_side == "right"
    with torch.no_grad():
        text = converted.get_text_features(
            batch["input_ids"], batch["attention_mask"], batch.get("token_type_ids")
        )
        image = converted.get_image_features(pixels)
    torch.testing.assert_close(text, reference["text_features"], atol=TOLERANCE, rtol=0)
    torch.testing.assert_close(image, reference["image_features"], atol=TOLERANCE, rtol=0)


def test_the_selector_has_the_papers_head_and_scores_in_zero_one(converted):
    config = converted.config
    assert (config.head_layers, config.head_hidden_size, config.head_activation, config.score_activation) == (
        3,
        512,
        "relu",
        "sigmoid",
    )
    assert config.feature_combination == ["txt", "img"] and config.projection_dim == 32
    processor = SelectorProcessor.from_biomedclip(str(CHECKPOINT))
    with torch.no_grad():
        scores = converted(**processor(images=_images(), text=_texts())).logits
    assert scores.shape == (3, 1) and bool(((scores > 0) & (scores < 1)).all())
    # head options can change; the projections belong to the checkpoint
    assert SelectorModel.from_biomedclip(str(CHECKPOINT), head_layers=1, **HEADS).config.head_layers == 1
    with pytest.raises(ValueError, match="projections are fixed by the checkpoint"):
        SelectorModel.from_biomedclip(str(CHECKPOINT), projection_bias=True, **HEADS)


def test_the_head_counts_matter_and_are_inferred_for_biomedclip(reference):
    wrong = SelectorModel.from_biomedclip(str(CHECKPOINT)).eval()  # 64 wide: inferred as one head
    with torch.no_grad():
        image = wrong.get_image_features(reference["pixel_values"])
    assert (image - reference["image_features"]).abs().max() > 1e-2
    # BiomedCLIP's own shapes (on the meta device: no memory) give ViT-B/16 and PubMedBERT-base with 12 heads
    checkpoint = read_biomedclip(str(CHECKPOINT))
    shapes = {
        "visual.trunk.pos_embed": (1, 197, 768),
        "visual.trunk.patch_embed.proj.weight": (768, 3, 16, 16),
        "visual.trunk.blocks.0.attn.qkv.bias": (2304,),
        "visual.trunk.blocks.0.mlp.fc1.weight": (3072, 768),
        "visual.trunk.blocks.11.mlp.fc1.weight": (3072, 768),
        "text.transformer.embeddings.word_embeddings.weight": (30522, 768),
        "text.transformer.embeddings.position_embeddings.weight": (512, 768),
        "text.transformer.embeddings.token_type_embeddings.weight": (2, 768),
        "text.transformer.encoder.layer.0.intermediate.dense.weight": (3072, 768),
        "text.transformer.encoder.layer.11.intermediate.dense.weight": (3072, 768),
    }
    state = {name: torch.empty(shape, device="meta") for name, shape in shapes.items()}
    model_config = json.loads(json.dumps(checkpoint.model_config))
    model_config["vision_cfg"]["timm_model_name"] = "vit_base_patch16_224"
    vision, text = biomedclip_tower_configs(model_config, state)
    assert (vision.hidden_size, vision.num_hidden_layers, vision.num_attention_heads) == (768, 12, 12)
    assert (vision.image_size, vision.patch_size, vision.intermediate_size, vision.layer_norm_eps) == (
        224,
        16,
        3072,
        1e-6,
    )
    assert (
        text.vocab_size,
        text.num_hidden_layers,
        text.num_attention_heads,
        text.max_position_embeddings,
    ) == (
        30522,
        12,
        12,
        512,
    )


def test_other_layouts_are_refused_with_the_cause_named():
    checkpoint = read_biomedclip(str(CHECKPOINT))
    config = json.loads(json.dumps(checkpoint.model_config))
    config["vision_cfg"]["timm_pool"] = "avg"
    config["text_cfg"]["hf_pooler_type"] = "mean_pooler"
    with pytest.raises(ValueError, match=r"timm_pool='avg'.*hf_pooler_type='mean_pooler'"):
        biomedclip_tower_configs(config, checkpoint.state_dict, **HEADS)
    layer_scale = {**checkpoint.state_dict, "visual.trunk.blocks.0.ls1.gamma": torch.ones(64)}
    with pytest.raises(ValueError, match="ls1.gamma"):
        biomedclip_tower_configs(checkpoint.model_config, layer_scale, **HEADS)
    with pytest.raises(ValueError, match="no place for.*visual.extra"):
        convert_biomedclip_state_dict({**checkpoint.state_dict, "visual.extra.weight": torch.ones(1)}, 2)
    with pytest.raises(ValueError, match="do not divide"):
        biomedclip_tower_configs(checkpoint.model_config, checkpoint.state_dict, vision_num_heads=3)


def test_the_command_saves_a_selector_that_loads_back(tmp_path, reference, capsys):
    from biomed_vital.cli.main import main

    out = tmp_path / "selector"
    assert (
        main(
            [
                "convert-biomedclip",
                str(CHECKPOINT),
                "--out",
                str(out),
                "--vision-num-heads",
                "2",
                "--text-num-heads",
                "2",
            ]
        )
        == 0
    )
    assert "saved the selector" in capsys.readouterr().out
    model = SelectorModel.from_pretrained(str(out)).eval()
    processor = SelectorProcessor.from_pretrained(str(out))
    assert processor.truncation_side == "right" and processor.tokenizer.model_max_length == 48
    with torch.no_grad():
        image = model.get_image_features(processor.preprocess_images(_images())["pixel_values"])
    torch.testing.assert_close(image, reference["image_features"], atol=TOLERANCE, rtol=0)

    assert main(["convert-biomedclip", str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    assert "has no open_clip_config.json" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["convert-biomedclip", str(CHECKPOINT)])  # --out is required


def test_the_converted_selector_trains_with_the_preset_from_the_command_line(tmp_path, small_pairs, capsys):
    from biomed_vital.cli.main import main

    converted = tmp_path / "converted"
    heads = ["--vision-num-heads", "2", "--text-num-heads", "2"]
    assert main(["convert-biomedclip", str(CHECKPOINT), "--out", str(converted), *heads]) == 0
    small_pairs.save_to_disk(str(tmp_path / "pairs"))
    run = tmp_path / "run"
    command = [
        "train-selector",
        str(tmp_path / "pairs"),
        "--model",
        str(converted),
        "--preset",
        "biomed-vital",
    ]
    command += ["--max-steps", "2", "--use-cpu", "--report-to", "none", "--save-strategy", "no"]
    command += ["--output-dir", str(run)]
    # the preset's 256 tokens do not fit the tiny text tower's 64 positions: a one-line error
    assert main(command) == 2
    assert "more than the text tower's 64 positions" in capsys.readouterr().err
    assert main([*command, "--max-length", "48"]) == 0
    args = torch.load(run / "training_args.bin", weights_only=False)
    trained_with = (args.loss_type, args.loss_reduction, args.learning_rate, args.per_device_train_batch_size)
    assert trained_with == ("hinge", "batch_mean", 1e-5, 64)
    trained = SelectorModel.from_pretrained(str(run))
    assert trained.config.score_activation == "sigmoid" and trained.config.text_projection == "mlp"
    before = dict(SelectorModel.from_pretrained(str(converted)).named_parameters())
    changed = [name for name, p in trained.named_parameters() if not torch.equal(p, before[name])]
    assert any(n.startswith("vision_model.") for n in changed) and any(
        n.startswith("score_head.") for n in changed
    )
