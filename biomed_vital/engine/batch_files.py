"""The OpenAI batch file format: request lines in, answer and error lines out, split under a provider's limits.

One request is one JSON line ``{"custom_id", "method", "url", "body"}``; ``custom_id`` is the request's cache
key (:func:`~biomed_vital.engine.cache.request_key`), so an answer maps back to its row, and into the cache,
with no other bookkeeping. OpenAI and Azure OpenAI read these files through their Batch APIs (the URL is
``/v1/chat/completions`` at OpenAI and ``/chat/completions`` at Azure), and vLLM's offline ``run-batch``
entry point reads the same files and writes the same answer lines, without a server.

An answer line is ``{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}``;
the error file has the same shape with a non-200 ``status_code`` or an ``error`` object.

Example:
    >>> line = batch_line("k1", {"model": "gpt-4o", "messages": []}, OPENAI_BATCH_URL)
    >>> json.loads(line)["custom_id"]
    'k1'
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

__all__ = [
    "AZURE_BATCH_URL",
    "DEFAULT_BATCH_MAX_BYTES",
    "DEFAULT_BATCH_MAX_REQUESTS",
    "OPENAI_BATCH_URL",
    "BatchAnswer",
    "BatchFileError",
    "BatchFileWriter",
    "WrittenBatchFile",
    "batch_line",
    "read_batch_answers",
]

OPENAI_BATCH_URL = "/v1/chat/completions"
AZURE_BATCH_URL = "/chat/completions"
# OpenAI takes up to 50,000 requests and 200 MB per batch input file (Azure OpenAI: 100,000 requests,
# 200 MB); a little under 200 MB leaves room whichever way a provider counts a megabyte.
DEFAULT_BATCH_MAX_REQUESTS = 50_000
DEFAULT_BATCH_MAX_BYTES = 190_000_000
# Per-request failures in an error file that another attempt may get past.
RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
RETRYABLE_CODES = frozenset(
    {
        "batch_expired",
        "batch_cancelled",
        "server_error",
        "rate_limit_exceeded",
        "timeout",
        "token_limit_exceeded",
    }
)


class BatchFileError(ValueError):
    """A batch answer file that cannot be read (names the file and line)."""


def batch_line(key: str, body: Mapping[str, Any], url: str) -> bytes:
    """One request line of a batch input file, UTF-8 with a trailing newline.

    Example:
        >>> batch_line("k1", {"model": "m"}, "/v1/chat/completions")
        b'{"custom_id":"k1","method":"POST","url":"/v1/chat/completions","body":{"model":"m"}}\\n'
    """
    record = {"custom_id": key, "method": "POST", "url": url, "body": body}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


@dataclass
class WrittenBatchFile:
    """One finished batch input file: its path, the keys it holds (in order), its model and size."""

    path: Path
    model: str
    keys: list[str] = field(default_factory=list)
    n_bytes: int = 0


class BatchFileWriter:
    """Writes request lines into batch input files, starting a new file before a limit would be passed.

    Every file holds requests of one model (the Batch API takes one model per file), at most
    ``max_requests`` lines and ``max_bytes`` bytes. Lines go straight to disk, so memory stays flat
    however many requests there are.

    Args:
        folder: where the files go (created if missing).
        prefix: file names are ``{prefix}-{number:05d}.jsonl``.
        max_requests, max_bytes: the limits of one file.

    Example:
        >>> import tempfile
        >>> writer = BatchFileWriter(tempfile.mkdtemp(), max_requests=2)
        >>> for i in range(3):
        ...     writer.add(f"k{i}", "gpt-4o", batch_line(f"k{i}", {"model": "gpt-4o"}, OPENAI_BATCH_URL))
        >>> [len(f.keys) for f in writer.close()]
        [2, 1]
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        prefix: str = "requests",
        *,
        max_requests: int = DEFAULT_BATCH_MAX_REQUESTS,
        max_bytes: int = DEFAULT_BATCH_MAX_BYTES,
    ) -> None:
        if max_requests < 1 or max_bytes < 1:
            raise ValueError(
                f"batch file limits must be >= 1, got {max_requests} requests, {max_bytes} bytes"
            )
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.max_requests, self.max_bytes = max_requests, max_bytes
        self.finished: list[WrittenBatchFile] = []
        self._open: dict[str, tuple[WrittenBatchFile, IO[bytes]]] = {}
        self._number = 0

    def fits(self, line: bytes) -> bool:
        """Whether a line fits in a file at all (a single request larger than ``max_bytes`` does not)."""
        return len(line) <= self.max_bytes

    def add(self, key: str, model: str, line: bytes) -> WrittenBatchFile | None:
        """Append one request line; returns the file it closed to make room, if any.

        Raises ``ValueError`` for a line larger than ``max_bytes`` (check :meth:`fits` first).
        """
        if not self.fits(line):
            raise ValueError(
                f"request {key[:12]} is {len(line):,} bytes, more than the batch file limit of "
                f"{self.max_bytes:,} bytes"
            )
        closed = None
        current = self._open.get(model)
        if current is not None and (
            len(current[0].keys) >= self.max_requests or current[0].n_bytes + len(line) > self.max_bytes
        ):
            closed = self._close(model)
            current = None
        if current is None:
            path = self.folder / f"{self.prefix}-{self._number:05d}.jsonl"
            self._number += 1
            current = (WrittenBatchFile(path, model), open(path, "wb"))  # noqa: SIM115 - closed in _close
            self._open[model] = current
        written, handle = current
        handle.write(line)
        written.keys.append(key)
        written.n_bytes += len(line)
        return closed

    def _close(self, model: str) -> WrittenBatchFile:
        written, handle = self._open.pop(model)
        handle.close()
        self.finished.append(written)
        return written

    def close(self) -> list[WrittenBatchFile]:
        """Close the files still open; returns every file written, in order."""
        for model in list(self._open):
            self._close(model)
        return sorted(self.finished, key=lambda written: written.path.name)


