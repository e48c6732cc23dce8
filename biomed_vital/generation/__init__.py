"""Stage 2 and 3 of BioMed-VITAL: generate candidate conversations and judge them with GPT-4V-class models.

* :class:`GPT4VGenerator` writes candidate Q&A conversations for figures;
* :class:`GPT4VJudge` rates them 0-10;
* both are :class:`ModelTask` subclasses (a task that asks a model about each row and declares the
  columns it reads and adds), with their options in :class:`GeneratorConfig` / :class:`JudgeConfig`;
* they run on the shared request engine, :mod:`biomed_vital.engine` (concurrency, rate limits,
  retries, resumable cache, costs, budget; OpenAI, Azure OpenAI or any OpenAI-compatible server).

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
    "ModelTask": "biomed_vital.generation.task",
    "TaskConfig": "biomed_vital.generation.task",
    "RowPlan": "biomed_vital.generation.task",
    "GPT4VGenerator": "biomed_vital.generation.generator",
    "GeneratorConfig": "biomed_vital.generation.generator_config",
    "GPT4VJudge": "biomed_vital.generation.judge",
    "JudgeConfig": "biomed_vital.generation.judge_config",
    "JUDGE_RESPONSE_FORMAT": "biomed_vital.generation.judge",
    "parse_conversation": "biomed_vital.generation.parsing",
    "parse_two_answer_conversation": "biomed_vital.generation.parsing",
    "parse_judge_reply": "biomed_vital.generation.parsing",
    "parse_first_line_score": "biomed_vital.generation.parsing",
    "two_answer_demonstrations": "biomed_vital.generation.two_answers",
    "PROMPT_STYLES": "biomed_vital.generation.paper_prompts",
    "JudgeVerdict": "biomed_vital.generation.parsing",
    "ReplyParseError": "biomed_vital.generation.parsing",
    "GENERATION_SYSTEM_PROMPT": "biomed_vital.generation.prompts",
    "TWO_ANSWER_SYSTEM_PROMPT": "biomed_vital.generation.prompts",
    "JUDGE_SYSTEM_PROMPT": "biomed_vital.generation.prompts",
    "JUDGE_CONVERSATION_SYSTEM_PROMPT": "biomed_vital.generation.prompts",
}

# The request engine moved to biomed_vital.engine; its names resolve here for one more release.
_MOVED_TO_ENGINE = (
    "RequestEngine",
    "EngineConfig",
    "ChatRequest",
    "ChatResult",
    "RunSummary",
    "BUDGET_ERROR",
    "engine_from_options",
    "BackendConfig",
    "scrub_secrets",
    "PriceTable",
    "ModelPrice",
    "CostEstimate",
    "estimate_cost",
    "DEFAULT_PRICES_DATE",
    "ResponseCache",
    "request_key",
    "default_cache_dir",
    "RateLimiter",
    "shard_of",
    "select_shard",
    "merge_shards",
    "estimate_request_tokens",
    "estimate_message_tokens",
)

__getattr__, __dir__, __all__ = attach(
    __name__,
    _LAZY_ATTRIBUTES,
    deprecated={
        **{name: "biomed_vital.engine" for name in _MOVED_TO_ENGINE},
        "candidate_features": "biomed_vital.schema",
        "judge_features": "biomed_vital.schema",
        "DemonstrationPool": "biomed_vital.sampling.demonstrations",
    },
)

if TYPE_CHECKING:
    from biomed_vital.generation.generator import GPT4VGenerator
    from biomed_vital.generation.generator_config import GeneratorConfig
    from biomed_vital.generation.judge import JUDGE_RESPONSE_FORMAT, GPT4VJudge
    from biomed_vital.generation.judge_config import JudgeConfig
    from biomed_vital.generation.paper_prompts import PROMPT_STYLES
    from biomed_vital.generation.parsing import (
        JudgeVerdict,
        ReplyParseError,
        parse_conversation,
        parse_first_line_score,
        parse_judge_reply,
        parse_two_answer_conversation,
    )
    from biomed_vital.generation.prompts import (
        GENERATION_SYSTEM_PROMPT,
        JUDGE_CONVERSATION_SYSTEM_PROMPT,
        JUDGE_SYSTEM_PROMPT,
        TWO_ANSWER_SYSTEM_PROMPT,
    )
    from biomed_vital.generation.task import ModelTask, RowPlan, TaskConfig
    from biomed_vital.generation.two_answers import two_answer_demonstrations
