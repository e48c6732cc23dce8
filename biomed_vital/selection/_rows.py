"""Row access for batched inference: Arrow rows are fetched in DataLoader workers, images decoded there.

The parent process only sees preprocessed tensors, so scoring a pool larger than memory never holds more
than the batches in flight, and image decoding runs in parallel with the model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from datasets import Dataset
from datasets import Image as ImageFeature
from torch.utils.data import Dataset as TorchDataset

from biomed_vital.data import image_fingerprint

DEFAULT_HASH_BATCH = 1024


def undecoded(dataset: Dataset, columns: Sequence[str]) -> Dataset:
    """`dataset` restricted to `columns`, with image columns left as stored bytes/paths (not decoded)."""
    view = dataset.select_columns(list(columns))
    for name in columns:
        if isinstance(view.features[name], ImageFeature) and view.features[name].decode:
            view = view.cast_column(name, ImageFeature(decode=False))
    return view


def image_key(value: Any) -> str:
    """A content key of a stored image, so the same image stored twice is encoded once."""
    key = image_fingerprint(value)
    if key is None:
        raise ValueError("the image is missing (None)")
    return key


def iter_column(dataset: Dataset, column: str, batch_size: int = DEFAULT_HASH_BATCH) -> Iterator[Any]:
    """Yield the values of one column in order, reading `batch_size` rows at a time."""
    for batch in dataset.select_columns([column]).iter(batch_size=batch_size):
        yield from batch[column]


class RowBatches(TorchDataset):
    """A map-style torch dataset whose `__getitems__` fetches rows in one Arrow read and transforms them.

    `transform(rows: dict of lists, indices)` runs in the DataLoader worker and returns the batch.
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int], transform: Callable[[dict, list[int]], Any]):
        self.dataset = dataset
        self.indices = [int(index) for index in indices]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitems__(self, positions: list[int]) -> Any:
        rows = [self.indices[p] for p in positions]
        return self.transform(self.dataset[rows], rows)

    def __getitem__(self, position: int) -> Any:
        return self.__getitems__([position])


def identity_collate(batch: Any) -> Any:
    """Collate for `RowBatches`: the batch is already built by `__getitems__`."""
    return batch


__all__ = ["RowBatches", "identity_collate", "image_key", "iter_column", "undecoded"]
