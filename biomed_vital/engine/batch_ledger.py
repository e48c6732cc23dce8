"""Which requests went into which provider batch, and where each batch stands: kept next to the answers.

Two tables in the response cache's SQLite file (``responses.sqlite``) make batch mode crash-safe like the
synchronous path: ``batch_jobs`` (one row per batch input file: its local id, the provider's file and
batch ids, the endpoint, the state) and ``batch_requests`` (which cache keys a batch holds, and why a key
failed in it). Every change is committed before the next step, so after ``kill -9`` a rerun knows what
is in flight (and polls it instead of sending it again), what is answered (the ``responses`` table) and
what failed and may be sent again.

A batch is recorded as ``submitting`` *before* its file is uploaded, and its provider id is written
the moment the provider returns it; a batch created just before a crash is found again through the
``metadata`` the engine gives it (see :meth:`BatchLedger.submitting`).

Example:
    >>> import tempfile
    >>> from biomed_vital.engine.cache import ResponseCache
    >>> ledger = BatchLedger(ResponseCache(tempfile.mkdtemp()))
    >>> ledger.add_job("job1", "https://api.openai.com/v1", "gpt-4o", ["k1", "k2"])
    >>> ledger.set_submitted("job1", "batch_abc", "file_xyz", "validating")
    >>> [job.batch_id for job in ledger.jobs(OPEN_STATES)]
    ['batch_abc']
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from biomed_vital.engine.cache import ResponseCache

__all__ = ["DONE_STATES", "OPEN_STATES", "BatchJob", "BatchLedger", "KeyAttempt"]

# the provider's batch states that will still change, and ours before the provider knows the batch
OPEN_STATES = ("submitting", "validating", "in_progress", "finalizing", "cancelling")
# the provider's final states; "collected" is ours: the output and error files are read
DONE_STATES = ("completed", "failed", "expired", "cancelled")
COLLECTED = "collected"
_CHUNK = 500  # bound parameters per query, below SQLite's limit


@dataclass
class BatchJob:
    """One batch input file as the ledger knows it."""

    job_id: str
    endpoint: str
    model: str
    state: str
    n_requests: int
    batch_id: str = ""
    input_file_id: str = ""
    output_file_id: str = ""
    error_file_id: str = ""
    completed: int = 0
    failed: int = 0
    final_state: str = ""  # the provider's last state once collected (completed, expired, ...)
    note: str = ""
    created: float = 0.0

    @property
    def is_open(self) -> bool:
        """Whether the batch may still answer (submitted and not final, or final but not read yet)."""
        return self.state in OPEN_STATES or self.state in DONE_STATES


@dataclass
class KeyAttempt:
    """One batch a request was part of: the job, its state, and the request's failure in it (if any)."""

    job_id: str
    state: str
    endpoint: str
    error: str | None
    retryable: bool


