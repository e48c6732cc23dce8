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
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, fields
from typing import Any

from biomed_vital.engine.backends import DEFAULT_MODEL, BackendConfig, EndpointError, scrub_secrets
from biomed_vital.engine.cache import ResponseCache, request_key
from biomed_vital.engine.config import EngineConfig
from biomed_vital.engine.limits import RateLimiter, parse_reset_seconds, retry_after_seconds
from biomed_vital.engine.pricing import CostEstimate, PriceTable, estimate_cost
from biomed_vital.engine.rate_learning import RateLearner
from biomed_vital.engine.requests import ChatRequest, ChatResult, RunSummary
from biomed_vital.engine.sync import run_sync
from biomed_vital.engine.tokens import (
    estimate_message_tokens,
    estimate_request_tokens,
    estimate_text_tokens,
)

__all__ = [
    "BUDGET_ERROR",
    "ChatRequest",
    "ChatResult",
    "EngineConfig",
    "RequestEngine",
    "RunSummary",
    "engine_from_options",
]

logger = logging.getLogger("biomed_vital.generation")

BUDGET_ERROR = "budget cap reached"
NOT_RETRIED_STATUSES = frozenset({400, 401, 403, 404, 422})
_MAX_ERROR_CHARS = 500
# set_postfix formats and redraws the bar (~0.3 ms): at hundreds of responses a second that is
# a noticeable share of the client's CPU, and no one reads the numbers faster than this
_POSTFIX_INTERVAL = 0.15


