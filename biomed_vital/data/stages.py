"""Reading back what any stage wrote: one loader for the command line and for scripts."""

from __future__ import annotations

import os
from typing import Any


def is_saved_dataset(source: str | os.PathLike) -> bool:
    """Whether ``source`` is a folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``."""
    folder = os.fspath(source)
    return os.path.isdir(folder) and any(
        os.path.isfile(os.path.join(folder, name)) for name in ("dataset_info.json", "dataset_dict.json")
    )


def load_stage(source: str | os.PathLike, *, split: str = "train") -> Any:
    """Load a stage's Dataset (figures, candidates, judged, preferences, selected) as it was saved.

    ``source`` is a ``save_to_disk`` folder, a JSON / JSONL / Parquet file, or a Hub dataset id.
    Unlike :func:`~biomed_vital.data.load_figures` nothing is re-parsed or validated, so large
    pools load memory-mapped. A ``DatasetDict`` gives its ``split``.

    Example:
        >>> candidates = load_stage("outputs/demo/candidates")      # doctest: +SKIP
    """
    import datasets

    path = os.fspath(source)
    if is_saved_dataset(path):
        loaded = datasets.load_from_disk(path)
    elif os.path.isfile(path) and path.endswith((".json", ".jsonl")):
        loaded = datasets.load_dataset("json", data_files=path, split=split)
    elif os.path.isfile(path) and path.endswith(".parquet"):
        loaded = datasets.load_dataset("parquet", data_files=path, split=split)
    elif os.path.exists(path):
        raise ValueError(
            f"{path} is neither a save_to_disk folder nor a .json/.jsonl/.parquet file; "
            "load figures from other formats with biomed_vital.data.load_figures"
        )
    else:
        loaded = datasets.load_dataset(path, split=split)
    if isinstance(loaded, datasets.DatasetDict):
        if split not in loaded:
            raise ValueError(f"{path} holds the splits {list(loaded)}, not {split!r}; pass split=...")
        loaded = loaded[split]
    return loaded
