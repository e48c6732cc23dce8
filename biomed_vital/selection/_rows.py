"""Row access for batched inference over Arrow-backed datasets.

Rows are read a block at a time and turned into model batches either in a background thread of this process
(`read_ahead`) or in DataLoader worker processes (`RowBatches`); either way the model runs on one batch while
the next is read. Whoever reads a memory-mapped pool hands the pages it has finished with back to the kernel
(`MappedFilePages`), so scoring 100,000 rows holds no more memory than scoring 10,000.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
from datasets import Dataset
from datasets import Image as ImageFeature
from torch.utils.data import Dataset as TorchDataset

from biomed_vital.data import image_fingerprint

DEFAULT_HASH_BATCH = 1024
#: Rows read between two hand-backs of mapped pages: a few MiB of a typical pool, a few ms of work.
RELEASE_EVERY_ROWS = 2048

_MADV_DONTNEED = 4
Item = TypeVar("Item")
Result = TypeVar("Result")


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


def column_array(dataset: Dataset, column: str) -> Any:
    """One column as a single `pyarrow.Array` in the dataset's row order (an indices mapping applied).

    Vectorised work on a whole column (which rows are eligible, which group each row is in) then runs in
    Arrow, not once per row in Python.
    """
    return dataset.select_columns([column]).with_format("arrow")[:].column(column).combine_chunks()


class MappedFilePages:
    """Hands this process's resident pages of a dataset's memory-mapped Arrow files back to the kernel.

    Reading a memory-mapped pool maps every page it touches into the reading process, so its resident memory
    grows with the pool although none of it is needed again. `release()` drops those pages from this
    process (`madvise(MADV_DONTNEED)` on the read-only mappings of the dataset's own files); they stay in the
    page cache and are read back transparently if touched again. On other systems it does nothing.

    Example:
        >>> pages = MappedFilePages(load_from_disk("candidates/"))      # doctest: +SKIP
        >>> pages.release()                                              # doctest: +SKIP
    """

    def __init__(self, dataset: Dataset):
        self.paths = {os.path.realpath(entry["filename"]) for entry in dataset.cache_files}
        self.enabled = bool(self.paths) and sys.platform.startswith("linux")
        self._madvise: Any = None

    def _mapped_ranges(self) -> list[tuple[int, int]]:
        ranges = []
        try:
            with open("/proc/self/maps") as maps:
                for line in maps:
                    parts = line.split(maxsplit=5)
                    # address, permissions, offset, device, inode, path; only read-only mappings of our files
                    if len(parts) == 6 and "w" not in parts[1] and parts[5].rstrip("\n") in self.paths:
                        start, end = (int(bound, 16) for bound in parts[0].split("-"))
                        ranges.append((start, end))
        except OSError:
            return []
        return ranges

    def release(self) -> None:
        """Drop the pages; cheap enough to call every few thousand rows."""
        if not self.enabled:
            return
        if self._madvise is None:
            self._madvise = ctypes.CDLL(None, use_errno=True).madvise
            self._madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        for start, end in self._mapped_ranges():
            self._madvise(start, end - start, _MADV_DONTNEED)


def read_ahead(produce: Callable[[Item], Result], items: Sequence[Item], depth: int = 2) -> Iterator[Result]:
    """Yield `produce(item)` for every item in order, computing up to `depth` of them ahead in a thread.

    The reading work (Arrow reads, image decoding, tokenizing) runs mostly in C and Rust without the GIL,
    so it overlaps the model running in the calling thread. An exception in `produce` is raised where its
    result would have been yielded.

    Example:
        >>> list(read_ahead(lambda x: x * x, [1, 2, 3]))
        [1, 4, 9]
    """
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="biomed-vital-rows")
    pending: list[Future] = []
    try:
        for item in items[:depth]:
            pending.append(executor.submit(produce, item))
        for position in range(len(items)):
            if position + depth < len(items):
                pending.append(executor.submit(produce, items[position + depth]))
            yield pending[position].result()
            pending[position] = None  # type: ignore[call-overload]  # let the batch go
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def row_blocks(count: int, block_size: int) -> list[np.ndarray]:
    """`range(count)` cut into consecutive blocks of at most `block_size` positions."""
    return [np.arange(start, min(count, start + block_size)) for start in range(0, count, block_size)]


class RowBatches(TorchDataset):
    """A map-style torch dataset whose `__getitems__` fetches rows in one Arrow read and transforms them.

    `transform(rows: dict of lists, indices)` runs in the DataLoader worker and returns the batch. Each worker
    hands back the mapped pages it has read every `RELEASE_EVERY_ROWS` rows.
    """

    def __init__(
        self,
        dataset: Dataset,
        indices: Sequence[int] | np.ndarray,
        transform: Callable[[dict, list[int]], Any],
    ):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)
        self.transform = transform
        self.pages = MappedFilePages(dataset)
        self._rows_since_release = 0

    def __len__(self) -> int:
        return len(self.indices)

    def __getitems__(self, positions: list[int]) -> Any:
        rows = self.indices[positions].tolist()
        batch = self.transform(self.dataset[rows], rows)
        self._rows_since_release += len(rows)
        if self._rows_since_release >= RELEASE_EVERY_ROWS:
            self.pages.release()
            self._rows_since_release = 0
        return batch

    def __getitem__(self, position: int) -> Any:
        return self.__getitems__([position])


def identity_collate(batch: Any) -> Any:
    """Collate for `RowBatches`: the batch is already built by `__getitems__`."""
    return batch


__all__ = [
    "MappedFilePages",
    "RowBatches",
    "column_array",
    "identity_collate",
    "image_key",
    "iter_column",
    "read_ahead",
    "row_blocks",
    "undecoded",
]
