"""``EngineConfig``: how the request engine schedules, retries, caches and budgets."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from biomed_vital.engine.batch_files import DEFAULT_BATCH_MAX_BYTES, DEFAULT_BATCH_MAX_REQUESTS
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
        batch, batch_*: send through the provider's Batch API (see :mod:`biomed_vital.engine.batch`).
        batch_export: write the requests as batch files for vLLM's ``run-batch`` instead of sending them.
        endpoints: several endpoints at once (see :mod:`biomed_vital.engine.endpoints`).

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

    # ------------------------------------------------------------------ batch mode (engine/batch.py)
    batch: bool = field(
        default=False,
        metadata={
            "help": "Send through the provider's Batch API (OpenAI, Azure OpenAI) at batch prices (half the "
            "synchronous price); answers come within the completion window, usually much sooner. A rerun "
            "collects what is ready and never resends what is in flight or answered."
        },
    )
    batch_max_requests: int = field(
        default=DEFAULT_BATCH_MAX_REQUESTS,
        metadata={"help": "Most requests in one batch file (OpenAI: 50,000; Azure OpenAI: 100,000)."},
    )
    batch_max_bytes: int = field(
        default=DEFAULT_BATCH_MAX_BYTES,
        metadata={"help": "Most bytes in one batch file (providers: 200 MB)."},
    )
    batch_poll_interval: float = field(
        default=30.0, metadata={"help": "Seconds between two looks at the batches in flight."}
    )
    batch_wait: bool = field(
        default=True,
        metadata={
            "help": "Wait until every batch has ended. false: submit, collect what is ready and return; the "
            "requests still in flight are error rows until a rerun collects them."
        },
    )
    batch_on_failure: Literal["resubmit", "sync"] = field(
        default="resubmit",
        metadata={
            "help": "What to do with requests a batch did not answer (server errors, expired or cancelled "
            "batches): resubmit them in a new batch, or send them synchronously at synchronous prices."
        },
    )
    batch_completion_window: str = field(
        default="24h", metadata={"help": "The batches' completion window (the providers accept 24h)."}
    )
    batch_export: str | None = field(
        default=None,
        metadata={
            "help": "Write the requests without a stored answer as OpenAI batch files into this folder and send "
            "nothing (for vLLM's offline run-batch); load the answers with `biomed-vital batch import`."
        },
    )
    # ------------------------------------------------------------------ several endpoints (engine/endpoints.py)
    endpoints: list[dict[str, Any]] | str | None = field(
        default=None,
        metadata={
            "help": "Several endpoints at once: a YAML/JSON file (or, in Python and --config files, a list) of "
            "BackendConfig fields plus rpm, tpm and max_concurrency per endpoint; requests go where there is "
            "capacity, a failing endpoint is taken out and tried again later."
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
        if self.batch_max_requests < 1 or self.batch_max_bytes < 1:
            raise ValueError(
                f"batch_max_requests and batch_max_bytes must be >= 1, got {self.batch_max_requests}, "
                f"{self.batch_max_bytes}"
            )
        if self.batch_poll_interval < 0:
            raise ValueError(f"batch_poll_interval must be >= 0 seconds, got {self.batch_poll_interval}")
        if self.batch_on_failure not in ("resubmit", "sync"):
            raise ValueError(f"batch_on_failure must be 'resubmit' or 'sync', got {self.batch_on_failure!r}")
        if self.batch and self.batch_export:
            raise ValueError(
                "batch=True sends through the Batch API and batch_export writes files; choose one"
            )
        if self.batch and not self.use_cache:
            raise ValueError("batch=True keeps its batches in the request cache; it needs use_cache=True")
        if self.endpoints is not None:
            from biomed_vital.engine.endpoints import read_endpoints

            self.endpoints = read_endpoints(self.endpoints)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (the price table as a mapping)."""
        data = asdict(self)
        data["price_table"] = self.price_table.to_dict() if isinstance(self.price_table, PriceTable) else None
        return data
