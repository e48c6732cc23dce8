"""`compute_features`: cache pooled encoder features so training touches only the selector's head.

With frozen encoders, every epoch would re-encode the same images and texts. Encoding them once and
training on the cached features (`SelectorTrainer` and `SelectorModel.forward` accept them) makes training
the head on hundreds of thousands of pairs cheap. Identical images (the chosen and rejected side of a pair
usually show the same figure) and identical texts are encoded once.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from datasets import Dataset, concatenate_datasets
from tqdm.auto import tqdm

from biomed_vital import schema
from biomed_vital.data import load_image
from biomed_vital.selection._rows import identity_collate, image_key, iter_column, undecoded

#: The columns of cached encoder outputs that stand in for a preference pair's images and texts.
CHOSEN_IMAGE_FEATURES = "chosen_image_features"
REJECTED_IMAGE_FEATURES = "rejected_image_features"
CHOSEN_TEXT_FEATURES = "chosen_text_features"
REJECTED_TEXT_FEATURES = "rejected_text_features"
#: Preference column -> the column of its cached features.
PREFERENCE_IMAGE_COLUMNS = {
    schema.CHOSEN_IMAGE: CHOSEN_IMAGE_FEATURES,
    schema.REJECTED_IMAGE: REJECTED_IMAGE_FEATURES,
}
PREFERENCE_TEXT_COLUMNS = {
    schema.CHOSEN_TEXT: CHOSEN_TEXT_FEATURES,
    schema.REJECTED_TEXT: REJECTED_TEXT_FEATURES,
}


def _default_workers() -> int:
    return min(4, max(0, (os.cpu_count() or 1) - 1))


def _model_device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _unique_images(
    dataset: Dataset, columns: list[str]
) -> tuple[list[tuple[str, int]], dict[str, np.ndarray]]:
    """First (column, row) of every distinct image, and per column the unique index of each row."""
    view = undecoded(dataset, columns)
    first_seen: dict[str, int] = {}
    sources: list[tuple[str, int]] = []
    assignment: dict[str, np.ndarray] = {}
    for column in columns:
        positions = np.empty(len(view), dtype=np.int64)
        for row, value in enumerate(iter_column(view, column)):
            try:
                key = image_key(value)
            except (TypeError, ValueError) as error:
                raise ValueError(f"row {row}, column {column!r}: {error}") from error
            if key not in first_seen:
                first_seen[key] = len(sources)
                sources.append((column, row))
            positions[row] = first_seen[key]
        assignment[column] = positions
    return sources, assignment


class _SourceImages(torch.utils.data.Dataset):
    """Torch dataset over the distinct images; a batch is read from Arrow per column and decoded in the worker."""

    def __init__(self, view: Dataset, sources: list[tuple[str, int]], processor: Any):
        self.view, self.sources, self.processor = view, sources, processor

    def __len__(self) -> int:
        return len(self.sources)

    def __getitems__(self, positions: list[int]) -> torch.Tensor:
        images: list[Any] = [None] * len(positions)
        by_column: dict[str, list[int]] = {}
        for slot, position in enumerate(positions):
            by_column.setdefault(self.sources[position][0], []).append(slot)
        for column, slots in by_column.items():
            rows = [self.sources[positions[slot]][1] for slot in slots]
            for slot, row, value in zip(slots, rows, self.view[rows][column], strict=True):
                try:
                    images[slot] = load_image(value)
                except Exception as error:
                    raise ValueError(
                        f"cannot decode the image in row {row}, column {column!r}: {error}"
                    ) from error
        return self.processor.preprocess_images(images, return_tensors="pt")["pixel_values"]


@torch.inference_mode()
def _encode_images(
    model, processor, dataset: Dataset, sources, batch_size: int, num_workers: int
) -> np.ndarray:
    view = undecoded(dataset, sorted({column for column, _ in sources}))
    loader: torch.utils.data.DataLoader = torch.utils.data.DataLoader(
        _SourceImages(view, sources, processor),
        batch_size=batch_size,
        num_workers=num_workers,
        collate_fn=identity_collate,
    )
    device = _model_device(model)
    chunks = []
    for pixel_values in tqdm(loader, desc="Encoding images", unit="batch"):
        chunks.append(model.encode_image(pixel_values.to(device)).float().cpu().numpy())
    return (
        np.concatenate(chunks)
        if chunks
        else np.zeros((0, model.config.vision_config.hidden_size), np.float32)
    )


@torch.inference_mode()
def _encode_texts(model, processor, texts: list[str], batch_size: int, max_length: int | None) -> np.ndarray:
    device = _model_device(model)
    chunks = []
    for start in tqdm(range(0, len(texts), batch_size), desc="Encoding texts", unit="batch"):
        encoded = processor.tokenize(
            texts[start : start + batch_size], max_length=max_length, return_tensors="pt"
        )
        encoded = {key: value.to(device) for key, value in encoded.items()}
        chunks.append(
            model.encode_text(
                encoded["input_ids"], encoded.get("attention_mask"), encoded.get("token_type_ids")
            )
            .float()
            .cpu()
            .numpy()
        )
    return (
        np.concatenate(chunks) if chunks else np.zeros((0, model.config.text_config.hidden_size), np.float32)
    )


def compute_features(
    dataset: Dataset,
    model: Any,
    processor: Any,
    batch_size: int = 64,
    *,
    image_columns: Mapping[str, str] | None = None,
    text_columns: Mapping[str, str] | None = None,
    num_workers: int | None = None,
    max_length: int | None = None,
) -> Dataset:
    """Add pooled encoder features of a dataset's images and texts as new columns.

    By default the preference columns are used: `chosen_image`/`rejected_image` give
    `chosen_image_features`/`rejected_image_features`, and `chosen_text`/`rejected_text` give
    `chosen_text_features`/`rejected_text_features` (any present). Pass `image_columns` / `text_columns`
    (`{input column: output column}`) for other layouts. Duplicate images (same bytes or path) and duplicate
    texts are encoded once. The features are those of the current encoders, so cache them only when the
    encoders stay frozen (`freeze_vision` / `freeze_text`).

    Example:
        >>> cached = compute_features(preferences, model, processor, batch_size=64)     # doctest: +SKIP
        >>> trainer = SelectorTrainer(model, args, train_dataset=cached, processing_class=processor)  # doctest: +SKIP
    """
    if image_columns is None:
        image_columns = {k: v for k, v in PREFERENCE_IMAGE_COLUMNS.items() if k in dataset.column_names}
    if text_columns is None:
        text_columns = {k: v for k, v in PREFERENCE_TEXT_COLUMNS.items() if k in dataset.column_names}
    missing = [c for c in [*image_columns, *text_columns] if c not in dataset.column_names]
    if missing:
        raise ValueError(
            f"compute_features: the dataset has no columns {missing} (it has {dataset.column_names})."
        )
    if not image_columns and not text_columns:
        raise ValueError(
            "compute_features found nothing to encode: pass image_columns/text_columns, or a preferences "
            "dataset with chosen_/rejected_ image and text columns."
        )
    num_workers = _default_workers() if num_workers is None else num_workers
    was_training = model.training
    model.eval()
    try:
        new_columns: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if image_columns:
            sources, assignment = _unique_images(dataset, list(image_columns))
            features = _encode_images(model, processor, dataset, sources, batch_size, num_workers)
            for column, output in image_columns.items():
                new_columns[output] = (features, assignment[column])
        if text_columns:
            unique: dict[str, int] = {}
            assignment_text: dict[str, np.ndarray] = {}
            for column in text_columns:
                positions = np.empty(len(dataset), dtype=np.int64)
                for row, text in enumerate(iter_column(dataset, column)):
                    if text is None:
                        raise ValueError(f"row {row}, column {column!r}: the text is missing (None).")
                    positions[row] = unique.setdefault(text, len(unique))
                assignment_text[column] = positions
            features = _encode_texts(model, processor, list(unique), batch_size, max_length)
            for column, output in text_columns.items():
                new_columns[output] = (features, assignment_text[column])
    finally:
        model.train(was_training)

    fingerprint = hashlib.blake2b(digest_size=16)
    fingerprint.update(str(dataset._fingerprint).encode())
    for name, (features, positions) in sorted(new_columns.items()):
        fingerprint.update(name.encode())
        fingerprint.update(features.tobytes())
        fingerprint.update(positions.tobytes())

    def add_features(rows: list[int]) -> dict[str, np.ndarray]:
        picked = np.asarray(rows)
        return {name: features[positions[picked]] for name, (features, positions) in new_columns.items()}

    # Only the new columns are written (next to the dataset's own cache files when it has some), then joined
    # side by side: the images and texts of the dataset are neither decoded nor copied.
    row_numbers = Dataset.from_dict({"__row__": np.arange(len(dataset))})
    cache_file_name = None
    if dataset.cache_files:
        folder = os.path.dirname(dataset.cache_files[0]["filename"])
        cache_file_name = os.path.join(folder, f"selector-features-{fingerprint.hexdigest()}.arrow")
    feature_table = row_numbers.map(
        add_features,
        batched=True,
        batch_size=1000,
        input_columns=["__row__"],
        remove_columns=["__row__"],
        new_fingerprint=fingerprint.hexdigest(),
        cache_file_name=cache_file_name,
        desc="Adding cached features",
    )
    if dataset._indices is not None:
        dataset = dataset.flatten_indices()
    return concatenate_datasets([dataset, feature_table], axis=1)


__all__ = ["compute_features"]
