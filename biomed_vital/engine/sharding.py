"""Split one generation job over several processes or machines, and put the pieces back together.

A figure belongs to shard ``sha256(id) mod num_shards``: the split depends only on the figure
id, not on row order, so every worker of a SLURM array (or of ``accelerate launch``) computes
the same split from its own copy of the pool, and adding rows does not move existing figures
between shards.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import Any

__all__ = ["merge_shards", "select_shard", "shard_of"]


def shard_of(figure_id: str, num_shards: int) -> int:
    """The shard (0 .. num_shards - 1) of a figure id.

    Example:
        >>> shard_of("PMC5201076_F2", 4) == shard_of("PMC5201076_F2", 4)
        True
        >>> shard_of("anything", 1)
        0
    """
    if num_shards < 1:
        raise ValueError(f"num_shards must be >= 1, got {num_shards}")
    digest = hashlib.sha256(str(figure_id).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % num_shards


def _check_shard(num_shards: int, shard_index: int) -> None:
    if num_shards < 1:
        raise ValueError(f"num_shards must be >= 1, got {num_shards}")
    if not 0 <= shard_index < num_shards:
        raise ValueError(
            f"shard_index must be in 0..{num_shards - 1} for num_shards={num_shards}, got {shard_index} "
            "(with a SLURM array use --array=0-<num_shards - 1> and shard_index=$SLURM_ARRAY_TASK_ID)"
        )


def select_shard(dataset: Any, num_shards: int, shard_index: int, id_column: str = "id") -> Any:
    """The rows of ``dataset`` (a ``datasets.Dataset``) whose ``id_column`` falls in ``shard_index``.

    Example:
        >>> from datasets import Dataset
        >>> pool = Dataset.from_dict({"id": [f"fig{i}" for i in range(10)]})
        >>> sum(len(select_shard(pool, 3, k)) for k in range(3))
        10
    """
    _check_shard(num_shards, shard_index)
    if num_shards == 1:
        return dataset
    if id_column not in dataset.column_names:
        raise KeyError(f"cannot shard by {id_column!r}: the dataset has columns {dataset.column_names}")
    ids = dataset[id_column][:]  # a plain list; indexing a Column row by row is slow
    return dataset.select(
        [i for i, figure_id in enumerate(ids) if shard_of(figure_id, num_shards) == shard_index]
    )


def merge_shards(shards: Sequence[Any], id_column: str = "candidate_id") -> Any:
    """Concatenate shard outputs (Datasets, or folders written by ``save_to_disk``) into one Dataset.

    Raises ``ValueError`` when a row id appears in two shards (the same shard was run twice
    or with a different ``num_shards``).

    Example:
        >>> from datasets import Dataset
        >>> a = Dataset.from_dict({"candidate_id": ["x-c0"]}); b = Dataset.from_dict({"candidate_id": ["y-c0"]})
        >>> list(merge_shards([a, b])["candidate_id"])
        ['x-c0', 'y-c0']
    """
    from datasets import Dataset, concatenate_datasets, load_from_disk

    if not shards:
        raise ValueError("merge_shards needs at least one shard")
    loaded = []
    for shard in shards:
        if isinstance(shard, str | os.PathLike):
            shard = load_from_disk(os.fspath(shard))
        if not isinstance(shard, Dataset):
            raise TypeError(
                f"expected a datasets.Dataset or a save_to_disk folder, got {type(shard).__name__}"
            )
        loaded.append(shard)
    merged = concatenate_datasets(loaded)
    if id_column in merged.column_names:
        seen: set[str] = set()
        for row_id in merged[id_column][:]:
            if row_id in seen:
                raise ValueError(
                    f"{id_column} {row_id!r} appears in more than one shard; were two shards run with the "
                    "same shard_index or with different num_shards?"
                )
            seen.add(row_id)
    return merged
