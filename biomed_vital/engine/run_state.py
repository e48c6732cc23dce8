"""What the workers of one engine run share: counters and stop signals (:class:`RunState`), the tally of
results handed over (:class:`RunTally`), and how a request treats unusable replies (:class:`UnusableReplies`).

Everything here is touched only from the run's event loop, so nothing needs a lock.

Example:
    >>> from biomed_vital.engine.requests import ChatResult, RunSummary
    >>> tally = RunTally()
    >>> tally.add(ChatResult("r0", "k0", "error", error_type="APIConnectionError"))
    >>> tally.errors
    Counter({'APIConnectionError': 1})
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from typing import Any, TypeVar

from biomed_vital.engine.requests import ChatResult, RunSummary

__all__ = ["RunState", "RunTally", "UnusableReplies", "as_async", "endpoint_failure", "failure_cause"]

T = TypeVar("T")

# set_postfix formats and redraws the bar (~0.3 ms): at hundreds of responses a second that is
# a noticeable share of the client's CPU, and no one reads the numbers faster than this
_POSTFIX_INTERVAL = 0.15


class RunState:
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
        self.batch_answered = 0  # answers that came through the Batch API, and what they saved
        self.batch_saved = 0.0

    def count(self, result: ChatResult | None, progress: Any) -> None:
        """Count one final result (its error, and one step of the progress bar, if any)."""
        if result is not None and not result.ok:
            self.errors[result.error_type or "error"] += 1
        if progress is None:
            return
        progress.update(1)
        now = time.monotonic()
        if now - self.postfix_at >= _POSTFIX_INTERVAL:
            self.postfix_at = now
            self.show(progress, refresh=False)

    def show(self, progress: Any, refresh: bool = True) -> None:
        """Show the run's tokens, spend, errors and 429s on the progress bar."""
        progress.set_postfix(
            tokens=self.prompt_tokens + self.completion_tokens,
            spend=f"${self.spent:.4f}",
            errors=sum(self.errors.values()),
            r429=self.rate_limited,
            refresh=refresh,
        )

    def record(self, result: ChatResult, endpoint: str, stop_after: int) -> None:
        """Follow failures that concern the endpoint; after ``stop_after`` alike in a row, stop starting."""
        cause = endpoint_failure(result)
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


class RunTally:
    """Counts of the results a run handed over (for its :class:`~biomed_vital.engine.requests.RunSummary`)."""

    def __init__(self) -> None:
        self.n_requests = 0
        self.ok = 0
        self.cache_hits = 0
        self.duplicates = 0
        self.errors: Counter[str] = Counter()
        self.cached_cost: float | None = 0.0  # what the cached answers cost when they were first obtained
        self.fed = 0  # requests that came in

    def add(self, result: ChatResult, repeat: bool = False) -> None:
        """Count one result; ``repeat``: it shares its key with an earlier request of the run."""
        self.n_requests += 1
        self.ok += result.ok
        self.cache_hits += result.cached
        self.duplicates += repeat
        if not result.ok:
            self.errors[failure_cause(result)] += 1
        if result.cached and not repeat and self.cached_cost is not None:
            self.cached_cost = None if result.cost_usd is None else self.cached_cost + result.cost_usd

    def summary(self, state: RunState, wall: float, rpm: float | None, rpm_source: str) -> RunSummary:
        """The :class:`~biomed_vital.engine.requests.RunSummary` of a run that took ``wall`` seconds and kept
        to ``rpm`` requests per minute (learnt from ``rpm_source``)."""
        return RunSummary(
            n_requests=self.n_requests,
            ok=self.ok,
            errors=dict(self.errors),
            cache_hits=self.cache_hits,
            sent=state.sent,
            rate_limited=state.rate_limited,
            prompt_tokens=state.prompt_tokens,
            completion_tokens=state.completion_tokens,
            cost_usd=state.spent if state.cost_known else None,
            wall_seconds=wall,
            budget_stopped=state.stop_starting,
            duplicates=self.duplicates,
            cached_cost_usd=self.cached_cost,
            stopped_reason=state.stopped_reason,
            rpm=rpm,
            rpm_source=rpm_source,
            unusable_asked_again=state.unusable_asked_again,
            unusable_kept=state.unusable_kept,
            batch_answered=state.batch_answered,
            batch_saved_usd=state.batch_saved if state.cost_known else None,
        )


class UnusableReplies:
    """How one request treats replies that arrive but cannot be used."""

    __slots__ = ("check", "replaces_stored", "retries")

    def __init__(
        self, check: Callable[[ChatResult], str] | None, retries: int, replaces_stored: bool
    ) -> None:
        self.check, self.retries, self.replaces_stored = check, retries, replaces_stored


async def as_async(items: Iterable[T] | AsyncIterable[T]) -> AsyncIterator[T]:
    """``items`` as an async iterator (they may already be one)."""
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


# Failures that say something about the endpoint rather than about one request.
_ENDPOINT_STATUSES = frozenset({401, 403, 404, 408, 429, 500, 502, 503, 504})
_ENDPOINT_ERRORS = frozenset({"APIConnectionError", "APITimeoutError", "EmptyResponse"})


def endpoint_failure(result: ChatResult) -> str:
    """The cause of a failure that concerns the endpoint (unreachable, refusing, overloaded), else ''."""
    if result.ok or result.error_type in ("budget", "stopped"):
        return ""
    if result.http_status in _ENDPOINT_STATUSES or (
        result.http_status is None and result.error_type in _ENDPOINT_ERRORS
    ):
        return failure_cause(result)
    return ""


def failure_cause(result: ChatResult) -> str:
    """The class of a failure as summaries count it: ``"budget"``, or the error type and HTTP status."""
    if result.error_type == "budget":
        return "budget"
    return f"{result.error_type} {result.http_status}" if result.http_status else result.error_type or "error"
