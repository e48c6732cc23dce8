"""Plan a run before sending anything: requests, tokens, cost (synchronous and Batch API) and wall-clock time.

The size of one request is measured, not guessed: a task builds its real requests for a sample of figures
(the built-in demo figures by default), and :class:`RequestProfile` averages their prompt tokens (text plus
OpenAI's image tile rule, :mod:`~biomed_vital.engine.tokens`), their completion budget (``max_tokens``) and
their size as a batch file line. :func:`plan_run` scales that to the number of figures and the account:

* **cost**: at the price table's synchronous and batch prices; completion tokens are ``max_tokens`` unless an
  expected average is given, so the cost is an upper bound like :func:`~biomed_vital.engine.estimate_cost`;
* **synchronous time**: the longest of requests / ``rpm``, tokens / ``tpm`` (prompt plus ``max_tokens``,
  as the rate limiters count them, at the engine's 98.5 % pacing) and requests x ``latency`` /
  ``max_concurrency``;
* **Batch API**: the number of batch files under the per-file limits, and, when the account's
  enqueued-token limit for the model is given, how many rounds of at most one completion window (24 h)
  the batches take.

``biomed-vital estimate`` prints the plan for the generator.

Example:
    >>> profile = RequestProfile(n_sampled=9, prompt_tokens=1_000, max_tokens=1_024, line_bytes=300_000)
    >>> plan = plan_run(100_000, profile, model="gpt-4o", rpm=10_000, tpm=2_000_000)
    >>> plan.requests, plan.limited_by
    (100000, 'tokens per minute')
    >>> round(plan.batch_cost_usd / plan.cost_usd, 2)
    0.5
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from biomed_vital.engine.batch_files import (
    DEFAULT_BATCH_MAX_BYTES,
    DEFAULT_BATCH_MAX_REQUESTS,
    OPENAI_BATCH_URL,
    batch_line,
)
from biomed_vital.engine.limits import SAFETY_FACTOR
from biomed_vital.engine.pricing import PriceTable
from biomed_vital.engine.tokens import estimate_message_tokens

if TYPE_CHECKING:
    from biomed_vital.engine.engine import RequestEngine
    from biomed_vital.engine.requests import ChatRequest

__all__ = ["COMPLETION_WINDOW_HOURS", "RequestProfile", "ScalePlan", "format_duration", "plan_run"]

#: the Batch API's completion window: a round of batches ends within it
COMPLETION_WINDOW_HOURS = 24


@dataclass
class RequestProfile:
    """The average request of a task, measured on sample requests.

    Example:
        >>> RequestProfile(n_sampled=2, prompt_tokens=900.0, max_tokens=1024.0, line_bytes=250_000.0).tokens_counted
        1924.0
    """

    n_sampled: int
    prompt_tokens: float
    max_tokens: float
    line_bytes: float

    @property
    def tokens_counted(self) -> float:
        """Tokens one request counts against a tokens-per-minute limit (prompt plus ``max_tokens``)."""
        return self.prompt_tokens + self.max_tokens

    @classmethod
    def measure(cls, engine: RequestEngine, requests: Sequence[ChatRequest]) -> RequestProfile:
        """Build the bodies of ``requests`` (images are encoded as they would be sent) and average them."""
        if not requests:
            raise ValueError("cannot measure requests from an empty sample; give figures with images")
        prompt = budget = size = 0
        for request in requests:
            body = engine.body_of(request)
            prompt += estimate_message_tokens(body.get("messages") or [])
            budget += int(body.get("max_completion_tokens") or body.get("max_tokens") or 0) * int(
                body.get("n") or 1
            )
            size += len(batch_line(engine.key_of(request), body, OPENAI_BATCH_URL))
        n = len(requests)
        return cls(n, prompt / n, budget / n, size / n)


@dataclass
class ScalePlan:
    """What a run would take; ``str()`` prints it as a table. Times are in seconds, costs in US dollars."""

    figures: int
    model: str
    requests: int
    requests_per_figure: float
    prompt_tokens: int
    completion_tokens: int
    completion_is_budget: bool
    cost_usd: float | None
    batch_cost_usd: float | None
    prices_as_of: str
    rpm: float | None
    tpm: float | None
    max_concurrency: int
    latency_seconds: float | None
    sync_seconds: float | None
    limited_by: str
    batch_files: int
    line_bytes: float
    batch_queue_tokens: int | None
    batch_rounds: int | None
    n_sampled: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)

    def __str__(self) -> str:
        def dollars(value: float | None) -> str:
            return "unknown (no price for this model)" if value is None else f"${value:,.2f}"

        completion = (
            f"<= {self.completion_tokens:,} (max_tokens; give --completion-tokens for an expected average)"
            if self.completion_is_budget
            else f"~{self.completion_tokens:,} (expected)"
        )
        limits = ", ".join(
            f"{name} {value:,.0f}"
            for name, value in (("rpm", self.rpm), ("tpm", self.tpm))
            if value is not None
        )
        if self.latency_seconds is not None:
            limits += (
                ", " if limits else ""
            ) + f"{self.max_concurrency} in flight x {self.latency_seconds:g} s"
        sync_time = (
            f"~{format_duration(self.sync_seconds)}, limited by {self.limited_by} ({limits})"
            if self.sync_seconds is not None
            else "unknown: give --rpm, --tpm or --latency"
        )
        saving = (
            f" (saves {dollars(self.cost_usd - self.batch_cost_usd)})"
            if self.cost_usd is not None and self.batch_cost_usd is not None
            else ""
        )
        if self.batch_rounds is not None:
            batch_time = (
                f"{self.batch_rounds} round(s) of at most {COMPLETION_WINDOW_HOURS} h each "
                f"(enqueued-token limit {self.batch_queue_tokens:,})"
            )
        else:
            batch_time = (
                f"at most {COMPLETION_WINDOW_HOURS} h per round (give --batch-queue-tokens for the rounds)"
            )
        rows = [
            ("figures", f"{self.figures:,}"),
            ("requests", f"{self.requests:,} ({self.requests_per_figure:g} per figure)"),
            ("prompt tokens", f"~{self.prompt_tokens:,} (measured on {self.n_sampled} sample requests)"),
            ("completion tokens", completion),
            ("cost, synchronous", dollars(self.cost_usd)),
            ("cost, Batch API", dollars(self.batch_cost_usd) + saving),
            ("time, synchronous", sync_time),
            ("time, Batch API", batch_time),
            ("batch files", f"{self.batch_files:,} (~{self.line_bytes / 1024:,.0f} KiB per request)"),
        ]
        width = max(len(name) for name, _ in rows)
        header = f"plan for {self.figures:,} figures with {self.model} (prices as of {self.prices_as_of})"
        return "\n".join([header, *(f"  {name.ljust(width)}  {value}" for name, value in rows)])


def plan_run(
    figures: int,
    profile: RequestProfile,
    *,
    model: str,
    requests_per_figure: float = 1.0,
    price_table: PriceTable | None = None,
    rpm: float | None = None,
    tpm: float | None = None,
    max_concurrency: int = 16,
    latency_seconds: float | None = None,
    completion_tokens: float | None = None,
    batch_max_requests: int = DEFAULT_BATCH_MAX_REQUESTS,
    batch_max_bytes: int = DEFAULT_BATCH_MAX_BYTES,
    batch_queue_tokens: int | None = None,
) -> ScalePlan:
    """The plan of a run over ``figures`` figures whose average request is ``profile`` (see the module docstring).

    Args:
        figures: how many figures.
        profile: the average request (:meth:`RequestProfile.measure`).
        model: the model the requests go to (for prices).
        requests_per_figure: requests per figure (the generator's ``n_candidates``).
        price_table: prices (default :meth:`PriceTable.default`).
        rpm, tpm: the account's limits for the model (``None``: not limiting).
        max_concurrency, latency_seconds: requests in flight and seconds per request, for the
            concurrency bound (``latency_seconds=None``: not computed).
        completion_tokens: expected completion tokens per request (default: ``max_tokens``, an upper bound).
        batch_max_requests, batch_max_bytes: limits of one batch file.
        batch_queue_tokens: the account's enqueued prompt-token limit for batches of this model.
    """
    if figures < 0:
        raise ValueError(f"figures must be >= 0, got {figures}")
    table = price_table or PriceTable.default()
    requests = math.ceil(figures * requests_per_figure)
    prompt_tokens = round(requests * profile.prompt_tokens)
    per_completion = profile.max_tokens if completion_tokens is None else completion_tokens
    total_completion = round(requests * per_completion)
    cost = table.cost(model, prompt_tokens, total_completion)
    batch_cost = table.cost(model, prompt_tokens, total_completion, batch=True)
    bounds: list[tuple[float, str]] = []
    if rpm:
        bounds.append((requests / (rpm * SAFETY_FACTOR) * 60.0, "requests per minute"))
    if tpm:
        bounds.append((requests * profile.tokens_counted / (tpm * SAFETY_FACTOR) * 60.0, "tokens per minute"))
    if latency_seconds:
        bounds.append((requests * latency_seconds / max_concurrency, "requests in flight"))
    sync_seconds, limited_by = max(bounds) if bounds else (None, "")
    per_file = max(1, min(batch_max_requests, int(batch_max_bytes // max(1.0, profile.line_bytes))))
    rounds = math.ceil(prompt_tokens / batch_queue_tokens) if batch_queue_tokens else None
    return ScalePlan(
        figures=figures,
        model=model,
        requests=requests,
        requests_per_figure=requests_per_figure,
        prompt_tokens=prompt_tokens,
        completion_tokens=total_completion,
        completion_is_budget=completion_tokens is None,
        cost_usd=cost,
        batch_cost_usd=batch_cost,
        prices_as_of=table.as_of,
        rpm=rpm,
        tpm=tpm,
        max_concurrency=max_concurrency,
        latency_seconds=latency_seconds,
        sync_seconds=sync_seconds,
        limited_by=limited_by,
        batch_files=math.ceil(requests / per_file) if requests else 0,
        line_bytes=profile.line_bytes,
        batch_queue_tokens=batch_queue_tokens,
        batch_rounds=rounds,
        n_sampled=profile.n_sampled,
    )


def format_duration(seconds: float | None) -> str:
    """``3 d 4 h``, ``2 h 5 min``, ``12 min``, ``40 s``.

    Example:
        >>> format_duration(90_000), format_duration(7_500), format_duration(45)
        ('1 d 1 h', '2 h 5 min', '45 s')
    """
    if seconds is None:
        return "unknown"
    seconds = round(seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"
