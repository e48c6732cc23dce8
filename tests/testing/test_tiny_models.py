from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import biomed_vital  # noqa: F401  (registers the selector with the Auto classes)
from biomed_vital.testing import build_tiny_tokenizer, tiny_llava, tiny_selector


@pytest.fixture(autouse=True)
def one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_tokenizer_has_the_special_tokens_and_is_deterministic():
    first, second = build_tiny_tokenizer(), build_tiny_tokenizer()
    assert first.get_vocab() == second.get_vocab()
    for token in ("<unk>", "<s>", "</s>", "<pad>", "<image>"):
        assert token in first.get_vocab()
    assert (first.pad_token, first.eos_token, first.image_token) == ("<pad>", "</s>", "<image>")
    text = "Question: what is in the picture?"
    assert first.decode(first(text)["input_ids"]) == text


def test_tokenizer_learns_from_the_given_corpus(clinician_demonstrations_path):
    import json

    texts = [
        turn["value"]
        for line in clinician_demonstrations_path.read_text().splitlines()
        for turn in json.loads(line)["conversations"]
    ]
    tokenizer = build_tiny_tokenizer(texts, vocab_size=500)
    default = build_tiny_tokenizer(vocab_size=500)
    word = "herniation"
    assert len(tokenizer(word)["input_ids"]) < len(default(word)["input_ids"])
    with pytest.raises(ValueError, match="empty corpus"):
        build_tiny_tokenizer([""])


def test_chat_template_marks_only_assistant_turns_for_training():
    tokenizer = build_tiny_tokenizer()
    messages = [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is shown?"}]},
        {"role": "assistant", "content": "A house."},
    ]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False)
    assert rendered == "USER: <image>\nWhat is shown?\nASSISTANT: A house.</s>\n"
    out = tokenizer.apply_chat_template(
        messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    masked = [t for t, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    assert tokenizer.decode(masked).strip() == "A house.</s>"  # byte-level BPE keeps the leading space


@pytest.mark.parametrize(("vision", "text"), [("clip", "llama"), ("siglip", "qwen2")])
def test_tiny_llava_runs_and_round_trips(tmp_path, vision, text):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model, processor = tiny_llava(vision, text, out_dir=tmp_path, seed=1)
    assert sum(p.numel() for p in model.parameters()) < 500_000
    assert min(model.config.text_config.hidden_size, model.config.vision_config.hidden_size) >= 64
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe it."}]}]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 48, 3), dtype=np.uint8))
    batch = processor(images=[image], text=[prompt], return_tensors="pt")

    reloaded = AutoModelForImageTextToText.from_pretrained(tmp_path).eval()
    reloaded_batch = AutoProcessor.from_pretrained(tmp_path)(
        images=[image], text=[prompt], return_tensors="pt"
    )
    assert torch.equal(batch["input_ids"], reloaded_batch["input_ids"])
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, reloaded(**reloaded_batch).logits)


def test_tiny_llava_is_deterministic_for_a_seed():
    first, _ = tiny_llava(seed=3)
    second, _ = tiny_llava(seed=3)
    assert all(
        torch.equal(a, b)
        for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True)
    )


@pytest.mark.parametrize("vision", ["vit", "clip", "siglip"])
def test_tiny_selector_is_small_deterministic_and_round_trips(tmp_path, vision):
    from transformers import AutoModel

    model, processor = tiny_selector(vision, out_dir=tmp_path, seed=2)
    again, _ = tiny_selector(vision, seed=2)
    assert sum(p.numel() for p in model.parameters()) < 300_000
    assert all(
        torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True)
    )
    batch = processor(images=[Image.new("RGB", (30, 30), (10, 200, 30))], text=["Answer: yes."])
    reloaded = AutoModel.from_pretrained(tmp_path).eval()
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, reloaded(**batch).logits)


def test_unknown_tower_names_are_rejected():
    with pytest.raises(ValueError, match="vision"):
        tiny_selector("resnet")
    with pytest.raises(ValueError, match="text"):
        tiny_llava("clip", "gpt2")


def test_tokenizer_without_image_token_and_with_extra_special_tokens():
    plain = build_tiny_tokenizer(image_token=False, extra_special_tokens=["<im_start>", "<im_end>"])
    assert "<image>" not in plain.get_vocab()
    assert plain.tokenize("<im_start>x<im_end>")[0] == "<im_start>"


def test_tiny_idefics3_round_trips(tmp_path):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from biomed_vital.testing import tiny_idefics3

    model, processor = tiny_idefics3(out_dir=tmp_path, seed=1)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe it."}]}]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 48, 3), dtype=np.uint8))
    batch = processor(images=[[image]], text=[prompt], return_tensors="pt")
    assert int((batch["input_ids"] == processor.image_token_id).sum()) == 4
    reloaded = AutoModelForImageTextToText.from_pretrained(tmp_path).eval()
    again = AutoProcessor.from_pretrained(tmp_path)(images=[[image]], text=[prompt], return_tensors="pt")
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).logits, reloaded(**again).logits)


@pytest.mark.parametrize("layout", ["single", "sharded", "projector", "projector_checkpoints"])
def test_tiny_original_llava_writes_the_original_key_layout(tmp_path, layout):
    import json

    from biomed_vital.testing import tiny_original_llava

    paths = tiny_original_llava(tmp_path, layout=layout, projector="linear")
    checkpoint = paths["checkpoint"]
    config = json.loads((checkpoint / "config.json").read_text())
    assert config["model_type"] == "llava" and config["mm_projector_type"] == "linear"
    files = sorted(checkpoint.rglob("*.bin"))
    keys = set().union(*(torch.load(path, weights_only=True).keys() for path in files))
    if layout.startswith("projector"):
        assert keys == {"model.mm_projector.weight", "model.mm_projector.bias"}
        assert (paths["language_model"] / "config.json").is_file()
    else:
        assert {"model.embed_tokens.weight", "lm_head.weight", "model.mm_projector.weight"} <= keys
        assert any(key.startswith("model.vision_tower.vision_tower.vision_model.") for key in keys)
        assert len(files) == (2 if layout == "sharded" else 1)
