from __future__ import annotations

import numpy as np
import pytest
import torch

from biomed_vital.selection import compute_features
from biomed_vital.testing import tiny_selector


def test_features_match_the_encoders_and_duplicates_are_encoded_once(small_pairs):
    model, processor = tiny_selector(freeze_vision=True, freeze_text=True)
    encoded_images = []
    original = model.encode_image

    def counting_encode_image(pixel_values):
        encoded_images.append(len(pixel_values))
        return original(pixel_values)

    model.encode_image = counting_encode_image
    cached = compute_features(small_pairs, model, processor, batch_size=8, num_workers=0)

    # chosen and rejected sides share their figure's image: only the distinct images are encoded
    distinct_images = len({np.asarray(img).tobytes() for img in small_pairs["chosen_image"]})
    assert sum(encoded_images) == distinct_images
    for column in (
        "chosen_image_features",
        "rejected_image_features",
        "chosen_text_features",
        "rejected_text_features",
    ):
        assert column in cached.column_names
    assert cached.column_names[: len(small_pairs.column_names)] == small_pairs.column_names

    row = cached[3]
    with torch.no_grad():
        pixels = processor.preprocess_images([small_pairs[3]["rejected_image"]])["pixel_values"]
        tokens = processor.tokenize([small_pairs[3]["chosen_text"]])
        image_expected = original(pixels)[0]
        text_expected = model.encode_text(tokens["input_ids"], tokens["attention_mask"])[0]
    np.testing.assert_allclose(row["rejected_image_features"], image_expected.numpy(), atol=1e-5)
    np.testing.assert_allclose(row["chosen_text_features"], text_expected.numpy(), atol=1e-5)


def test_workers_give_the_same_features(small_pairs):
    model, processor = tiny_selector(freeze_vision=True)
    subset = small_pairs.select(range(10))
    inline = compute_features(subset, model, processor, batch_size=4, num_workers=0)
    with_workers = compute_features(subset, model, processor, batch_size=4, num_workers=1)
    np.testing.assert_allclose(
        inline["chosen_image_features"], with_workers["chosen_image_features"], atol=1e-6
    )


def test_bad_columns_and_missing_texts_raise_with_the_row(small_pairs):
    model, processor = tiny_selector()
    with pytest.raises(ValueError, match="no columns"):
        compute_features(small_pairs, model, processor, image_columns={"figure": "figure_features"})
    broken = small_pairs.select(range(3)).map(
        lambda row, index: {"rejected_text": None if index == 2 else row["rejected_text"]}, with_indices=True
    )
    with pytest.raises(ValueError, match="row 2"):
        compute_features(broken, model, processor, num_workers=0)


def test_truncated_texts_keep_their_answers_apart(small_pairs):
    # Chosen and rejected texts differ only in the answer, which comes last; truncation must keep it.
    model, processor = tiny_selector(freeze_text=True, max_text_length=24)
    cached = compute_features(small_pairs, model, processor, num_workers=0, image_columns={})
    chosen, rejected = (
        np.asarray(cached["chosen_text_features"]),
        np.asarray(cached["rejected_text_features"]),
    )
    assert (np.abs(chosen - rejected).max(axis=1) > 0).all()
