"""The stand-in server's rate limiter: requests and tokens per minute over a sliding window (60 s by default).

A shorter window enforces the same per-minute *rate* with less memory: ``rpm=1200`` over a 2 s window
admits 40 requests in any 2 s, so a limit binds within seconds (what tests need), while the
``x-ratelimit-*`` headers keep speaking per minute, as a provider's do.

It also writes what OpenAI's limiter sends back: the ``x-ratelimit-*`` headers, ``Retry-After`` and
durations in OpenAI's format (``120ms``, ``8.64s``, ``6m0s``).

Example:
    >>> limiter = SlidingWindowLimiter(rpm=2, tpm=None)
    >>> [limiter.admit(10, now=0.0).admitted for _ in range(3)]
    [True, True, False]
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass

__all__ = [
    "WINDOW_SECONDS",
    "LimitDecision",
    "SlidingWindowLimiter",
    "format_duration",
    "retry_after_headers",
]

WINDOW_SECONDS = 60.0


def format_duration(seconds: float) -> str:
    """Format a duration the way OpenAI's ``x-ratelimit-reset-*`` headers do.

    Example:
        >>> format_duration(0.12), format_duration(1), format_duration(1.5), format_duration(360)
        ('120ms', '1s', '1.5s', '6m0s')
    """
    seconds = max(0.0, seconds)
    if seconds < 1.0:
        return f"{math.ceil(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60.0)
    rest_text = f"{rest:.3f}".rstrip("0").rstrip(".")
    if minutes >= 1:
        return f"{int(minutes)}m{rest_text}s"
    return f"{rest_text}s"


def retry_after_headers(seconds: float) -> dict[str, str]:
    """``Retry-After`` (whole seconds, rounded up) and ``retry-after-ms``, as OpenAI sends them with a 429.

    Example:
        >>> retry_after_headers(1.2)
        {'retry-after': '2', 'retry-after-ms': '1200'}
    """
    return {"retry-after": str(math.ceil(seconds)), "retry-after-ms": str(math.ceil(seconds * 1000))}


@dataclass
class LimitDecision:
    """Whether a request was admitted and, if not, which limit refused it and for how long."""

    admitted: bool
    kind: str | None = None  # "requests" or "tokens" when refused
    retry_after: float = 0.0
    too_large: bool = False  # the request alone exceeds the tokens-per-minute limit


class SlidingWindowLimiter:
    """Requests- and tokens-per-minute limits over a sliding window of ``window`` seconds.

    Admitted requests consume the window; refused ones do not. The window admits ``rpm * window / 60``
    requests and ``tpm * window / 60`` tokens, so every window length enforces the same per-minute rate.

    Example:
        >>> limiter = SlidingWindowLimiter(rpm=2, tpm=None)
        >>> [limiter.admit(10, now=0.0).admitted for _ in range(3)]
        [True, True, False]
        >>> limiter.admit(10, now=0.0).retry_after
        60.0
        >>> short = SlidingWindowLimiter(rpm=1200, tpm=None, window=2.0)
        >>> short.request_capacity, short.headers(now=0.0)["x-ratelimit-limit-requests"]
        (40, '1200')
    """

    def __init__(self, rpm: int | None, tpm: int | None, window: float = WINDOW_SECONDS) -> None:
        for name, value in (("rpm", rpm), ("tpm", tpm)):
            if value is not None and value <= 0:
                raise ValueError(f"{name}={value} must be a positive integer or None (unlimited)")
        if not window > 0:
            raise ValueError(f"window={window} must be a positive number of seconds")
        self.rpm, self.tpm, self.window = rpm, tpm, window
        self._scale = window / WINDOW_SECONDS  # the share of a minute one window holds
        # floor, with a tolerance for rates such as 600/min over 0.1 s that are whole in exact arithmetic
        self.request_capacity = math.floor(rpm * self._scale + 1e-9) if rpm is not None else None
        self.token_capacity = tpm * self._scale if tpm is not None else None
        if rpm is not None and self.request_capacity is not None and self.request_capacity < 1:
            raise ValueError(
                f"rpm={rpm} over a {window:g} s window admits less than one request; "
                f"use a window of at least {WINDOW_SECONDS / rpm:g} s"
            )
        self._entries: deque[tuple[float, int]] = deque()
        self._tokens = 0

    def _prune(self, now: float) -> None:
        while self._entries and self._entries[0][0] <= now - self.window:
            self._tokens -= self._entries.popleft()[1]

    def admit(self, tokens: int, now: float | None = None) -> LimitDecision:
        """Admit a request of ``tokens`` (and record it) or say why not and for how long."""
        now = time.monotonic() if now is None else now
        self._prune(now)
        waits: list[tuple[float, str]] = []
        if self.request_capacity is not None and len(self._entries) + 1 > self.request_capacity:
            oldest_to_expire = self._entries[len(self._entries) - self.request_capacity]
            waits.append((oldest_to_expire[0] + self.window - now, "requests"))
        if self.token_capacity is not None:
            if tokens > self.token_capacity:
                return LimitDecision(False, "tokens", self.window, too_large=True)
            excess = self._tokens + tokens - self.token_capacity
            if excess > 0:
                freed = 0
                for entry_time, entry_tokens in self._entries:
                    freed += entry_tokens
                    if freed >= excess:
                        waits.append((entry_time + self.window - now, "tokens"))
                        break
        if waits:
            wait, kind = max(waits)
            return LimitDecision(False, kind, max(wait, 0.001))
        self._entries.append((now, tokens))
        self._tokens += tokens
        return LimitDecision(True)

    def usage(self, now: float | None = None) -> tuple[int, int]:
        """Requests and tokens currently counted in the window."""
        now = time.monotonic() if now is None else now
        self._prune(now)
        return len(self._entries), self._tokens

    def headers(self, now: float | None = None) -> dict[str, str]:
        """OpenAI's ``x-ratelimit-*`` headers for the configured limits, per minute.

        ``limit`` is the per-minute limit; ``remaining`` is what is left in the window, scaled to a
        minute (0 exactly when the window is full); ``reset`` is the time until the oldest counted
        request leaves the window, i.e. until the remaining budget next grows ("0s" when nothing is counted).
        """
        now = time.monotonic() if now is None else now
        count, tokens = self.usage(now)
        reset = format_duration(self._entries[0][0] + self.window - now) if self._entries else "0s"
        headers: dict[str, str] = {}
        if self.rpm is not None and self.request_capacity is not None:
            left = max(0, self.request_capacity - count)
            headers["x-ratelimit-limit-requests"] = str(self.rpm)
            headers["x-ratelimit-remaining-requests"] = str(_per_minute(left, self._scale))
            headers["x-ratelimit-reset-requests"] = reset
        if self.tpm is not None and self.token_capacity is not None:
            left_tokens = max(0.0, self.token_capacity - tokens)
            headers["x-ratelimit-limit-tokens"] = str(self.tpm)
            headers["x-ratelimit-remaining-tokens"] = str(_per_minute(left_tokens, self._scale))
            headers["x-ratelimit-reset-tokens"] = reset
        return headers

    def clear(self) -> None:
        """Forget every counted request."""
        self._entries.clear()
        self._tokens = 0


def _per_minute(left: float, scale: float) -> int:
    """What is ``left`` in a window of ``scale`` minutes, as a per-minute count (0 only when nothing is left)."""
    if left <= 0:
        return 0
    return max(1, math.floor(left / scale))
