"""What the stand-in server's request handlers share: the config, the rate limiter, the request log and
the attempt counters, and the summary of a request log.

Example:
    >>> state = ServerState(StandInConfig(rpm=60))
    >>> entry = state.log_arrival("/v1/chat/completions")
    >>> entry["seq"], log_stats(state.log)["requests"]
    (1, 1)
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from biomed_vital.testing.standin.config import StandInConfig

__all__ = ["CLIENT_CLOSED", "ServerState", "log_stats"]

# Status logged for a request whose client went away before the answer (nginx's convention).
CLIENT_CLOSED = 499


class ServerState:
    """Everything the request handlers share; only touched from the server's event loop."""

    def __init__(self, config: StandInConfig) -> None:
        self.config = config
        self.latency = config.latency_model()
        self.faults = config.fault_config()
        self.limiter = config.limiter()
        self.log: list[dict[str, Any]] = []
        self.attempts: Counter[str] = Counter()
        self.sequence = 0
        # set when the server stops, so that requests sleeping out a latency or a hang end at once
        self.stopping: asyncio.Event | None = None

    def log_arrival(self, path: str) -> dict[str, Any]:
        """Add a request to the log as it arrives (so requests still in flight are visible); returns its entry."""
        self.sequence += 1
        entry: dict[str, Any] = {
            "seq": self.sequence,
            "arrival": time.monotonic(),
            "finish": None,
            "path": path,
            "request_key": None,
            "attempt": None,
            "model": None,
            "mode": None,
            "fault": None,
            "status": None,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "seed": None,
        }
        self.log.append(entry)
        return entry

    def next_attempt(self, key: str) -> int:
        """Count one more arrival of the body with this key; 1 the first time it is seen."""
        self.attempts[key] += 1
        return self.attempts[key]

    def reset(self) -> None:
        """Clear the request log, the attempt counters and the rate-limit window."""
        self.log.clear()
        self.attempts.clear()
        self.limiter.clear()
        self.sequence = 0


def log_stats(log: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts over a request log: total, by HTTP status, by fault, by mode, and token sums.

    Example:
        >>> log_stats([])
        {'requests': 0, 'by_status': {}, 'by_fault': {}, 'by_mode': {}, 'prompt_tokens': 0, 'completion_tokens': 0}
    """
    return {
        "requests": len(log),
        "by_status": dict(sorted(Counter(str(e["status"]) for e in log).items())),
        "by_fault": dict(sorted(Counter(str(e["fault"]) for e in log if e["fault"]).items())),
        "by_mode": dict(sorted(Counter(str(e["mode"]) for e in log if e["mode"]).items())),
        "prompt_tokens": sum(e["prompt_tokens"] for e in log),
        "completion_tokens": sum(e["completion_tokens"] for e in log),
    }
