"""Reading the Datasets that pairs are built from, without decoding images.

Every pair builder and every tool on preference pairs reads columns through these helpers: one
column at a time through Arrow (:func:`column_values`), a clear error naming what is missing
(:func:`require_columns`), and the figure text of chosen rows in batches with a progress bar
(:func:`read_item_texts`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from biomed_vital import schema
from biomed_vital.data import IMAGE_TOKEN, format_selector_conversation

__all__ = ["BATCH_SIZE", "as_dataset", "column_values", "question_key", "read_item_texts", "require_columns"]

#: Rows read (and pairs written) per batch.
BATCH_SIZE = 1000

_TEXT_COLUMNS = (schema.CAPTION, schema.MENTIONS, schema.MESSAGES)


def as_dataset(data: Any, what: str) -> Any:
    """``data`` as a ``datasets.Dataset``; a list of dicts is converted.

    Example:
        >>> as_dataset([{"id": "f1"}], "candidates").column_names
        ['id']
    """
    from datasets import Dataset

    if isinstance(data, Dataset):
        return data
    if isinstance(data, (list, tuple)):
        return Dataset.from_list(list(data))
    raise TypeError(f"{what} must be a datasets.Dataset or a list of dicts, got {type(data).__name__}")


def require_columns(dataset: Any, columns: Iterable[str], what: str) -> None:
    """Raise a ``ValueError`` naming the ``columns`` that ``dataset`` lacks.

    Example:
        >>> require_columns(as_dataset([{"id": "f1"}], "rows"), ["id"], "rows")
    """
    missing = [c for c in columns if c not in dataset.column_names]
    if missing:
        raise ValueError(
            f"{what} lack the column(s) {missing}; they have {dataset.column_names}. "
            "Pass the candidates/judged dataset produced by the generator and judge."
        )


def column_values(dataset: Any, column: str) -> list[Any]:
    """The values of one column as a list, read through Arrow (no image decoding, no formatting).

    Example:
        >>> column_values(as_dataset([{"id": "f1"}, {"id": "f2"}], "rows"), "id")
        ['f1', 'f2']
    """
    return dataset.select_columns([column]).with_format("arrow")[:][column].to_pylist()


def question_key(text: str | None) -> str:
    """The form in which two questions are compared: no ``<image>`` token, spacing and case ignored.

    Example:
        >>> question_key("<image>\\nWhat  modality?") == question_key("what modality?")
        True
    """
    return " ".join((text or "").replace(IMAGE_TOKEN, " ").split()).casefold()


def read_item_texts(
    dataset: Any, rows: np.ndarray, max_mentions: int, desc: str, *, whole_conversation: bool
) -> dict[int, Any]:
    """Read caption, mentions and messages of ``rows``; return row -> those three values.

    With ``whole_conversation`` the value is instead the row's conversation laid out by
    :func:`~biomed_vital.data.format_selector_conversation`. Rows are read in batches with a
    progress bar; columns the dataset lacks read as ``None`` (the layout keeps empty sections).

    Example:
        >>> rows = as_dataset([{"caption": "Head CT.", "messages": []}], "rows")
        >>> read_item_texts(rows, np.array([0]), 3, "Reading", whole_conversation=False)
        {0: ('Head CT.', None, [])}
    """
    present = [c for c in _TEXT_COLUMNS if c in dataset.column_names]
    if not present:
        empty = format_selector_conversation(None, None, None, max_mentions=max_mentions)
        return {int(r): empty if whole_conversation else (None, None, None) for r in rows}
    out: dict[int, Any] = {}
    if not len(rows):
        return out
    subset = dataset.select_columns(present).select(rows.tolist())
    position = 0
    with tqdm(total=len(rows), desc=desc, unit="rows", leave=False) as progress:
        for batch in subset.iter(batch_size=BATCH_SIZE):
            size = len(batch[present[0]])
            captions = batch.get(schema.CAPTION, [None] * size)
            mentions = batch.get(schema.MENTIONS, [None] * size)
            messages = batch.get(schema.MESSAGES, [None] * size)
            for caption, mention, conversation in zip(captions, mentions, messages, strict=True):
                row = int(rows[position])
                if whole_conversation:
                    out[row] = format_selector_conversation(
                        caption, mention, conversation, max_mentions=max_mentions
                    )
                else:
                    out[row] = (caption, mention, conversation)
                position += 1
            progress.update(size)
    return out
