"""Reading Dataset rows for model requests: context columns, image fingerprints and encoded images.

Request bodies carry images as base64 data URLs; for a pool of many thousand figures they
are built only when a request is about to be sent. Cache keys are therefore computed from a
fingerprint of the stored image bytes and the encoding settings instead of the data URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from biomed_vital import schema

__all__ = [
    "check_columns",
    "column_values",
    "context_columns",
    "image_fingerprints",
    "image_key_part",
    "image_part",
]


def column_values(dataset: Any, name: str) -> list[Any]:
    """All values of one column as a list (slicing reads the column at once; a ``Column`` indexed row by row is slow).

    Example:
        >>> from datasets import Dataset
        >>> column_values(Dataset.from_dict({"id": ["a", "b"]}), "id")
        ['a', 'b']
    """
    return dataset[name][:]


def check_columns(figures: Any, required: Sequence[str] = (schema.ID, schema.IMAGE)) -> None:
    """Raise a clear error when ``figures`` is not a Dataset with the ``required`` columns (and unique ids,
    when ``id`` is required).

    Example:
        >>> from datasets import Dataset
        >>> check_columns(Dataset.from_dict({"id": ["a", "a"], "image": [None, None]}))
        Traceback (most recent call last):
        ...
        ValueError: figure id 'a' appears at rows 0 and 1; ids must be unique
    """
    from datasets import Dataset

    if not isinstance(figures, Dataset):
        raise TypeError(
            f"expected a datasets.Dataset of figures, got {type(figures).__name__}; "
            "load one with biomed_vital.data.load_figures(...)"
        )
    missing = [c for c in required if c not in figures.column_names]
    if missing:
        raise KeyError(f"the figures Dataset lacks column(s) {missing}; it has {figures.column_names}")
    if schema.ID in required:
        first_row: dict[str, int] = {}
        for index, figure_id in enumerate(column_values(figures, schema.ID)):
            if figure_id is None or str(figure_id) == "":
                raise ValueError(f"row {index} has an empty id; every figure needs a unique id")
            if figure_id in first_row:
                raise ValueError(
                    f"figure id {figure_id!r} appears at rows {first_row[figure_id]} and {index}; ids must be unique"
                )
            first_row[figure_id] = index


def context_columns(figures: Any) -> list[dict[str, Any]]:
    """``caption``, ``mentions``, ``modality`` and ``fig_label`` of every row, without decoding any image.

    Example:
        >>> from datasets import Dataset
        >>> context_columns(Dataset.from_dict({"caption": ["(synthetic caption)"]}))
        [{'caption': '(synthetic caption)', 'mentions': [], 'modality': 'other', 'fig_label': ''}]
    """
    n = len(figures)
    names = figures.column_names
    captions = column_values(figures, schema.CAPTION) if schema.CAPTION in names else [""] * n
    mentions = column_values(figures, schema.MENTIONS) if schema.MENTIONS in names else [[] for _ in range(n)]
    modalities = column_values(figures, schema.MODALITY) if schema.MODALITY in names else ["other"] * n
    labels = column_values(figures, schema.FIG_LABEL) if schema.FIG_LABEL in names else [""] * n
    rows = []
    for caption, mention, modality, label in zip(captions, mentions, modalities, labels, strict=True):
        if isinstance(mention, str):
            mention = [mention]
        rows.append(
            {
                "caption": caption or "",
                "mentions": list(mention or []),
                "modality": modality or "other",
                "fig_label": label or "",
            }
        )
    return rows


def image_fingerprints(figures: Any, column: str = schema.IMAGE, batch_size: int = 256) -> list[str | None]:
    """sha256 of each row's stored image bytes (``None`` where a row has no image), read in batches.

    Example:
        >>> from datasets import Dataset
        >>> image_fingerprints(Dataset.from_dict({"image": [None]}))
        [None]
    """
    from datasets import Image

    from biomed_vital.data import image_fingerprint

    feature = figures.features.get(column)
    view = figures.cast_column(column, Image(decode=False)) if isinstance(feature, Image) else figures
    view = view.select_columns([column])
    fingerprints: list[str | None] = []
    for batch in view.iter(batch_size=batch_size):
        for value in batch[column]:
            fingerprints.append(image_fingerprint(value))
    return fingerprints


def image_part(image: Any, *, max_side: int, detail: str) -> dict[str, Any]:
    """An OpenAI ``image_url`` content part holding ``image`` as a base64 data URL.

    Example:
        >>> from PIL import Image
        >>> image_part(Image.new("RGB", (8, 8)), max_side=512, detail="low")["image_url"]["detail"]
        'low'
    """
    from biomed_vital.data import image_to_data_url

    return {
        "type": "image_url",
        "image_url": {"url": image_to_data_url(image, max_side=max_side), "detail": detail},
    }


def image_key_part(fingerprint: str, *, max_side: int, detail: str) -> dict[str, Any]:
    """The stand-in for :func:`image_part` inside a cache key (same settings, same key).

    Example:
        >>> image_key_part("ab12", max_side=512, detail="low")["image_url"]["url"]
        'sha256:ab12;max_side=512'
    """
    return {
        "type": "image_url",
        "image_url": {"url": f"sha256:{fingerprint};max_side={max_side}", "detail": detail},
    }
