"""Batch mode: the engine's requests sent through a provider's Batch API (OpenAI, Azure OpenAI) at batch prices.

With ``EngineConfig(batch=True)`` :meth:`RequestEngine.run <biomed_vital.engine.RequestEngine.run>` hands the
requests without a stored answer to a :class:`BatchRunner`, which

1. writes them as batch input files (:mod:`~biomed_vital.engine.batch_files`; ``custom_id`` is the cache
   key), one model per file, split under ``batch_max_requests`` and ``batch_max_bytes``;
2. records each file in the ledger (:mod:`~biomed_vital.engine.batch_ledger`), uploads it through the
   files API and submits it as a batch whose ``metadata`` names the ledger entry;
3. polls every open batch each ``batch_poll_interval`` seconds with a progress bar, and downloads the
   output and error files of each batch that ends (completed, expired, cancelled or failed);
4. stores every answer in the cache (one transaction per file) before marking the batch read, and
   records why each other request failed;
5. sends again what failed and may succeed another time (5xx, 429, expired, cancelled), in a new batch
   or, with ``batch_on_failure="sync"``, through the synchronous path; at most ``max_retries`` times
   per request and run;
6. returns one :class:`~biomed_vital.engine.requests.ChatResult` per request, made from the stored
   answers exactly as in synchronous mode, so the tasks validate the replies the same way.

A rerun, after ``kill -9`` or the next morning, never sends a request that is in flight (it polls its
batch instead) or answered (the cache), and collects only the batches that are ready.

Example:
    >>> from biomed_vital.engine import BackendConfig, RequestEngine
    >>> engine = RequestEngine(BackendConfig("gpt-4o"), batch=True, batch_poll_interval=60)  # doctest: +SKIP
    >>> results = engine.run_sync(requests)     # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biomed_vital.engine.backends import scrub_secrets
from biomed_vital.engine.batch_files import (
    AZURE_BATCH_URL,
    OPENAI_BATCH_URL,
    RETRYABLE_CODES,
    BatchFileWriter,
    WrittenBatchFile,
    batch_line,
    read_batch_answers,
)
from biomed_vital.engine.batch_ledger import COLLECTED, DONE_STATES, OPEN_STATES, BatchJob, BatchLedger
from biomed_vital.engine.completions import EmptyResponse, response_from_completion, result_from_response
from biomed_vital.engine.requests import ChatRequest, ChatResult
from biomed_vital.engine.tokens import estimate_message_tokens, estimate_request_tokens

if TYPE_CHECKING:
    from biomed_vital.engine.engine import RequestEngine

__all__ = ["BATCH_METADATA_KEY", "BatchReport", "BatchRunner", "answer_to_response", "batch_url_of"]

logger = logging.getLogger("biomed_vital.generation")

# the batch metadata entry that names the ledger entry, so a batch created just before a crash is found again
BATCH_METADATA_KEY = "biomed_vital_job"
_BUDGET_ERROR = "budget cap reached"
# the note of a batch the provider no longer knows (deleted, or a restarted test server): its requests are sent again
VANISHED = "batch_not_found"


def batch_url_of(provider: str | None) -> str:
    """The ``url`` of batch request lines, and the batch ``endpoint``: ``/chat/completions`` for Azure OpenAI.

    Example:
        >>> batch_url_of("azure"), batch_url_of("openai")
        ('/chat/completions', '/v1/chat/completions')
    """
    return AZURE_BATCH_URL if provider == "azure" else OPENAI_BATCH_URL


def answer_to_response(body: Mapping[str, Any], model: str | None = None) -> dict[str, Any]:
    """A batch answer's chat completion as the cache stores it (what the synchronous path stores, plus
    ``"batch": True`` so the answer is priced at batch prices).

    Raises ``ValueError`` when the body is not a chat completion with a choice.

    Example:
        >>> body = {"id": "c1", "object": "chat.completion", "created": 0, "model": "gpt-4o",
        ...         "choices": [{"index": 0, "finish_reason": "stop",
        ...                      "message": {"role": "assistant", "content": "User: ..."}}],
        ...         "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}
        >>> response = answer_to_response(body, "gpt-4o")
        >>> response["content"], response["usage"]["completion_tokens"], response["batch"]
        ('User: ...', 5, True)
    """
    choices = body.get("choices")
    if not isinstance(choices, list) or not all(isinstance(choice, Mapping) for choice in choices):
        raise ValueError("the answer is not a chat completion (no list of choices)")
    try:
        response = response_from_completion(body, {"model": model} if model else {})
    except EmptyResponse:
        raise ValueError("the answer is not a chat completion (no choice)") from None
    content = response["content"]
    if content is not None and not isinstance(content, str):
        raise ValueError(f"the answer's content is a {type(content).__name__}, not text")
    if not model:
        response.pop("request_model", None)
    response["batch"] = True
    return response


@dataclass
class BatchReport:
    """What batch mode did in the last run (``engine.last_batch_report``), with the time of each step."""

    submitted_batches: int = 0
    submitted_requests: int = 0
    collected_batches: int = 0
    answered: int = 0
    resubmitted: int = 0
    sent_synchronously: int = 0
    left_in_flight: int = 0
    polls: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def add_time(self, step: str, seconds: float) -> None:
        """Add ``seconds`` to a step (write, upload, submit, wait, download, store, map)."""
        self.seconds[step] = self.seconds.get(step, 0.0) + seconds


class BatchRunner:
    """Sends one run's requests through the Batch API of the engine's backend (see the module docstring).

    Args:
        engine: the :class:`~biomed_vital.engine.RequestEngine` (its backend, config, cache, prices).
        state: the run's counters (spend, tokens, budget), shared with the synchronous path.
        progress: the run's progress bar, or ``None``.
    """

    def __init__(self, engine: RequestEngine, state: Any, progress: Any = None) -> None:
        cache = engine.cache
        if cache is None:
            raise ValueError(
                "batch=True keeps its batches in the request cache; it cannot run with use_cache=False"
            )
        self.engine, self.config, self.backend = engine, engine.config, engine.backend
        self.state, self.progress = state, progress
        self.cache = cache
        self.ledger = BatchLedger(cache)
        self.endpoint = self.backend.endpoint
        self.url = batch_url_of(self.backend.provider)
        self.folder = Path(cache.cache_dir) / "batches"
        self.report = BatchReport()
        self._estimates: dict[str, float] = {}  # key -> cost estimate of requests submitted in this run
        self._run_jobs: set[str] = set()
        self._final: dict[str, ChatResult] = {}  # key -> error result decided in this run
        self._sync: set[str] = set()
        self._spent_on: set[str] = set()  # keys whose cost is already in state.spent
        self._seen: dict[str, BatchJob] = {}  # every batch polled in this run, for the progress bar
        self._answers: dict[str, dict[str, Any]] = {}  # answers collected in this run, by key
        self._recheck: set[str] = set()  # keys a batch collected since the last look did not answer
        self._done_at_start = progress.n if progress is not None else 0

    @property
    def answers(self) -> Mapping[str, dict[str, Any]]:
        """The answers collected in this run, by cache key (as the cache stores them)."""
        return self._answers

    # ------------------------------------------------------------------ the run
    async def run(
        self, requests: Sequence[ChatRequest], keys: Sequence[str], pending: Sequence[int]
    ) -> tuple[dict[int, ChatResult], list[int]]:
        """Send ``pending`` (indices of requests without a stored answer) through batches.

        Returns the results by index, and the indices to send synchronously instead.
        """
        todo = {keys[index]: index for index in pending}
        client = self.backend.create_client()
        try:
            await self._recover_submitting(client)
            check, looked = True, False
            recheck: Iterable[str] = todo  # at the start every request; then those a batch did not answer
            while True:
                if check:  # at the start, and after a batch ended: submit what is free (again)
                    free = self._classify(todo, recheck)
                    self._recheck = set()
                    if free:
                        await self._submit(client, requests, todo, free)
                # a batch left "submitting" (its recovery could not list the provider's batches) is not
                # polled: its requests stay in flight until a later run finds it
                jobs = [
                    job
                    for job in self.ledger.jobs(endpoint=self.endpoint)
                    if job.is_open and job.state != "submitting"
                ]
                if not jobs or (looked and not self.config.batch_wait):
                    break
                check, looked = await self._poll(client, jobs), True
                recheck = [key for key in self._recheck if key in todo]
                if not check and self.config.batch_wait:
                    started = time.perf_counter()
                    await asyncio.sleep(self.config.batch_poll_interval)
                    self.report.add_time("sleep", time.perf_counter() - started)
            return self._results(requests, todo)
        finally:
            await client.close()
            self.ledger.close()

    def _classify(self, todo: Mapping[str, int], keys: Iterable[str]) -> list[str]:
        """Which of ``keys`` to submit now; records final errors and keys to send synchronously on the way.

        The keys had no stored answer when the run started, and answers collected since are in
        ``self._answers``; the ledger says which are in flight and which failed.
        """
        started = time.perf_counter()
        waiting = [
            key
            for key in keys
            if key not in self._final and key not in self._sync and key not in self._answers
        ]
        attempts = self.ledger.attempts(waiting)
        free, elsewhere = [], 0
        for key in waiting:
            here = [a for a in attempts.get(key, []) if a.endpoint == self.endpoint]
            elsewhere += len(here) < len(attempts.get(key, []))
            if any(a.state != COLLECTED for a in here):
                continue  # in flight: its batch will answer it
            failed = [a for a in here if a.error is not None and a.job_id in self._run_jobs]
            last = here[-1] if here else None
            if last is not None and last.error is not None and last.job_id in self._run_jobs:
                if not last.retryable or len(failed) > self.config.max_retries:
                    times = f" [after {len(failed)} batches]" if len(failed) > 1 else ""
                    self._final[key] = self._error(key, f"{last.error}{times}", "BatchRequestFailed")
                    continue
                if self.config.batch_on_failure == "sync":
                    self._sync.add(key)
                    continue
            if last is not None and last.error is not None:
                self.report.resubmitted += 1
            free.append(key)
        if elsewhere:
            logger.warning(
                "%d requests are also part of batches at another endpoint; they are sent to %s as well",
                elsewhere,
                self.endpoint,
            )
        self.report.add_time("classify", time.perf_counter() - started)
        return free

    # ------------------------------------------------------------------ submitting
    async def _submit(
        self, client: Any, requests: Sequence[ChatRequest], todo: Mapping[str, int], keys: Sequence[str]
    ) -> None:
        started = time.perf_counter()
        folder = self.folder / f"run-{uuid.uuid4().hex[:12]}"
        # building bodies may encode images: all of it off the event loop
        files = await asyncio.to_thread(self._write_files, folder, requests, todo, keys)
        self.report.add_time("write", time.perf_counter() - started)
        for written in files:
            await self._submit_file(client, written)
        with contextlib.suppress(OSError):
            folder.rmdir()

    def _write_files(
        self, folder: Path, requests: Sequence[ChatRequest], todo: Mapping[str, int], keys: Sequence[str]
    ) -> list[WrittenBatchFile]:
        writer = BatchFileWriter(
            folder, max_requests=self.config.batch_max_requests, max_bytes=self.config.batch_max_bytes
        )
        state = self.state
        for key in keys:
            index = todo[key]
            if state.stop_starting:
                self._final[key] = ChatResult(
                    requests[index].request_id, key, "error", error=_BUDGET_ERROR, error_type="budget"
                )
                continue
            try:
                body = self.engine.body_of(requests[index])
            except Exception as error:  # a figure that cannot be encoded fails alone
                self._final[key] = self._error(key, f"{type(error).__name__}: {error}", type(error).__name__)
                continue
            if state.budget is not None:
                estimate = self._estimate(body)
                if state.spent + state.in_flight_estimate + estimate > state.budget:
                    state.stop_starting = True
                    self._final[key] = ChatResult(
                        requests[index].request_id, key, "error", error=_BUDGET_ERROR, error_type="budget"
                    )
                    continue
                state.in_flight_estimate += estimate
                self._estimates[key] = estimate
            line = batch_line(key, body, self.url)
            if not writer.fits(line):
                self._final[key] = self._error(
                    key,
                    f"the request is {len(line):,} bytes, more than batch_max_bytes={writer.max_bytes:,}",
                    "BatchRequestTooLarge",
                )
                continue
            writer.add(key, str(body["model"]), line)
        return writer.close()

    def _estimate(self, body: Mapping[str, Any]) -> float:
        prompt = estimate_message_tokens(body.get("messages") or [])
        completion = estimate_request_tokens(body) - prompt
        return self.engine.price_table.cost(str(body["model"]), prompt, completion, batch=True) or 0.0

    async def _submit_file(self, client: Any, written: WrittenBatchFile) -> None:
        job_id = uuid.uuid4().hex
        self.ledger.add_job(job_id, self.endpoint, written.model, written.keys)  # before anything is sent
        try:
            started = time.perf_counter()
            uploaded = await self._call(
                lambda: client.files.create(
                    file=(written.path.name, written.path.read_bytes(), "application/jsonl"), purpose="batch"
                )
            )
            self.report.add_time("upload", time.perf_counter() - started)
            started = time.perf_counter()
            batch = await self._call(
                lambda: client.batches.create(
                    input_file_id=uploaded.id,
                    endpoint=self.url,
                    completion_window=self.config.batch_completion_window,
                    metadata={BATCH_METADATA_KEY: job_id},
                )
            )
            self.report.add_time("submit", time.perf_counter() - started)
        except Exception as error:
            self.ledger.drop_job(job_id)
            reason = self._describe(error)
            logger.warning("could not submit a batch of %d requests: %s", len(written.keys), reason)
            for key in written.keys:
                self._final[key] = self._error(
                    key, f"could not submit the batch: {reason}", "BatchSubmitError"
                )
            return
        finally:
            with contextlib.suppress(OSError):
                written.path.unlink()
        self.ledger.set_submitted(job_id, batch.id, uploaded.id, batch.status)
        self._run_jobs.add(job_id)
        self.report.submitted_batches += 1
        self.report.submitted_requests += len(written.keys)
        self.state.sent += len(written.keys)
        logger.info("submitted batch %s: %d requests (%s)", batch.id, len(written.keys), batch.status)

    async def _recover_submitting(self, client: Any) -> None:
        """Find the batches of ledger entries left ``submitting`` by a crash; forget those never created."""
        stuck = {job.job_id: job for job in self.ledger.jobs(["submitting"], endpoint=self.endpoint)}
        if not stuck:
            return
        found: dict[str, Any] = {}
        oldest = min(job.created for job in stuck.values()) - 3600
        try:
            async for batch in client.batches.list(limit=100):
                job_id = (batch.metadata or {}).get(BATCH_METADATA_KEY)
                if job_id in stuck:
                    found[job_id] = batch
                if len(found) == len(stuck) or batch.created_at < oldest:
                    break
        except Exception as error:  # cannot list: leave them for the next run rather than send twice
            logger.warning(
                "cannot list batches to recover interrupted submissions: %s", self._describe(error)
            )
            return
        for job_id in stuck:
            if job_id in found:
                batch = found[job_id]
                self.ledger.set_submitted(job_id, batch.id, batch.input_file_id, batch.status)
                self._record(stuck[job_id], batch)
                logger.info("found batch %s, submitted before an interruption", batch.id)
            else:
                self.ledger.drop_job(job_id)

    # ------------------------------------------------------------------ polling and collecting
    async def _poll(self, client: Any, jobs: Sequence[BatchJob]) -> bool:
        """Look at every open batch once; collect those that ended. Returns whether any was collected."""
        import openai

        self.report.polls += 1
        collected = False
        for job in jobs:
            self._seen[job.job_id] = job
            if job.state in OPEN_STATES:
                started = time.perf_counter()
                try:
                    batch = await self._call(lambda job=job: client.batches.retrieve(job.batch_id))
                except openai.NotFoundError:
                    note = f"{VANISHED}: {self.endpoint} no longer knows batch {job.batch_id}"
                    self.ledger.set_state(job.job_id, "failed", note=note)
                    job.state, job.note = "failed", note
                except Exception as error:  # the next poll tries again
                    logger.warning("could not poll batch %s: %s", job.batch_id, self._describe(error))
                    continue
                else:
                    self._record(job, batch)
                finally:
                    self.report.add_time("poll", time.perf_counter() - started)
            if job.state in DONE_STATES:
                await self._collect(client, job)
                collected = True
        self._show(jobs)
        return collected

    def _record(self, job: BatchJob, batch: Any) -> None:
        """Keep what the provider says of a batch, in the ledger and in ``job``."""
        counts = batch.request_counts
        job.batch_id, job.state = batch.id, batch.status
        job.completed = counts.completed if counts else 0
        job.failed = counts.failed if counts else 0
        job.output_file_id = batch.output_file_id or ""
        job.error_file_id = batch.error_file_id or ""
        job.note = _batch_errors(batch)
        self.ledger.set_state(
            job.job_id,
            job.state,
            completed=job.completed,
            failed=job.failed,
            output_file_id=batch.output_file_id,
            error_file_id=batch.error_file_id,
            note=job.note,
        )

    async def _collect(self, client: Any, job: BatchJob) -> None:
        answered: list[tuple[str, dict[str, Any], str]] = []
        failures: dict[str, tuple[str, bool]] = {}
        for file_id, kind in ((job.output_file_id, "output"), (job.error_file_id, "errors")):
            if not file_id:
                continue
            path = self.folder / f"{job.job_id}-{kind}.jsonl"
            started = time.perf_counter()
            await self._download(client, file_id, path)
            self.report.add_time("download", time.perf_counter() - started)
            started = time.perf_counter()
            for answer in read_batch_answers(path):
                if answer.ok:
                    assert answer.body is not None
                    try:
                        answered.append(
                            (answer.custom_id, answer_to_response(answer.body, job.model), job.model)
                        )
                    except ValueError as error:
                        failures[answer.custom_id] = (str(error), True)
                else:
                    failures[answer.custom_id] = (answer.error, answer.retryable)
            self.report.add_time("map", time.perf_counter() - started)
        keys = self.ledger.job_keys(job.job_id)
        got = {key for key, _, _ in answered}
        retryable = job.state != "failed" or any(code in job.note for code in (*RETRYABLE_CODES, VANISHED))
        for key in keys:
            if key not in got and key not in failures:
                reason = f"batch {job.batch_id} ended {job.state} without answering it"
                failures[key] = (f"{reason}: {job.note}" if job.note else reason, retryable)
        started = time.perf_counter()
        self.cache.put_many(answered)  # answers are durable before the batch counts as read
        self.ledger.set_collected(job.job_id, job.state, failures)
        self._answers.update((key, response) for key, response, _ in answered)
        self._recheck.update(failures)
        self.report.add_time("store", time.perf_counter() - started)
        for kind in ("output", "errors"):
            with contextlib.suppress(OSError):
                (self.folder / f"{job.job_id}-{kind}.jsonl").unlink()
        for key, response, model in answered:  # the budget now holds what was paid, not the estimate
            if key in self._estimates:
                self.state.in_flight_estimate -= self._estimates.pop(key)
                usage = response.get("usage") or {}
                cost = self.engine.price_table.cost(
                    model,
                    int(usage.get("prompt_tokens") or 0),
                    int(usage.get("completion_tokens") or 0),
                    batch=True,
                )
                self.state.spent += cost or 0.0
                self._spent_on.add(key)
        for key in failures:
            if key in self._estimates:  # failed requests of a batch are not billed
                self.state.in_flight_estimate -= self._estimates.pop(key)
        self.report.collected_batches += 1
        logger.info(
            "batch %s %s: %d answers, %d failed", job.batch_id, job.state, len(answered), len(failures)
        )
        job.final_state, job.state = job.state, COLLECTED

    async def _download(self, client: Any, file_id: str, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)

        async def fetch() -> None:
            async with client.files.with_streaming_response.content(file_id) as response:
                with open(path, "wb") as handle:
                    async for chunk in response.iter_bytes():
                        handle.write(chunk)

        await self._call(fetch)

    async def _call(self, make: Any) -> Any:
        """One API call (upload, submit, poll, download) with the engine's retries for passing failures."""
        import openai

        attempts = 0
        while True:
            attempts += 1
            try:
                return await make()
            except (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError) as error:
                if attempts > self.config.max_retries:
                    raise
                logger.debug("batch API call failed (%s), retrying", type(error).__name__)
                await asyncio.sleep(self.engine._backoff(attempts))

    # ------------------------------------------------------------------ results
    def _results(
        self, requests: Sequence[ChatRequest], todo: Mapping[str, int]
    ) -> tuple[dict[int, ChatResult], list[int]]:
        started = time.perf_counter()
        state = self.state
        stored: dict[str, Any] = self._answers
        unknown = [
            key for key in todo if key not in stored and key not in self._final and key not in self._sync
        ]
        if unknown:  # answered meanwhile by another process that shares the cache?
            stored = {**stored, **self.cache.get_many(unknown)}
        in_flight = self._in_flight(todo, stored)
        results: dict[int, ChatResult] = {}
        sync: list[int] = []
        for key, index in todo.items():
            request_id = requests[index].request_id
            if key in stored:
                response = stored[key]
                result = result_from_response(
                    request_id, key, response, self.engine.price_table, self.backend.model
                )
                result.attempts = 1
                state.prompt_tokens += result.prompt_tokens
                state.completion_tokens += result.completion_tokens
                if result.cost_usd is None:
                    state.cost_known = False
                elif key not in self._spent_on:  # not yet counted against the budget when collected
                    state.spent += result.cost_usd
                if result.cost_usd is not None and response.get("batch"):
                    model = str(response.get("request_model") or self.backend.model)
                    full = self.engine.price_table.cost(model, result.prompt_tokens, result.completion_tokens)
                    state.batch_saved += (full or 0.0) - result.cost_usd
                state.batch_answered += bool(response.get("batch"))
                self.report.answered += 1
                results[index] = result
            elif key in self._final:
                results[index] = dataclasses.replace(self._final[key], request_id=request_id)
            elif key in self._sync:
                sync.append(index)
            else:
                job = in_flight.get(key)
                where = (
                    f"batch {job.batch_id or '(being submitted)'} ({job.state}, "
                    f"{job.completed + job.failed}/{job.n_requests} done)"
                    if job
                    else "a batch"
                )
                results[index] = ChatResult(
                    request_id,
                    key,
                    "error",
                    error=f"not answered yet: in flight in {where}; run again to collect it",
                    error_type="batch_pending",
                )
                self.report.left_in_flight += 1
        # the estimates of requests still in flight stay out of this run's spend
        state.in_flight_estimate -= sum(self._estimates.values())
        self.report.sent_synchronously = len(sync)
        if self.progress is not None:
            self.progress.n = min(self.progress.total, self._done_at_start + len(todo) - len(sync))
            self.progress.refresh()
        self.report.add_time("results", time.perf_counter() - started)
        return results, sync

    def _in_flight(self, todo: Mapping[str, int], stored: Mapping[str, Any]) -> dict[str, BatchJob]:
        open_jobs = {job.job_id: job for job in self.ledger.jobs(endpoint=self.endpoint) if job.is_open}
        if not open_jobs:
            return {}
        waiting = [
            key for key in todo if key not in stored and key not in self._final and key not in self._sync
        ]
        found = {}
        for key, tried in self.ledger.attempts(waiting).items():
            for attempt in tried:
                if attempt.job_id in open_jobs:
                    found[key] = open_jobs[attempt.job_id]
        return found

    # ------------------------------------------------------------------ helpers
    def _error(self, key: str, text: str, error_type: str) -> ChatResult:
        """An error result; its request id is filled in when the results are assembled."""
        text = scrub_secrets(text, self.backend.secrets())[:500]
        return ChatResult("", key, "error", error=text, error_type=error_type)

    def _describe(self, error: BaseException) -> str:
        message = getattr(error, "message", None) or str(error) or type(error).__name__
        status = getattr(error, "status_code", None)
        prefix = f"{type(error).__name__}" + (f" (HTTP {status})" if status else "")
        return scrub_secrets(f"{prefix}: {message} [{self.endpoint}]", self.backend.secrets())[:500]

    def _show(self, jobs: Sequence[BatchJob]) -> None:
        if self.progress is None:
            return
        from collections import Counter

        states = Counter(job.state for job in jobs)
        done = sum(
            job.n_requests if job.state == COLLECTED else job.completed + job.failed
            for job in self._seen.values()
        )
        self.progress.n = min(self.progress.total, self._done_at_start + done)
        self.progress.set_postfix(
            batches=", ".join(f"{n} {s}" for s, n in sorted(states.items())), refresh=False
        )
        self.progress.refresh()


def _batch_errors(batch: Any) -> str:
    errors = getattr(batch, "errors", None)
    data = getattr(errors, "data", None) or []
    texts = [f"{e.code}: {e.message}" + (f" (line {e.line})" if e.line else "") for e in data[:3]]
    return "; ".join(texts)
