from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoProcessor

import biomed_vital  # noqa: F401  (registers the selector with the Auto classes)
from biomed_vital.selection import SelectorProcessor
from biomed_vital.testing import build_tiny_tokenizer, tiny_selector


def test_processor_saves_and_reloads_with_auto_processor(tmp_path):
    _, processor = tiny_selector("clip")
    processor.save_pretrained(tmp_path)
    for reloaded in (AutoProcessor.from_pretrained(tmp_path), SelectorProcessor.from_pretrained(tmp_path)):
        assert type(reloaded) is SelectorProcessor
        assert type(reloaded.image_processor).__name__ == "CLIPImageProcessorPil"
        images = [Image.new("L", (50, 40), 128), Image.new("RGBA", (20, 30))]
        texts = ["Caption: one.", "Question: two?"]
        expected, got = processor(images=images, text=texts), reloaded(images=images, text=texts)
        assert expected.keys() == got.keys()
        for key in expected:
            assert (expected[key] == got[key]).all()


def test_grayscale_and_rgba_images_become_three_channels():
    _, processor = tiny_selector()
    batch = processor.preprocess_images([Image.new("L", (64, 64)), Image.new("RGBA", (10, 12))])
    assert tuple(batch["pixel_values"].shape) == (2, 3, 32, 32)


def test_truncation_keeps_the_answer_and_survives_saving(tmp_path):
    tokenizer = build_tiny_tokenizer(model_max_length=16)
    _, processor = tiny_selector(tokenizer=tokenizer, out_dir=tmp_path)
    text = "Caption: " + "a long caption sentence " * 20 + "\nAnswer: the end."
    ids = processor.tokenize([text])["input_ids"][0]
    assert len(ids) == 16
    assert tokenizer.decode(ids, skip_special_tokens=True).endswith("the end.")

    reloaded = SelectorProcessor.from_pretrained(tmp_path)
    assert reloaded.truncation_side == "left" and reloaded.tokenizer.truncation_side == "left"
    processor.truncation_side = "right"
    processor.save_pretrained(tmp_path / "right")
    assert SelectorProcessor.from_pretrained(tmp_path / "right").truncation_side == "right"


def _wordpiece_tokenizer(tmp_path):
    """A BERT (WordPiece, token type ids) tokenizer over a synthetic vocabulary."""
    from transformers import BertTokenizerFast

    words = [
        "caption",
        "question",
        "answer",
        "a",
        "the",
        "of",
        "in",
        "is",
        "shown",
        "what",
        "which",
        "long",
        "short",
        "end",
        "synthetic",
        "text",
    ]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ":", ".", "?", "##s", "##ed", *words]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    return BertTokenizerFast(str(tmp_path / "vocab.txt"), model_max_length=24)


def test_padded_batches_are_exactly_the_tokenizers_own(tmp_path):
    import torch

    texts = [  # synthetic text of many lengths: shorter and longer than the token limits used
        "Caption: synthetic text.\nQuestion: what is shown?\nAnswer: " + "a long answer " * count + "the end."
        for count in (0, 1, 3, 9, 30)
    ] + ["", "short"]
    for tokenizer in (build_tiny_tokenizer(model_max_length=24), _wordpiece_tokenizer(tmp_path)):
        _, processor = tiny_selector(tokenizer=tokenizer)
        for side in ("left", "right"):
            processor.truncation_side = side
            for max_length in (None, 8, 512):
                got = processor.tokenize(texts, max_length=max_length)
                tokenizer.truncation_side = side
                expected = tokenizer(
                    texts,
                    padding=True,
                    truncation=True,
                    max_length=max_length or processor.max_text_length,
                    return_tensors="pt",
                )
                assert list(got) == list(expected), (type(tokenizer).__name__, side, max_length)
                for key in expected:
                    assert torch.equal(got[key], expected[key]), (
                        type(tokenizer).__name__,
                        side,
                        max_length,
                        key,
                    )
            assert processor.tokenize("Answer: yes.")["input_ids"].shape[0] == 1


@pytest.mark.parametrize("encoder", ["vit", "clip", "siglip", "biomedclip-like"])
def test_stacked_pixel_values_are_exactly_the_image_processors_own(encoder):
    """The vectorised preprocessing `select()` uses gives the image processor's own pixel values."""
    from transformers import CLIPImageProcessorPil

    from biomed_vital.selection.processing import _stacked_pixel_values

    if encoder == "biomedclip-like":  # shortest side resized bicubic, then a centre crop
        image_processor = CLIPImageProcessorPil(
            size={"shortest_edge": 40},
            crop_size={"height": 40, "width": 40},
            resample=3,
            image_mean=[0.48145466, 0.4578275, 0.40821073],
            image_std=[0.26862954, 0.26130258, 0.27577711],
        )
    else:
        image_processor = tiny_selector(encoder)[1].image_processor
    rng = np.random.default_rng(0)
    images = [
        Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        for height, width in [(96, 96), (50, 120), (200, 70), (33, 33)]
    ]
    # greyscale images are resized as one band; they must come out as their RGB conversion would
    greys = [
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode="L")
        for shape in [(90, 61), (40, 40)]
    ]
    for batch in (images, greys, [images[1], greys[0], images[3]]):
        stacked = _stacked_pixel_values(image_processor, batch)
        assert stacked is not None  # the vectorised path was taken
        expected = image_processor(images=[image.convert("RGB") for image in batch], return_tensors="pt")
        expected = expected["pixel_values"]
        assert stacked.shape == expected.shape and stacked.dtype == expected.dtype
        torch.testing.assert_close(stacked, expected, rtol=0, atol=1e-6)
    # inputs it does not cover go to the image processor itself
    assert _stacked_pixel_values(image_processor, [images[0].convert("P")]) is None
    assert _stacked_pixel_values(image_processor, [np.asarray(images[0])]) is None
