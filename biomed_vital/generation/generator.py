"""``GPT4VGenerator``: candidate instruction conversations for biomedical figures.

For every figure (image + caption + in-text mentions) a GPT-4V-class model writes
``n_candidates`` multi-turn conversations, prompted with clinician-selected demonstrations
(one per modality by default). The result is the *candidates* Dataset of the pipeline: the
figure columns plus ``candidate_id``, ``messages``, ``generator``, ``prompt_sha``, ``usage``,
``status``, ``error`` and ``raw_response``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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
from biomed_vital.generation.parsing import (
    DEFAULT_MIN_ROUNDS,
    ReplyParseError,
    parse_conversation,
    parse_two_answer_conversation,
)
from biomed_vital.generation.pricing import CostEstimate
from biomed_vital.generation.prompts import (
    GENERATION_INSTRUCTION,
    GENERATION_SYSTEM_PROMPT,
    TWO_ANSWER_INSTRUCTION,
    TWO_ANSWER_SYSTEM_PROMPT,
    Demonstration,
    DemonstrationPool,
    conversation_text,
    figure_context_text,
    prompt_sha,
)
from biomed_vital.generation.sharding import select_shard

__all__ = ["GPT4VGenerator", "candidate_features"]

logger = logging.getLogger("biomed_vital.generation")

DemonstrationSource = Any  # a Dataset, a sequence of row mappings, or a path for load_figures


def candidate_features(two_answers: bool = False) -> Any:
    """The ``datasets.Features`` of the columns the generator adds to the figure columns."""
    from datasets import Features, List, Value

    features = {
        "candidate_id": Value("string"),
        "candidate_index": Value("int32"),
        "messages": List({"role": Value("string"), "content": Value("string")}),
        "generator": Value("string"),
        "prompt_sha": Value("string"),
        "usage": {"prompt_tokens": Value("int64"), "completion_tokens": Value("int64")},
        "status": Value("string"),
        "error": Value("string"),
        "raw_response": Value("string"),
    }
    if two_answers:
        features["pair_id"] = Value("string")
        features["answer_variant"] = Value("string")
    return Features(features)


@dataclass
class _Planned:
    row: int
    candidate_index: int
    candidate_id: str
    prompt_sha: str
    request: ChatRequest | None
    skip_error: str = ""


class GPT4VGenerator:
    """Generate candidate Q&A conversations for figures with a GPT-4V-class model.

    Args:
        model: the model (for Azure: the deployment; for vLLM: the served model name).
        demonstrations: few-shot demonstrations: a Dataset or rows with ``messages``,
            ``caption``, ``mentions``, ``modality`` (e.g. ``load_figures(path)``), or a path
            that :func:`biomed_vital.data.load_figures` reads (such as BioMed-VITAL's
            clinician demonstrations in LLaVA format). ``None`` is zero-shot.
        n_candidates: conversations per figure (each a separate request whose ``seed`` is
            ``seed + candidate index``).
        two_answers: ask for two answers per question (``Answer A:`` / ``Answer B:``) and emit
            them as two paired candidates (``pair_id``, ``answer_variant`` ``"A"``/``"B"``) for
            clinician comparison.
        demonstration_selection: ``"per_modality"`` (one per modality, resampled per request)
            or ``"same_modality"`` (``n_demonstrations`` of the figure's own modality).
        n_demonstrations: how many with ``"same_modality"``.
        attach_demonstration_images: send the demonstrations' images too, where they have one.
        max_image_side: longest image side in pixels before encoding.
        image_detail: OpenAI's ``detail`` for the image (``"low"``, ``"high"``, ``"auto"``).
        temperature, max_tokens, seed: sampling parameters.
        min_rounds: fewest question-answer exchanges a usable conversation has.
        retry_unusable: how many times to ask again for replies that arrived but cannot be
            used (no parseable conversation, or cut off at ``max_tokens``). Off by default:
            such replies are paid for and cached like any other, and kept in ``raw_response``;
            a retry drops the cached reply and sends the request again.
        system_prompt: replace the built-in system prompt (it must not ask for a score, or
            judge-style servers treat the request as a judgement).
        extra_body: further request parameters (e.g. ``top_p``).
        backend / engine / engine_config: see :func:`~biomed_vital.generation.engine.engine_from_options`;
            ``**options`` may also hold ``base_url``, ``api_key``, ``azure_endpoint``,
            ``api_version``, ``timeout``, ``max_concurrency``, ``rpm``, ``tpm``, ``cache_dir``,
            ``budget_usd``, ``price_table``, ``max_retries``, ``show_progress``.

    Example:
        >>> from biomed_vital.data import load_demo_figures
        >>> generator = GPT4VGenerator("gpt-4o", demonstrations="clinician_demonstrations.jsonl",
        ...                            n_candidates=2, max_concurrency=32, budget_usd=20.0)  # doctest: +SKIP
        >>> print(generator.estimate_cost(load_demo_figures()))                         # doctest: +SKIP
        >>> candidates = generator.generate(load_demo_figures())                        # doctest: +SKIP
    """

    def __init__(
        self,
        model: str = "gpt-4o",
        *,
        demonstrations: DemonstrationSource | None = None,
        n_candidates: int = 1,
        two_answers: bool = False,
        demonstration_selection: Literal["per_modality", "same_modality"] = "per_modality",
        n_demonstrations: int = 1,
        attach_demonstration_images: bool = False,
        max_image_side: int = 768,
        image_detail: Literal["low", "high", "auto"] = "auto",
        temperature: float = 0.7,
        max_tokens: int = 1024,
        seed: int = 0,
        min_rounds: int = DEFAULT_MIN_ROUNDS,
        retry_unusable: int = 0,
        system_prompt: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        backend: BackendConfig | None = None,
        engine: RequestEngine | None = None,
        engine_config: EngineConfig | None = None,
        **options: Any,
    ) -> None:
        if n_candidates < 1:
            raise ValueError(f"n_candidates must be >= 1, got {n_candidates}")
        if demonstration_selection not in ("per_modality", "same_modality"):
            raise ValueError(
                f"demonstration_selection must be 'per_modality' or 'same_modality', got {demonstration_selection!r}"
            )
        if min_rounds < 1:
            raise ValueError(f"min_rounds must be >= 1, got {min_rounds}")
        self.engine = engine_from_options(
            model, backend=backend, engine=engine, engine_config=engine_config, **options
        )
        self.model = self.engine.backend.model
        self.n_candidates = n_candidates
        self.two_answers = two_answers
        self.demonstration_selection = demonstration_selection
        self.n_demonstrations = n_demonstrations
        self.attach_demonstration_images = attach_demonstration_images
        self.max_image_side = max_image_side
        self.image_detail = image_detail
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.seed = seed
        self.min_rounds = min_rounds
        if retry_unusable < 0:
            raise ValueError(f"retry_unusable must be >= 0, got {retry_unusable}")
        self.retry_unusable = retry_unusable
        template = system_prompt or (TWO_ANSWER_SYSTEM_PROMPT if two_answers else GENERATION_SYSTEM_PROMPT)
        if "score" in template.lower():
            raise ValueError(
                "the generation system prompt contains the word 'score'; OpenAI-compatible judge servers and "
                "the stand-in treat such requests as judgements. Rephrase it."
            )
        if two_answers and "Answer A:" not in template:
            raise ValueError(
                "with two_answers=True the system prompt must ask for 'Answer A:' / 'Answer B:' lines"
            )
        # replace, not str.format: a custom prompt may hold other braces (JSON examples)
        self.system_prompt = template.replace("{min_rounds}", str(min_rounds))
        self.extra_body = dict(extra_body or {})
        self.demonstrations = _load_demonstrations(demonstrations)
        self._demonstration_images: dict[str, dict[str, Any]] = {}
        self.last_summary: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return (
            f"GPT4VGenerator(model={self.model!r}, n_candidates={self.n_candidates}, two_answers={self.two_answers}, "
            f"demonstrations={len(self.demonstrations) if self.demonstrations else 0}, engine={self.engine!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """The generator's settings, JSON-serialisable and without the key (e.g. for a dataset card's ``extra``).

        Example:
            >>> GPT4VGenerator("gpt-4o", api_key="sk-secret", n_candidates=2).to_dict()["n_candidates"]
            2
        """
        import hashlib

        return {
            "class": type(self).__name__,
            "model": self.model,
            "n_candidates": self.n_candidates,
            "two_answers": self.two_answers,
            "demonstrations": len(self.demonstrations) if self.demonstrations else 0,
            "demonstration_selection": self.demonstration_selection,
            "n_demonstrations": self.n_demonstrations,
            "attach_demonstration_images": self.attach_demonstration_images,
            "max_image_side": self.max_image_side,
            "image_detail": self.image_detail,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "min_rounds": self.min_rounds,
            "retry_unusable": self.retry_unusable,
            "system_prompt_sha": hashlib.sha256(self.system_prompt.encode("utf-8")).hexdigest(),
            "extra_body": dict(self.extra_body),
            "backend": self.engine.backend.to_dict(),
            "engine": self.engine.config.to_dict(),
        }

    # ------------------------------------------------------------------ requests
    def _demonstration_messages(self, demonstrations: Sequence[Demonstration]) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        for demonstration in demonstrations:
            text = figure_context_text(demonstration.caption, demonstration.mentions)
            content: Any = text
            if self.attach_demonstration_images and demonstration.image is not None:
                part = self._demonstration_images.get(demonstration.id)
                if part is None:
                    part = _figures.image_part(
                        demonstration.image, max_side=self.max_image_side, detail=self.image_detail
                    )
                    self._demonstration_images[demonstration.id] = part
                content = [part, {"type": "text", "text": text}]
            messages.append({"role": "user", "content": content})
            pairs = [{"role": role, "content": text} for role, text in demonstration.messages]
            messages.append({"role": "assistant", "content": conversation_text(pairs)})
        return messages

    def _body(
        self,
        image_part: dict[str, Any] | None,
        context: Mapping[str, Any],
        demos: Sequence[Demonstration],
        candidate_index: int,
    ) -> dict[str, Any]:
        instruction = TWO_ANSWER_INSTRUCTION if self.two_answers else GENERATION_INSTRUCTION
        text = figure_context_text(context["caption"], context["mentions"], instruction=instruction)
        user_content: list[dict[str, Any]] = [image_part] if image_part is not None else []
        user_content.append({"type": "text", "text": text})
        body = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": self.system_prompt},
                *self._demonstration_messages(demos),
                {"role": "user", "content": user_content},
            ],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "seed": self.seed + candidate_index,
            **self.extra_body,
        }
        return body

    def _pick_demonstrations(
        self, figure_id: str, modality: str, candidate_index: int
    ) -> list[Demonstration]:
        if self.demonstrations is None:
            return []
        return self.demonstrations.sample(
            modality,
            seed=(self.seed, str(figure_id), candidate_index),
            same_modality=self.demonstration_selection == "same_modality",
            n=self.n_demonstrations,
        )

    def _plan(self, figures: Any) -> list[_Planned]:
        _figures.check_figures(figures)
        ids = [str(i) for i in _figures.column_values(figures, "id")]
        contexts = _figures.context_columns(figures)
        fingerprints = _figures.image_fingerprints(figures)
        load_errors = (
            _figures.column_values(figures, "error") if "error" in figures.column_names else [""] * len(ids)
        )
        plan: list[_Planned] = []
        for row, (figure_id, context, fingerprint) in enumerate(
            zip(ids, contexts, fingerprints, strict=True)
        ):
            for candidate_index in range(self.n_candidates):
                candidate_id = f"{figure_id}-c{candidate_index}"
                demos = self._pick_demonstrations(figure_id, context["modality"], candidate_index)
                sha = prompt_sha(self.system_prompt, demos)
                if fingerprint is None:  # nothing to show the model; say so in the row instead of sending
                    reason = f"no image: figure {figure_id!r} has no image"
                    if load_errors[row]:
                        reason += f" ({load_errors[row]})"
                    plan.append(_Planned(row, candidate_index, candidate_id, sha, None, reason))
                    continue
                key_image = _figures.image_key_part(
                    fingerprint, max_side=self.max_image_side, detail=self.image_detail
                )
                key = request_key(self._body(key_image, context, demos, candidate_index), candidate_index)

                def build(
                    row: int = row,
                    context: Mapping[str, Any] = context,
                    demos: list = demos,
                    c: int = candidate_index,
                ) -> dict[str, Any]:
                    image = figures[row]["image"]
                    part = _figures.image_part(image, max_side=self.max_image_side, detail=self.image_detail)
                    return self._body(part, context, demos, c)

                request = ChatRequest(None, candidate_id, candidate_index, build=build, key=key)
                plan.append(_Planned(row, candidate_index, candidate_id, sha, request))
        return plan

    def build_requests(self, figures: Any, *, num_shards: int = 1, shard_index: int = 0) -> list[ChatRequest]:
        """The chat requests :meth:`generate` would send (bodies are built lazily by ``request.build()``)."""
        plan = self._plan(select_shard(figures, num_shards, shard_index))
        return [p.request for p in plan if p.request is not None]

    def estimate_cost(self, figures: Any, *, num_shards: int = 1, shard_index: int = 0) -> CostEstimate:
        """Dry run: projected tokens and spend of :meth:`generate` on ``figures`` (cached requests excluded).

        Example:
            >>> print(GPT4VGenerator("gpt-4o").estimate_cost(figures))      # doctest: +SKIP
            22 requests, ~18,000 prompt tokens, <= 22,528 completion tokens, projected spend <= $0.27
        """
        return self.engine.estimate(
            self.build_requests(figures, num_shards=num_shards, shard_index=shard_index)
        )

    # ------------------------------------------------------------------ running
    def generate(self, figures: Any, *, num_shards: int = 1, shard_index: int = 0) -> Any:
        """Generate candidates for ``figures`` (a Dataset with ``id``, ``image``, ``caption``, ``mentions``, ``modality``).

        Returns the *candidates* Dataset: one row per candidate (two per request with
        ``two_answers``), in figure order. Every figure yields its rows: a failed request or
        an unusable reply is a row with ``status="error"`` and the reason in ``error``.
        """
        return run_sync(self.agenerate(figures, num_shards=num_shards, shard_index=shard_index))

    async def agenerate(self, figures: Any, *, num_shards: int = 1, shard_index: int = 0) -> Any:
        """Asynchronous :meth:`generate`."""
        figures = select_shard(figures, num_shards, shard_index)
        plan = await asyncio.to_thread(self._plan, figures)
        requests = [p.request for p in plan if p.request is not None]
        answered = await self.engine.run(requests, desc=f"generate ({self.model})")
        for attempt in range(self.retry_unusable):
            # replies the server gave but that cannot be used (no conversation, cut off): ask again
            unusable = [i for i, result in enumerate(answered) if result.ok and self._parse(result)[1]]
            if not unusable:
                break
            again = [requests[i] for i in unusable]
            self.engine.forget(again)
            desc = f"generate ({self.model}): {len(again)} unusable replies, retry {attempt + 1}"
            for i, result in zip(unusable, await self.engine.run(again, desc=desc), strict=True):
                answered[i] = result
        sent = iter(answered)
        results = [
            next(sent)
            if p.request is not None
            else ChatResult(p.candidate_id, "", "error", error=p.skip_error)
            for p in plan
        ]
        return self._to_dataset(figures, plan, results)

    def _parse(self, result: ChatResult) -> tuple[list[list[dict[str, str]]], str]:
        """The conversation(s) in a result, or the reason there is none."""
        if not result.ok:
            return [], result.error
        if result.finish_reason == "length":
            return (
                [],
                f"truncated: the reply hit max_tokens={self.max_tokens} (finish_reason='length'); raise max_tokens",
            )
        try:
            if self.two_answers:
                return list(
                    parse_two_answer_conversation(result.content or "", min_rounds=self.min_rounds)
                ), ""
            return [parse_conversation(result.content or "", min_rounds=self.min_rounds)], ""
        except ReplyParseError as parse_error:
            return [], f"unparseable reply: {parse_error}"

    def _rows_for(self, planned: _Planned, result: ChatResult) -> list[dict[str, Any]]:
        base = {
            "candidate_index": planned.candidate_index,
            "generator": self.model,
            "prompt_sha": planned.prompt_sha,
            "usage": result.usage,
            "raw_response": result.content or "",
        }
        variants = ("A", "B") if self.two_answers else (None,)
        conversations, error = self._parse(result)
        if error:
            conversations = [[] for _ in variants]
        rows = []
        for variant, messages in zip(variants, conversations, strict=True):
            row = dict(base)
            row["candidate_id"] = planned.candidate_id + (f"-{variant}" if variant else "")
            row["messages"] = [] if error else messages
            row["status"] = "error" if error else "ok"
            row["error"] = error
            if self.two_answers:
                row["pair_id"] = planned.candidate_id
                row["answer_variant"] = variant
            rows.append(row)
        return rows

    def _to_dataset(self, figures: Any, plan: Sequence[_Planned], results: Sequence[ChatResult]) -> Any:
        from datasets import Dataset, concatenate_datasets

        features = candidate_features(self.two_answers)
        columns: dict[str, list[Any]] = {name: [] for name in features}
        figure_rows: list[int] = []
        causes: Counter[str] = Counter()
        for planned, result in zip(plan, results, strict=True):
            for row in self._rows_for(planned, result):
                figure_rows.append(planned.row)
                for name in features:
                    columns[name].append(row[name])
                if row["status"] != "ok":
                    causes[row["error"].split(":", 1)[0]] += 1
        added = Dataset.from_dict(columns, features=features)
        base = figures.select(figure_rows)
        clashing = [name for name in features if name in base.column_names]
        if clashing:  # e.g. figures that already carry reference conversations in "messages"
            base = base.remove_columns(clashing)
        candidates = concatenate_datasets([base, added], axis=1)
        n_ok = sum(status == "ok" for status in columns["status"])
        self.last_summary = {
            "candidates": len(candidates),
            "ok": n_ok,
            "error": len(candidates) - n_ok,
            "errors_by_cause": dict(causes),
            "engine": self.engine.last_summary.to_dict() if self.engine.last_summary else None,
        }
        message = f"{len(candidates)} candidates: {n_ok} ok, {len(candidates) - n_ok} error" + (
            " (" + ", ".join(f"{cause}: {count}" for cause, count in causes.most_common()) + ")"
            if causes
            else ""
        )
        logger.info("generate: %s", message)
        if self.engine.config.show_progress:
            from tqdm.auto import tqdm

            tqdm.write(f"[biomed_vital] generate: {message}")
        return candidates


def _load_demonstrations(source: DemonstrationSource | None) -> DemonstrationPool | None:
    if source is None:
        return None
    if isinstance(source, DemonstrationPool):
        return source
    if isinstance(source, str | os.PathLike):
        from biomed_vital.data import load_figures

        source = load_figures(os.fspath(source))
    rows: Iterable[Mapping[str, Any]] = source
    return DemonstrationPool(_normalise_demonstration(row) for row in rows)


def _normalise_demonstration(row: Mapping[str, Any]) -> Mapping[str, Any]:
    if row.get("messages") or not row.get("conversations"):
        return row
    from biomed_vital.data import conversations_to_messages

    return {**row, "messages": conversations_to_messages(row["conversations"])}
