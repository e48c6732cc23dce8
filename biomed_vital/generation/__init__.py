"""Stage 2 and 3 of BioMed-VITAL: generate candidate conversations and judge them with GPT-4V-class models.

* :class:`GPT4VGenerator` writes candidate Q&A conversations for figures;
* :class:`GPT4VJudge` rates them 0-10;
* :class:`RequestEngine` is the request engine both run on (concurrency, rate limits,
  retries, resumable cache, costs, budget), usable on its own;
* :class:`BackendConfig` points it at OpenAI, Azure OpenAI or any OpenAI-compatible server.

Names are loaded lazily, so importing this package costs nothing until a name is used.

Example:
    >>> from biomed_vital.generation import GPT4VGenerator, GPT4VJudge
    >>> generator = GPT4VGenerator("gpt-4o", demonstrations="clinician_demonstrations.jsonl")  # doctest: +SKIP
    >>> candidates = generator.generate(figures)                                             # doctest: +SKIP
    >>> judged = GPT4VJudge("gpt-4o", engine=generator.engine).score(candidates)             # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from biomed_vital._lazy import attach

_LAZY_ATTRIBUTES: dict[str, str] = {
    "GPT4VGenerator": "biomed_vital.generation.generator",
    "candidate_features": "biomed_vital.generation.generator",
    "GPT4VJudge": "biomed_vital.generation.judge",
    "JUDGE_RESPONSE_FORMAT": "biomed_vital.generation.judge",
    "judge_features": "biomed_vital.generation.judge",
    "RequestEngine": "biomed_vital.generation.engine",
    "EngineConfig": "biomed_vital.generation.engine",
    "ChatRequest": "biomed_vital.generation.engine",
    "ChatResult": "biomed_vital.generation.engine",
    "RunSummary": "biomed_vital.generation.engine",
    "BUDGET_ERROR": "biomed_vital.generation.engine",
    "engine_from_options": "biomed_vital.generation.engine",
    "BackendConfig": "biomed_vital.generation.backends",
    "scrub_secrets": "biomed_vital.generation.backends",
    "PriceTable": "biomed_vital.generation.pricing",
    "ModelPrice": "biomed_vital.generation.pricing",
    "CostEstimate": "biomed_vital.generation.pricing",
    "estimate_cost": "biomed_vital.generation.pricing",
    "DEFAULT_PRICES_DATE": "biomed_vital.generation.pricing",
    "ResponseCache": "biomed_vital.generation.cache",
    "request_key": "biomed_vital.generation.cache",
    "default_cache_dir": "biomed_vital.generation.cache",
    "RateLimiter": "biomed_vital.generation.limits",
    "parse_conversation": "biomed_vital.generation.parsing",
    "parse_two_answer_conversation": "biomed_vital.generation.parsing",
    "parse_judge_reply": "biomed_vital.generation.parsing",
    "JudgeVerdict": "biomed_vital.generation.parsing",
    "ReplyParseError": "biomed_vital.generation.parsing",
    "shard_of": "biomed_vital.generation.sharding",
    "select_shard": "biomed_vital.generation.sharding",
    "merge_shards": "biomed_vital.generation.sharding",
    "DemonstrationPool": "biomed_vital.generation.prompts",
    "GENERATION_SYSTEM_PROMPT": "biomed_vital.generation.prompts",
    "TWO_ANSWER_SYSTEM_PROMPT": "biomed_vital.generation.prompts",
    "JUDGE_SYSTEM_PROMPT": "biomed_vital.generation.prompts",
    "JUDGE_CONVERSATION_SYSTEM_PROMPT": "biomed_vital.generation.prompts",
    "estimate_request_tokens": "biomed_vital.generation.tokens",
    "estimate_message_tokens": "biomed_vital.generation.tokens",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY_ATTRIBUTES)

if TYPE_CHECKING:
    from biomed_vital.generation.backends import BackendConfig, scrub_secrets  # noqa: F401
    from biomed_vital.generation.cache import ResponseCache, default_cache_dir, request_key  # noqa: F401
    from biomed_vital.generation.engine import (  # noqa: F401
        BUDGET_ERROR,
        ChatRequest,
        ChatResult,
        EngineConfig,
        RequestEngine,
        RunSummary,
        engine_from_options,
    )
    from biomed_vital.generation.generator import GPT4VGenerator, candidate_features  # noqa: F401
    from biomed_vital.generation.judge import JUDGE_RESPONSE_FORMAT, GPT4VJudge, judge_features  # noqa: F401
    from biomed_vital.generation.limits import RateLimiter  # noqa: F401
    from biomed_vital.generation.parsing import (  # noqa: F401
        JudgeVerdict,
        ReplyParseError,
        parse_conversation,
        parse_judge_reply,
        parse_two_answer_conversation,
    )
    from biomed_vital.generation.pricing import (  # noqa: F401
        DEFAULT_PRICES_DATE,
        CostEstimate,
        ModelPrice,
        PriceTable,
        estimate_cost,
    )
    from biomed_vital.generation.prompts import (  # noqa: F401
        GENERATION_SYSTEM_PROMPT,
        JUDGE_CONVERSATION_SYSTEM_PROMPT,
        JUDGE_SYSTEM_PROMPT,
        TWO_ANSWER_SYSTEM_PROMPT,
        DemonstrationPool,
    )
    from biomed_vital.generation.sharding import merge_shards, select_shard, shard_of  # noqa: F401
    from biomed_vital.generation.tokens import estimate_message_tokens, estimate_request_tokens  # noqa: F401