class _RunState:
    """Counters shared by the workers of one run (single event loop, so no locks)."""

    def __init__(self, budget: float | None) -> None:
        self.budget = budget
        self.spent = 0.0
        self.in_flight_estimate = 0.0
        self.stop_starting = False
        self.sent = 0
        self.rate_limited = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cost_known = True
        self.errors: Counter[str] = Counter()
        self.unusable_asked_again = 0  # replies that arrived unusable and were asked for again
        self.unusable_kept = 0  # final replies that are still unusable
        self.postfix_at = float("-inf")  # when the progress bar's numbers were last redrawn
        self.failure_cause = ""  # the endpoint failure of the latest requests, and how many in a row
        self.failure_streak = 0
        self.failure_example = ""
        self.stopped_reason = ""

    def record(self, result: ChatResult, endpoint: str, stop_after: int) -> None:
        """Follow failures that concern the endpoint; after ``stop_after`` alike in a row, stop starting."""
        cause = _endpoint_failure(result)
        if not cause:
            self.failure_cause, self.failure_streak = "", 0
            return
        if cause == self.failure_cause:
            self.failure_streak += 1
        else:
            self.failure_cause, self.failure_streak, self.failure_example = cause, 1, result.error
        if stop_after and self.failure_streak >= stop_after and not self.stopped_reason:
            self.stopped_reason = (
                f"the last {self.failure_streak} requests to {endpoint} all failed with {cause} "
                f"({self.failure_example})"
            )


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
        self._cache: ResponseCache | None = None
        self._checked = False
        # kept across runs, so a rate learnt from 429s is not found again from a burst of refusals
        self._rate_learner = RateLearner(self.config.max_concurrency)

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
        return estimate_cost(bodies, self.price_table)

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
        """Asynchronous :meth:`check`."""
        import openai

        problem = self.backend.missing_key_error()
        if problem:
            raise EndpointError(problem)
        url = self.backend.endpoint
        client = self.backend.create_client()
        try:
            await asyncio.wait_for(client.models.list(), timeout=min(self.backend.timeout, 30.0))
        except (TimeoutError, openai.APIConnectionError) as error:
            reason = str(getattr(error, "message", None) or error) or type(error).__name__
            raise EndpointError(
                f"cannot reach {url} ({reason}); check the URL and that the server is running"
            ) from None
        except (openai.AuthenticationError, openai.PermissionDeniedError) as error:
            message = scrub_secrets(str(error.message), self.backend.secrets())
            raise EndpointError(
                f"{url} refused the API key (HTTP {error.status_code}: {message}); "
                f"check {self.backend.api_key_env}"
            ) from None
        except openai.APIStatusError as error:  # no /models (404), or a passing server error: go on
            logger.info("endpoint check of %s: HTTP %s, continuing", url, error.status_code)
        finally:
            await client.close()
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
        if retry_unusable < 0:
            raise ValueError(f"retry_unusable must be >= 0, got {retry_unusable}")
        check = unusable_reason
        started = time.perf_counter()
        keys = [self.key_of(request) for request in requests]
        results: list[ChatResult | None] = [None] * len(keys)
        cache = self.cache
        stored = cache.get_many(keys) if cache is not None else {}

        first_index_by_key: dict[str, int] = {}
        pending: list[int] = []
        replace: set[str] = set()  # stored unusable replies asked again: the new answer replaces them
        for index, key in enumerate(keys):
            if key in stored:
                cached = self._result_from_response(requests[index].request_id, key, stored[key], cached=True)
                if check is None or keep_unusable or not check(cached):
                    results[index] = cached
                    continue
                replace.add(key)
            if key not in first_index_by_key:
                first_index_by_key[key] = index
                pending.append(index)

        budget = self.config.budget_usd
        if budget is not None and pending:
            models = {self.backend.model}
            for index in pending:
                body = requests[index].body
                if body is not None:
                    models.add(str(body.get("model", self.backend.model)))
            unpriced = {model for model in models if self.price_table.price(model) is None}
            if unpriced:
                raise ValueError(
                    f"budget_usd is set but there is no price for model(s) {sorted(unpriced)}; "
                    "add one with PriceTable.default().set(model, input_per_million, output_per_million) "
                    "and pass price_table=..."
                )

        if pending and self.config.check_endpoint and not self._checked:
            await self.acheck()  # before the progress bar: a wrong URL or key is one clear error
        state = _RunState(budget)
        limiter = RateLimiter(
            self.config.rpm,
            self.config.tpm,
            max_concurrency=self.config.max_concurrency,
            learner=self._rate_learner,
        )
        # cached requests and repeats of a pending key count as done from the start
        progress = self._progress_bar(len(keys), len(keys) - len(pending), desc)
        if pending:
            client = self.backend.create_client()
            queue = iter(pending)

            async def worker() -> None:
                # a shared iterator: each worker takes the next request the moment it is free
                for index in queue:
                    key = keys[index]
                    result = await self._send(
                        requests[index],
                        key,
                        client,
                        limiter,
                        state,
                        _Unusable(check, retry_unusable, key in replace),
                    )
                    results[index] = result
                    state.record(result, self.backend.endpoint, self.config.stop_after_failures)
                    self._tick(progress, state, result)

            try:
                await asyncio.gather(
                    *(worker() for _ in range(min(self.config.max_concurrency, len(pending))))
                )
            finally:
                await client.close()
            if progress is not None:  # the throttled postfix may lag: show the exact totals
                self._set_postfix(progress, state)

        for index, key in enumerate(keys):  # requests that shared a key with an earlier one
            if results[index] is None:
                first = results[first_index_by_key[key]]
                assert first is not None
                results[index] = ChatResult(**{**asdict(first), "request_id": requests[index].request_id})
        final = [result for result in results if result is not None]
        summary = self._summarise(final, state, time.perf_counter() - started, limiter)
        self.last_summary = summary
        if progress is not None:
            progress.close()
            progress.write(f"[biomed_vital] {desc}: {summary}")
        logger.info("%s: %s", desc, summary)
        return final

    async def _send(
        self,
        request: ChatRequest,
        key: str,
        client: Any,
        limiter: RateLimiter,
        state: _RunState,
        unusable: _Unusable,
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
        try:
            while True:
                await limiter.acquire(token_estimate)
                attempts += 1
                state.sent += 1
                sent_at = time.monotonic()
                wait: float | None = None
                try:
                    raw = await client.chat.completions.with_raw_response.create(**_sdk_arguments(body))
                    limiter.update_from_headers(raw.headers)
                    limiter.on_admitted()
                    completion = raw.parse()
                    response = _response_from_completion(completion, body)
                except openai.APIStatusError as error:
                    status = error.status_code
                    headers = dict(error.response.headers) if error.response is not None else {}
                    limiter.update_from_headers(headers)
                    if str(headers.get("x-should-retry", "")).lower() == "false":
                        # the server says waiting cannot help (e.g. a request larger than the token limit)
                        return self._error(request_id, key, error, attempts, status)
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
                            # only this request waits; backoff grows with its attempts, and the
                            # jitter keeps 429s of one burst from all coming back at once
                            wait = max(asked, self._backoff(attempts - asked_again)) * (
                                1.0 + 0.2 * random.random()
                            )
                    if status in NOT_RETRIED_STATUSES or attempts - asked_again > self.config.max_retries:
                        return self._error(request_id, key, error, attempts, status)
                    logger.debug("%s: HTTP %s, retrying (attempt %d)", request_id, status, attempts)
                except (
                    openai.APIConnectionError,
                    openai.APIResponseValidationError,
                    _EmptyResponse,
                ) as error:
                    if attempts - asked_again > self.config.max_retries:
                        return self._error(request_id, key, error, attempts, None)
                    logger.debug("%s: %s, retrying (attempt %d)", request_id, type(error).__name__, attempts)
                else:
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
            state.in_flight_estimate -= cost_estimate

    def _backoff(self, attempts: int) -> float:
        ceiling = min(self.config.backoff_max, self.config.backoff_base * 2 ** (attempts - 1))
        return ceiling * (0.5 + random.random() / 2)  # jitter spreads retries of a burst apart

    def _error(
        self, request_id: str, key: str, error: BaseException, attempts: int, status: int | None
    ) -> ChatResult:
        import openai

        message = getattr(error, "message", None) or str(error) or type(error).__name__
        if isinstance(error, openai.APIConnectionError):  # includes timeouts: say which server
            message = f"{self.backend.endpoint}: {message}"
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
        usage = response.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        completion_tokens = int(usage.get("completion_tokens") or 0)
        model = str(response.get("request_model") or self.backend.model)
        return ChatResult(
            request_id,
            key,
            "ok",
            content=response.get("content"),
            finish_reason=response.get("finish_reason"),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=self.price_table.cost(model, prompt_tokens, completion_tokens),
            cached=cached,
        )

    def _progress_bar(self, total: int, initial: int, desc: str) -> Any:
        if not self.config.show_progress:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=total, initial=initial, desc=desc, unit="req", dynamic_ncols=True)

    @staticmethod
    def _tick(progress: Any, state: _RunState, result: ChatResult | None) -> None:
        if result is not None and not result.ok:
            state.errors[result.error_type or "error"] += 1
        if progress is None:
            return
        progress.update(1)
        now = time.monotonic()
        if now - state.postfix_at >= _POSTFIX_INTERVAL:
            state.postfix_at = now
            RequestEngine._set_postfix(progress, state, refresh=False)

    @staticmethod
    def _set_postfix(progress: Any, state: _RunState, refresh: bool = True) -> None:
        progress.set_postfix(
            tokens=state.prompt_tokens + state.completion_tokens,
            spend=f"${state.spent:.4f}",
            errors=sum(state.errors.values()),
            r429=state.rate_limited,
            refresh=refresh,
        )

    def _summarise(
        self, results: list[ChatResult], state: _RunState, wall: float, limiter: RateLimiter
    ) -> RunSummary:
        errors: Counter[str] = Counter()
        cached_cost: float | None = 0.0
        seen: set[str] = set()
        for result in results:
            if not result.ok:
                errors[_cause(result)] += 1
            if result.cached and result.key not in seen and cached_cost is not None:
                cached_cost = None if result.cost_usd is None else cached_cost + result.cost_usd
            seen.add(result.key)
        return RunSummary(
            n_requests=len(results),
            ok=sum(result.ok for result in results),
            errors=dict(errors),
            cache_hits=sum(result.cached for result in results),
            sent=state.sent,
            rate_limited=state.rate_limited,
            prompt_tokens=state.prompt_tokens,
            completion_tokens=state.completion_tokens,
            cost_usd=state.spent if state.cost_known else None,
            wall_seconds=wall,
            budget_stopped=state.stop_starting,
            duplicates=len(results) - len(seen),
            cached_cost_usd=cached_cost,
            stopped_reason=state.stopped_reason,
            rpm=limiter.effective_rpm,
            rpm_source=limiter.rpm_source,
            unusable_asked_again=state.unusable_asked_again,
            unusable_kept=state.unusable_kept,
        )


