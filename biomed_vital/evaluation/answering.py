"""``QuestionAnswerer``: a chat model answers evaluation questions; regenerating reference answers with it.

LLaVA-Med's reference answers were written in 2023 by text-only GPT-4 from the figure's caption and
in-text mentions. :func:`regenerate_references` writes new ones with another model (e.g. GPT-4o)
through the same request engine, and records which model wrote them. The same task answers questions
for a model served behind an OpenAI-compatible endpoint (vLLM, SGLang), with the image
(``image_root``) and without the caption (``with_context=False``), to produce an answer file.

Input columns: ``question``, and where present ``question_id``, ``caption``, ``fig_label``, ``mentions``,
``image_file``, ``error``. Output columns: ``answer``, ``model_id``, ``answer_status``, ``answer_error``,
``answer_usage``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from biomed_vital import schema
from biomed_vital.engine import ChatRequest, ChatResult, request_key
from biomed_vital.evaluation import llava_med_files as files
from biomed_vital.evaluation.answer_config import AnswerConfig
from biomed_vital.evaluation.open_chat_judge import require_columns
from biomed_vital.evaluation.prompts import ANSWER_SYSTEM_PROMPT, answer_text, prompt_hash
from biomed_vital.evaluation.request_images import image_parts
from biomed_vital.generation import ModelTask, RowPlan

__all__ = ["QuestionAnswerer", "regenerate_references"]

ANSWER_STATUS, ANSWER_ERROR, ANSWER_USAGE = "answer_status", "answer_error", "answer_usage"
REFERENCE_MODEL = "reference_model"
ORIGINAL_REFERENCE = "original_reference_answer"


class QuestionAnswerer(ModelTask):
    """Answer evaluation questions with a chat model (from the figure context, the image, or both).

    Args:
        model: the answering model.
        config: an :class:`~biomed_vital.evaluation.AnswerConfig`; keyword arguments naming its fields
            (``with_context``, ``image_root``, ``max_tokens``, ...) override it.
        backend / engine / engine_config / ``**options``: as for :class:`~biomed_vital.generation.ModelTask`.

    Example:
        >>> answerer = QuestionAnswerer("my-tuned-vlm", base_url="http://localhost:8000/v1",
        ...                             with_context=False, image_root="images/")   # doctest: +SKIP
        >>> write_answers(answerer.answer(questions), "answers/my-tuned-vlm.jsonl")  # doctest: +SKIP
    """

    inputs = (files.QUESTION,)
    config_class = AnswerConfig
    status_column = ANSWER_STATUS
    error_column = ANSWER_ERROR
    noun = "answers"
    verb = "answer"

    config: AnswerConfig

    @property
    def system_prompt(self) -> str:
        """The system prompt of every request."""
        return self.config.system_prompt or ANSWER_SYSTEM_PROMPT

    @property
    def prompt_sha(self) -> str:
        """Hash of the system prompt (recorded in reports)."""
        return prompt_hash(self.system_prompt)

    def output_features(self) -> Any:
        """The columns the task adds."""
        from datasets import Features, Value

        return Features(
            {
                files.ANSWER: Value("string"),
                files.MODEL_ID: Value("string"),
                ANSWER_STATUS: Value("string"),
                ANSWER_ERROR: Value("string"),
                ANSWER_USAGE: {"prompt_tokens": Value("int64"), "completion_tokens": Value("int64")},
            }
        )

    def format_input(self, row: dict[str, Any], image: Any = None) -> dict[str, Any]:
        """The request body asking for one answer."""
        if self.config.with_context:
            text = answer_text(
                question=row[files.QUESTION],
                caption=row.get(schema.CAPTION) or "",
                fig_label=row.get(schema.FIG_LABEL) or "",
                mentions=row.get(schema.MENTIONS) or [],
            )
        else:
            text = row[files.QUESTION].strip()
        content: Any = text if image is None else [image, {"type": "text", "text": text}]
        return self.chat_body(content)

    def plan(self, questions: Any) -> list[RowPlan]:
        """One request per question; rows with an ``error`` (an unreadable line) are skipped."""
        require_columns(questions, self.inputs, "questions")
        plans = []
        for index, row in enumerate(questions):
            plan = RowPlan(index)
            plans.append(plan)
            if row.get(schema.ERROR):
                plan.skip_reason = f"skipped: {row[schema.ERROR]}"
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
            request_id = str(row.get(files.QUESTION_ID, index))
            key = request_key(self.format_input(row, key_image))
            if build_image is None:
                plan.requests.append(ChatRequest(self.format_input(row), request_id, key=key))
            else:

                def build(
                    row: dict[str, Any] = row, image: Callable[[], Any] = build_image
                ) -> dict[str, Any]:
                    return self.format_input(row, image())

                plan.requests.append(ChatRequest(None, request_id, build=build, key=key))
        return plans

    def unusable_reason(self, result: ChatResult) -> str:
        """Why a reply is no answer ('' when it is one)."""
        if not result.ok:
            return ""
        if result.finish_reason == "length":
            return f"truncated: the reply hit max_tokens={self.config.max_tokens}; raise max_tokens"
        if not (result.content or "").strip():
            return "empty reply"
        return ""

    def format_output(self, plan: RowPlan, results: Sequence[ChatResult]) -> list[dict[str, Any]]:
        """One answer per question, or why there is none."""
        row: dict[str, Any] = {
            files.ANSWER: "",
            files.MODEL_ID: self.model,
            ANSWER_USAGE: {"prompt_tokens": 0, "completion_tokens": 0},
        }
        if plan.skip_reason:
            skipped = plan.skip_reason.startswith("skipped")
            row.update(
                {ANSWER_STATUS: "skipped" if skipped else schema.STATUS_ERROR, ANSWER_ERROR: plan.skip_reason}
            )
            return [row]
        (result,) = results
        row[ANSWER_USAGE] = result.usage
        problem = result.error if not result.ok else self.unusable_reason(result)
        if problem:
            row.update({ANSWER_STATUS: schema.STATUS_ERROR, ANSWER_ERROR: problem})
            return [row]
        row.update(
            {files.ANSWER: (result.content or "").strip(), ANSWER_STATUS: schema.STATUS_OK, ANSWER_ERROR: ""}
        )
        return [row]

    # ------------------------------------------------------------------ the stage's own names
    def answer(self, questions: Any) -> Any:
        """Add ``answer``, ``model_id``, ``answer_status``, ``answer_error`` to ``questions``."""
        return self.run(questions)


def regenerate_references(questions: Any, answerer: QuestionAnswerer) -> Any:
    """``questions`` with ``reference_answer`` written anew by ``answerer``'s model.

    The old answers are kept in ``original_reference_answer`` and the model in ``reference_model``; a
    question whose new reference could not be written keeps a row with its ``error``, so it is
    listed as unscorable rather than reviewed against a stale reference.

    Example:
        >>> references = QuestionAnswerer("gpt-4o", with_context=True)                  # doctest: +SKIP
        >>> questions = regenerate_references(read_questions("qa50.jsonl"), references)  # doctest: +SKIP
    """
    from datasets import Value

    answered = answerer.answer(questions)
    new = answered[files.ANSWER][:]
    statuses = answered[ANSWER_STATUS][:]
    problems = answered[ANSWER_ERROR][:]
    errors = []
    for old_error, status, problem in zip(questions[schema.ERROR][:], statuses, problems, strict=True):
        if old_error:
            errors.append(old_error)
        elif status != schema.STATUS_OK:
            errors.append(f"reference answer not regenerated by {answerer.model!r}: {problem}")
        else:
            errors.append("")
    updated = questions.rename_column(files.REFERENCE_ANSWER, ORIGINAL_REFERENCE)
    updated = updated.remove_columns(schema.ERROR)
    updated = updated.add_column(files.REFERENCE_ANSWER, new, feature=Value("string"))
    updated = updated.add_column(REFERENCE_MODEL, [answerer.model] * len(new), feature=Value("string"))
    return updated.add_column(schema.ERROR, errors, feature=Value("string"))
