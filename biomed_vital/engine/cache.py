"""Crash-safe store of completed requests, so an interrupted run resumes where it stopped.

One SQLite file (WAL journal, ``synchronous=NORMAL``) holds one row per request that the
server answered successfully, written the moment the answer arrives. After ``kill -9`` every
committed row survives (WAL with NORMAL sync only risks the last transactions on power loss,
never corruption), so a rerun sends only what has no stored answer. Several processes may
share one file: writes wait on ``busy_timeout`` and use ``INSERT OR IGNORE``.

Only successes are stored. Final errors (retries exhausted, 4xx, budget cap) are not, so a
rerun tries them again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["ResponseCache", "default_cache_dir", "request_key"]

CACHE_FILENAME = "responses.sqlite"
_LOOKUP_CHUNK = 500  # stays below SQLite's limit on bound parameters


def default_cache_dir() -> Path:
    """``$BIOMED_VITAL_CACHE``, else ``$HF_HOME/biomed_vital``, else ``~/.cache/biomed_vital``.

    Example:
        >>> default_cache_dir().name in {"biomed_vital", os.environ.get("BIOMED_VITAL_CACHE", "biomed_vital")}
        True
    """
    if os.environ.get("BIOMED_VITAL_CACHE"):
        return Path(os.environ["BIOMED_VITAL_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "biomed_vital"
    return Path("~/.cache/biomed_vital").expanduser()


def request_key(body: Mapping[str, Any], candidate_index: int = 0) -> str:
    """The cache key of a chat request: sha256 of model, messages, every parameter and the candidate index.

    The key never includes credentials (they are not part of the body).

    Example:
        >>> body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], "seed": 1}
        >>> request_key(body) == request_key(dict(body))
        True
        >>> request_key(body, 0) == request_key(body, 1)
        False
    """
    payload = json.dumps(
        {"body": body, "candidate_index": candidate_index}, sort_keys=True, ensure_ascii=False, default=str
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class ResponseCache:
    """SQLite store of successful responses keyed by :func:`request_key`.

    Args:
        cache_dir: folder for ``responses.sqlite`` (created if missing); default
            :func:`default_cache_dir`.

    Example:
        >>> import tempfile
        >>> cache = ResponseCache(tempfile.mkdtemp())
        >>> cache.put("k1", {"content": "User: ...", "finish_reason": "stop"}, model="gpt-4o")
        >>> cache.get_many(["k1", "k2"])["k1"]["finish_reason"]
        'stop'
        >>> len(cache)
        1
    """

    def __init__(self, cache_dir: str | os.PathLike[str] | None = None) -> None:
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OSError(
                f"cannot create the request cache folder {self.cache_dir}: {error}. "
                "Pass cache_dir= a writable folder (or use_cache=False)."
            ) from error
        self.path = self.cache_dir / CACHE_FILENAME
        self._connection = sqlite3.connect(
            self.path, timeout=60.0, isolation_level=None, check_same_thread=False
        )
        self._connection.execute("PRAGMA busy_timeout = 60000")
        self._connection.execute("PRAGMA journal_mode = WAL")
        self._connection.execute("PRAGMA synchronous = NORMAL")
        self._connection.execute(
            "CREATE TABLE IF NOT EXISTS responses ("
            " key TEXT PRIMARY KEY, model TEXT, response TEXT NOT NULL, created REAL NOT NULL)"
        )

    def __repr__(self) -> str:
        return f"ResponseCache(path={str(self.path)!r})"

    def __len__(self) -> int:
        return int(self._connection.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Stored responses for those ``keys`` that have one (one query per 500 keys)."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start : start + _LOOKUP_CHUNK]
            placeholders = ",".join("?" * len(chunk))
            rows = self._connection.execute(
                f"SELECT key, response FROM responses WHERE key IN ({placeholders})", chunk
            ).fetchall()
            for key, response in rows:
                found[key] = json.loads(response)
        return found

    def put(self, key: str, response: Mapping[str, Any], model: str = "", *, replace: bool = False) -> None:
        """Store one response now (its own transaction); a key already stored is left as it is, unless
        ``replace`` (a stored reply that was asked for again)."""
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        self._connection.execute(
            f"{verb} INTO responses (key, model, response, created) VALUES (?, ?, ?, ?)",
            (key, model, json.dumps(dict(response), ensure_ascii=False), time.time()),
        )

    def put_many(self, items: Iterable[tuple[str, Mapping[str, Any], str]]) -> int:
        """Store many ``(key, response, model)`` at once, in one transaction; returns how many were new.

        Used when answers arrive together (a batch's output file): one commit instead of one per answer.
        Keys already stored are left as they are.

        Example:
            >>> import tempfile
            >>> cache = ResponseCache(tempfile.mkdtemp())
            >>> cache.put_many([("k1", {"content": "a"}, "gpt-4o"), ("k2", {"content": "b"}, "gpt-4o")])
            2
        """
        now = time.time()
        rows = [
            (key, model, json.dumps(dict(response), ensure_ascii=False), now)
            for key, response, model in items
        ]
        if not rows:
            return 0
        before = self._connection.total_changes
        with self._connection:  # one transaction: all rows or none
            self._connection.execute("BEGIN")
            self._connection.executemany(
                "INSERT OR IGNORE INTO responses (key, model, response, created) VALUES (?, ?, ?, ?)", rows
            )
        return self._connection.total_changes - before

    def delete(self, keys: Iterable[str]) -> int:
        """Forget the responses of ``keys`` (so they are requested again); returns how many were stored."""
        keys = list(dict.fromkeys(keys))
        removed = 0
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start : start + _LOOKUP_CHUNK]
            placeholders = ",".join("?" * len(chunk))
            cursor = self._connection.execute(f"DELETE FROM responses WHERE key IN ({placeholders})", chunk)
            removed += cursor.rowcount
        return removed

    def close(self) -> None:
        """Close the connection (the file stays; committed rows are already durable)."""
        self._connection.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
