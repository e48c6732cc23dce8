from __future__ import annotations

import pytest
import torch
from PIL import Image
from transformers import (
    BertConfig,
    BertModel,
    CLIPConfig,
    CLIPModel,
    ViTConfig,
    ViTImageProcessorPil,
    ViTModel,
)

from biomed_vital.selection import SelectorModel, SelectorProcessor
from biomed_vital.testing import build_tiny_tokenizer, tiny_selector

TEXTS = ["Caption: a figure.\nQuestion: what is shown?\nAnswer: two panels.", "Answer: no."]


def _batch(processor, n=2):
    images = [Image.new("RGB", (40, 30), (30 * i, 80, 120)) for i in range(n)]
    return processor(images=images, text=(TEXTS * n)[:n], return_tensors="pt")


@pytest.mark.parametrize("vision", ["vit", "clip", "siglip"])
def test_forward_gives_one_score_per_pair(vision):
    model, processor = tiny_selector(vision)
    output = model(**_batch(processor, 3))
    assert output.logits.shape == (3, 1)
    assert torch.isfinite(output.logits).all()


def test_cached_features_give_the_same_scores_as_the_full_path():
    model, processor = tiny_selector()
    model.eval()
    batch = _batch(processor)
    with torch.no_grad():
        full = model(**batch).logits
        image_features = model.encode_image(batch["pixel_values"])
        text_features = model.encode_text(batch["input_ids"], batch["attention_mask"])
        cached = model(image_features=image_features, text_features=text_features).logits
    torch.testing.assert_close(cached, full)


def test_padding_does_not_change_the_score_with_mean_pooling():
    model, processor = tiny_selector(text_pooling="mean")
    model.eval()
    image = processor.preprocess_images([Image.new("RGB", (32, 32))])["pixel_values"]
    alone = processor.tokenize(["Answer: no."])
    padded = processor.tokenize(["Answer: no.", TEXTS[0]])
    with torch.no_grad():
        score_alone = model(**alone, pixel_values=image).logits[0]
        score_padded = model(**{k: v[:1] for k, v in padded.items()}, pixel_values=image).logits[0]
    torch.testing.assert_close(score_alone, score_padded, atol=1e-5, rtol=1e-5)


def test_frozen_encoders_get_no_gradients_and_stay_in_eval_mode():
    model, processor = tiny_selector(freeze_vision=True, freeze_text=True, head_dropout=0.5)
    model.train()
    assert not model.vision_model.training and not model.text_model.training
    assert model.score_head.training
    model(**_batch(processor)).logits.sum().backward()
    assert all(p.grad is None for p in model.vision_model.parameters())
    assert all(p.grad is None for p in model.text_model.parameters())
    assert model.vision_projection.weight.grad is not None
    assert model.score_head[-1].weight.grad is not None


def test_missing_inputs_raise_a_clear_error():
    model, processor = tiny_selector()
    batch = _batch(processor)
    with pytest.raises(ValueError, match="pixel_values"):
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    with pytest.raises(ValueError, match="input_ids"):
        model(pixel_values=batch["pixel_values"])


def _tiny_bert(tmp_path, vocab_size):
    bert = BertModel(
        BertConfig(
            vocab_size=vocab_size,
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=256,
        )
    )
    bert.save_pretrained(tmp_path / "bert")
    return bert


def test_from_encoders_loads_a_vit_and_a_bert_checkpoint_by_path(tmp_path):
    torch.manual_seed(0)
    vit = ViTModel(
        ViTConfig(
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=64,
            image_size=32,
            patch_size=8,
        )
    )
    vit.save_pretrained(tmp_path / "vit")
    ViTImageProcessorPil(size={"height": 32, "width": 32}).save_pretrained(tmp_path / "vit")
    tokenizer = build_tiny_tokenizer(model_max_length=64)
    bert = _tiny_bert(tmp_path, len(tokenizer))
    tokenizer.save_pretrained(tmp_path / "bert")

    model = SelectorModel.from_encoders(
        tmp_path / "vit", tmp_path / "bert", projection_dim=8, freeze_vision=True
    )
    processor = SelectorProcessor.from_encoders(tmp_path / "vit", tmp_path / "bert")

    assert model.config.projection_dim == 8 and model.config.freeze_vision
    for name, tensor in vit.state_dict().items():
        torch.testing.assert_close(model.vision_model.state_dict()[name], tensor)
    for name, tensor in bert.state_dict().items():
        torch.testing.assert_close(model.text_model.state_dict()[name], tensor)
    assert model.config.encoder_sources is None  # local folders are not listed as base models
    assert model(**_batch(processor)).logits.shape == (2, 1)


def test_from_encoders_takes_the_vision_tower_of_a_clip_checkpoint(tmp_path):
    torch.manual_seed(0)
    clip_config = CLIPConfig(
        vision_config={
            "hidden_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "image_size": 32,
            "patch_size": 8,
        },
        text_config={
            "hidden_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "vocab_size": 100,
        },
        projection_dim=16,
    )
    clip = CLIPModel(clip_config)
    clip.save_pretrained(tmp_path / "clip")
    _tiny_bert(tmp_path, 300)

    model = SelectorModel.from_encoders(tmp_path / "clip", tmp_path / "bert")

    assert type(model.vision_model).__name__ == "CLIPVisionModel"
    pixel_values = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            model.encode_image(pixel_values), clip.vision_model(pixel_values).pooler_output
        )


def test_push_to_hub_uploads_weights_processor_and_card_and_reloads(tmp_path):
    from transformers import AutoModel, AutoProcessor

    from biomed_vital.testing import FakeHub

    model, processor = tiny_selector(freeze_vision=True)
    model.eval()
    batch = _batch(processor)
    with torch.no_grad():
        expected = model(**batch).logits
    with FakeHub() as hub:
        model.push_to_hub(
            "user/vital-selector",
            processor=processor,
            metrics={"eval_clinician_alignment": 0.75},
            datasets=["user/vital-preferences"],
        )
        files = hub.files("user/vital-selector")
        card = hub.read_text("user/vital-selector", "README.md")
        reloaded = AutoModel.from_pretrained("user/vital-selector").eval()
        reloaded_processor = AutoProcessor.from_pretrained("user/vital-selector")
    assert {
        "README.md",
        "config.json",
        "model.safetensors",
        "processor_config.json",
        "tokenizer.json",
    } <= set(files)
    assert "selector" in card and "eval_clinician_alignment" in card and "user/vital-preferences" in card
    assert "vision" in card  # the frozen tower is listed with the architecture
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**_batch(reloaded_processor)).logits, expected)
