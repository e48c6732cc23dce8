"""Stable hashes: whatever varies in the stand-in server is a function of the request, never of timing.

Faults, latencies and reply wording are derived from ``(seed, request body, attempt)`` through these
functions, so results do not depend on the order in which concurrent requests arrive, and the same
seed reproduces a run in another process.

Example:
    >>> stable_int("seed", 1) == stable_int("seed", 1)
    True
    >>> 0.0 <= unit_interval("seed", 1) < 1.0
    True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["reply_seed_key", "stable_int", "unit_interval"]


def stable_int(*parts: object) -> int:
    """A non-negative 64-bit integer derived from ``parts`` (stable across processes and runs).

    Example:
        >>> stable_int("reply", "key", 0) != stable_int("reply", "key", 1)
        True
    """
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def unit_interval(*parts: object) -> float:
    """A uniform number in [0, 1) derived from ``parts`` (stable across processes and runs).

    Example:
        >>> unit_interval(0, "fault", "key", 1) == unit_interval(0, "fault", "key", 1)
        True
    """
    return stable_int(*parts) / 2**64


def reply_seed_key(body: Mapping[str, Any]) -> str:
    """The sha256 of a request body's canonical JSON (sorted keys, no whitespace).

    The stand-in derives a request's fault, latency and reply from this key (and the attempt); the
    request log shows it as ``request_key``. It is not the request engine's cache key
    (:func:`biomed_vital.engine.cache.request_key`), which also covers the candidate index.

    Example:
        >>> reply_seed_key({"b": 1, "a": [1, 2]}) == reply_seed_key({"a": [1, 2], "b": 1})
        True
    """
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
