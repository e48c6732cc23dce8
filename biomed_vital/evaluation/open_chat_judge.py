"""``OpenChatJudge``: LLaVA-Med's open-chat review on the shared request engine.

For every question the judge sees the figure context (``fig_label: caption`` and the in-text
mentions), the question, the reference answer as assistant 1 and the model's answer as assistant 2,
and replies with the two 1-10 scores on its first line and an explanation after. It is a
:class:`~biomed_vital.generation.ModelTask`, so it has the engine's cache (an interrupted review
resumes), rate limits, retries, costs, budget and dry run.

Input columns (:func:`~biomed_vital.evaluation.join_answers`): ``question``, ``reference_answer``,
``answer``, and where present ``caption``, ``fig_label``, ``mentions``, ``question_id``, ``error``.
Output columns: ``review`` (the raw reply), ``reference_score``, ``model_score``, ``review_status``
(``ok`` / ``error`` / ``skipped``), ``review_error``, ``judge_model``, ``judge_usage``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from biomed_vital import schema
from biomed_vital.engine import ChatRequest, ChatResult, request_key
from biomed_vital.evaluation import llava_med_files as files
from biomed_vital.evaluation.open_chat import parse_pair_scores
from biomed_vital.evaluation.open_chat_judge_config import OpenChatJudgeConfig
from biomed_vital.evaluation.prompts import (
    OPEN_CHAT_INSTRUCTION,
    OPEN_CHAT_SYSTEM_PROMPT,
    open_chat_text,
    prompt_hash,
)
from biomed_vital.generation import ModelTask, ReplyParseError, RowPlan

__all__ = ["OpenChatJudge"]

REVIEW_STATUS = "review_status"
REVIEW_ERROR = "review_error"
REFERENCE_SCORE = "reference_score"
MODEL_SCORE = "model_score"


class OpenChatJudge(ModelTask):
    """Review model answers against reference answers with a judge model, as LLaVA-Med's open-chat protocol does.

    Args:
        model: the judge model (LLaVA-Med used ``gpt-4-0314``; e.g. ``gpt-4o``).
        config: an :class:`~biomed_vital.evaluation.OpenChatJudgeConfig`; keyword arguments naming its fields
            override it.
        backend / engine / engine_config / ``**options``: where and how requests go (see
            :class:`~biomed_vital.generation.ModelTask`).

    Example:
        >>> from biomed_vital.evaluation import join_answers, read_answers, read_questions, relative_scores
        >>> samples = join_answers(read_questions("qa50.jsonl"), read_answers("llava-med.jsonl"))  # doctest: +SKIP
        >>> judge = OpenChatJudge("gpt-4o", budget_usd=5.0)                                          # doctest: +SKIP
        >>> print(judge.estimate_cost(samples))                                                      # doctest: +SKIP
        >>> print(relative_scores(judge.review(samples)))                                            # doctest: +SKIP
    """

    inputs = (files.QUESTION, files.REFERENCE_ANSWER, files.ANSWER)
    config_class = OpenChatJudgeConfig
    status_column = REVIEW_STATUS
    error_column = REVIEW_ERROR
    noun = "reviews"
    verb = "review"

    config: OpenChatJudgeConfig

    @property
    def system_prompt(self) -> str:
        """The system prompt of every review request."""
        return self.config.system_prompt or OPEN_CHAT_SYSTEM_PROMPT

    @property
    def instruction(self) -> str:
        """The instruction that ends every review request."""
        return self.config.instruction or OPEN_CHAT_INSTRUCTION

    @property
    def prompt_sha(self) -> str:
        """Hash of the system prompt and the instruction (recorded in reports)."""
        return prompt_hash(self.system_prompt, self.instruction)

    def to_dict(self) -> dict[str, Any]:
        """The judge's settings, JSON-serialisable and without the key.

        Example:
            >>> OpenChatJudge("gpt-4o", api_key="sk-secret").to_dict()["model"]
            'gpt-4o'
        """
        settings = super().to_dict()
        settings.pop("instruction", None)
        settings["prompt_sha"] = self.prompt_sha
        return settings

    def output_features(self) -> Any:
        """The columns the judge adds."""
        from datasets import Features, Value

        return Features(
            {
                files.REVIEW: Value("string"),
                REFERENCE_SCORE: Value("float64"),
                MODEL_SCORE: Value("float64"),
                REVIEW_STATUS: Value("string"),
                REVIEW_ERROR: Value("string"),
                schema.JUDGE_MODEL: Value("string"),
                schema.JUDGE_USAGE: {"prompt_tokens": Value("int64"), "completion_tokens": Value("int64")},
            }
        )

    def format_input(self, row: dict[str, Any]) -> dict[str, Any]:
        """The request body that reviews one answer."""
        text = open_chat_text(
            question=row[files.QUESTION],
            reference=row[files.REFERENCE_ANSWER],
            answer=row[files.ANSWER],
            caption=row.get(schema.CAPTION) or "",
            fig_label=row.get(schema.FIG_LABEL) or "",
            mentions=row.get(schema.MENTIONS) or [],
            instruction=self.instruction,
        )
        return self.chat_body(text)

    def plan(self, samples: Any) -> list[RowPlan]:
        """One request per answered question; rows with an ``error`` (no answer, unreadable line) are skipped."""
        require_columns(samples, self.inputs, "samples (join_answers(questions, answers))")
        plans = []
        for index, row in enumerate(samples):
            plan = RowPlan(index)
            plans.append(plan)
            if row.get(schema.ERROR):
                plan.skip_reason = f"skipped: {row[schema.ERROR]}"
                continue
            if not (row[files.ANSWER] or "").strip():
                plan.skip_reason = "the model's answer is empty"
                continue
            body = self.format_input(row)
            plan.requests.append(
                ChatRequest(body, str(row.get(files.QUESTION_ID, index)), key=request_key(body))
            )
        return plans

    def unusable_reason(self, result: ChatResult) -> str:
        """Why a reply holds no two readable scores ('' when it does)."""
        if not result.ok:
            return ""
        return self._read(result)[1]

    def _read(self, result: ChatResult) -> tuple[tuple[float, float] | None, str]:
        if result.finish_reason == "length" and not (result.content or "").strip():
            return None, f"truncated: the reply hit max_tokens={self.config.max_tokens}"
        try:
            return parse_pair_scores(result.content), ""
        except ReplyParseError as error:
            return None, f"unparseable review: {error}"

    def format_output(self, plan: RowPlan, results: Sequence[ChatResult]) -> list[dict[str, Any]]:
        """One review per question: the raw reply and its two scores, or why there are none."""
        row: dict[str, Any] = {
            files.REVIEW: "",
            REFERENCE_SCORE: None,
            MODEL_SCORE: None,
            schema.JUDGE_MODEL: self.model,
            schema.JUDGE_USAGE: {"prompt_tokens": 0, "completion_tokens": 0},
        }
        if plan.skip_reason:
            skipped = plan.skip_reason.startswith("skipped")
            row.update(
                {REVIEW_STATUS: "skipped" if skipped else schema.STATUS_ERROR, REVIEW_ERROR: plan.skip_reason}
            )
            return [row]
        (result,) = results
        row[schema.JUDGE_USAGE] = result.usage
        row[files.REVIEW] = result.content or ""
        if not result.ok:
            row.update({REVIEW_STATUS: schema.STATUS_ERROR, REVIEW_ERROR: result.error})
            return [row]
        scores, problem = self._read(result)
        if problem or scores is None:
            row.update({REVIEW_STATUS: schema.STATUS_ERROR, REVIEW_ERROR: problem})
            return [row]
        row.update(
            {
                REFERENCE_SCORE: scores[0],
                MODEL_SCORE: scores[1],
                REVIEW_STATUS: schema.STATUS_OK,
                REVIEW_ERROR: "",
            }
        )
        return [row]

    # ------------------------------------------------------------------ the stage's own names
    def review(self, samples: Any) -> Any:
        """Add ``review``, ``reference_score``, ``model_score``, ``review_status``, ``review_error`` to ``samples``."""
        return self.run(samples)

    async def areview(self, samples: Any) -> Any:
        """Asynchronous :meth:`review`."""
        return await self.arun(samples)


def require_columns(dataset: Any, required: Sequence[str], what: str) -> None:
    """Raise a clear error unless ``dataset`` is a Dataset with the ``required`` columns."""
    from datasets import Dataset

    if not isinstance(dataset, Dataset):
        raise TypeError(f"expected a datasets.Dataset of {what}, got {type(dataset).__name__}")
    missing = [name for name in required if name not in dataset.column_names]
    if missing:
        raise KeyError(f"the {what} Dataset lacks column(s) {missing}; it has {dataset.column_names}")
