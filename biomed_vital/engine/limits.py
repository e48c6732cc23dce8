"""Client-side requests-per-minute and tokens-per-minute limits, kept in step with the server.

Two token buckets (requests and tokens) refill continuously at the per-minute limit. A
request starts only when both buckets hold enough; waiters are served first come, first
served. The buckets start almost empty (one second's worth) so that a fresh client does not
burst a whole minute of requests into a server whose own window is already partly used.

The server's view wins whenever it is known: ``x-ratelimit-limit-*`` headers teach the limits
when none were configured (or lower a configured limit that is above the server's), ``x-ratelimit-remaining-*`` caps what the buckets believe is left,
and a 429 pauses *every* request until the reset only when it says the shared budget is spent.

Why a 429 does not always pause everyone: servers also answer 429 for reasons that concern one
request (a momentary overload, a per-connection or burst limit, injected faults), and then the
budget of the window is not exhausted. Holding all in-flight and pending requests for each such
``Retry-After`` cost 18x of throughput at a 15 % share of 429s in the generation benchmark, while
the other requests would have been accepted. So (see :meth:`RateLimiter.on_rate_limited`):

* headers that show the window spent (``x-ratelimit-remaining-requests`` 0, or
  ``x-ratelimit-remaining-tokens`` below the refused request's estimate): everyone waits, because
  every request sent before the reset would be refused too;
* headers that show budget left, or no ``x-ratelimit-*`` headers at all: only the refused request
  waits its ``Retry-After``;
* but a server may enforce a real limit without sending headers, and then per-request waits would
  keep hammering it. A cheap guard catches that: when at least ``GUARD_MIN_429`` header-less 429s
  arrived within the last ``Retry-After`` seconds and they are more than ``GUARD_SHARE`` of the
  requests started in that time, the limit is taken as exhausted and everyone waits.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import re
import time
from bisect import bisect_left
from collections.abc import Mapping

__all__ = ["RateLimiter", "parse_reset_seconds", "retry_after_seconds"]

# Server limits are per-minute windows; sending at exactly the limit leaves no room for clock
# skew between client and server, so the buckets refill a little slower than the limit.
SAFETY_FACTOR = 0.985
# The header-less 429 guard. An exhausted limit refuses nearly every request, while 429s that
# concern single requests come at a steady, moderate share (15-20 % in the fault benchmarks);
# half of the recent starts separates the two with a wide margin for chance clusters, and the
# minimum count keeps a lone 429 on an idle client from stopping everyone.
GUARD_MIN_429 = 3
GUARD_SHARE = 0.5
# the guard looks back one Retry-After, within these bounds
GUARD_WINDOW_MIN = 1.0
GUARD_WINDOW_MAX = 60.0
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_reset_seconds(value: str | None) -> float | None:
    """Seconds in an ``x-ratelimit-reset-*`` value: ``"6m0s"``, ``"1.5s"``, ``"20ms"`` or ``"12"``.

    Example:
        >>> parse_reset_seconds("6m0s"), parse_reset_seconds("20ms"), parse_reset_seconds("2")
        (360.0, 0.02, 2.0)
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parts = _DURATION_PART.findall(value)
    if not parts:
        return None
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(number) * scale[unit] for number, unit in parts)


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The wait a server asked for: ``retry-after-ms``, else ``Retry-After`` (seconds or an HTTP date).

    Example:
        >>> retry_after_seconds({"retry-after": "2"}), retry_after_seconds({"retry-after-ms": "150"})
        (2.0, 0.15)
    """
    if not headers:
        return None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


class _Bucket:
    __slots__ = ("capacity", "level", "rate", "updated")

    def __init__(self, per_minute: float, now: float) -> None:
        self.rate = per_minute * SAFETY_FACTOR / 60.0
        self.capacity = max(1.0, self.rate)  # one second of burst
        self.level = min(self.capacity, 1.0)
        self.updated = now

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        missing = amount - self.level
        return 0.0 if missing <= 0 else missing / self.rate


class _RecentTimes:
    """Monotonic timestamps of recent events, counted over a trailing window.

    Events older than ``horizon`` are dropped in batches, so memory stays bounded by the events
    of one horizon however long a run lasts.
    """

    __slots__ = ("_horizon", "_prune_at", "_times")

    def __init__(self, horizon: float) -> None:
        self._horizon = horizon
        self._times: list[float] = []
        self._prune_at = 1024

    def add(self, now: float) -> None:
        self._times.append(now)
        if len(self._times) >= self._prune_at:
            del self._times[: bisect_left(self._times, now - self._horizon)]
            self._prune_at = 2 * len(self._times) + 1024

    def count_since(self, since: float) -> int:
        return len(self._times) - bisect_left(self._times, since)


class RateLimiter:
    """Paces request starts under requests-per-minute and tokens-per-minute limits.

    Args:
        rpm: requests per minute (``None``: learn it from ``x-ratelimit-limit-requests``, or unlimited).
        tpm: tokens per minute (``None``: learn it from ``x-ratelimit-limit-tokens``, or unlimited).

    Example:
        >>> import asyncio
        >>> limiter = RateLimiter(rpm=6000, tpm=None)
        >>> asyncio.run(limiter.acquire(tokens=500))   # returns when the request may start
        >>> limiter.pause(0.01)                        # a 429 said: everyone wait
        >>> limiter.on_rate_limited({"x-ratelimit-remaining-requests": "12"}, 0.01)  # one request waits
        False
    """

    def __init__(self, rpm: float | None = None, tpm: float | None = None) -> None:
        for name, value in (("rpm", rpm), ("tpm", tpm)):
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be a positive number or None (no limit), got {value}")
        now = time.monotonic()
        self.rpm, self.tpm = rpm, tpm
        self._learn_rpm, self._learn_tpm = rpm is None, tpm is None
        self._requests = _Bucket(rpm, now) if rpm else None
        self._tokens = _Bucket(tpm, now) if tpm else None
        self._paused_until = 0.0
        self._lock: asyncio.Lock | None = None
        self.pauses = 0
        self._starts = _RecentTimes(GUARD_WINDOW_MAX)  # for the header-less 429 guard
        self._bare_429s = _RecentTimes(GUARD_WINDOW_MAX)

    def _get_lock(self) -> asyncio.Lock:
        if self._lock is None:  # created lazily so the limiter binds to the loop that runs it
            self._lock = asyncio.Lock()
        return self._lock

    async def acquire(self, tokens: int = 0) -> None:
        """Wait until one request of ``tokens`` estimated tokens may start, then take it from the buckets."""
        async with self._get_lock():  # FIFO: the request waiting longest starts first
            while True:
                now = time.monotonic()
                if now < self._paused_until:
                    await asyncio.sleep(self._paused_until - now)
                    continue
                wait = 0.0
                if self._requests is not None:
                    self._requests.refill(now)
                    wait = max(wait, self._requests.wait_for(1.0))
                token_need = 0.0
                if self._tokens is not None and tokens > 0:
                    self._tokens.refill(now)
                    # a request bigger than a whole bucket still runs once the bucket is full
                    token_need = min(float(tokens), self._tokens.capacity)
                    wait = max(wait, self._tokens.wait_for(token_need))
                if wait <= 0:
                    self._starts.add(now)
                    if self._requests is not None:
                        self._requests.level -= 1.0
                    if self._tokens is not None:
                        self._tokens.level -= token_need
                    return
                await asyncio.sleep(wait)

    def pause(self, seconds: float) -> None:
        """Hold every new request for ``seconds`` (extends, never shortens, a pause in force)."""
        until = time.monotonic() + max(0.0, seconds)
        if until > self._paused_until:
            self._paused_until = until
            self.pauses += 1

    def on_rate_limited(self, headers: Mapping[str, str] | None, retry_after: float, tokens: int = 0) -> bool:
        """Decide what a 429 means; pause everyone and return True when the shared budget is spent.

        ``retry_after`` is the wait the 429 asked for (already resolved from ``Retry-After`` or the
        reset headers), ``tokens`` the refused request's token estimate. False means: the budget
        is not known to be spent, so only the refused request should wait ``retry_after``; the
        others keep going (the module docstring explains why, and the guard for servers that
        enforce a limit without headers).
        """
        lowered = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
        remaining_requests = _as_float(lowered.get("x-ratelimit-remaining-requests"))
        remaining_tokens = _as_float(lowered.get("x-ratelimit-remaining-tokens"))
        if remaining_requests is not None or remaining_tokens is not None:
            spent = (remaining_requests is not None and remaining_requests < 1) or (
                remaining_tokens is not None and remaining_tokens < max(1, tokens)
            )
            if spent:
                self.pause(retry_after)
            return spent
        # no x-ratelimit-* headers: the guard against a real limit enforced without them
        now = time.monotonic()
        window = min(GUARD_WINDOW_MAX, max(GUARD_WINDOW_MIN, retry_after))
        self._bare_429s.add(now)
        refused = self._bare_429s.count_since(now - window)
        started = self._starts.count_since(now - window)
        if refused >= GUARD_MIN_429 and refused > GUARD_SHARE * started:
            self.pause(retry_after)
            return True
        return False

    @property
    def paused_for(self) -> float:
        """Seconds left in the current pause (0 when none)."""
        return max(0.0, self._paused_until - time.monotonic())

    def update_from_headers(self, headers: Mapping[str, str] | None) -> None:
        """Learn limits and remaining budget from a response's ``x-ratelimit-*`` headers."""
        if not headers:
            return
        lowered = {str(k).lower(): str(v) for k, v in headers.items()}
        now = time.monotonic()
        for kind in ("requests", "tokens"):
            limit = _as_float(lowered.get(f"x-ratelimit-limit-{kind}"))
            if limit and limit > 0:
                self._learn_limit(kind, limit, now)
            bucket = self._requests if kind == "requests" else self._tokens
            remaining = _as_float(lowered.get(f"x-ratelimit-remaining-{kind}"))
            if bucket is None or remaining is None:
                continue
            bucket.refill(now)
            bucket.level = min(bucket.level, remaining)
            if remaining < 1:
                reset = parse_reset_seconds(lowered.get(f"x-ratelimit-reset-{kind}"))
                if reset:
                    self.pause(reset)

    def _learn_limit(self, kind: str, limit: float, now: float) -> None:
        # a configured limit is kept unless the server reports a lower one
        if (
            kind == "requests"
            and (self.rpm is None or (self._learn_rpm or limit < self.rpm))
            and not (self.rpm is not None and math.isclose(self.rpm, limit))
        ):
            self.rpm = limit
            old = self._requests
            self._requests = _Bucket(limit, now)
            if old is not None:
                self._requests.level = min(old.level, self._requests.capacity)
        elif (
            kind == "tokens"
            and (self.tpm is None or (self._learn_tpm or limit < self.tpm))
            and not (self.tpm is not None and math.isclose(self.tpm, limit))
        ):
            self.tpm = limit
            old = self._tokens
            self._tokens = _Bucket(limit, now)
            if old is not None:
                self._tokens.level = min(old.level, self._tokens.capacity)


def _as_float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None