class _Unusable:
    """How one request treats replies that arrive but cannot be used."""

    __slots__ = ("check", "replaces_stored", "retries")

    def __init__(
        self, check: Callable[[ChatResult], str] | None, retries: int, replaces_stored: bool
    ) -> None:
        self.check, self.retries, self.replaces_stored = check, retries, replaces_stored


class _EmptyResponse(Exception):
    """A 200 response without a choice (retried like a server error)."""


def _response_from_completion(completion: Any, body: Mapping[str, Any]) -> dict[str, Any]:
    choices = getattr(completion, "choices", None) or []
    if not choices:
        raise _EmptyResponse("the server answered without a choice")
    choice = choices[0]
    message = getattr(choice, "message", None)
    content = getattr(message, "content", None) if message is not None else None
    usage = getattr(completion, "usage", None)
    if usage is not None and getattr(usage, "prompt_tokens", None) is not None:
        usage_dict = {
            "prompt_tokens": int(usage.prompt_tokens or 0),
            "completion_tokens": int(usage.completion_tokens or 0),
        }
    else:  # some compatible servers omit usage; keep an estimate so costs are not silently zero
        usage_dict = {
            "prompt_tokens": estimate_message_tokens(body.get("messages") or []),
            "completion_tokens": estimate_text_tokens(content or ""),
            "estimated": 1,
        }
    return {
        "content": content,
        "finish_reason": getattr(choice, "finish_reason", None),
        "usage": usage_dict,
        "model": getattr(completion, "model", None),
        "request_model": body.get("model"),
    }


