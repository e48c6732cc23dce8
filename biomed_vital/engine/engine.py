"""The request engine: many chat requests, sent fast, within limits, resumable and within budget.

Written once and used by :class:`~biomed_vital.generation.GPT4VGenerator`,
:class:`~biomed_vital.generation.GPT4VJudge` and the evaluation judge.

* **Sliding window**: ``max_concurrency`` workers each take the next pending request the
  moment their previous one finishes; nothing waits for a batch.
* **Limits**: a :class:`~biomed_vital.engine.limits.RateLimiter` paces starts under
  ``rpm``/``tpm`` (token estimates from :mod:`biomed_vital.engine.tokens`), follows the
  server's ``x-ratelimit-*`` headers, and pauses everyone on a 429 only when the shared budget
  is spent (remaining 0 in the headers, or a run of header-less 429s); any other 429 makes
  only the refused request wait, since pausing all requests for a 429 that concerned one of them
  wastes the whole window (see :mod:`biomed_vital.engine.limits`). A limit enforced without
  headers is learnt from the 429s (:mod:`biomed_vital.engine.rate_learning`); the summary says
  which rate the run kept to and where it came from.
* **Unusable replies**: given a check (``unusable_reason``), a reply that arrived but cannot be
  used is asked again at once, up to ``retry_unusable`` times, and a stored unusable reply is
  asked again on a rerun unless ``keep_unusable``.
* **Retries**: 429, 5xx, timeouts and connection errors back off exponentially with jitter,
  honouring ``Retry-After``/``retry-after-ms``, up to ``max_retries``; 400/401/403/404/422
  fail at once. A request that finally fails becomes an error result with its reason; it
  never affects another request.
* **Cache**: each answer is stored in a :class:`~biomed_vital.engine.cache.ResponseCache`
  the moment it arrives; a rerun sends only requests without a stored answer.
* **Cost**: usage and dollars per request and in total, a dry-run estimate, and a budget
  cap that stops *starting* requests once spent + in-flight estimates would pass it.
* **Scale**: ``endpoints`` spreads requests over several endpoints (:mod:`biomed_vital.engine.endpoints`);
  ``batch=True`` sends through the provider's Batch API and ``batch_export`` writes batch files for
  vLLM's ``run-batch`` (:mod:`biomed_vital.engine.dispatch`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from biomed_vital.engine.backends import BackendConfig, scrub_secrets
from biomed_vital.engine.cache import ResponseCache, request_key
from biomed_vital.engine.completions import (
    EmptyResponse,
    response_from_completion,
    result_from_response,
    sdk_arguments,
)
from biomed_vital.engine.config import EngineConfig
from biomed_vital.engine.dispatch import BatchDispatch, RunItem
from biomed_vital.engine.endpoints import EndpointPool, Lease, check_endpoints
from biomed_vital.engine.limits import parse_reset_seconds, retry_after_seconds
from biomed_vital.engine.pricing import CostEstimate, PriceTable, estimate_cost
from biomed_vital.engine.rate_learning import RateLearner
from biomed_vital.engine.requests import ChatRequest, ChatResult, RunSummary
from biomed_vital.engine.run_state import RunState, RunTally, UnusableReplies, as_async
from biomed_vital.engine.sync import run_sync
from biomed_vital.engine.tokens import estimate_message_tokens, estimate_request_tokens

__all__ = [
    "BUDGET_ERROR",
    "ChatRequest",
    "ChatResult",
    "EngineConfig",
    "RequestEngine",
    "RunSummary",
]

logger = logging.getLogger("biomed_vital.generation")

BUDGET_ERROR = "budget cap reached"
NOT_RETRIED_STATUSES = frozenset({400, 401, 403, 404, 422})
_MAX_ERROR_CHARS = 500
# requests per batch of run(): one cache query each
_FEED_BATCH = 256


class RequestEngine:
    """Sends chat requests concurrently within rate limits, with retries, a cache and a budget.

    Args:
        backend: where requests go (:class:`BackendConfig`), or a model name for OpenAI.
        config: an :class:`EngineConfig`; keyword arguments override its fields.

    Example:
        >>> from biomed_vital.engine import BackendConfig, ChatRequest, RequestEngine
        >>> engine = RequestEngine(BackendConfig(model="gpt-4o-mini"), max_concurrency=32, rpm=5000,
        ...                        budget_usd=5.0, cache_dir="runs/cache")          # doctest: +SKIP
        >>> results = engine.run_sync([ChatRequest({"messages": [...], "max_tokens": 512, "seed": 0}, "r0")])
        ... # doctest: +SKIP
        >>> print(engine.last_summary)                                               # doctest: +SKIP
    """

    def __init__(
        self, backend: BackendConfig | str, config: EngineConfig | None = None, **overrides: Any
    ) -> None:
        self.backend = BackendConfig(model=backend) if isinstance(backend, str) else backend
        base = asdict(config) if config is not None else {}
        if config is not None:
            base["price_table"] = config.price_table
        unknown = set(overrides) - set(EngineConfig.__dataclass_fields__)
        if unknown:
            raise TypeError(
                f"unknown engine options {sorted(unknown)}; EngineConfig fields are "
                f"{sorted(EngineConfig.__dataclass_fields__)}"
            )
        self.config = EngineConfig(**{**base, **overrides})
        table = self.config.price_table
        self.price_table = table if isinstance(table, PriceTable) else PriceTable.default()
        self.last_summary: RunSummary | None = None
        self.last_batch_report: Any = None  # a BatchReport after a run with batch=True
        self.last_endpoint_stats: list[Any] = []  # EndpointStats of each endpoint after a run
        self._cache: ResponseCache | None = None
        self._checked = False
        # one per endpoint, kept across runs, so a rate learnt from 429s is not found again from a burst
        self._rate_learners: dict[str, RateLearner] = {}

    def __repr__(self) -> str:
        return f"RequestEngine(backend={self.backend!r}, config={self.config!r})"

    @property
    def cache(self) -> ResponseCache | None:
        """The response cache (opened on first use), or ``None`` with ``use_cache=False``."""
        if self.config.use_cache and self._cache is None:
            self._cache = ResponseCache(self.config.cache_dir)
        return self._cache

    def body_of(self, request: ChatRequest) -> dict[str, Any]:
        """The body to send, built now if the request is lazy, with the backend's model filled in."""
        body = dict(request.body if request.body is not None else request.build())  # type: ignore[misc]
        body.setdefault("model", self.backend.model)
        return body

    def key_of(self, request: ChatRequest) -> str:
        """The request's cache key (precomputed, or from its body)."""
        if request.key:
            return request.key
        return request_key(self.body_of(request), request.candidate_index)

    def forget(self, requests: Sequence[ChatRequest]) -> int:
        """Drop the stored answers of ``requests`` so the next :meth:`run` sends them again."""
        if self.cache is None:
            return 0
        return self.cache.delete(self.key_of(request) for request in requests)

    def estimate(self, requests: Sequence[ChatRequest], *, skip_cached: bool = True) -> CostEstimate:
        """Dry run: projected tokens and spend of ``requests`` (those already cached cost nothing).

        Example:
            >>> engine = RequestEngine("gpt-4o", use_cache=False)
            >>> body = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1000}
            >>> engine.estimate([ChatRequest(body, "r0")]).completion_tokens
            1000
        """
        keys = [self.key_of(request) for request in requests]
        cached = self.cache.get_many(keys) if (skip_cached and self.cache) else {}
        bodies = (self.body_of(r) for r, key in zip(requests, keys, strict=True) if key not in cached)
        return estimate_cost(bodies, self.price_table, batch=self.config.batch)

    def check(self) -> None:
        """Check the endpoint and the key with one free request (``GET /models``), before any paid request.

        :meth:`run` calls this once per engine before its first request (``check_endpoint=False`` turns it
        off). Raises :class:`~biomed_vital.engine.backends.EndpointError` naming the URL when the key is
        missing, the server cannot be reached, or it refuses the key. A server without ``/models`` passes:
        the first real request decides.

        Example:
            >>> RequestEngine(BackendConfig("m", base_url="http://127.0.0.1:9/v1")).check()  # doctest: +SKIP
            Traceback (most recent call last):
            EndpointError: cannot reach http://127.0.0.1:9/v1 (Connection error.); check the URL ...
        """
        run_sync(self.acheck())

    async def acheck(self) -> None:
        """Asynchronous :meth:`check` (with several endpoints: each; it fails only when none can be used)."""
        await check_endpoints(self.backend, self.config)
        self._checked = True

    def run_sync(
        self,
        requests: Sequence[ChatRequest],
        *,
        desc: str = "requests",
        unusable_reason: Callable[[ChatResult], str] | None = None,
        retry_unusable: int = 0,
        keep_unusable: bool = False,
    ) -> list[ChatResult]:
        """Synchronous :meth:`run` (works inside Jupyter's running loop too)."""
        return run_sync(
            self.run(
                requests,
                desc=desc,
                unusable_reason=unusable_reason,
                retry_unusable=retry_unusable,
                keep_unusable=keep_unusable,
            )
        )

    async def run(
        self,
        requests: Sequence[ChatRequest],
        *,
        desc: str = "requests",
        unusable_reason: Callable[[ChatResult], str] | None = None,
        retry_unusable: int = 0,
        keep_unusable: bool = False,
    ) -> list[ChatResult]:
        """Send every request that has no stored answer; return one result per request, in order.

        Requests with the same cache key are sent once and share the result.

        Args:
            requests: the requests.
            desc: the progress bar's label.
            unusable_reason: says why a reply that arrived cannot be used ('' when it can), e.g. a
                task's parser. Without it every reply is final.
            retry_unusable: how many times to ask again, at once, for a reply ``unusable_reason``
                rejects; the last reply is returned (and stored) whatever it is.
            keep_unusable: take stored replies as they are; by default a stored reply that
                ``unusable_reason`` rejects is asked again (it was not a final answer).

        Example:
            >>> engine = RequestEngine("gpt-4o", api_key="sk-x", use_cache=False)       # doctest: +SKIP
            >>> results = engine.run_sync(requests, unusable_reason=lambda r: "" if r.content else "empty",
            ...                           retry_unusable=2)                               # doctest: +SKIP
        """
        self._check_prices(request.body for request in requests)
        results: list[ChatResult | None] = [None] * len(requests)

        def keep(index: int, result: ChatResult) -> None:
            results[index] = result

        chunks = [requests[start : start + _FEED_BATCH] for start in range(0, len(requests), _FEED_BATCH)]
        await self.stream(
            chunks,
            keep,
            total=len(requests),
            desc=desc,
            unusable_reason=unusable_reason,
            retry_unusable=retry_unusable,
            keep_unusable=keep_unusable,
        )
        return [result for result in results if result is not None]

    async def stream(
        self,
        batches: Iterable[Sequence[ChatRequest]] | AsyncIterable[Sequence[ChatRequest]],
        on_result: Callable[[int, ChatResult], None],
        *,
        total: int | None = None,
        desc: str = "requests",
        unusable_reason: Callable[[ChatResult], str] | None = None,
        retry_unusable: int = 0,
        keep_unusable: bool = False,
    ) -> RunSummary:
        """Send requests as they come, in batches, and hand each result over the moment it is final.

        :meth:`run` for work too large to hold at once: ``batches`` may be produced lazily (an async
        generator that plans the next rows while earlier ones are being sent); requests are numbered
        in the order they come, and ``on_result(index, result)`` is called once per request, in the
        order results become final. The sliding window never waits for a batch to finish. Requests
        with the same key as one in flight wait for it and share its result; a later repeat is served
        from the cache. Everything else is as in :meth:`run`, whose options these are; ``total``
        sizes the progress bar (corrected when the batches end). Returns the run's summary (also
        :attr:`last_summary`). With ``batch=True`` or ``batch_export`` the requests are read at once and
        go through :mod:`~biomed_vital.engine.dispatch` first (a batch is submitted whole).

        Example:
            >>> async def batches():                                                     # doctest: +SKIP
            ...     for rows in row_blocks:
            ...         yield [ChatRequest(body, f"row-{i}") for i, body in rows]
            >>> summary = await engine.stream(batches(), lambda i, result: store(i, result))  # doctest: +SKIP
        """
        if retry_unusable < 0:
            raise ValueError(f"retry_unusable must be >= 0, got {retry_unusable}")
        started = time.perf_counter()
        check = unusable_reason
        cache = self.cache
        batched = self.config.batch or bool(self.config.batch_export)
        keep_unusable = keep_unusable or bool(self.config.batch_export)  # an export sends nothing
        source = as_async(batches)
        first = await self._looked_up(await anext(source, None), cache)
        self._check_prices([])  # the backend's model; bodies naming another are checked as they come
        needs_sending = first and any(self._final(*item, check, keep_unusable) is None for item in first)
        checks = self.config.check_endpoint and not self.config.batch_export
        if needs_sending and checks and not self._checked:
            await self.acheck()  # before the progress bar: a wrong URL or key is one clear error
        state = RunState(self.config.budget_usd)
        pool = EndpointPool.for_engine(self.backend, self.config, self._rate_learners)
        progress = self._progress_bar(total, 0, desc)
        tally = RunTally()
        workers = pool.capacity
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=4 * workers)
        in_flight: dict[str, list[tuple[int, str]]] = {}  # key -> later requests with that key, waiting
        done_keys: set[str] = set()
        check_lock = asyncio.Lock()
        items: AsyncIterator[RunItem] = self._numbered(first, source, cache, tally)
        asked_in_batch: set[str] = set()  # keys whose batch answer was rejected: asked once already

        def deliver(index: int, result: ChatResult, repeat: bool = False) -> None:
            tally.add(result, repeat)
            on_result(index, result)
            state.count(result, progress)

        if batched and needs_sending:
            dispatch = BatchDispatch(self, state, progress, deliver, check, retry_unusable, keep_unusable)
            left = await dispatch.run([item async for item in items])
            asked_in_batch = dispatch.asked_again
            items = as_async(left)

        async def feed() -> None:
            try:
                async for item in items:
                    await queue.put(item)
            finally:
                for _ in range(workers):
                    await queue.put(None)

        async def work() -> None:
            while (item := await queue.get()) is not None:
                index, request, key, stored = item
                cached = self._final(request, key, stored, check, keep_unusable)
                if cached is not None:
                    deliver(index, cached, repeat=key in done_keys)
                    done_keys.add(key)
                    continue
                replaces_stored = stored is not None  # a stored unusable reply, asked again
                if key in in_flight:
                    in_flight[key].append((index, request.request_id))
                    continue
                if key in done_keys and cache is not None:  # a repeat of a request answered earlier
                    again = cache.get_many([key]).get(key)
                    if again is not None:
                        deliver(index, self._result_from_response(request.request_id, key, again, True), True)
                        continue
                in_flight[key] = []
                if not pool.is_open:
                    async with check_lock:
                        if checks and not self._checked:
                            await self.acheck()
                        if not pool.is_open:
                            pool.open()
                retries = retry_unusable - (key in asked_in_batch)
                unusable = UnusableReplies(check, retries, replaces_stored)
                result = await self._send(request, key, pool, state, unusable)
                state.record(result, pool.label, self.config.stop_after_failures)
                deliver(index, result, repeat=key in done_keys)
                done_keys.add(key)
                for waiting_index, request_id in in_flight.pop(key):
                    deliver(waiting_index, dataclasses.replace(result, request_id=request_id), repeat=True)

        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(feed())
                for _ in range(workers):
                    group.create_task(work())
        except BaseExceptionGroup as group_error:
            # one clear error (a wrong endpoint found late, a model without a price) rather than a group
            raise group_error.exceptions[0] from None
        finally:
            await pool.close()
            self.last_endpoint_stats = pool.stats()
        if len(pool.endpoints) > 1:
            each = (f"{e.name}: {e.ok} ok, {e.failed} failed, out {e.taken_out}x" for e in pool.stats())
            logger.info("%s: %s", desc, "; ".join(each))
        if progress is not None:
            if progress.total != tally.fed:
                progress.total = tally.fed
            state.show(progress)  # the throttled postfix may lag: show the exact totals
        summary = tally.summary(state, time.perf_counter() - started, pool.effective_rpm, pool.rpm_source)
        self.last_summary = summary
        if progress is not None:
            progress.close()
            progress.write(f"[biomed_vital] {desc}: {summary}")
        logger.info("%s: %s", desc, summary)
        return summary

    async def _numbered(
        self,
        first: list[tuple[ChatRequest, str, dict[str, Any] | None]] | None,
        source: AsyncIterator[Sequence[ChatRequest]],
        cache: ResponseCache | None,
        tally: RunTally,
    ) -> AsyncIterator[RunItem]:
        """The run's requests numbered in the order they come, with their keys and stored answers."""
        batch = first
        while batch is not None:
            if self.config.budget_usd is not None:
                self._check_prices(request.body for request, _, _ in batch)
            for request, key, stored in batch:
                yield tally.fed, request, key, stored
                tally.fed += 1
            batch = await self._looked_up(await anext(source, None), cache)

    def _final(
        self,
        request: ChatRequest,
        key: str,
        stored: Mapping[str, Any] | None,
        check: Callable[[ChatResult], str] | None,
        keep_unusable: bool,
    ) -> ChatResult | None:
        """The stored answer as a result when it is final (usable, or kept as it is), else None."""
        if stored is None:
            return None
        cached = self._result_from_response(request.request_id, key, stored, cached=True)
        if check is None or keep_unusable or not check(cached):
            return cached
        return None

    async def _looked_up(
        self, batch: Sequence[ChatRequest] | None, cache: ResponseCache | None
    ) -> list[tuple[ChatRequest, str, dict[str, Any] | None]] | None:
        """A batch's requests with their keys and stored answers (one cache query per batch)."""
        if batch is None:
            return None
        keys = [self.key_of(request) for request in batch]
        stored = cache.get_many(keys) if cache is not None else {}
        return [(request, key, stored.get(key)) for request, key in zip(batch, keys, strict=True)]

    def _check_prices(self, bodies: Iterable[Mapping[str, Any] | None]) -> None:
        """With a budget, refuse (before sending) models that have no price."""
        if self.config.budget_usd is None:
            return
        models = {self.backend.model}
        models.update(str(body.get("model", self.backend.model)) for body in bodies if body is not None)
        unpriced = {model for model in models if self.price_table.price(model) is None}
        if unpriced:
            raise ValueError(
                f"budget_usd is set but there is no price for model(s) {sorted(unpriced)}; "
                "add one with PriceTable.default().set(model, input_per_million, output_per_million) "
                "and pass price_table=..."
            )

    async def _send(
        self,
        request: ChatRequest,
        key: str,
        pool: EndpointPool,
        state: RunState,
        unusable: UnusableReplies,
    ) -> ChatResult:
        import openai

        request_id = request.request_id
        if state.stop_starting:  # decided before building the body: no image is encoded for nothing
            return ChatResult(request_id, key, "error", error=BUDGET_ERROR, error_type="budget")
        if state.stopped_reason:
            return ChatResult(
                request_id, key, "error", error=f"not sent: {state.stopped_reason}", error_type="stopped"
            )
        try:
            # building may encode an image: keep that CPU work off the event loop
            body = await asyncio.to_thread(self.body_of, request) if request.build else self.body_of(request)
        except Exception as error:  # a figure that cannot be encoded fails alone
            return self._error(request_id, key, error, 0, None)
        model = body["model"]
        token_estimate = estimate_request_tokens(body)
        cost_estimate = 0.0
        if state.budget is not None:
            prompt_estimate = estimate_message_tokens(body.get("messages") or [])
            cost_estimate = (
                self.price_table.cost(model, prompt_estimate, token_estimate - prompt_estimate) or 0.0
            )
            if state.stop_starting or state.spent + state.in_flight_estimate + cost_estimate > state.budget:
                state.stop_starting = True
                return ChatResult(request_id, key, "error", error=BUDGET_ERROR, error_type="budget")
            state.in_flight_estimate += cost_estimate

        attempts = 0
        asked_again = 0
        lease: Lease | None = None
        try:
            while True:
                # each attempt goes to the endpoint with room (one endpoint unless several are configured)
                lease = await pool.acquire(token_estimate)
                limiter = lease.limiter
                attempts += 1
                state.sent += 1
                sent_at = time.monotonic()
                wait: float | None = None
                try:
                    raw = await lease.client.chat.completions.with_raw_response.create(
                        **sdk_arguments(lease.body(body))
                    )
                    limiter.update_from_headers(raw.headers)
                    limiter.on_admitted()
                    completion = raw.parse()
                    response = response_from_completion(completion, body)
                except openai.APIStatusError as error:
                    status = error.status_code
                    lease.done(status=status)
                    headers = dict(error.response.headers) if error.response is not None else {}
                    limiter.update_from_headers(headers)
                    if str(headers.get("x-should-retry", "")).lower() == "false":
                        # the server says waiting cannot help (e.g. a request larger than the token limit)
                        return self._error(request_id, key, error, attempts, status, lease.url)
                    wait = retry_after_seconds(headers)
                    if status == 429:
                        state.rate_limited += 1
                        if wait is None:
                            resets = [
                                parse_reset_seconds(headers.get(f"x-ratelimit-reset-{k}"))
                                for k in ("requests", "tokens")
                            ]
                            wait = max((r for r in resets if r), default=None)
                        asked = wait if wait is not None else self._backoff(attempts - asked_again)
                        if limiter.on_rate_limited(headers, asked, token_estimate, sent_at=sent_at):
                            wait = 0.0  # the shared budget is spent: the limiter pause is the wait
                        else:
                            # only this request waits: as long as the server asked (as the openai SDK
                            # does), else a backoff that grows with its attempts; the jitter keeps 429s
                            # of one burst from all coming back at once
                            wait = asked * (1.0 + 0.2 * random.random())
                    if status in NOT_RETRIED_STATUSES or attempts - asked_again > self.config.max_retries:
                        return self._error(request_id, key, error, attempts, status, lease.url)
                    logger.debug("%s: HTTP %s, retrying (attempt %d)", request_id, status, attempts)
                except (
                    openai.APIConnectionError,
                    openai.APIResponseValidationError,
                    EmptyResponse,
                ) as error:
                    lease.done(error=error)
                    if attempts - asked_again > self.config.max_retries:
                        return self._error(request_id, key, error, attempts, None, lease.url)
                    logger.debug("%s: %s, retrying (attempt %d)", request_id, type(error).__name__, attempts)
                else:
                    lease.done()
                    result = self._result_from_response(request_id, key, response, cached=False)
                    state.prompt_tokens += result.prompt_tokens  # paid for, usable or not
                    state.completion_tokens += result.completion_tokens
                    if result.cost_usd is None:
                        state.cost_known = False
                    else:
                        state.spent += result.cost_usd
                    reason = unusable.check(result) if unusable.check is not None else ""
                    if reason and asked_again < unusable.retries:
                        # not a final answer: ask again now (not stored, so a crash re-asks it too)
                        asked_again += 1
                        state.unusable_asked_again += 1
                        logger.debug("%s: unusable reply (%s), asking again", request_id, reason)
                        continue
                    if reason:
                        state.unusable_kept += 1
                    if self.cache is not None:
                        self.cache.put(key, response, model=model, replace=unusable.replaces_stored)
                    result.attempts = attempts
                    return result
                delay = self._backoff(attempts - asked_again) if wait is None else wait
                if delay > 0:
                    await asyncio.sleep(delay)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a bug or an unexpected SDK error must not take other rows down
            # no traceback in the log: exception texts can carry request headers; _error scrubs the message
            return self._error(request_id, key, error, attempts, None)
        finally:
            if lease is not None:
                lease.done(error=asyncio.CancelledError())  # no-op unless the attempt ended abnormally
            state.in_flight_estimate -= cost_estimate

    def _backoff(self, attempts: int) -> float:
        ceiling = min(self.config.backoff_max, self.config.backoff_base * 2 ** (attempts - 1))
        return ceiling * (0.5 + random.random() / 2)  # jitter spreads retries of a burst apart

    def _error(
        self,
        request_id: str,
        key: str,
        error: BaseException,
        attempts: int,
        status: int | None,
        url: str | None = None,
    ) -> ChatResult:
        import openai

        message = getattr(error, "message", None) or str(error) or type(error).__name__
        if isinstance(error, openai.APIConnectionError):  # includes timeouts: say which server
            message = f"{url or self.backend.endpoint}: {message}"
        prefix = f"{type(error).__name__}" + (f" (HTTP {status})" if status else "")
        text = scrub_secrets(f"{prefix}: {message}", self.backend.secrets())[:_MAX_ERROR_CHARS]
        if attempts > 1:
            text += f" [after {attempts} attempts]"
        logger.warning("%s failed: %s", request_id or key[:12], text)
        return ChatResult(
            request_id,
            key,
            "error",
            error=text,
            error_type=type(error).__name__,
            http_status=status,
            attempts=attempts,
        )

    def _result_from_response(
        self, request_id: str, key: str, response: Mapping[str, Any], cached: bool
    ) -> ChatResult:
        return result_from_response(request_id, key, response, self.price_table, self.backend.model, cached)

    def _progress_bar(self, total: int | None, initial: int, desc: str) -> Any:
        if not self.config.show_progress:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=total, initial=initial, desc=desc, unit="req", dynamic_ncols=True)
