"""``GPT4VGenerator``: candidate instruction conversations for biomedical figures.

For every figure (image + caption + in-text mentions) a GPT-4V-class model writes
``n_candidates`` multi-turn conversations, prompted with clinician-selected demonstrations
(one per modality by default).

Input columns: ``id``, ``image``, and where present ``caption``, ``mentions``, ``modality``, ``error``.
Output columns (the *candidates* stage, :func:`biomed_vital.schema.candidate_features`): the figure
columns plus ``candidate_id``, ``candidate_index``, ``messages``, ``generator``, ``prompt_sha``,
``usage``, ``status``, ``error``, ``raw_response``; in two-answer mode also ``pair_id`` and
``answer_variant``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from biomed_vital import schema
from biomed_vital.data.conversations import conversation_text
from biomed_vital.engine.cache import request_key
from biomed_vital.engine.requests import ChatRequest, ChatResult
from biomed_vital.generation import rows
from biomed_vital.generation.generator_config import GeneratorConfig
from biomed_vital.generation.paper_prompts import generation_instruction, generation_prompt
from biomed_vital.generation.parsing import (
    ReplyParseError,
    parse_conversation,
    parse_two_answer_conversation,
)
from biomed_vital.generation.prompts import (
    figure_context_text,
    prompt_sha,
)
from biomed_vital.generation.task import ModelTask, RowPlan
from biomed_vital.generation.two_answers import answers_per_question, two_answer_text
from biomed_vital.sampling.demonstrations import Demonstration, DemonstrationPool, load_demonstrations

__all__ = ["GPT4VGenerator"]

DemonstrationSource = (
    Any  # a Dataset, a sequence of row mappings, a DemonstrationPool, or a path for load_figures
)


class GPT4VGenerator(ModelTask):
    """Generate candidate Q&A conversations for figures with a GPT-4V-class model.

    Args:
        model: the model (for Azure: the deployment; for vLLM: the served model name).
        demonstrations: few-shot demonstrations: a Dataset or rows with ``messages``,
            ``caption``, ``mentions``, ``modality`` (e.g. ``load_figures(path)``), a
            :class:`~biomed_vital.sampling.DemonstrationPool`, or a path that
            :func:`biomed_vital.data.load_figures` reads (such as BioMed-VITAL's clinician
            demonstrations in LLaVA format); :func:`~biomed_vital.sampling.select_demonstrations` makes them
            from clinician annotations. ``None`` (and no ``config.demonstrations``) is zero-shot.
        config: a :class:`~biomed_vital.generation.GeneratorConfig`; keyword arguments naming its fields
            (``n_candidates``, ``two_answers``, ``temperature``, ``max_tokens``, ``min_rounds``,
            ``retry_unusable``, ...) override it.
        backend / engine / engine_config / ``**options``: where and how requests go (see
            :class:`~biomed_vital.generation.task.ModelTask`).

    Example:
        >>> from biomed_vital.data import load_demo_figures
        >>> generator = GPT4VGenerator("gpt-4o", demonstrations="clinician_demonstrations.jsonl",
        ...                            n_candidates=2, max_concurrency=32, budget_usd=20.0)  # doctest: +SKIP
        >>> print(generator.estimate_cost(load_demo_figures()))                         # doctest: +SKIP
        >>> candidates = generator.generate(load_demo_figures())                        # doctest: +SKIP
    """

    inputs = (schema.ID, schema.IMAGE)
    config_class = GeneratorConfig
    status_column = schema.STATUS
    error_column = schema.ERROR
    noun = "candidates"
    verb = "generate"

    config: GeneratorConfig

    def __init__(
        self, model: str | None = None, *, demonstrations: DemonstrationSource | None = None, **kwargs: Any
    ) -> None:
        super().__init__(model, **kwargs)
        template = self.config.system_prompt or generation_prompt(
            self.config.prompt_style, self.config.two_answers
        )
        if "score" in template.lower():
            raise ValueError(
                "the generation system prompt contains the word 'score'; OpenAI-compatible judge servers and "
                "the stand-in treat such requests as judgements. Rephrase it."
            )
        if self.config.two_answers and "Answer A:" not in template:
            raise ValueError(
                "with two_answers=True the system prompt must ask for 'Answer A:' / 'Answer B:' lines"
            )
        # replace, not str.format: a custom prompt may hold other braces (JSON examples)
        self._system_prompt = template.replace("{min_rounds}", str(self.config.min_rounds))
        self.demonstrations = load_demonstrations(
            demonstrations if demonstrations is not None else self.config.demonstrations,
            with_images=self.config.attach_demonstration_images,
        )
        if self.demonstrations is not None:
            _check_demonstration_layout(self.demonstrations, self.config.two_answers)
        self._demonstration_images: dict[str, dict[str, Any]] = {}

    @property
    def system_prompt(self) -> str:
        """The system prompt of every generation request."""
        return self._system_prompt

    def to_dict(self) -> dict[str, Any]:
        """The generator's settings, JSON-serialisable and without the key (e.g. for a dataset card's ``extra``).

        Example:
            >>> GPT4VGenerator("gpt-4o", api_key="sk-secret", n_candidates=2).to_dict()["n_candidates"]
            2
        """
        settings = super().to_dict()
        settings["demonstrations"] = len(self.demonstrations) if self.demonstrations else 0
        return settings

    def output_features(self) -> Any:
        """The columns the generator adds (:func:`biomed_vital.schema.candidate_features`)."""
        return schema.candidate_features(self.config.two_answers)

    # ------------------------------------------------------------------ requests
    def _demonstration_messages(self, demonstrations: Sequence[Demonstration]) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        for demonstration in demonstrations:
            text = figure_context_text(demonstration.caption, demonstration.mentions)
            content: Any = text
            if self.config.attach_demonstration_images and demonstration.image is not None:
                part = self._demonstration_images.get(demonstration.id)
                if part is None:
                    part = rows.image_part(
                        demonstration.image,
                        max_side=self.config.max_image_side,
                        detail=self.config.image_detail,
                    )
                    self._demonstration_images[demonstration.id] = part
                content = [part, {"type": "text", "text": text}]
            messages.append({"role": "user", "content": content})
            turns = [{"role": role, "content": text} for role, text in demonstration.messages]
            # shown in the layout this request asks for (the constructor checked that they have it)
            reply = two_answer_text(turns) if self.config.two_answers else conversation_text(turns)
            messages.append({"role": "assistant", "content": reply})
        return messages

    def format_input(
        self,
        image_part: dict[str, Any] | None,
        context: Mapping[str, Any],
        demonstrations: Sequence[Demonstration],
        candidate_index: int,
    ) -> dict[str, Any]:
        """The request body for one candidate of one figure."""
        instruction = generation_instruction(self.config.prompt_style, self.config.two_answers)
        text = figure_context_text(
            context[schema.CAPTION],
            context[schema.MENTIONS],
            instruction=instruction,
            fig_label=context.get(schema.FIG_LABEL) if self.config.fig_label else None,
        )
        user_content: list[dict[str, Any]] = [image_part] if image_part is not None else []
        user_content.append({"type": "text", "text": text})
        body = self.chat_body(
            user_content,
            before=self._demonstration_messages(demonstrations),
            seed=self.config.seed + candidate_index,
        )
        body.update(self.config.extra_body)
        return body

    def _pick_demonstrations(
        self, figure_id: str, modality: str, candidate_index: int
    ) -> list[Demonstration]:
        if self.demonstrations is None:
            return []
        return self.demonstrations.sample(
            modality,
            seed=(self.config.seed, str(figure_id), candidate_index),
            same_modality=self.config.demonstration_selection == "same_modality",
            n=self.config.n_demonstrations,
        )

    def plan(self, figures: Any) -> list[RowPlan]:
        """One plan per figure with ``n_candidates`` requests (none when the figure has no image)."""
        rows.check_columns(figures, self.inputs)
        ids = [str(i) for i in rows.column_values(figures, schema.ID)]
        contexts = rows.context_columns(figures)
        fingerprints = rows.image_fingerprints(figures)
        load_errors = (
            rows.column_values(figures, schema.ERROR)
            if schema.ERROR in figures.column_names
            else [""] * len(ids)
        )
        image_settings: dict[str, Any] = {
            "max_side": self.config.max_image_side,
            "detail": self.config.image_detail,
        }
        plans: list[RowPlan] = []
        for row, (figure_id, context, fingerprint) in enumerate(
            zip(ids, contexts, fingerprints, strict=True)
        ):
            plan = RowPlan(row, details={"figure_id": figure_id, "prompt_shas": []})
            plans.append(plan)
            if fingerprint is None:  # nothing to show the model; say so in the rows instead of sending
                plan.skip_reason = f"no image: figure {figure_id!r} has no image"
                if load_errors[row]:
                    plan.skip_reason += f" ({load_errors[row]})"
            for candidate_index in range(self.config.n_candidates):
                demos = self._pick_demonstrations(figure_id, context[schema.MODALITY], candidate_index)
                plan.details["prompt_shas"].append(prompt_sha(self.system_prompt, demos))
                if fingerprint is None:
                    continue
                key_image = rows.image_key_part(fingerprint, **image_settings)
                key = request_key(
                    self.format_input(key_image, context, demos, candidate_index), candidate_index
                )

                def build(
                    row: int = row,
                    context: Mapping[str, Any] = context,
                    demos: list[Demonstration] = demos,
                    c: int = candidate_index,
                ) -> dict[str, Any]:
                    part = rows.image_part(figures[row][schema.IMAGE], **image_settings)
                    return self.format_input(part, context, demos, c)

                plan.requests.append(
                    ChatRequest(
                        None, f"{figure_id}-c{candidate_index}", candidate_index, build=build, key=key
                    )
                )
        return plans

    def expected_requests(self, n_rows: int) -> int:
        """``n_candidates`` requests per figure (figures without an image need none).

        Example:
            >>> GPT4VGenerator("gpt-4o", api_key="sk-x", n_candidates=2).expected_requests(10)
            20
        """
        return n_rows * self.config.n_candidates

    # ------------------------------------------------------------------ replies
    def unusable_reason(self, result: ChatResult) -> str:
        """Why a reply holds no usable conversation ('' when it does)."""
        return self._parse(result)[1] if result.ok else ""

    def _parse(self, result: ChatResult) -> tuple[list[list[dict[str, str]]], str]:
        """The conversation(s) in a result, or the reason there is none."""
        if not result.ok:
            return [], result.error
        if result.finish_reason == "length":
            return (
                [],
                f"truncated: the reply hit max_tokens={self.config.max_tokens} (finish_reason='length'); "
                "raise max_tokens",
            )
        try:
            if self.config.two_answers:
                return list(
                    parse_two_answer_conversation(result.content or "", min_rounds=self.config.min_rounds)
                ), ""
            return [parse_conversation(result.content or "", min_rounds=self.config.min_rounds)], ""
        except ReplyParseError as parse_error:
            return [], f"unparseable reply: {parse_error}"

    def format_output(self, plan: RowPlan, results: Sequence[ChatResult]) -> list[dict[str, Any]]:
        """The candidate rows of one figure: one per candidate (two in two-answer mode)."""
        figure_id = plan.details["figure_id"]
        if plan.skip_reason:
            results = [
                ChatResult(f"{figure_id}-c{c}", "", "error", error=plan.skip_reason)
                for c in range(self.config.n_candidates)
            ]
        output: list[dict[str, Any]] = []
        for candidate_index, result in enumerate(results):
            output.extend(self._candidate_rows(figure_id, candidate_index, plan, result))
        return output

    def _candidate_rows(
        self, figure_id: str, candidate_index: int, plan: RowPlan, result: ChatResult
    ) -> list[dict[str, Any]]:
        candidate_id = f"{figure_id}-c{candidate_index}"
        variants: tuple[str | None, ...] = ("A", "B") if self.config.two_answers else (None,)
        conversations, error = self._parse(result)
        if error:
            conversations = [[] for _ in variants]
        candidate_rows = []
        no_usage = {"prompt_tokens": 0, "completion_tokens": 0}
        for variant, messages in zip(variants, conversations, strict=True):
            row: dict[str, Any] = {
                schema.CANDIDATE_ID: candidate_id + (f"-{variant}" if variant else ""),
                schema.CANDIDATE_INDEX: candidate_index,
                schema.MESSAGES: [] if error else messages,
                schema.GENERATOR: self.model,
                schema.PROMPT_SHA: plan.details["prompt_shas"][candidate_index],
                # one request answers both rows of a pair: its usage is on the A row only, so that summing
                # usage over rows counts every request once
                schema.USAGE: no_usage if variant == "B" else result.usage,
                schema.STATUS: schema.STATUS_ERROR if error else schema.STATUS_OK,
                schema.ERROR: error,
                schema.RAW_RESPONSE: result.content or "",
            }
            if self.config.two_answers:
                row[schema.PAIR_ID] = candidate_id
                row[schema.ANSWER_VARIANT] = variant
            candidate_rows.append(row)
        return candidate_rows

    # ------------------------------------------------------------------ the stage's own names
    def generate(self, figures: Any, *, num_shards: int = 1, shard_index: int = 0) -> Any:
        """Generate candidates for ``figures`` (a Dataset with ``id``, ``image``, ``caption``, ``mentions``, ``modality``).

        Returns the *candidates* Dataset: one row per candidate (two per request with
        ``two_answers``), in figure order. Every figure yields its rows: a failed request or
        an unusable reply is a row with ``status="error"`` and the reason in ``error``.
        """
        return self.run(figures, num_shards=num_shards, shard_index=shard_index)

    async def agenerate(self, figures: Any, *, num_shards: int = 1, shard_index: int = 0) -> Any:
        """Asynchronous :meth:`generate`."""
        return await self.arun(figures, num_shards=num_shards, shard_index=shard_index)


def _check_demonstration_layout(pool: DemonstrationPool, two_answers: bool) -> None:
    """Refuse demonstrations whose layout contradicts the one the prompt asks for (one or two answers).

    In one-answer mode a conversation with an irregular turn (an answer split over two turns, as two of the
    released clinician demonstrations have) is shown as it is; only two-answer conversations are refused.
    """
    wrong: list[str] = []
    for demonstration in pool.demonstrations:
        try:
            answers = answers_per_question(demonstration.messages)
        except ValueError:
            answers = 0  # irregular: neither layout
        if (two_answers and answers != 2) or (not two_answers and answers == 2):
            wrong.append(demonstration.id)
    if not wrong:
        return
    shown = ", ".join(repr(i) for i in wrong[:5]) + (f" and {len(wrong) - 5} more" if len(wrong) > 5 else "")
    if two_answers:
        raise ValueError(
            "two_answers=True needs two-answer demonstrations (every question followed by two assistant turns, "
            f"A then B), but the demonstrations {shown} are not; build them with "
            "biomed_vital.generation.two_answer_demonstrations(two_answer_candidates) or generate zero-shot"
        )
    raise ValueError(
        f"the demonstrations {shown} have two answers per question; use them with two_answers=True, or pass "
        "one-answer demonstrations"
    )
