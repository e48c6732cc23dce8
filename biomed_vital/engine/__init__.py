"""The request engine: every model call of the library goes through it.

Generation, judging and evaluation judging all send chat requests through one
:class:`RequestEngine`: a sliding window of requests in flight, client-side request and token
limits that follow the server's ``x-ratelimit-*`` headers, retries that never lose a row, a
crash-safe cache that resumes after ``kill -9``, cost estimates and a budget cap.
:class:`BackendConfig` points it at OpenAI, Azure OpenAI or any OpenAI-compatible server
(vLLM, SGLang, ...). The engine knows nothing of figures or prompts: tasks build the requests.

One concern per module: ``engine`` (RequestEngine: the sliding window, retries, the run), ``config``
(EngineConfig), ``options`` (an engine from keyword options), ``requests`` (ChatRequest, ChatResult,
RunSummary), ``run_state`` (what the workers of a run share), ``completions`` (the wire format),
``backends`` (BackendConfig and the SDK clients), ``endpoints`` (several endpoints at once), ``limits``
(RateLimiter), ``rate_learning`` (a rate found from 429s without headers), ``cache`` (ResponseCache),
``pricing`` and ``tokens`` (costs), ``dispatch`` (a run's batch and export paths), ``batch`` (the Batch
API), ``batch_files`` (the batch file format), ``batch_ledger`` (batches in flight, in the cache),
``batch_offline`` (files for vLLM's ``run-batch``), ``planner`` (a run's plan before it is sent) and
``sharding`` (splitting a job over machines).

Names are loaded lazily, so importing this package costs nothing until a name is used.

Example:
    >>> from biomed_vital.engine import BackendConfig, EngineConfig, RequestEngine
    >>> engine = RequestEngine(BackendConfig("gpt-4o"), EngineConfig(max_concurrency=32))   # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from biomed_vital._lazy import attach

_LAZY_ATTRIBUTES: dict[str, str] = {
    "RequestEngine": "biomed_vital.engine.engine",
    "EngineConfig": "biomed_vital.engine.config",
    "ChatRequest": "biomed_vital.engine.requests",
    "ChatResult": "biomed_vital.engine.requests",
    "RunSummary": "biomed_vital.engine.requests",
    "BUDGET_ERROR": "biomed_vital.engine.engine",
    "engine_from_options": "biomed_vital.engine.options",
    "BackendConfig": "biomed_vital.engine.backends",
    "scrub_secrets": "biomed_vital.engine.backends",
    "PriceTable": "biomed_vital.engine.pricing",
    "ModelPrice": "biomed_vital.engine.pricing",
    "CostEstimate": "biomed_vital.engine.pricing",
    "estimate_cost": "biomed_vital.engine.pricing",
    "DEFAULT_PRICES_DATE": "biomed_vital.engine.pricing",
    "ResponseCache": "biomed_vital.engine.cache",
    "request_key": "biomed_vital.engine.cache",
    "default_cache_dir": "biomed_vital.engine.cache",
    "RateLimiter": "biomed_vital.engine.limits",
    "estimate_request_tokens": "biomed_vital.engine.tokens",
    "estimate_message_tokens": "biomed_vital.engine.tokens",
    "shard_of": "biomed_vital.engine.sharding",
    "select_shard": "biomed_vital.engine.sharding",
    "merge_shards": "biomed_vital.engine.sharding",
    "run_sync": "biomed_vital.engine.sync",
    "BATCH_DISCOUNT": "biomed_vital.engine.pricing",
    "BatchReport": "biomed_vital.engine.batch",
    "export_batch_requests": "biomed_vital.engine.batch_offline",
    "import_batch_answers": "biomed_vital.engine.batch_offline",
    "EndpointStats": "biomed_vital.engine.endpoints",
    "read_endpoints": "biomed_vital.engine.endpoints",
    "RequestProfile": "biomed_vital.engine.planner",
    "ScalePlan": "biomed_vital.engine.planner",
    "plan_run": "biomed_vital.engine.planner",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY_ATTRIBUTES)

if TYPE_CHECKING:
    from biomed_vital.engine.backends import BackendConfig, scrub_secrets
    from biomed_vital.engine.batch import BatchReport
    from biomed_vital.engine.batch_offline import export_batch_requests, import_batch_answers
    from biomed_vital.engine.cache import ResponseCache, default_cache_dir, request_key
    from biomed_vital.engine.config import EngineConfig
    from biomed_vital.engine.endpoints import EndpointStats, read_endpoints
    from biomed_vital.engine.engine import BUDGET_ERROR, RequestEngine
    from biomed_vital.engine.limits import RateLimiter
    from biomed_vital.engine.options import engine_from_options
    from biomed_vital.engine.planner import RequestProfile, ScalePlan, plan_run
    from biomed_vital.engine.pricing import (
        BATCH_DISCOUNT,
        DEFAULT_PRICES_DATE,
        CostEstimate,
        ModelPrice,
        PriceTable,
        estimate_cost,
    )
    from biomed_vital.engine.requests import ChatRequest, ChatResult, RunSummary
    from biomed_vital.engine.sharding import merge_shards, select_shard, shard_of
    from biomed_vital.engine.sync import run_sync
    from biomed_vital.engine.tokens import estimate_message_tokens, estimate_request_tokens
