"""``GPT4VJudge``: a GPT-4V-class model rates every candidate conversation from 0 to 10.

By default each question-answer pair of a conversation is rated on its own (image, caption,
mentions, question, answer) and ``judge_score`` is the mean of the pair scores, which are
kept in ``judge_turn_scores``; ``granularity="first_pair"`` rates only the first pair (one request
per candidate, the paper's unit) and ``granularity="conversation"`` the whole conversation in
one request. The judge runs on the same request engine as the generator (cache, limits,
retries, costs). A reply without a readable 0-10 score is an error (``judge_score=None``),
never a made-up number.

Input columns: ``messages``, and where present ``candidate_id``, ``status``, ``image``, ``caption``,
``mentions``. Output columns (the *judged* stage, :func:`biomed_vital.schema.judge_features`):
``judge_score``, ``judge_status``, ``judge_rationale``, ``judge_error``, ``judge_turn_scores``,
``judge_model``, ``judge_usage``. With ``report_dir`` set, a page of the judged candidates
(:func:`biomed_vital.data.write_html_report`) is written there as ``report.html``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from biomed_vital import schema
from biomed_vital.data.conversations import qa_pairs
from biomed_vital.engine.cache import request_key
from biomed_vital.engine.requests import ChatRequest, ChatResult
from biomed_vital.generation import rows
from biomed_vital.generation.judge_config import JudgeConfig
from biomed_vital.generation.paper_prompts import PAPER_JUDGE_FIRST_LINE_FORMAT, judge_system_prompt
from biomed_vital.generation.parsing import ReplyParseError, parse_first_line_score, parse_judge_reply
from biomed_vital.generation.prompts import (
    JUDGE_CONVERSATION_INSTRUCTION,
    JUDGE_INSTRUCTION,
    JUDGE_JSON_FORMAT,
    JUDGE_TEXT_FORMAT,
    figure_context_text,
)
from biomed_vital.generation.task import ModelTask, RowPlan

__all__ = ["JUDGE_RESPONSE_FORMAT", "GPT4VJudge"]

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

_SKIPPED = "skipped"


class GPT4VJudge(ModelTask):
    """Rate candidate conversations 0-10 on BioMed-VITAL's criteria with a GPT-4V-class model.

    Args:
        model: the judge model (Azure: deployment; vLLM: served model name).
        config: a :class:`~biomed_vital.generation.JudgeConfig`; keyword arguments naming its fields
            (``granularity``, ``structured_output``, ``temperature``, ``max_tokens``, ...) override it.
            ``structured_output`` left empty is on for OpenAI and Azure, off for other servers.
        backend / engine / engine_config / ``**options``: as for
            :class:`~biomed_vital.generation.GPT4VGenerator`; pass ``engine=generator.engine``
            to share one cache and limiter.

    Example:
        >>> judge = GPT4VJudge("gpt-4o", max_concurrency=32)                  # doctest: +SKIP
        >>> judged = judge.score(candidates)                                   # doctest: +SKIP
        >>> judged.filter(lambda r: r["judge_status"] == "ok")["judge_score"][:3]   # doctest: +SKIP
        [8.0, 6.5, 9.0]
    """

    inputs = (schema.MESSAGES,)
    config_class = JudgeConfig
    status_column = schema.JUDGE_STATUS
    error_column = schema.JUDGE_ERROR
    noun = "candidates"
    verb = "judge"

    config: JudgeConfig

    def __init__(self, model: str | None = None, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self.structured_output = (
            self.config.structured_output
            if self.config.structured_output is not None
            else self.engine.backend.provider in ("openai", "azure")
        )
        prompt = self.config.system_prompt or judge_system_prompt(
            self.config.prompt_style, self.config.granularity
        )
        if self.structured_output:
            reply_format = JUDGE_JSON_FORMAT
        elif self.config.score_parsing == "first_line":
            reply_format = PAPER_JUDGE_FIRST_LINE_FORMAT
        else:
            reply_format = JUDGE_TEXT_FORMAT
        self._system_prompt = prompt.rstrip() + "\n\n" + reply_format

    @property
    def system_prompt(self) -> str:
        """The system prompt of every judge request (the built-in or given prompt plus the reply format)."""
        return self._system_prompt

    @property
    def granularity(self) -> str:
        """``"turn"``, ``"first_pair"`` or ``"conversation"``."""
        return self.config.granularity

    def to_dict(self) -> dict[str, Any]:
        """The judge's settings, JSON-serialisable and without the key (e.g. for a dataset card's ``extra``).

        Example:
            >>> GPT4VJudge("gpt-4o", api_key="sk-secret").to_dict()["granularity"]
            'turn'
        """
        settings = super().to_dict()
        settings["structured_output"] = self.structured_output
        return settings

    def output_features(self) -> Any:
        """The columns the judge adds (:func:`biomed_vital.schema.judge_features`)."""
        return schema.judge_features()

    def format_input(
        self,
        image_part: dict[str, Any] | None,
        caption: str,
        mentions: Sequence[str],
        pairs: Sequence[tuple[str, str]],
    ) -> dict[str, Any]:
        """The request body that rates ``pairs`` (one pair, or a whole conversation)."""
        instruction = (
            JUDGE_CONVERSATION_INSTRUCTION if self.config.granularity == "conversation" else JUDGE_INSTRUCTION
        )
        text = figure_context_text(caption, mentions, instruction=instruction, qa_pairs=pairs)
        content: list[dict[str, Any]] = [image_part] if image_part is not None else []
        content.append({"type": "text", "text": text})
        body = self.chat_body(content)
        if self.structured_output:
            body["response_format"] = JUDGE_RESPONSE_FORMAT
        return body

    def plan(self, candidates: Any) -> list[RowPlan]:
        """One plan per candidate: a request per question-answer pair (or one for the first pair, or one per
        conversation)."""
        rows.check_columns(candidates, self.inputs)
        names = candidates.column_names
        n = len(candidates)
        statuses = (
            rows.column_values(candidates, schema.STATUS)
            if schema.STATUS in names
            else [schema.STATUS_OK] * n
        )
        row_ids = (
            rows.column_values(candidates, schema.CANDIDATE_ID)
            if schema.CANDIDATE_ID in names
            else [str(i) for i in range(n)]
        )
        contexts = rows.context_columns(candidates)
        fingerprints = rows.image_fingerprints(candidates) if schema.IMAGE in names else [None] * n
        messages_column = rows.column_values(candidates, schema.MESSAGES)
        image_settings: dict[str, Any] = {
            "max_side": self.config.max_image_side,
            "detail": self.config.image_detail,
        }
        encode = functools.lru_cache(maxsize=256)(
            lambda row: rows.image_part(candidates[row][schema.IMAGE], **image_settings)
        )
        plans: list[RowPlan] = []
        for row in range(n):
            plan = RowPlan(row)
            plans.append(plan)
            if statuses[row] != schema.STATUS_OK:
                plan.skip_reason = f"{_SKIPPED}: the candidate's status is {statuses[row]!r}"
                continue
            try:
                pairs = [(q, a) for q, a in qa_pairs(messages_column[row]) if q and a]
            except (TypeError, ValueError) as error:
                plan.skip_reason = f"cannot read the conversation: {error}"
                continue
            if not pairs:
                plan.skip_reason = "the conversation has no question-answer pair"
                continue
            if self.config.granularity == "conversation":
                groups = [pairs]
            elif self.config.granularity == "first_pair":
                groups = [pairs[:1]]
            else:
                groups = [[pair] for pair in pairs]
            context = contexts[row]
            fingerprint = fingerprints[row]
            key_image = rows.image_key_part(fingerprint, **image_settings) if fingerprint else None
            for turn, group in enumerate(groups):
                key = request_key(
                    self.format_input(key_image, context[schema.CAPTION], context[schema.MENTIONS], group)
                )

                def build(
                    row: int = row,
                    group: list[tuple[str, str]] = group,
                    context: Mapping[str, Any] = context,
                    image: bool = fingerprint is not None,
                ) -> dict[str, Any]:
                    return self.format_input(
                        encode(row) if image else None,
                        context[schema.CAPTION],
                        context[schema.MENTIONS],
                        group,
                    )

                plan.requests.append(ChatRequest(None, f"{row_ids[row]}#turn{turn}", build=build, key=key))
        return plans

    def unusable_reason(self, result: ChatResult) -> str:
        """Why a reply holds no readable 0-10 score ('' when it does)."""
        if not result.ok:
            return ""
        return self._read(result)[1]

    def _read(self, result: ChatResult) -> tuple[Any, str]:
        if result.finish_reason == "length":
            return None, f"truncated: the reply hit max_tokens={self.config.max_tokens}"
        try:
            if self.config.score_parsing == "first_line":
                return parse_first_line_score(result.content), ""
            return parse_judge_reply(result.content), ""
        except ReplyParseError as error:
            return None, f"unparseable reply: {error}"

    def format_output(self, plan: RowPlan, results: Sequence[ChatResult]) -> list[dict[str, Any]]:
        """One verdict row per candidate: the mean score, or why there is none."""
        usage = {
            "prompt_tokens": sum(r.prompt_tokens for r in results),
            "completion_tokens": sum(r.completion_tokens for r in results),
        }
        row: dict[str, Any] = {
            schema.JUDGE_MODEL: self.model,
            schema.JUDGE_USAGE: usage,
            schema.JUDGE_TURN_SCORES: [],
            schema.JUDGE_RATIONALE: "",
        }
        if plan.skip_reason:
            skipped = plan.skip_reason.startswith(_SKIPPED)
            row.update(
                {
                    schema.JUDGE_SCORE: None,
                    schema.JUDGE_STATUS: _SKIPPED if skipped else schema.STATUS_ERROR,
                    schema.JUDGE_ERROR: plan.skip_reason,
                }
            )
            return [row]
        scores: list[float | None] = []
        rationales: list[str] = []
        errors: list[str] = []
        for turn, result in enumerate(results):
            label = f"turn {turn + 1}: " if len(results) > 1 else ""
            if not result.ok:
                scores.append(None)
                errors.append(label + result.error)
                continue
            verdict, problem = self._read(result)
            if problem:
                scores.append(None)
                errors.append(label + problem)
                continue
            scores.append(verdict.score)
            rationales.append(label + verdict.rationale if verdict.rationale else "")
        row[schema.JUDGE_TURN_SCORES] = scores
        row[schema.JUDGE_RATIONALE] = "\n".join(r for r in rationales if r)
        if errors:
            row.update(
                {
                    schema.JUDGE_SCORE: None,
                    schema.JUDGE_STATUS: schema.STATUS_ERROR,
                    schema.JUDGE_ERROR: "; ".join(errors),
                }
            )
        else:
            known = [score for score in scores if score is not None]
            row.update(
                {
                    schema.JUDGE_SCORE: sum(known) / len(known),
                    schema.JUDGE_STATUS: schema.STATUS_OK,
                    schema.JUDGE_ERROR: "",
                }
            )
        return [row]

    # ------------------------------------------------------------------ the stage's own names
    def score(self, candidates: Any) -> Any:
        """Add ``judge_score``, ``judge_status``, ``judge_rationale``, ``judge_error``, ``judge_turn_scores`` to ``candidates``.

        Candidates whose ``status`` is not ``"ok"`` are not sent (``judge_status="skipped"``). With
        ``report_dir``, ``report_dir/report.html`` shows the judged candidates.
        """
        return self._with_report(self.run(candidates))

    async def ascore(self, candidates: Any) -> Any:
        """Asynchronous :meth:`score`."""
        return self._with_report(await self.arun(candidates))

    def _with_report(self, judged: Any) -> Any:
        if self.config.report_dir:
            from biomed_vital.data import write_html_report

            write_html_report(judged, Path(self.config.report_dir) / "report.html", title="Judged candidates")
        return judged
