"""Finding a request rate from bare 429s: additive increase, multiplicative decrease (AIMD).

Some servers enforce a limit without saying what it is: no ``x-ratelimit-*`` headers, only a
429 with ``Retry-After`` (a proxy in front of vLLM, a gateway). A client that is not told the
limit then sends as fast as its concurrency allows, spends the quota in a burst and has every
further request refused until the window frees up. :class:`RateLearner` finds the rate from the
refusals themselves, the way TCP finds a link's capacity from lost packets:

* **A limit, not a passing refusal.** A single 429 may concern one request (a momentary overload,
  an injected fault); a spent quota refuses *every* request. So the learner engages only after a
  run of ``min(FLOOD_RUN, max_concurrency)`` (at least 2) refusals in a row, with no request
  admitted in between. A steady share of passing 429s (15-20 % in the fault benchmarks) almost
  never gives such a run (``0.2 ** 8`` per position), while a spent quota always does.
* **First estimate.** At that moment the requests admitted over the last minute fill the server's
  window, and ``Retry-After`` says when its oldest entry leaves it, so the rate is
  ``admitted / (time since the first of them + Retry-After)``: for a sliding or fixed window of
  ``W`` seconds admitting ``Q`` requests that is ``Q / W``. Everyone pauses for the
  ``Retry-After`` (every request sent before then would be refused too), then starts paced at
  that rate.
* **Decrease.** Once engaged, a refused request that was sent after the last change of the rate
  multiplies the rate by ``DECREASE`` (0.9). Refusals of requests sent before the change are the
  same excess seen late and change nothing (TCP: one decrease per window of data).
* **Increase.** While the client is held back by the rate (requests waited for it within the last
  second), the rate grows by ``INCREASE`` (2 %) of the first estimate per second: slow enough that
  a server window saturates with only a few refusals, fast enough to find a higher limit.

Against a server window the sending rate then saws between about 0.95 and 1.05 of the limit, so
the requests admitted average the limit while only the few sent at the top of each tooth are
refused.

Example:
    >>> learner = RateLearner(max_concurrency=4)
    >>> for t in range(40):                                # 40 requests admitted within 2 s
    ...     learner.on_admitted(now=t * 0.05)
    >>> [learner.on_refused(now=2.0 + i * 0.01, retry_after=8.0) for i in range(4)]
    [None, None, None, 8.0]
    >>> round(learner.rate * 60)                # per minute: 40 requests / (2.03 s since the first + 8 s)
    239
"""

from __future__ import annotations

from bisect import bisect_left

__all__ = ["DECREASE", "FLOOD_RUN", "INCREASE", "RateLearner"]

# Refusals in a row (nothing admitted in between) that show a spent quota rather than passing 429s.
FLOOD_RUN = 8
# Multiplicative decrease on a refusal, additive increase per second (a share of the first estimate).
DECREASE = 0.9
INCREASE = 0.02
# Never slower than one request a minute; the lookback for the first estimate is one minute, the
# window of per-minute limits.
MIN_RATE = 1.0 / 60.0
LOOKBACK = 60.0
# The client counts as held back by the rate when a request waited for it this recently (seconds).
PACED_RECENTLY = 1.0


class RateLearner:
    """Learns a requests-per-second rate from refusals that carry no ``x-ratelimit-*`` headers.

    Args:
        max_concurrency: how many requests the client keeps in flight (a spent quota refuses all of
            them, so a run of that many refusals, up to ``FLOOD_RUN``, marks one).

    ``rate`` is ``None`` until a spent quota was seen, then the rate to send at (requests per second).
    """

    def __init__(self, max_concurrency: int = FLOOD_RUN) -> None:
        self.flood_run = max(2, min(FLOOD_RUN, max_concurrency))
        self.rate: float | None = None
        self.decreases = 0
        self.floods = 0
        self._step = 0.0
        self._admitted: list[float] = []  # times of admitted requests within LOOKBACK
        self._refused_in_a_row = 0
        self._changed_at = float(
            "-inf"
        )  # the last change of the rate (refusals of earlier sends are late news)
        self._hold_until = float("-inf")  # no increase before this (the pause after a flood)
        self._increased_at = float("-inf")
        self._paced_at = float("-inf")

    def note_paced(self, now: float) -> None:
        """A request had to wait for the rate at ``now`` (so the rate, not the work, limits the client)."""
        self._paced_at = now

    def on_admitted(self, now: float) -> None:
        """The server accepted a request (any answer but a 429); grows the rate while it holds the client back."""
        self._admitted.append(now)
        if len(self._admitted) > 4096 and self._admitted[0] < now - LOOKBACK:
            del self._admitted[: bisect_left(self._admitted, now - LOOKBACK)]
        self._refused_in_a_row = 0
        if self.rate is None or now < self._hold_until:
            self._increased_at = max(self._increased_at, now)
            return
        since = now - max(self._increased_at, self._hold_until)
        if since > 0 and now - self._paced_at <= PACED_RECENTLY:
            self.rate += self._step * since
        self._increased_at = now

    def on_refused(self, now: float, retry_after: float, sent_at: float | None = None) -> float | None:
        """A bare 429 (no ``x-ratelimit-*`` headers) arrived at ``now`` for a request sent at ``sent_at``.

        Returns the seconds every request should wait when the refusals show a spent quota (the
        first estimate of the rate is then in :attr:`rate`), else ``None`` (only the refused
        request waits its own ``retry_after``).
        """
        sent_at = now if sent_at is None else sent_at
        if sent_at < self._changed_at:
            return None  # sent before the rate last changed: that change already answered it
        self._refused_in_a_row += 1
        retry_after = min(max(retry_after, 0.0), LOOKBACK)
        if self._refused_in_a_row >= self.flood_run:
            return self._flood(now, retry_after)
        if self.rate is not None:
            self.rate = max(MIN_RATE, self.rate * DECREASE)
            self.decreases += 1
            self._changed_at = now
        return None

    def _flood(self, now: float, retry_after: float) -> float:
        self.floods += 1
        self._refused_in_a_row = 0
        self._changed_at = now
        start = bisect_left(self._admitted, now - LOOKBACK)
        admitted = len(self._admitted) - start
        if admitted >= self.flood_run:  # enough admitted to say what the quota was
            span = now - self._admitted[start]
            estimate = admitted / (span + max(retry_after, 1e-3))
            self.rate = estimate if self.rate is None else min(self.rate * DECREASE, estimate)
            self.rate = max(MIN_RATE, self.rate)
            self._step = INCREASE * self.rate
        elif self.rate is not None:
            self.rate = max(MIN_RATE, self.rate * DECREASE)
        self._hold_until = now + retry_after
        return retry_after
