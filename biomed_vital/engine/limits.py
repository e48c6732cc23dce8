"""Client-side requests-per-minute and tokens-per-minute limits, kept in step with the server.

Two token buckets (requests and tokens) refill continuously at the per-minute limit. A
request starts only when both buckets hold enough; waiters are served first come, first
served. The buckets start almost empty (one second's worth) so that a fresh client does not
burst a whole minute of requests into a server whose own window is already partly used.

The server's view wins whenever it is known: ``x-ratelimit-limit-*`` headers teach the limits
when none were configured (or lower a configured limit that is above the server's),
``x-ratelimit-remaining-*`` caps what the buckets believe is left, and a 429 pauses *every*
request until the reset only when it says the shared budget is spent.

Why a 429 does not always pause everyone: servers also answer 429 for reasons that concern one
request (a momentary overload, a per-connection or burst limit, injected faults), and then the
budget of the window is not exhausted. Holding all in-flight and pending requests for each such
``Retry-After`` cost 18x of throughput at a 15 % share of 429s in the generation benchmark, while
the other requests would have been accepted. So (see :meth:`RateLimiter.on_rate_limited`):

* headers that show the window spent (``x-ratelimit-remaining-requests`` 0, or
  ``x-ratelimit-remaining-tokens`` below the refused request's estimate): everyone waits, because
  every request sent before the reset would be refused too;
* headers that show budget left: only the refused request waits its ``Retry-After``;
* no ``x-ratelimit-*`` headers at all: a server may enforce a limit without saying what it is.
  A :class:`~biomed_vital.engine.rate_learning.RateLearner` tells a spent quota (a run of refusals
  with nothing admitted in between) from passing 429s; on a spent quota everyone waits the
  ``Retry-After`` and the learner finds the sending rate (additive increase, multiplicative
  decrease, see :mod:`biomed_vital.engine.rate_learning`), which a third bucket then keeps to.
  Until then, only the refused request waits.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import re
import time
from collections.abc import Mapping

from biomed_vital.engine.rate_learning import FLOOD_RUN, RateLearner

__all__ = ["RateLimiter", "parse_reset_seconds", "retry_after_seconds"]

# Server limits are per-minute windows; sending at exactly the limit leaves no room for clock
# skew between client and server, so the buckets refill a little slower than the limit.
SAFETY_FACTOR = 0.985
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
        if now <= self.updated:  # within a pause (see hold_until): nothing accrues
            return
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def hold_until(self, until: float, now: float) -> None:
        """Accrue nothing before ``until``: after a pause for a spent budget, a burst of what the bucket
        saved up meanwhile would be refused too."""
        self.refill(now)
        self.updated = max(self.updated, until)

    def wait_for(self, amount: float) -> float:
        missing = amount - self.level
        return 0.0 if missing <= 0 else missing / self.rate

    def set_rate(self, per_minute: float, now: float) -> None:
        self.refill(now)
        self.rate = per_minute * SAFETY_FACTOR / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = min(self.level, self.capacity)


class RateLimiter:
    """Paces request starts under requests-per-minute and tokens-per-minute limits.

    Args:
        rpm: requests per minute (``None``: learn it from ``x-ratelimit-limit-requests``, or unlimited).
        tpm: tokens per minute (``None``: learn it from ``x-ratelimit-limit-tokens``, or unlimited).
        max_concurrency: requests the client keeps in flight (tells a spent quota from passing 429s).
        learner: the :class:`~biomed_vital.engine.rate_learning.RateLearner` to use (pass the previous
            run's to keep a rate learnt from 429s); default: a new one.

    Example:
        >>> import asyncio
        >>> limiter = RateLimiter(rpm=6000, tpm=None)
        >>> asyncio.run(limiter.acquire(tokens=500))   # returns when the request may start
        >>> limiter.pause(0.01)                        # a 429 said: everyone wait
        >>> limiter.on_rate_limited({"x-ratelimit-remaining-requests": "12"}, 0.01)  # one request waits
        False
    """

    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        *,
        max_concurrency: int = FLOOD_RUN,
        learner: RateLearner | None = None,
    ) -> None:
        for name, value in (("rpm", rpm), ("tpm", tpm)):
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be a positive number or None (no limit), got {value}")
        now = time.monotonic()
        self.rpm, self.tpm = rpm, tpm
        self._learn_rpm, self._learn_tpm = rpm is None, tpm is None
        self._rpm_from_headers = False
        self._requests = _Bucket(rpm, now) if rpm else None
        self._tokens = _Bucket(tpm, now) if tpm else None
        self._paused_until = 0.0
        self._lock: asyncio.Lock | None = None
        self.pauses = 0
        self.learner = learner if learner is not None else RateLearner(max_concurrency)
        self._learnt: _Bucket | None = None  # the rate learnt from bare 429s
        self._sync_learnt(now)

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
                if self._learnt is not None:
                    self._learnt.refill(now)
                    learnt_wait = self._learnt.wait_for(1.0)
                    if learnt_wait > 0:
                        self.learner.note_paced(now)
                    wait = max(wait, learnt_wait)
                token_need = 0.0
                if self._tokens is not None and tokens > 0:
                    self._tokens.refill(now)
                    # a request bigger than a whole bucket still runs once the bucket is full
                    token_need = min(float(tokens), self._tokens.capacity)
                    wait = max(wait, self._tokens.wait_for(token_need))
                if wait <= 0:
                    if self._requests is not None:
                        self._requests.level -= 1.0
                    if self._learnt is not None:
                        self._learnt.level -= 1.0
                    if self._tokens is not None:
                        self._tokens.level -= token_need
                    return
                await asyncio.sleep(wait)

    def pause(self, seconds: float) -> None:
        """Hold every new request for ``seconds`` (extends, never shortens, a pause in force)."""
        now = time.monotonic()
        until = now + max(0.0, seconds)
        if until > self._paused_until:
            self._paused_until = until
            self.pauses += 1
            for bucket in (self._requests, self._tokens, self._learnt):
                if bucket is not None:
                    bucket.hold_until(until, now)

    def on_rate_limited(
        self,
        headers: Mapping[str, str] | None,
        retry_after: float,
        tokens: int = 0,
        sent_at: float | None = None,
    ) -> bool:
        """Decide what a 429 means; pause everyone and return True when the shared budget is spent.

        ``retry_after`` is the wait the 429 asked for (already resolved from ``Retry-After`` or the
        reset headers), ``tokens`` the refused request's token estimate, ``sent_at`` when it was sent
        (``time.monotonic()``; default: now). False means: the budget is not known to be spent, so
        only the refused request should wait ``retry_after``; the others keep going (the module
        docstring explains why, and what happens with 429s that carry no ``x-ratelimit-*`` headers).
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
        # no x-ratelimit-* headers: the learner tells a spent quota from a passing refusal
        now = time.monotonic()
        pause = self.learner.on_refused(now, retry_after, sent_at)
        self._sync_learnt(now)
        if pause is None:
            return False
        self.pause(pause)
        return True

    def on_admitted(self) -> None:
        """The server accepted a request (any answer but a 429): lets a rate learnt from 429s grow."""
        now = time.monotonic()
        self.learner.on_admitted(now)
        self._sync_learnt(now)

    def _sync_learnt(self, now: float) -> None:
        rate = self.learner.rate
        if rate is None:
            self._learnt = None
        elif self._learnt is None:
            self._learnt = _Bucket(rate * 60.0, now)  # starts nearly empty: no burst after the pause
        else:
            self._learnt.set_rate(rate * 60.0, now)

    @property
    def learnt_rpm(self) -> float | None:
        """The requests-per-minute rate learnt from 429s without headers (``None`` when none was needed)."""
        return None if self.learner.rate is None else self.learner.rate * 60.0

    @property
    def effective_rpm(self) -> float | None:
        """The requests-per-minute rate the client keeps to now: the lowest of the given or header-taught
        ``rpm`` and the rate learnt from 429s (``None``: unpaced)."""
        rates = [rate for rate in (self.rpm, self.learnt_rpm) if rate is not None]
        return min(rates) if rates else None

    @property
    def rpm_source(self) -> str:
        """Where :attr:`effective_rpm` comes from: ``"given"``, ``"headers"``, ``"429s"`` or ``""`` (unpaced)."""
        learnt = self.learnt_rpm
        if learnt is not None and (self.rpm is None or learnt < self.rpm):
            return "429s"
        if self.rpm is None:
            return ""
        return "headers" if self._learn_rpm or self._rpm_from_headers else "given"

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
            self._rpm_from_headers = True
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
