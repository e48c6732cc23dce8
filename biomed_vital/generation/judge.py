"""``GPT4VJudge``: a GPT-4V-class model rates every candidate conversation from 0 to 10.

By default each question-answer pair of a conversation is rated on its own (image, caption,
mentions, question, answer) and ``judge_score`` is the mean of the pair scores, which are
kept in ``judge_turn_scores``; ``granularity="conversation"`` rates the whole conversation in
one request. The judge runs on the same request engine as the generator (cache, limits,
retries, costs). A reply without a readable 0-10 score is an error (``judge_score=None``),
never a made-up number.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from biomed_vital.generation import _figures
from biomed_vital.generation._sync import run_sync
from biomed_vital.generation.backends import BackendConfig
from biomed_vital.generation.cache import request_key
from biomed_vital.generation.engine import (
    ChatRequest,
    ChatResult,
    EngineConfig,
    RequestEngine,
    engine_from_options,
)
from biomed_vital.generation.parsing import ReplyParseError, parse_judge_reply
from biomed_vital.generation.pricing import CostEstimate
from biomed_vital.generation.prompts import (
    JUDGE_CONVERSATION_INSTRUCTION,
    JUDGE_CONVERSATION_SYSTEM_PROMPT,
    JUDGE_INSTRUCTION,
    JUDGE_JSON_FORMAT,
    JUDGE_SYSTEM_PROMPT,
    JUDGE_TEXT_FORMAT,
    figure_context_text,
)

__all__ = ["GPT4VJudge", "JUDGE_RESPONSE_FORMAT", "judge_features"]

logger = logging.getLogger("biomed_vital.generation")

JUDGE_RESPONSE_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "judge_score",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {
                "score": {"type": "number", "description": "0 (useless or wrong) to 10 (excellent)"},
                "rationale": {"type": "string"},
            },
            "required": ["score", "rationale"],
            "additionalProperties": False,
        },
    },
}


def judge_features() -> Any:
    """The ``datasets.Features`` of the columns the judge adds."""
    from datasets import Features, List, Value

    return Features(
        {
            "judge_score": Value("float64"),
            "judge_status": Value("string"),
            "judge_rationale": Value("string"),
            "judge_error": Value("string"),
            "judge_turn_scores": List(Value("float64")),
            "judge_model": Value("string"),
            "judge_usage": {"prompt_tokens": Value("int64"), "completion_tokens": Value("int64")},
        }
    )


@dataclass
class _RowPlan:
    row: int
    skip_reason: str = ""
    requests: list[ChatRequest] = field(default_factory=list)


class GPT4VJudge:
    """Rate candidate conversations 0-10 on BioMed-VITAL's criteria with a GPT-4V-class model.

    Args:
        model: the judge model (Azure: deployment; vLLM: served model name).
        granularity: ``"turn"`` (rate each QA pair; ``judge_score`` is their mean) or
            ``"conversation"`` (one rating per conversation).
        structured_output: ask for JSON through ``response_format`` (json_schema). Default:
            on for OpenAI and Azure, off for other OpenAI-compatible servers (where the reply
            is parsed from text such as ``Score: 8/10``).
        max_image_side, image_detail: how the image is sent.
        temperature, max_tokens, seed: sampling parameters.
        system_prompt: replace the built-in judge prompt.
        backend / engine / engine_config / ``**options``: as for
            :class:`~biomed_vital.generation.GPT4VGenerator`; pass ``engine=generator.engine``
            to share one cache and limiter.

    Example:
        >>> judge = GPT4VJudge("gpt-4o", max_concurrency=32)                  # doctest: +SKIP
        >>> judged = judge.score(candidates)                                   # doctest: +SKIP
        >>> judged.filter(lambda r: r["judge_status"] == "ok")["judge_score"][:3]   # doctest: +SKIP
        [8.0, 6.5, 9.0]
    """

    def __init__(
        self,
        model: str = "gpt-4o",
        *,
        granularity: Literal["turn", "conversation"] = "turn",
        structured_output: bool | None = None,
        max_image_side: int = 768,
        image_detail: Literal["low", "high", "auto"] = "auto",
        temperature: float = 0.0,
        max_tokens: int = 400,
        seed: int = 0,
        system_prompt: str | None = None,
        backend: BackendConfig | None = None,
        engine: RequestEngine | None = None,
        engine_config: EngineConfig | None = None,
        **options: Any,
    ) -> None:
        if granularity not in ("turn", "conversation"):
            raise ValueError(f"granularity must be 'turn' or 'conversation', got {granularity!r}")
        self.engine = engine_from_options(
            model, backend=backend, engine=engine, engine_config=engine_config, **options
        )
        self.model = model if engine is not None else self.engine.backend.model
        self.granularity = granularity
        if structured_output is None:
            structured_output = self.engine.backend.provider in ("openai", "azure")
        self.structured_output = structured_output
        self.max_image_side = max_image_side
        self.image_detail = image_detail
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.seed = seed
        prompt = system_prompt or (
            JUDGE_SYSTEM_PROMPT if granularity == "turn" else JUDGE_CONVERSATION_SYSTEM_PROMPT
        )
        self.system_prompt = (
            prompt.rstrip() + "\n\n" + (JUDGE_JSON_FORMAT if structured_output else JUDGE_TEXT_FORMAT)
        )
        self.last_summary: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return (
            f"GPT4VJudge(model={self.model!r}, granularity={self.granularity!r}, "
            f"structured_output={self.structured_output}, engine={self.engine!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """The judge's settings, JSON-serialisable and without the key (e.g. for a dataset card's ``extra``).

        Example:
            >>> GPT4VJudge("gpt-4o", api_key="sk-secret").to_dict()["granularity"]
            'turn'
        """
        import hashlib

        return {
            "class": type(self).__name__,
            "model": self.model,
            "granularity": self.granularity,
            "structured_output": self.structured_output,
            "max_image_side": self.max_image_side,
            "image_detail": self.image_detail,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "system_prompt_sha": hashlib.sha256(self.system_prompt.encode("utf-8")).hexdigest(),
            "backend": self.engine.backend.to_dict(),
            "engine": self.engine.config.to_dict(),
        }

    def _body(
        self,
        image_part: dict[str, Any] | None,
        caption: str,
        mentions: Sequence[str],
        pairs: Sequence[tuple[str, str]],
    ) -> dict[str, Any]:
        instruction = JUDGE_INSTRUCTION if self.granularity == "turn" else JUDGE_CONVERSATION_INSTRUCTION
        text = figure_context_text(caption, mentions, instruction=instruction, qa_pairs=pairs)
        content: list[dict[str, Any]] = [image_part] if image_part is not None else []
        content.append({"type": "text", "text": text})
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": self.system_prompt},
                {"role": "user", "content": content},
            ],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
        }
        if self.structured_output:
            body["response_format"] = JUDGE_RESPONSE_FORMAT
        return body

    def _plan(self, candidates: Any) -> list[_RowPlan]:
        from biomed_vital.preferences import qa_pairs

        _figures.check_figures(candidates, required=("messages",))
        names = candidates.column_names
        n = len(candidates)
        statuses = _figures.column_values(candidates, "status") if "status" in names else ["ok"] * n
        row_ids = (
            _figures.column_values(candidates, "candidate_id")
            if "candidate_id" in names
            else [str(i) for i in range(n)]
        )
        contexts = _figures.context_columns(candidates)
        has_image = "image" in names
        fingerprints = _figures.image_fingerprints(candidates) if has_image else [None] * n
        messages_column = _figures.column_values(candidates, "messages")
        encode = functools.lru_cache(maxsize=256)(
            lambda row: _figures.image_part(
                candidates[row]["image"], max_side=self.max_image_side, detail=self.image_detail
            )
        )
        plans: list[_RowPlan] = []
        for row in range(n):
            plan = _RowPlan(row)
            plans.append(plan)
            if statuses[row] != "ok":
                plan.skip_reason = f"skipped: the candidate's status is {statuses[row]!r}"
                continue
            try:
                pairs = [(q, a) for q, a in qa_pairs(messages_column[row]) if q and a]
            except (TypeError, ValueError) as error:
                plan.skip_reason = f"error: cannot read the conversation: {error}"
                continue
            if not pairs:
                plan.skip_reason = "error: the conversation has no question-answer pair"
                continue
            groups = [[pair] for pair in pairs] if self.granularity == "turn" else [pairs]
            context = contexts[row]
            fingerprint = fingerprints[row]
            for turn, group in enumerate(groups):
                key_image = (
                    _figures.image_key_part(
                        fingerprint, max_side=self.max_image_side, detail=self.image_detail
                    )
                    if fingerprint
                    else None
                )
                key = request_key(self._body(key_image, context["caption"], context["mentions"], group))

                def build(
                    row: int = row,
                    group: list = group,
                    context: Mapping[str, Any] = context,
                    image: bool = fingerprint is not None,
                ) -> dict[str, Any]:
                    return self._body(
                        encode(row) if image else None, context["caption"], context["mentions"], group
                    )

                plan.requests.append(ChatRequest(None, f"{row_ids[row]}#turn{turn}", build=build, key=key))
        return plans

    def estimate_cost(self, candidates: Any) -> CostEstimate:
        """Dry run: projected tokens and spend of :meth:`score` (cached requests excluded)."""
        return self.engine.estimate([r for plan in self._plan(candidates) for r in plan.requests])

    def score(self, candidates: Any) -> Any:
        """Add ``judge_score``, ``judge_status``, ``judge_rationale``, ``judge_error``, ``judge_turn_scores`` to ``candidates``.

        Candidates whose ``status`` is not ``"ok"`` are not sent (``judge_status="skipped"``).
        """
        return run_sync(self.ascore(candidates))

    async def ascore(self, candidates: Any) -> Any:
        """Asynchronous :meth:`score`."""
        plans = await asyncio.to_thread(self._plan, candidates)
        requests = [r for plan in plans for r in plan.requests]
        results = await self.engine.run(requests, desc=f"judge ({self.model})")
        return self._to_dataset(candidates, plans, results)

    def _verdict(self, plan: _RowPlan, results: Sequence[ChatResult]) -> dict[str, Any]:
        usage = {
            "prompt_tokens": sum(r.prompt_tokens for r in results),
            "completion_tokens": sum(r.completion_tokens for r in results),
        }
        row: dict[str, Any] = {"judge_model": self.model, "judge_usage": usage, "judge_turn_scores": []}
        if plan.skip_reason:
            skipped = plan.skip_reason.startswith("skipped")
            row.update(
                judge_score=None,
                judge_status="skipped" if skipped else "error",
                judge_rationale="",
                judge_error=plan.skip_reason.split(": ", 1)[1] if not skipped else plan.skip_reason,
            )
            return row
        scores: list[float | None] = []
        rationales: list[str] = []
        errors: list[str] = []
        for turn, result in enumerate(results):
            label = f"turn {turn + 1}: " if len(results) > 1 else ""
            if not result.ok:
                scores.append(None)
                errors.append(label + result.error)
                continue
            if result.finish_reason == "length":
                scores.append(None)
                errors.append(label + f"truncated: the reply hit max_tokens={self.max_tokens}")
                continue
            try:
                verdict = parse_judge_reply(result.content)
            except ReplyParseError as error:
                scores.append(None)
                errors.append(label + f"unparseable reply: {error}")
                continue
            scores.append(verdict.score)
            rationales.append(label + verdict.rationale if verdict.rationale else "")
        row["judge_turn_scores"] = scores
        row["judge_rationale"] = "\n".join(r for r in rationales if r)
        if errors:
            row.update(judge_score=None, judge_status="error", judge_error="; ".join(errors))
        else:
            row.update(judge_score=sum(scores) / len(scores), judge_status="ok", judge_error="")  # type: ignore[arg-type]
        return row

    def _to_dataset(self, candidates: Any, plans: Sequence[_RowPlan], results: Sequence[ChatResult]) -> Any:
        from datasets import Dataset, concatenate_datasets

        features = judge_features()
        columns: dict[str, list[Any]] = {name: [] for name in features}
        position = 0
        causes: Counter[str] = Counter()
        for plan in plans:
            row_results = results[position : position + len(plan.requests)]
            position += len(plan.requests)
            verdict = self._verdict(plan, row_results)
            for name in features:
                columns[name].append(verdict[name])
            if verdict["judge_status"] != "ok":
                causes[verdict["judge_status"]] += 1
        added = Dataset.from_dict(columns, features=features)
        base = candidates
        clashing = [name for name in features if name in base.column_names]
        if clashing:  # judging again replaces the previous verdict
            base = base.remove_columns(clashing)
        judged = concatenate_datasets([base, added], axis=1)
        statuses = Counter(columns["judge_status"])
        self.last_summary = {
            "candidates": len(judged),
            "by_status": dict(statuses),
            "engine": self.engine.last_summary.to_dict() if self.engine.last_summary else None,
        }
        message = f"{len(judged)} candidates: " + ", ".join(f"{k}: {v}" for k, v in statuses.most_common())
        logger.info("judge: %s", message)
        if self.engine.config.show_progress:
            from tqdm.auto import tqdm

            tqdm.write(f"[biomed_vital] judge: {message}")
        return judged