@functools.cache
def _sdk_parameters() -> frozenset[str]:
    from openai.resources.chat.completions import AsyncCompletions

    return frozenset(inspect.signature(AsyncCompletions.create).parameters) - {"self", "extra_body"}


def _sdk_arguments(body: Mapping[str, Any]) -> dict[str, Any]:
    """SDK keyword arguments for a request body; parameters the SDK does not name (``top_k``
    for vLLM, ...) travel in ``extra_body`` so they reach the server unchanged."""
    known = _sdk_parameters()
    arguments = {name: value for name, value in body.items() if name in known}
    extra = {name: value for name, value in body.items() if name not in known and name != "extra_body"}
    if extra or body.get("extra_body"):
        arguments["extra_body"] = {**extra, **(body.get("extra_body") or {})}
    return arguments


# Failures that say something about the endpoint rather than about one request.
_ENDPOINT_STATUSES = frozenset({401, 403, 404, 408, 429, 500, 502, 503, 504})
_ENDPOINT_ERRORS = frozenset({"APIConnectionError", "APITimeoutError", "_EmptyResponse"})


def _endpoint_failure(result: ChatResult) -> str:
    """The cause of a failure that concerns the endpoint (unreachable, refusing, overloaded), else ''."""
    if result.ok or result.error_type in ("budget", "stopped"):
        return ""
    if result.http_status in _ENDPOINT_STATUSES or (
        result.http_status is None and result.error_type in _ENDPOINT_ERRORS
    ):
        return _cause(result)
    return ""


def _cause(result: ChatResult) -> str:
    if result.error_type == "budget":
        return "budget"
    return f"{result.error_type} {result.http_status}" if result.http_status else result.error_type or "error"


def engine_from_options(
    model: str | None = None,
    *,
    backend: BackendConfig | None = None,
    engine: RequestEngine | None = None,
    engine_config: EngineConfig | None = None,
    **options: Any,
) -> RequestEngine:
    """Build a task's engine from keyword options, or return the ``engine`` given.

    ``options`` may hold :class:`BackendConfig` fields (``base_url``, ``api_key``,
    ``azure_endpoint``, ``api_version``, ``timeout``, ...) and :class:`EngineConfig` fields
    (``max_concurrency``, ``rpm``, ``cache_dir``, ``budget_usd``, ...). An explicit ``engine``
    is used as it is (so a generator and a judge can share one).

    Example:
        >>> engine_from_options("gpt-4o", api_key="sk-x", max_concurrency=8).config.max_concurrency
        8
    """
    if engine is not None:
        if options or backend is not None or engine_config is not None:
            raise TypeError("pass either engine=... or backend/engine options, not both")
        return engine
    backend_fields = {f.name for f in fields(BackendConfig)}
    backend_options = {name: options.pop(name) for name in list(options) if name in backend_fields}
    if backend is None:
        backend = BackendConfig(**{"model": model or DEFAULT_MODEL, **backend_options})
    elif backend_options:
        raise TypeError(f"pass {sorted(backend_options)} inside backend=BackendConfig(...), not both")
    engine_fields = {f.name for f in fields(EngineConfig)}
    unknown = sorted(set(options) - engine_fields)
    if unknown:
        raise TypeError(
            f"unknown option(s) {unknown}: expected BackendConfig fields ({', '.join(sorted(backend_fields))}) "
            f"or EngineConfig fields ({', '.join(sorted(engine_fields))})"
        )
    return RequestEngine(backend, engine_config, **options)
