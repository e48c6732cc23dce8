"""The units of the request engine: one request (:class:`ChatRequest`), its outcome (:class:`ChatResult`) and
the totals of a run (:class:`RunSummary`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["ChatRequest", "ChatResult", "RunSummary"]


@dataclass
class ChatRequest:
    """One chat-completions request.

    Args:
        body: the request body as the OpenAI API takes it (``messages``, ``max_tokens``,
            ``temperature``, ``seed``, ``response_format``, ...). ``model`` may be left out;
            the engine fills in its backend's model.
        request_id: a label for messages and results (a candidate id, a figure id).
        candidate_index: which candidate of the same prompt this is; part of the cache key.
        build: instead of ``body``, a function that builds it when the request is about to be
            sent (keeps memory flat when bodies carry large images); then ``key`` is required.
        key: a precomputed cache key (see :func:`~biomed_vital.engine.cache.request_key`);
            computed from ``body`` when left empty.

    Example:
        >>> request = ChatRequest({"messages": [{"role": "user", "content": "Hi"}], "seed": 0}, "fig-1-c0")
        >>> request.request_id
        'fig-1-c0'
    """

    body: dict[str, Any] | None = None
    request_id: str = ""
    candidate_index: int = 0
    build: Callable[[], dict[str, Any]] | None = field(default=None, repr=False, compare=False)
    key: str = ""

    def __post_init__(self) -> None:
        if self.body is None and self.build is None:
            raise ValueError(f"ChatRequest {self.request_id!r} needs a body or a build function")
        if self.body is None and not self.key:
            raise ValueError(f"ChatRequest {self.request_id!r} has a build function but no precomputed key")


@dataclass
class ChatResult:
    """The outcome of one :class:`ChatRequest`.

    ``status`` is ``"ok"`` when the server answered (the content may still be unusable,
    e.g. ``finish_reason == "length"``; callers judge that), or ``"error"`` with ``error``
    saying why (``error_type`` is the exception class or ``"budget"``).
    """

    request_id: str
    key: str
    status: str
    content: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    error: str = ""
    error_type: str = ""
    http_status: int | None = None
    attempts: int = 0
    cached: bool = False

    @property
    def ok(self) -> bool:
        """True when the server answered."""
        return self.status == "ok"

    @property
    def usage(self) -> dict[str, int]:
        """``{"prompt_tokens": ..., "completion_tokens": ...}`` (the *candidates* ``usage`` column)."""
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}


@dataclass
class RunSummary:
    """Totals of one :meth:`RequestEngine.run` (also logged, and printed under the progress bar)."""

    n_requests: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    cache_hits: int = 0
    sent: int = 0
    rate_limited: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0
    wall_seconds: float = 0.0
    budget_stopped: bool = False
    duplicates: int = 0
    cached_cost_usd: float | None = 0.0
    stopped_reason: str = ""
    #: the requests-per-minute rate the run ended keeping to (None: unpaced), and where it came from:
    #: "given" (``rpm``), "headers" (``x-ratelimit-limit-requests``) or "429s" (learnt from refusals)
    rpm: float | None = None
    rpm_source: str = ""
    #: replies that arrived but could not be used and were asked for again; final replies still unusable
    unusable_asked_again: int = 0
    unusable_kept: int = 0
    #: answers that came through the Batch API, and how much less they cost than at synchronous prices
    batch_answered: int = 0
    batch_saved_usd: float | None = 0.0

    @property
    def n_errors(self) -> int:
        """Requests that ended in error."""
        return sum(self.errors.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)

    @property
    def total_cost_usd(self) -> float | None:
        """Spend of this run plus what the answers taken from the cache cost when earlier runs got them."""
        if self.cost_usd is None or self.cached_cost_usd is None:
            return None
        return self.cost_usd + self.cached_cost_usd

    def __str__(self) -> str:
        causes = ", ".join(f"{cause}: {count}" for cause, count in sorted(self.errors.items())) or "none"
        rate = self.sent / self.wall_seconds if self.wall_seconds > 0 else 0.0
        text = f"{self.n_requests} requests: {self.ok} ok, {self.n_errors} error ({causes}); "
        if self.duplicates:
            text += f"{self.duplicates} identical to another request, sent once; "
        text += (
            f"{self.cache_hits} from cache; {self.sent} HTTP attempts ({self.rate_limited} rate-limited, "
            f"{rate:.1f}/s); tokens {self.prompt_tokens:,} prompt + {self.completion_tokens:,} completion; "
            f"spend {_dollars(self.cost_usd)}"
        )
        if self.batch_answered:
            text += (
                f" ({self.batch_answered:,} answered through the Batch API, {_dollars(self.batch_saved_usd)} "
                "less than at synchronous prices)"
            )
        if self.cache_hits:
            text += f" this run, {_dollars(self.total_cost_usd)} with the cached answers of earlier runs"
        text += f"; {self.wall_seconds:.1f} s"
        if self.rpm is not None:
            source = {"given": "given", "headers": "from the server's headers", "429s": "learnt from 429s"}
            text += (
                f"; paced at {self.rpm:,.0f} requests/min ({source.get(self.rpm_source, self.rpm_source)})"
            )
        if self.unusable_asked_again or self.unusable_kept:
            text += (
                f"; {self.unusable_asked_again} unusable replies asked again, "
                f"{self.unusable_kept} still unusable"
            )
        if self.budget_stopped:
            text += "; stopped starting requests at the budget cap"
        if self.stopped_reason:
            text += f"; stopped early: {self.stopped_reason}"
        return text


def _dollars(value: float | None) -> str:
    return "unknown (no price for this model)" if value is None else f"${value:,.4f}"
