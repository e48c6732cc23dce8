"""``PairwiseJudge``: which of two models answered better, each question judged in both orders.

For every question the judge sees the question, the ground truth and two answers as assistants A and
B, and must end with ``[[A]]``, ``[[B]]`` or ``[[tie]]``. Each question is sent twice, with model 1 as A
and then as B, so a judge that prefers a position cannot favour a model; the two verdicts give the
question's outcome (:func:`~biomed_vital.evaluation.outcome_of`) and :func:`pairwise_win_rate` the win
rate, its bootstrap interval and the position-bias rate. It is a
:class:`~biomed_vital.generation.ModelTask` on the shared request engine (cache, limits, costs, budget).

Input columns (:func:`pair_answers`): ``question``, ``reference_answer``, ``answer_1``, ``answer_2``,
``model_1``, ``model_2``, and where present ``question_id``, ``caption``, ``fig_label``, ``mentions``,
``image_file``, ``error``. Output columns: ``verdict_1_as_a``, ``verdict_1_as_b`` (``A``/``B``/``tie``),
``outcome`` (model 1's ``win``/``loss``/``tie``), ``review_1_as_a``, ``review_1_as_b``,
``pairwise_status``, ``pairwise_error``, ``judge_model``, ``judge_usage``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from biomed_vital import schema
from biomed_vital.engine import ChatRequest, ChatResult, request_key
from biomed_vital.evaluation import llava_med_files as files
from biomed_vital.evaluation.open_chat_judge import require_columns
from biomed_vital.evaluation.pairwise_judge_config import PairwiseJudgeConfig
from biomed_vital.evaluation.prompts import (
    PAIRWISE_INSTRUCTION,
    PAIRWISE_SYSTEM_PROMPT,
    pairwise_text,
    prompt_hash,
)
from biomed_vital.evaluation.request_images import image_parts
from biomed_vital.evaluation.win_rates import WinRate, outcome_of, parse_verdict, win_rate
from biomed_vital.generation import ModelTask, ReplyParseError, RowPlan

__all__ = ["PairwiseJudge", "pair_answers", "pairwise_win_rate"]

ANSWER_1, ANSWER_2, MODEL_1, MODEL_2 = "answer_1", "answer_2", "model_1", "model_2"
VERDICT_1_AS_A, VERDICT_1_AS_B = "verdict_1_as_a", "verdict_1_as_b"
REVIEW_1_AS_A, REVIEW_1_AS_B = "review_1_as_a", "review_1_as_b"
OUTCOME = "outcome"
PAIRWISE_STATUS, PAIRWISE_ERROR = "pairwise_status", "pairwise_error"
_KEPT = (
    files.QUESTION_ID,
    files.QUESTION,
    files.REFERENCE_ANSWER,
    schema.CAPTION,
    schema.FIG_LABEL,
    schema.MENTIONS,
    files.IMAGE_FILE,
    "answer_type",
    "split",
)


def pair_answers(samples_1: Any, samples_2: Any, *, answer_types: Sequence[str] | None = None) -> Any:
    """One row per question with both models' answers (``answer_1``/``model_1``, ``answer_2``/``model_2``).

    ``samples_1`` and ``samples_2`` are the same questions joined with each model's answers
    (:func:`~biomed_vital.evaluation.join_answers`); ``answer_types`` keeps only those types (e.g.
    ``["open"]`` for VQA open questions, as BioMed-VITAL's win rates use).

    Example:
        >>> pairs = pair_answers(join_answers(q, read_answers("ours.jsonl")),
        ...                      join_answers(q, read_answers("llava-med.jsonl")))      # doctest: +SKIP
    """
    from datasets import Dataset, Features, Value

    if samples_1[files.QUESTION_ID][:] != samples_2[files.QUESTION_ID][:]:
        raise ValueError(
            "the two models' samples must hold the same questions in the same order (join both "
            "answer files to one question set)"
        )
    kept = [name for name in _KEPT if name in samples_1.column_names]
    columns: dict[str, list[Any]] = {name: samples_1[name][:] for name in kept}
    columns[ANSWER_1] = samples_1[files.ANSWER][:]
    columns[ANSWER_2] = samples_2[files.ANSWER][:]
    columns[MODEL_1] = samples_1[files.MODEL_ID][:]
    columns[MODEL_2] = samples_2[files.MODEL_ID][:]
    columns[schema.ERROR] = [
        "; ".join(e for e in (e1, e2) if e)
        for e1, e2 in zip(samples_1[schema.ERROR][:], samples_2[schema.ERROR][:], strict=True)
    ]
    features = Features(
        {name: samples_1.features[name] if name in kept else Value("string") for name in columns}
    )
    pairs = Dataset.from_dict(columns, features=features)
    if answer_types is not None and "answer_type" in pairs.column_names:
        wanted = set(answer_types)
        pairs = pairs.filter(lambda row: row["answer_type"] in wanted)
    return pairs


class PairwiseJudge(ModelTask):
    """Judge two models' answers to the same questions, in both orders, against the ground truth.

    Args:
        model: the judge model.
        config: a :class:`~biomed_vital.evaluation.PairwiseJudgeConfig`; keyword arguments naming its fields
            override it.
        backend / engine / engine_config / ``**options``: as for :class:`~biomed_vital.generation.ModelTask`.

    Example:
        >>> judge = PairwiseJudge("gpt-4o", max_concurrency=16)                      # doctest: +SKIP
        >>> print(pairwise_win_rate(judge.compare(pairs)))                            # doctest: +SKIP
    """

    inputs = (files.QUESTION, files.REFERENCE_ANSWER, ANSWER_1, ANSWER_2)
    config_class = PairwiseJudgeConfig
    status_column = PAIRWISE_STATUS
    error_column = PAIRWISE_ERROR
    noun = "questions"
    verb = "compare"

    config: PairwiseJudgeConfig

    @property
    def system_prompt(self) -> str:
        """The system prompt of every comparison."""
        return self.config.system_prompt or PAIRWISE_SYSTEM_PROMPT

    @property
    def instruction(self) -> str:
        """The instruction that ends every comparison."""
        return self.config.instruction or PAIRWISE_INSTRUCTION

    @property
    def prompt_sha(self) -> str:
        """Hash of the system prompt and the instruction (recorded in reports)."""
        return prompt_hash(self.system_prompt, self.instruction)

    def to_dict(self) -> dict[str, Any]:
        """The judge's settings, JSON-serialisable and without the key."""
        settings = super().to_dict()
        settings.pop("instruction", None)
        settings["prompt_sha"] = self.prompt_sha
        return settings

    def output_features(self) -> Any:
        """The columns the judge adds."""
        from datasets import Features, Value

        return Features(
            {
                VERDICT_1_AS_A: Value("string"),
                VERDICT_1_AS_B: Value("string"),
                OUTCOME: Value("string"),
                REVIEW_1_AS_A: Value("string"),
                REVIEW_1_AS_B: Value("string"),
                PAIRWISE_STATUS: Value("string"),
                PAIRWISE_ERROR: Value("string"),
                schema.JUDGE_MODEL: Value("string"),
                schema.JUDGE_USAGE: {"prompt_tokens": Value("int64"), "completion_tokens": Value("int64")},
            }
        )

    def format_input(
        self, row: dict[str, Any], answer_a: str, answer_b: str, image: Any = None
    ) -> dict[str, Any]:
        """The request body comparing ``answer_a`` (assistant A) with ``answer_b`` (assistant B)."""
        text = pairwise_text(
            question=row[files.QUESTION],
            ground_truth=row[files.REFERENCE_ANSWER],
            answer_a=answer_a,
            answer_b=answer_b,
            caption=row.get(schema.CAPTION) or "",
            fig_label=row.get(schema.FIG_LABEL) or "",
            mentions=row.get(schema.MENTIONS) or [],
            instruction=self.instruction,
        )
        content: Any = text if image is None else [image, {"type": "text", "text": text}]
        return self.chat_body(content)

    def plan(self, pairs: Any) -> list[RowPlan]:
        """Two requests per question: model 1 as assistant A, then as assistant B."""
        require_columns(pairs, self.inputs, "answer pairs (pair_answers(...))")
        plans = []
        for index, row in enumerate(pairs):
            plan = RowPlan(index)
            plans.append(plan)
            if row.get(schema.ERROR):
                plan.skip_reason = f"skipped: {row[schema.ERROR]}"
                continue
            if not (row[ANSWER_1] or "").strip() or not (row[ANSWER_2] or "").strip():
                plan.skip_reason = "an answer is empty"
                continue
            key_image, build_image, problem = image_parts(
                self.config.image_root,
                row.get(files.IMAGE_FILE) or "",
                max_side=self.config.max_image_side,
                detail=self.config.image_detail,
            )
            if problem:
                plan.skip_reason = problem
                continue
            question_id = str(row.get(files.QUESTION_ID, index))
            for label, first, second in (("1-as-A", ANSWER_1, ANSWER_2), ("1-as-B", ANSWER_2, ANSWER_1)):
                key = request_key(self.format_input(row, row[first], row[second], key_image))
                if build_image is None:
                    request = ChatRequest(
                        self.format_input(row, row[first], row[second]), f"{question_id}#{label}", key=key
                    )
                else:

                    def build(
                        row: dict[str, Any] = row,
                        a: str = row[first],
                        b: str = row[second],
                        image: Callable[[], Any] = build_image,
                    ) -> dict[str, Any]:
                        return self.format_input(row, a, b, image())

                    request = ChatRequest(None, f"{question_id}#{label}", build=build, key=key)
                plan.requests.append(request)
        return plans

    def unusable_reason(self, result: ChatResult) -> str:
        """Why a reply holds no readable verdict ('' when it does)."""
        if not result.ok:
            return ""
        try:
            parse_verdict(result.content)
        except ReplyParseError as error:
            return f"unparseable verdict: {error}"
        return ""

    def format_output(self, plan: RowPlan, results: Sequence[ChatResult]) -> list[dict[str, Any]]:
        """One row per question: both verdicts and model 1's outcome, or why there is none."""
        row: dict[str, Any] = {
            VERDICT_1_AS_A: "",
            VERDICT_1_AS_B: "",
            OUTCOME: "",
            REVIEW_1_AS_A: "",
            REVIEW_1_AS_B: "",
            schema.JUDGE_MODEL: self.model,
            schema.JUDGE_USAGE: {
                "prompt_tokens": sum(r.prompt_tokens for r in results),
                "completion_tokens": sum(r.completion_tokens for r in results),
            },
        }
        if plan.skip_reason:
            skipped = plan.skip_reason.startswith("skipped")
            row.update(
                {
                    PAIRWISE_STATUS: "skipped" if skipped else schema.STATUS_ERROR,
                    PAIRWISE_ERROR: plan.skip_reason,
                }
            )
            return [row]
        verdicts: list[str] = []
        errors: list[str] = []
        orders = (("model 1 as A", REVIEW_1_AS_A), ("model 1 as B", REVIEW_1_AS_B))
        for (name, review_column), result in zip(orders, results, strict=True):
            row[review_column] = result.content or ""
            if not result.ok:
                errors.append(f"{name}: {result.error}")
                verdicts.append("")
                continue
            try:
                verdicts.append(parse_verdict(result.content))
            except ReplyParseError as error:
                errors.append(f"{name}: unparseable verdict: {error}")
                verdicts.append("")
        row[VERDICT_1_AS_A], row[VERDICT_1_AS_B] = verdicts
        if errors:
            row.update({PAIRWISE_STATUS: schema.STATUS_ERROR, PAIRWISE_ERROR: "; ".join(errors)})
            return [row]
        row.update({OUTCOME: outcome_of(*verdicts), PAIRWISE_STATUS: schema.STATUS_OK, PAIRWISE_ERROR: ""})  # type: ignore[arg-type]
        return [row]

    # ------------------------------------------------------------------ the stage's own names
    def compare(self, pairs: Any) -> Any:
        """Add both verdicts and model 1's ``outcome`` to every question of ``pairs``."""
        return self.run(pairs)

    async def acompare(self, pairs: Any) -> Any:
        """Asynchronous :meth:`compare`."""
        return await self.arun(pairs)


def pairwise_win_rate(
    judged: Any, *, n_bootstrap: int = 2000, confidence: float = 0.95, seed: int = 0
) -> WinRate:
    """Model 1's win rate over the judged questions, with its bootstrap interval and the position-bias rate.

    Questions whose verdicts could not be read (or were not sent) are listed in ``unjudged``.

    Example:
        >>> print(pairwise_win_rate(PairwiseJudge("gpt-4o").compare(pairs)))         # doctest: +SKIP
        ours vs llava-med: win rate 71.2% [64.9, 77.0] over 200 questions (...)
    """
    outcomes, biased, unjudged = [], [], []
    picked_a = decided = 0
    model_1 = model_2 = ""
    for row in judged:
        model_1, model_2 = row.get(MODEL_1, model_1), row.get(MODEL_2, model_2)
        if row[PAIRWISE_STATUS] != schema.STATUS_OK:
            unjudged.append(
                {"question_id": str(row.get(files.QUESTION_ID, "")), "reason": row[PAIRWISE_ERROR]}
            )
            continue
        first, second = row[VERDICT_1_AS_A], row[VERDICT_1_AS_B]
        outcomes.append(row[OUTCOME])
        biased.append(first == second and first in ("A", "B"))
        for verdict in (first, second):
            if verdict in ("A", "B"):
                decided += 1
                picked_a += verdict == "A"
    return win_rate(
        outcomes,
        position_biased=biased,
        first_position_picks=(picked_a, decided),
        n_bootstrap=n_bootstrap,
        confidence=confidence,
        seed=seed,
        model_1=model_1,
        model_2=model_2,
        unjudged=unjudged,
    )
