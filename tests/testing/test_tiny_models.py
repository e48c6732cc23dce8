from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import biomed_vital  # noqa: F401  (registers the selector with the Auto classes)
from biomed_vital.testing import build_tiny_tokenizer, tiny_llava, tiny_selector

# Two model instances give the same floats only up to the CPU kernels they run on (a reloaded model differed
# by 2e-10 on another machine), so outputs are compared with a tolerance far above that noise and far below
# what one wrong weight tensor does (the tests re-initialise one tensor and check that the comparison fails).
OUTPUT_TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}


def _outputs_match(first: torch.Tensor, second: torch.Tensor) -> bool:
    return first.shape == second.shape and torch.allclose(first, second, **OUTPUT_TOLERANCE)


def _same_weights(first: torch.nn.Module, second: torch.nn.Module) -> bool:
    """Weights initialised from the same seed agree within float32 precision; another seed is far off."""
    one, two = first.state_dict(), second.state_dict()
    return one.keys() == two.keys() and all(
        torch.allclose(one[name].float(), two[name].float(), rtol=1e-6, atol=1e-7) for name in one
    )


def _reinitialised(model: torch.nn.Module, name: str) -> torch.nn.Module:
    """A copy of `model` whose parameter `name` is drawn afresh, as a weight missed at load time would be."""
    import copy

    broken = copy.deepcopy(model)
    parameter = dict(broken.named_parameters())[name]
    generator = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.02)
    return broken


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
    assert torch.equal(batch["input_ids"], reloaded_batch["input_ids"])  # token ids are integers
    model.eval()
    with torch.no_grad():
        expected = model(**batch).logits
        assert _outputs_match(reloaded(**reloaded_batch).logits, expected)
        broken = _reinitialised(reloaded, "lm_head.weight")
        assert not _outputs_match(broken(**reloaded_batch).logits, expected)


def test_tiny_llava_is_deterministic_for_a_seed():
    first, _ = tiny_llava(seed=3)
    assert _same_weights(first, tiny_llava(seed=3)[0])
    assert not _same_weights(first, tiny_llava(seed=4)[0])


@pytest.mark.parametrize("vision", ["vit", "clip", "siglip"])
def test_tiny_selector_is_small_deterministic_and_round_trips(tmp_path, vision):
    from transformers import AutoModel

    model, processor = tiny_selector(vision, out_dir=tmp_path, seed=2)
    assert sum(p.numel() for p in model.parameters()) < 300_000
    assert _same_weights(model, tiny_selector(vision, seed=2)[0])
    assert not _same_weights(model, tiny_selector(vision, seed=3)[0])

    reloaded = AutoModel.from_pretrained(tmp_path).eval()
    # the file holds the weights' exact values, so the reloaded tensors are the same numbers
    saved = model.state_dict()
    assert all(torch.equal(tensor, saved[name]) for name, tensor in reloaded.state_dict().items())

    pixels = np.random.default_rng(0).integers(0, 255, (2, 30, 30, 3), dtype=np.uint8)
    batch = processor(
        images=[Image.fromarray(image) for image in pixels],
        text=["Question: what is shown? Answer: two dots.", "Answer: yes."],
    )
    model.eval()

    def outputs(selector):
        with torch.no_grad():
            image_features = selector.encode_image(batch["pixel_values"])
            text_features = selector.encode_text(batch["input_ids"], batch["attention_mask"])
            logits = selector(**batch).logits
        return torch.cat([logits.flatten(), image_features.flatten(), text_features.flatten()])

    expected = outputs(model)
    assert _outputs_match(outputs(reloaded), expected)
    # one wrong weight tensor, in either tower or in the head, fails the same comparison
    towers = [name for name, _ in reloaded.named_parameters() if name.endswith("weight")]
    for name in (
        next(n for n in towers if n.startswith("vision_model") and "embed" in n),
        next(n for n in towers if n.startswith("text_model.encoder") and "value" in n),
        next(n for n in towers if n.startswith("score_head")),
    ):
        assert not _outputs_match(outputs(_reinitialised(reloaded, name)), expected), name


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