@dataclass
class BatchAnswer:
    """One line of a batch output or error file.

    ``body`` is the chat completion when ``status_code`` is 200; otherwise ``error`` says why and
    ``retryable`` whether another attempt may succeed.
    """

    custom_id: str
    status_code: int | None
    body: dict[str, Any] | None = None
    error: str = ""
    retryable: bool = False

    @property
    def ok(self) -> bool:
        """True when the line holds an answer."""
        return self.status_code == 200 and self.body is not None


def parse_answer_line(line: str | bytes, *, source: str = "", line_number: int = 0) -> BatchAnswer:
    """Read one line of an output or error file (OpenAI, Azure OpenAI or vLLM ``run-batch``).

    vLLM writes the completion either under ``response.body`` (like OpenAI) or as ``response`` itself;
    both are read.

    Example:
        >>> answer = parse_answer_line('{"custom_id": "k1", "response": {"status_code": 500, '
        ...                            '"body": {"error": {"message": "overloaded"}}}, "error": null}')
        >>> answer.ok, answer.retryable, answer.error
        (False, True, 'HTTP 500: overloaded')
    """
    where = f"{source}:{line_number}" if source else f"line {line_number}"
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as problem:
        raise BatchFileError(f"{where}: not a JSON line ({problem})") from None
    if not isinstance(record, Mapping) or not isinstance(record.get("custom_id"), str):
        raise BatchFileError(f"{where}: a batch answer line needs a string custom_id")
    custom_id = record["custom_id"]
    response = record.get("response") or None
    error = record.get("error") or None
    if isinstance(response, Mapping) and response.get("object") == "chat.completion":
        return BatchAnswer(custom_id, 200, dict(response))  # vLLM's shorter form
    status = response.get("status_code") if isinstance(response, Mapping) else None
    body = response.get("body") if isinstance(response, Mapping) else None
    if status == 200 and isinstance(body, Mapping) and not error:
        return BatchAnswer(custom_id, 200, dict(body))
    code, message = "", ""
    if isinstance(error, Mapping):
        code, message = str(error.get("code") or ""), str(error.get("message") or "")
    elif isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        code = str(body["error"].get("code") or body["error"].get("type") or "")
        message = str(body["error"].get("message") or "")
    elif error:
        message = str(error)
    text = f"HTTP {status}: {message or code}" if status else f"{code or 'error'}: {message}".rstrip(": ")
    retryable = (status in RETRYABLE_STATUSES) if status else (code in RETRYABLE_CODES or not code)
    return BatchAnswer(custom_id, status, None, text, retryable)


def read_batch_answers(path: str | os.PathLike[str]) -> Iterator[BatchAnswer]:
    """The answer lines of an output or error file, one at a time (blank lines skipped).

    Raises :class:`BatchFileError` naming the file and line for a line that is not an answer.
    """
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield parse_answer_line(line, source=str(path), line_number=number)
