"""``EmbeddingCache``: vectors on disk, keyed by the encoder and the content they embed.

One folder per encoder identity (the encoder's name and the fingerprint of its weights); in it,
shards of ``keys`` (an image fingerprint from :func:`biomed_vital.data.image_fingerprint`, or the
sha256 of a text) and ``vectors``. A rerun over the same pool computes nothing; a grown pool
computes only its new figures. Shards are written to a temporary name and renamed, so a killed run
leaves whole shards only.

Example:
    >>> import numpy as np, tempfile
    >>> cache = EmbeddingCache(tempfile.mkdtemp(), "demo-encoder")
    >>> cache.put(["k1"], np.ones((1, 4), np.float32))
    >>> cache.get(["k1", "k2"])[1].tolist()
    [True, False]
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["EmbeddingCache", "default_embedding_cache_dir", "text_key"]


def default_embedding_cache_dir() -> Path:
    """``<biomed_vital cache>/embeddings`` (``$BIOMED_VITAL_CACHE``, ``$HF_HOME/biomed_vital`` or ``~/.cache``).

    Example:
        >>> default_embedding_cache_dir().name
        'embeddings'
    """
    from biomed_vital.engine.cache import default_cache_dir

    return default_cache_dir() / "embeddings"


def text_key(text: str) -> str:
    """The cache key of a text: its sha256.

    Example:
        >>> text_key("abc")[:8]
        'ba7816bf'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors of one encoder, stored as ``.npz`` shards under ``root/<sha of encoder identity>/``.

    Args:
        root: the cache folder (:func:`default_embedding_cache_dir` by default in the sampler).
        encoder: the encoder's identity; different identities never share vectors.
    """

    def __init__(self, root: str | os.PathLike[str], encoder: str) -> None:
        self.encoder = encoder
        self.folder = Path(root) / hashlib.sha256(encoder.encode("utf-8")).hexdigest()[:32]
        self._index: dict[str, tuple[int, int]] | None = None
        self._shards: list[np.ndarray] = []

    def _load(self) -> dict[str, tuple[int, int]]:
        if self._index is None:
            self._index = {}
            for path in sorted(self.folder.glob("*.npz")):
                try:
                    with np.load(path) as shard:
                        keys, vectors = shard["keys"], shard["vectors"]
                except (OSError, ValueError, KeyError):
                    continue  # an unreadable shard is recomputed, never fatal
                shard_number = len(self._shards)
                self._shards.append(vectors)
                for row, key in enumerate(keys.tolist()):
                    self._index[key] = (shard_number, row)
        return self._index

    def __len__(self) -> int:
        return len(self._load())

    def get(self, keys: Sequence[str]) -> tuple[np.ndarray | None, np.ndarray]:
        """The cached vectors of ``keys`` (rows of missing keys are zero) and a found-mask.

        Returns ``(None, mask)`` when none is cached and the width is unknown.
        """
        index = self._load()
        found = np.fromiter((key in index for key in keys), dtype=bool, count=len(keys))
        if not found.any():
            return None, found
        width = self._shards[0].shape[1]
        out = np.zeros((len(keys), width), dtype=np.float32)
        for row, key in enumerate(keys):
            location = index.get(key)
            if location is not None:
                out[row] = self._shards[location[0]][location[1]]
        return out, found

    def put(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store ``vectors`` (one row per key) as a new shard."""
        if len(keys) == 0:
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(keys):
            raise ValueError(f"put: {len(keys)} keys but vectors of shape {vectors.shape}")
        index = self._load()
        if self._shards and self._shards[0].shape[1] != vectors.shape[1]:
            raise ValueError(
                f"the cache of {self.encoder!r} holds vectors of width {self._shards[0].shape[1]}, "
                f"not {vectors.shape[1]}; clear {self.folder}"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{uuid.uuid4().hex}.npz"
        temporary = self.folder / f".{name}.tmp"
        with open(temporary, "wb") as handle:
            np.savez(handle, keys=np.asarray(list(keys)), vectors=vectors)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.folder / name)
        shard_number = len(self._shards)
        self._shards.append(vectors)
        for row, key in enumerate(keys):
            index[key] = (shard_number, row)
