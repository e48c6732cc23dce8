"""``EngineConfig``: how the request engine schedules, retries, caches and budgets."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from biomed_vital.engine.pricing import PriceTable

__all__ = ["EngineConfig"]


@dataclass
class EngineConfig:
    """How the engine schedules, retries, caches and budgets (serialisable; no secrets).

    Args:
        max_concurrency: requests in flight at once (a sliding window).
        rpm: client-side requests-per-minute limit (``None``: learn from server headers).
        tpm: client-side tokens-per-minute limit (``None``: learn from server headers).
        max_retries: retries after the first attempt for 429, 5xx, timeouts, connection errors.
        backoff_base: first backoff in seconds; doubles per attempt, with jitter.
        backoff_max: longest backoff in seconds.
        cache_dir: folder of the response cache (default :func:`~biomed_vital.engine.cache.default_cache_dir`).
        use_cache: read and write the cache.
        budget_usd: stop starting requests when spent + in-flight estimates would pass this.
        price_table: prices for cost and budget (default :meth:`PriceTable.default`).
        show_progress: show a tqdm bar and print the summary.

    Example:
        >>> EngineConfig(max_concurrency=64, rpm=10_000, budget_usd=50.0).max_concurrency
        64
    """

    max_concurrency: int = field(
        default=16, metadata={"help": "Requests in flight at once (a sliding window)."}
    )
    rpm: float | None = field(
        default=None,
        metadata={"help": "Requests per minute the client keeps to (empty: learnt from the server)."},
    )
    tpm: float | None = field(
        default=None,
        metadata={"help": "Tokens per minute the client keeps to (empty: learnt from the server)."},
    )
    max_retries: int = field(
        default=6,
        metadata={"help": "Retries after the first attempt for 429, 5xx, timeouts and connection errors."},
    )
    backoff_base: float = field(
        default=1.0, metadata={"help": "First backoff in seconds; doubles per attempt."}
    )
    backoff_max: float = field(default=60.0, metadata={"help": "Longest backoff in seconds."})
    cache_dir: str | None = field(
        default=None,
        metadata={
            "help": "Folder of the request cache that lets an interrupted run resume (default: ~/.cache)."
        },
    )
    use_cache: bool = field(default=True, metadata={"help": "Read and write the request cache."})
    budget_usd: float | None = field(
        default=None,
        metadata={"help": "Stop starting requests once spent + in-flight estimates would pass this."},
    )
    price_table: PriceTable | str | None = field(
        default=None,
        metadata={
            "help": "Prices for costs and the budget: a JSON/YAML file of {model: {input_per_million, "
            "output_per_million}} added to the built-in OpenAI list prices (default: those alone)."
        },
    )
    show_progress: bool = field(default=True, metadata={"help": "Show a progress bar and print the summary."})
    check_endpoint: bool = field(
        default=True,
        metadata={
            "help": "Before the first request of an engine, check the endpoint and the key with one free call "
            "(GET /models), so a wrong URL or key fails at once instead of on every row."
        },
    )
    stop_after_failures: int = field(
        default=8,
        metadata={
            "help": "Stop starting requests when this many in a row fail the same way for a reason that concerns "
            "the endpoint (unreachable, timeouts, 401/403/404, 5xx after retries); the rest become error rows "
            "saying why. 0: never stop."
        },
    )

    def __post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {self.max_concurrency}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.stop_after_failures < 0:
            raise ValueError(f"stop_after_failures must be >= 0, got {self.stop_after_failures}")
        if self.budget_usd is not None and self.budget_usd < 0:
            raise ValueError(f"budget_usd must be >= 0 or None, got {self.budget_usd}")
        if self.cache_dir is not None:
            self.cache_dir = str(self.cache_dir)
        if isinstance(self.price_table, str | os.PathLike):
            self.price_table = PriceTable.from_file(self.price_table)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (the price table as a mapping)."""
        data = asdict(self)
        data["price_table"] = self.price_table.to_dict() if isinstance(self.price_table, PriceTable) else None
        return data
