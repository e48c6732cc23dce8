"""Batch files for offline inference: export the engine's requests, import the answers into its cache.

vLLM's ``run-batch`` entry point answers an OpenAI batch input file on a GPU machine without a server
and writes the same answer lines as the Batch API. So a self-hosted run is:

1. ``EngineConfig(batch_export="runs/batch")`` (``--batch-export`` on the command line): the requests
   without a stored answer are written as ``requests-00000.jsonl``, ... (split under
   ``batch_max_requests`` / ``batch_max_bytes``) and nothing is sent; their rows are errors that say so;
2. on the GPU machine, for each file:
   ``python -m vllm.entrypoints.openai.run_batch -i requests-00000.jsonl -o answers-00000.jsonl --model ...``;
3. :func:`import_batch_answers` (``biomed-vital batch import``) stores the answers in the cache under
   their ``custom_id`` (the cache key);
4. the same run again, without ``batch_export``: every answer comes from the cache.

Example:
    >>> summary = import_batch_answers(["answers-00000.jsonl"], cache_dir="runs/cache")   # doctest: +SKIP
    >>> print(summary)                                                                 # doctest: +SKIP
    answers-00000.jsonl: 1,000 answers stored, 0 already stored, 0 failed
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biomed_vital.engine.batch import answer_to_response
from biomed_vital.engine.batch_files import OPENAI_BATCH_URL, BatchFileWriter, batch_line, read_batch_answers
from biomed_vital.engine.cache import ResponseCache
from biomed_vital.engine.requests import ChatRequest, ChatResult

if TYPE_CHECKING:
    from biomed_vital.engine.engine import RequestEngine

__all__ = ["BatchImport", "export_batch_requests", "export_pending", "import_batch_answers"]

logger = logging.getLogger("biomed_vital.generation")

EXPORT_PREFIX = "requests"
_STORE_CHUNK = 10_000  # answers per cache transaction


def export_pending(
    engine: RequestEngine,
    requests: Sequence[ChatRequest],
    keys: Sequence[str],
    pending: Sequence[int],
    folder: str | os.PathLike[str] | None = None,
) -> dict[int, ChatResult]:
    """Write the ``pending`` requests into ``folder`` (default ``engine.config.batch_export``); one
    "exported" error result each.

    Request files an earlier export left in the folder are replaced, so the folder holds exactly what
    has no answer yet.
    """
    folder = Path(folder if folder is not None else str(engine.config.batch_export))
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{EXPORT_PREFIX}-*.jsonl"):
        old.unlink()
    writer = BatchFileWriter(
        folder,
        EXPORT_PREFIX,
        max_requests=engine.config.batch_max_requests,
        max_bytes=engine.config.batch_max_bytes,
    )
    results: dict[int, ChatResult] = {}
    path_of_key: dict[str, str] = {}
    for index in pending:
        key, request_id = keys[index], requests[index].request_id
        try:
            body = engine.body_of(requests[index])
        except Exception as error:  # a figure that cannot be encoded fails alone
            results[index] = ChatResult(
                request_id,
                key,
                "error",
                error=f"{type(error).__name__}: {error}",
                error_type=type(error).__name__,
            )
            continue
        line = batch_line(key, body, OPENAI_BATCH_URL)
        if not writer.fits(line):
            results[index] = ChatResult(
                request_id,
                key,
                "error",
                error=f"the request is {len(line):,} bytes, more than batch_max_bytes={writer.max_bytes:,}",
                error_type="BatchRequestTooLarge",
            )
            continue
        writer.add(key, str(body["model"]), line)
    for written in writer.close():
        for key in written.keys:
            path_of_key[key] = str(written.path)
    for index in pending:
        if index in results:
            continue
        key = keys[index]
        results[index] = ChatResult(
            requests[index].request_id,
            key,
            "error",
            error=f"not sent: written to {path_of_key[key]} for offline batch inference; answer it with "
            "vLLM's run-batch and load the answers with `biomed-vital batch import`",
            error_type="exported",
        )
    files = sorted(set(path_of_key.values()))
    logger.info("wrote %d requests into %d batch files in %s", len(path_of_key), len(files), folder)
    return results


def export_batch_requests(
    engine: RequestEngine, requests: Sequence[ChatRequest], folder: str | os.PathLike[str]
) -> list[Path]:
    """Write the requests of ``engine`` that have no stored answer as batch input files into ``folder``.

    Returns the files written (``requests-00000.jsonl``, ...). The same as running the engine with
    ``batch_export=folder``, without the error results.

    Example:
        >>> export_batch_requests(engine, generator.build_requests(figures), "runs/batch")  # doctest: +SKIP
        [PosixPath('runs/batch/requests-00000.jsonl')]
    """
    keys = [engine.key_of(request) for request in requests]
    stored = engine.cache.get_many(keys) if engine.cache is not None else {}
    pending, seen = [], set()
    for index, key in enumerate(keys):
        if key not in stored and key not in seen:
            pending.append(index)
            seen.add(key)
    export_pending(engine, requests, keys, pending, folder)
    return sorted(Path(folder).glob(f"{EXPORT_PREFIX}-*.jsonl"))


@dataclass
class BatchImport:
    """What :func:`import_batch_answers` stored: answers, answers the cache already held, and failures."""

    files: list[str] = field(default_factory=list)
    stored: int = 0
    already_stored: int = 0
    failed: int = 0
    failures: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        names = ", ".join(Path(f).name for f in self.files[:3]) + (" ..." if len(self.files) > 3 else "")
        text = f"{names}: {self.stored:,} answers stored, {self.already_stored:,} already stored, {self.failed:,} failed"
        if self.failures:
            text += " (" + ", ".join(f"{why}: {n}" for why, n in self.failures.most_common(3)) + ")"
        return text


def import_batch_answers(
    paths: Iterable[str | os.PathLike[str]],
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    model: str | None = None,
) -> BatchImport:
    """Store the answers of batch output files (vLLM ``run-batch``, OpenAI, Azure) in the request cache.

    Args:
        paths: output files, or folders whose ``*.jsonl`` files are read (request files, recognised by
            their ``method`` field, are skipped).
        cache_dir: the cache of the run that exported the requests (default
            :func:`~biomed_vital.engine.cache.default_cache_dir`).
        model: the model the answers are priced as (default: the model of the run that reads them).

    Failed lines (an error, or a body that is not a chat completion) are counted, not stored, so the
    next run sends those requests again. Raises ``FileNotFoundError`` for a missing path and
    :class:`~biomed_vital.engine.batch_files.BatchFileError` naming the file and line for a line that
    is not an answer.
    """
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.glob("*.jsonl") if not _is_request_file(p))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"no batch answer file or folder at {path}")
    summary = BatchImport(files=[str(f) for f in files])
    with ResponseCache(cache_dir) as cache:
        for path in files:
            chunk: list[tuple[str, dict[str, Any], str]] = []
            for answer in read_batch_answers(path):
                if not answer.ok:
                    summary.failed += 1
                    summary.failures[answer.error.split(":", 1)[0]] += 1
                    continue
                assert answer.body is not None
                try:
                    chunk.append((answer.custom_id, answer_to_response(answer.body, model), model or ""))
                except ValueError as error:
                    summary.failed += 1
                    summary.failures[str(error)] += 1
                    continue
                if len(chunk) >= _STORE_CHUNK:
                    summary.stored += cache.put_many(chunk)
                    summary.already_stored += len(chunk)
                    chunk = []
            summary.stored += cache.put_many(chunk)
            summary.already_stored += len(chunk)
    summary.already_stored -= summary.stored
    return summary


def _is_request_file(path: Path) -> bool:
    with open(path, "rb") as handle:
        first = handle.readline()
    return b'"method"' in first and b'"response"' not in first
