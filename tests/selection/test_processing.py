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


def _unigram_tokenizer():
    """A SentencePiece-style (Unigram + Metaspace) tokenizer: one whose texts are never cut."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    pieces = [("<pad>", 0.0), ("<unk>", 0.0), *((chr(c), -5.0) for c in range(32, 127)), ("\u2581", -2.0)]
    pieces += [("\u2581" + word, -1.0) for word in ("the", "a", "synthetic", "text", "answer", "question")]
    backend = Tokenizer(models.Unigram(pieces, unk_id=1, byte_fallback=False))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>")


def _synthetic_long_texts(seed: int, count: int) -> list[str]:
    """Synthetic texts of 0 to 3,000 characters with runs of spaces, tabs, newlines, punctuation, digits,
    accents and control characters: everything a cut at a space must keep intact."""
    rng = np.random.default_rng(seed)
    words = [
        "synthetic",
        "text",
        "the",
        "a",
        "answer",
        "Question:",
        "caption.",
        "x-ray",
        "12",
        "3.5",
        "café",
        "naïve",
        "end?",
        "(see",
        "fig)",
        "don't",
        "\x00",
        "\u00e9t\u00e9",
        "ok,",
        "##s",
    ]
    gaps = [" ", " ", " ", " ", "  ", "\n", " \n", "\t", " \t ", "   "]
    texts = []
    for _ in range(count):
        length = int(rng.integers(0, 500))
        parts = [str(rng.choice(words)) + str(rng.choice(gaps)) for _ in range(length)]
        texts.append("".join(parts)[: int(rng.integers(0, 3000))])
    return texts


class _RecordingBackend:
    """Passes batches on to a tokenizers backend and records how many characters each text it got had."""

    def __init__(self, inner, lengths: list[int]):
        self.inner, self.lengths = inner, lengths

    def encode_batch_fast(self, batch, **kwargs):
        self.lengths.extend(len(text) for text in batch)
        return self.inner.encode_batch_fast(batch, **kwargs)


@pytest.mark.parametrize("kind", ["byte-level BPE", "WordPiece", "Unigram"])
def test_long_texts_are_cut_before_tokenizing_and_come_out_exactly_as_whole(tmp_path, kind):
    """`select()` tokenizes only the part of a long text that truncation keeps; the ids must not change."""
    from biomed_vital.selection import processing

    tokenizer = {
        "byte-level BPE": lambda: build_tiny_tokenizer(model_max_length=64),
        "WordPiece": lambda: _wordpiece_tokenizer(tmp_path),
        "Unigram": _unigram_tokenizer,
    }[kind]()
    processor = SelectorProcessor(image_processor=tiny_selector()[1].image_processor, tokenizer=tokenizer)
    batches = [_synthetic_long_texts(seed, 24) for seed in range(4)]
    for side in ("left", "right"):
        processor.truncation_side = side
        tokenizer.truncation_side = side
        for max_length in (8, 16, 64):
            processor.tokenize(["synthetic warm-up"], max_length=max_length)  # sets up the backend
            backend = processing._PADDED_BACKENDS[tokenizer][1]
            tokenized: list[int] = []
            backend.tokenizer = _RecordingBackend(backend.tokenizer, tokenized)
            for texts in batches:  # several batches: later ones use what earlier ones taught
                tokenized.clear()
                got = processor.tokenize(texts, max_length=max_length)
                expected = tokenizer(
                    texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
                )
                assert list(got) == list(expected)
                for key in expected:
                    assert torch.equal(got[key], expected[key]), (kind, side, max_length, key)
            assert backend.cuttable is (kind != "Unigram")
            if backend.cuttable:  # the last batch was cut: far fewer characters tokenized than its texts hold
                whole = sum(len(text) for text in batches[-1])
                assert sum(tokenized) < 0.5 * whole, (kind, side, max_length, sum(tokenized), whole)


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