class BatchLedger:
    """The ``batch_jobs`` and ``batch_requests`` tables of a :class:`ResponseCache` file.

    Args:
        cache: the response cache whose SQLite file holds the ledger (its own connection, same file).
    """

    def __init__(self, cache: ResponseCache) -> None:
        self.path = cache.path
        self._connection = sqlite3.connect(
            self.path, timeout=60.0, isolation_level=None, check_same_thread=False
        )
        self._connection.execute("PRAGMA busy_timeout = 60000")
        self._connection.execute("PRAGMA synchronous = NORMAL")
        self._connection.executescript(
            """
            CREATE TABLE IF NOT EXISTS batch_jobs (
                job_id TEXT PRIMARY KEY, endpoint TEXT NOT NULL, model TEXT NOT NULL, state TEXT NOT NULL,
                n_requests INTEGER NOT NULL, batch_id TEXT, input_file_id TEXT, output_file_id TEXT,
                error_file_id TEXT, completed INTEGER DEFAULT 0, failed INTEGER DEFAULT 0, final_state TEXT,
                note TEXT, created REAL NOT NULL, updated REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS batch_requests (
                key TEXT NOT NULL, job_id TEXT NOT NULL, error TEXT, retryable INTEGER DEFAULT 0,
                PRIMARY KEY (key, job_id));
            CREATE INDEX IF NOT EXISTS batch_requests_job ON batch_requests (job_id);
            """
        )

    def close(self) -> None:
        """Close the ledger's connection."""
        self._connection.close()

    # ------------------------------------------------------------------ writing
    def add_job(self, job_id: str, endpoint: str, model: str, keys: Sequence[str]) -> None:
        """Record a batch about to be uploaded (state ``submitting``) with its keys, in one transaction."""
        now = time.time()
        with self._connection:
            self._connection.execute("BEGIN")
            self._connection.execute(
                "INSERT INTO batch_jobs (job_id, endpoint, model, state, n_requests, created, updated) "
                "VALUES (?, ?, ?, 'submitting', ?, ?, ?)",
                (job_id, endpoint, model, len(keys), now, now),
            )
            self._connection.executemany(
                "INSERT OR IGNORE INTO batch_requests (key, job_id) VALUES (?, ?)",
                ((k, job_id) for k in keys),
            )

    def set_submitted(self, job_id: str, batch_id: str, input_file_id: str, state: str) -> None:
        """Record the provider's ids of a submitted batch."""
        self._connection.execute(
            "UPDATE batch_jobs SET batch_id = ?, input_file_id = ?, state = ?, updated = ? WHERE job_id = ?",
            (batch_id, input_file_id, state, time.time(), job_id),
        )

    def set_state(
        self,
        job_id: str,
        state: str,
        *,
        completed: int = 0,
        failed: int = 0,
        output_file_id: str | None = None,
        error_file_id: str | None = None,
        note: str = "",
    ) -> None:
        """Record what a poll of the batch said."""
        self._connection.execute(
            "UPDATE batch_jobs SET state = ?, completed = ?, failed = ?, output_file_id = ?, error_file_id = ?, "
            "note = ?, updated = ? WHERE job_id = ?",
            (state, completed, failed, output_file_id, error_file_id, note, time.time(), job_id),
        )

    def set_collected(self, job_id: str, final_state: str, failures: Mapping[str, tuple[str, bool]]) -> None:
        """Mark a batch read: its answers are in the cache, ``failures`` maps each unanswered key to
        ``(why, retryable)``. One transaction, so a crash leaves the batch either uncollected or done."""
        with self._connection:
            self._connection.execute("BEGIN")
            self._connection.executemany(
                "UPDATE batch_requests SET error = ?, retryable = ? WHERE job_id = ? AND key = ?",
                ((error, int(retryable), job_id, key) for key, (error, retryable) in failures.items()),
            )
            self._connection.execute(
                "UPDATE batch_jobs SET state = ?, final_state = ?, updated = ? WHERE job_id = ?",
                (COLLECTED, final_state, time.time(), job_id),
            )

    def drop_job(self, job_id: str) -> None:
        """Forget a batch that never reached the provider (its keys may be sent again)."""
        with self._connection:
            self._connection.execute("BEGIN")
            self._connection.execute("DELETE FROM batch_requests WHERE job_id = ?", (job_id,))
            self._connection.execute("DELETE FROM batch_jobs WHERE job_id = ?", (job_id,))

    # ------------------------------------------------------------------ reading
    def jobs(self, states: Iterable[str] | None = None, endpoint: str | None = None) -> list[BatchJob]:
        """The recorded batches, oldest first, optionally only those in ``states`` and at ``endpoint``."""
        query = (
            "SELECT job_id, endpoint, model, state, n_requests, batch_id, input_file_id, output_file_id, "
            "error_file_id, completed, failed, final_state, note, created FROM batch_jobs"
        )
        conditions, parameters = [], []
        if states is not None:
            wanted = list(states)
            conditions.append(f"state IN ({','.join('?' * len(wanted))})")
            parameters += wanted
        if endpoint is not None:
            conditions.append("endpoint = ?")
            parameters.append(endpoint)
        if conditions:
            query += " WHERE " + " AND ".join(conditions)
        rows = self._connection.execute(query + " ORDER BY created, job_id", parameters).fetchall()
        return [
            BatchJob(
                job_id=row[0],
                endpoint=row[1],
                model=row[2],
                state=row[3],
                n_requests=row[4],
                batch_id=row[5] or "",
                input_file_id=row[6] or "",
                output_file_id=row[7] or "",
                error_file_id=row[8] or "",
                completed=row[9] or 0,
                failed=row[10] or 0,
                final_state=row[11] or "",
                note=row[12] or "",
                created=row[13],
            )
            for row in rows
        ]

    def job_keys(self, job_id: str) -> list[str]:
        """The cache keys a batch holds."""
        rows = self._connection.execute("SELECT key FROM batch_requests WHERE job_id = ?", (job_id,))
        return [row[0] for row in rows]

    def attempts(self, keys: Iterable[str]) -> dict[str, list[KeyAttempt]]:
        """For each key that was ever part of a batch: every batch it was in, oldest first."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, list[KeyAttempt]] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            rows = self._connection.execute(
                "SELECT r.key, r.job_id, j.state, j.endpoint, r.error, r.retryable FROM batch_requests r "
                f"JOIN batch_jobs j ON j.job_id = r.job_id WHERE r.key IN ({','.join('?' * len(chunk))}) "
                "ORDER BY j.created, j.job_id",
                chunk,
            ).fetchall()
            for key, job_id, state, endpoint, error, retryable in rows:
                found.setdefault(key, []).append(KeyAttempt(job_id, state, endpoint, error, bool(retryable)))
        return found
