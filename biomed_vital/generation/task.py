"""``ModelTask``: the base of every task that asks a model about each row of a Dataset.

A task declares the columns it reads (:attr:`ModelTask.inputs`) and the columns it adds
(:meth:`ModelTask.output_features`), turns each input row into chat requests
(:meth:`ModelTask.plan`, building bodies with its own ``format_input``) and each row's replies into
output rows (:meth:`ModelTask.format_output`). Everything else is shared and written once here:
sending through the :class:`~biomed_vital.engine.RequestEngine` (cache, limits, retries, costs,
budget), asking again for replies that arrived but cannot be used (at once, and on a rerun unless
``keep_unusable``), sharding, the dry-run estimate,
assembling the output Dataset next to the input columns, the run summary, ``to_dict`` and ``repr``.

:class:`~biomed_vital.generation.GPT4VGenerator`, :class:`~biomed_vital.generation.GPT4VJudge` and the
evaluation judge are subclasses; a new model-called step is one more.

Options come from three dataclasses: the task's own config (a subclass of :class:`TaskConfig`: how
to ask), :class:`~biomed_vital.engine.BackendConfig` (where requests go) and
:class:`~biomed_vital.engine.EngineConfig` (how they are sent). A task's constructor takes any of
their fields as keyword arguments.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
from bisect import bisect_right
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from biomed_vital import schema
from biomed_vital.engine.backends import BackendConfig
from biomed_vital.engine.config import EngineConfig
from biomed_vital.engine.engine import RequestEngine
from biomed_vital.engine.options import engine_from_options
from biomed_vital.engine.pricing import CostEstimate
from biomed_vital.engine.requests import ChatRequest, ChatResult
from biomed_vital.engine.sharding import select_shard
from biomed_vital.engine.sync import run_sync
from biomed_vital.generation import rows
from biomed_vital.generation.assembly import BLOCK_ROWS, BLOCKS_AHEAD, OutputWriter, RowBlock
from biomed_vital.presets.registry import FromPreset

__all__ = ["ModelTask", "RowPlan", "TaskConfig"]

logger = logging.getLogger("biomed_vital.generation")


@dataclass
class TaskConfig(FromPreset):
    """Options every model-called task has: how images are sent, sampling, and unusable replies.

    Subclasses add their own fields and may change these defaults (each says which); ``from_preset(name)``
    builds one as a named preset sets it (:mod:`biomed_vital.presets`).

    Example:
        >>> TaskConfig(max_tokens=256).max_tokens
        256
    """

    max_image_side: int = field(
        default=768, metadata={"help": "Longest image side in pixels before the image is encoded."}
    )
    image_detail: Literal["low", "high", "auto"] = field(
        default="auto", metadata={"help": "OpenAI's image detail: low, high or auto."}
    )
    temperature: float | None = field(
        default=0.0, metadata={"help": "Sampling temperature (empty: the server's default)."}
    )
    max_tokens: int = field(default=1024, metadata={"help": "Most tokens a reply may have."})
    seed: int = field(default=0, metadata={"help": "Sampling seed sent with every request."})
    retry_unusable: int = field(
        default=3,
        metadata={
            "help": "How many times to ask again, at once, for a reply that arrived but cannot be used "
            "(unparseable, or cut off at max_tokens); the last reply is kept whatever it is."
        },
    )
    keep_unusable: bool = field(
        default=False,
        metadata={
            "help": "Take stored replies that cannot be used as final: a rerun reads them from the cache. By "
            "default a rerun asks again for them (an unusable reply is not an answer)."
        },
    )
    system_prompt: str | None = field(
        default=None, metadata={"help": "Replace the built-in system prompt (empty: the built-in one)."}
    )

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if self.retry_unusable < 0:
            raise ValueError(f"retry_unusable must be >= 0, got {self.retry_unusable}")
        if self.image_detail not in ("low", "high", "auto"):
            raise ValueError(f"image_detail must be 'low', 'high' or 'auto', got {self.image_detail!r}")
        if self.max_image_side < 1:
            raise ValueError(f"max_image_side must be >= 1, got {self.max_image_side}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return dataclasses.asdict(self)


@dataclass
class RowPlan:
    """What a task will do with one input row: the requests to send, or why it sends none.

    ``details`` holds whatever the task needs again when it formats the row's output (ids, hashes).
    """

    row: int
    requests: list[ChatRequest] = field(default_factory=list)
    skip_reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)


class ModelTask:
    """Ask a model about each row of a Dataset and add its answers as columns.

    Subclasses set :attr:`inputs`, :attr:`config_class`, :attr:`status_column`, :attr:`error_column`
    and :attr:`noun`, and implement :meth:`output_features`, :meth:`plan`, :meth:`format_output`
    and :meth:`unusable_reason`.

    Args:
        model: the model (Azure: the deployment; vLLM: the served model name). Default: the engine's
            model when ``engine`` is given, else ``gpt-4o``.
        config: the task's options (an instance of :attr:`config_class`); keyword arguments naming
            its fields override them.
        preset: start from a named preset's options instead (``"biomed-vital"``; see
            :mod:`biomed_vital.presets`); keyword arguments naming config fields override it.
        backend / engine / engine_config: where and how requests go. Pass ``engine=other.engine`` to
            share one cache and limiter with another task; keyword arguments may also name
            :class:`~biomed_vital.engine.BackendConfig` fields (``base_url``, ``api_key``, ...) and
            :class:`~biomed_vital.engine.EngineConfig` fields (``max_concurrency``, ``rpm``,
            ``cache_dir``, ``budget_usd``, ...).

    Example:
        >>> from biomed_vital.generation import GPT4VJudge
        >>> judge = GPT4VJudge("gpt-4o", api_key="sk-example", max_concurrency=8, max_tokens=300)
        >>> judge.config.max_tokens, judge.engine.config.max_concurrency
        (300, 8)
    """

    #: columns every input row must have
    inputs: ClassVar[tuple[str, ...]] = ()
    #: the task's option dataclass
    config_class: ClassVar[type[TaskConfig]] = TaskConfig
    #: the output column saying ``ok`` / ``error`` (or ``skipped``), and the one with the reason
    status_column: ClassVar[str] = schema.STATUS
    error_column: ClassVar[str] = schema.ERROR
    #: what the output rows are called in progress bars and summaries
    noun: ClassVar[str] = "rows"
    #: the verb of progress bars and logs
    verb: ClassVar[str] = "run"

    def __init__(
        self,
        model: str | None = None,
        *,
        config: TaskConfig | None = None,
        backend: BackendConfig | None = None,
        engine: RequestEngine | None = None,
        engine_config: EngineConfig | None = None,
        preset: str | None = None,
        **options: Any,
    ) -> None:
        config_fields = {f.name for f in dataclasses.fields(self.config_class)}
        config_options = {name: options.pop(name) for name in list(options) if name in config_fields}
        if preset is not None and config is not None:
            raise ValueError(f"{type(self).__name__}: pass config= or preset=, not both")
        if preset is not None:
            config = self.config_class.from_preset(preset, **config_options)
        elif config is None:
            config = self.config_class(**config_options)
        elif not isinstance(config, self.config_class):
            raise TypeError(
                f"{type(self).__name__} takes config={self.config_class.__name__}(...), "
                f"got {type(config).__name__}"
            )
        elif config_options:
            config = dataclasses.replace(config, **config_options)
        self.config = config
        try:
            self.engine = engine_from_options(
                model, backend=backend, engine=engine, engine_config=engine_config, **options
            )
        except TypeError as error:
            if "unknown option" not in str(error):
                raise
            known = ", ".join(sorted(config_fields))
            raise TypeError(
                f"{type(self).__name__}: {error}, or {self.config_class.__name__} fields ({known})"
            ) from None
        self.model = model or (engine.backend.model if engine is not None else self.engine.backend.model)
        self.last_summary: dict[str, Any] | None = None

    # ------------------------------------------------------------------ what subclasses provide
    def output_features(self) -> Any:
        """The ``datasets.Features`` of the columns the task adds."""
        raise NotImplementedError

    def plan(self, dataset: Any) -> list[RowPlan]:
        """One :class:`RowPlan` per input row, in order (runs in a worker thread; reads no images)."""
        raise NotImplementedError

    def format_output(self, plan: RowPlan, results: Sequence[ChatResult]) -> list[dict[str, Any]]:
        """The output rows (values of :meth:`output_features`) for one input row and its results."""
        raise NotImplementedError

    def unusable_reason(self, result: ChatResult) -> str:
        """Why a reply that arrived cannot be used (empty when it can)."""
        raise NotImplementedError

    @property
    def system_prompt(self) -> str:
        """The system prompt sent with every request (its hash is part of :meth:`to_dict`)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ shared
    def chat_body(
        self, user_content: Any, *, before: Sequence[dict[str, Any]] = (), seed: int | None = None
    ) -> dict[str, Any]:
        """A chat-completions request body: the system prompt, ``before`` (few-shot turns), the user turn.

        ``max_tokens``, ``temperature`` (when set) and ``seed`` (default: the config's) come from the config.

        Example:
            >>> task.chat_body("Describe the image.")["messages"][-1]        # doctest: +SKIP
            {'role': 'user', 'content': 'Describe the image.'}
        """
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": self.system_prompt},
                *before,
                {"role": "user", "content": user_content},
            ],
            "max_tokens": self.config.max_tokens,
            "seed": self.config.seed if seed is None else seed,
        }
        if self.config.temperature is not None:
            body["temperature"] = self.config.temperature
        return body

    def __repr__(self) -> str:
        changed = {
            f.name: getattr(self.config, f.name)
            for f in dataclasses.fields(self.config)
            if f.name != "system_prompt" and getattr(self.config, f.name) != _default(f)
        }
        options = "".join(f", {name}={value!r}" for name, value in changed.items())
        return f"{type(self).__name__}(model={self.model!r}{options}, engine={self.engine!r})"

    def to_dict(self) -> dict[str, Any]:
        """The task's settings, JSON-serialisable and without the key (e.g. for a dataset card).

        Example:
            >>> from biomed_vital.generation import GPT4VJudge
            >>> GPT4VJudge("gpt-4o", api_key="sk-secret").to_dict()["model"]
            'gpt-4o'
        """
        settings = self.config.to_dict()
        settings.pop("system_prompt", None)  # the hash below identifies it without copying it
        return {
            "class": type(self).__name__,
            "model": self.model,
            **settings,
            "system_prompt_sha": hashlib.sha256(self.system_prompt.encode("utf-8")).hexdigest(),
            "backend": self.engine.backend.to_dict(),
            "engine": self.engine.config.to_dict(),
        }

    def build_requests(self, dataset: Any, *, num_shards: int = 1, shard_index: int = 0) -> list[ChatRequest]:
        """The chat requests :meth:`run` would send (bodies are built lazily by ``request.build()``)."""
        plans = self.plan(select_shard(dataset, num_shards, shard_index))
        return [request for plan in plans for request in plan.requests]

    def estimate_cost(self, dataset: Any, *, num_shards: int = 1, shard_index: int = 0) -> CostEstimate:
        """Dry run: projected tokens and spend of :meth:`run` on ``dataset`` (cached requests excluded)."""
        return self.engine.estimate(
            self.build_requests(dataset, num_shards=num_shards, shard_index=shard_index)
        )

    def run(self, dataset: Any, *, num_shards: int = 1, shard_index: int = 0) -> Any:
        """Ask the model about every row of ``dataset``; return it with the task's columns added.

        Every input row yields its output rows: a failed request or an unusable reply is a row whose
        status column says ``error`` and whose error column says why.
        """
        return run_sync(self.arun(dataset, num_shards=num_shards, shard_index=shard_index))

    async def arun(self, dataset: Any, *, num_shards: int = 1, shard_index: int = 0) -> Any:
        """Asynchronous :meth:`run`.

        Rows are planned, sent and written in blocks (:mod:`biomed_vital.generation.assembly`), so memory
        stays flat however many rows there are; the requests of all blocks share one sliding window.
        """
        from datasets import Dataset, Features, concatenate_datasets

        dataset = select_shard(dataset, num_shards, shard_index)
        await asyncio.to_thread(rows.check_columns, dataset, self.inputs)  # ids unique across all blocks
        n_rows = len(dataset)
        writer = OutputWriter(
            self.output_features(), status_column=self.status_column, error_column=self.error_column
        )
        blocks: dict[int, RowBlock] = {}  # planned and not yet written, by first input row
        starts: list[int] = []  # the stream index of each planned block's first request, in order
        ahead = asyncio.Semaphore(BLOCKS_AHEAD)
        changed = asyncio.Event()
        planned_all = False

        async def batches() -> AsyncIterator[list[ChatRequest]]:
            nonlocal planned_all
            first_request = 0
            for start in range(0, n_rows, BLOCK_ROWS):
                await ahead.acquire()
                part = dataset.select(range(start, min(n_rows, start + BLOCK_ROWS)))
                block = RowBlock(start, await asyncio.to_thread(self.plan, part), first_request)
                blocks[start] = block
                starts.append(first_request)
                first_request += block.n_requests
                changed.set()
                yield [request for plan in block.plans for request in plan.requests]
            planned_all = True
            changed.set()

        def keep(index: int, result: ChatResult) -> None:
            # the last block whose first request is at or before the index (a block without requests shares its
            # start with the next one, which comes later in the list)
            position = bisect_right(starts, index) - 1
            if blocks[position * BLOCK_ROWS].add(index, result):
                changed.set()

        async def write_in_order() -> None:
            for start in range(0, n_rows, BLOCK_ROWS):
                while start not in blocks or blocks[start].missing:
                    await changed.wait()
                    changed.clear()
                await asyncio.to_thread(self._write_block, writer, blocks.pop(start))
                ahead.release()

        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(write_in_order())
                await self.engine.stream(
                    batches(),
                    keep,
                    total=self.expected_requests(n_rows),
                    desc=f"{self.verb} ({self.model})",
                    unusable_reason=self.unusable_reason,
                    retry_unusable=self.config.retry_unusable,
                    keep_unusable=self.config.keep_unusable,
                )
        except (
            BaseExceptionGroup
        ) as group_error:  # one clear error (a wrong endpoint, a bad row) for the caller
            raise group_error.exceptions[0] from None
        added = await asyncio.to_thread(writer.finish)
        base = dataset if writer.same_rows and len(added) == n_rows else dataset.select(writer.input_rows)
        clashing = [name for name in added.column_names if name in base.column_names]
        if clashing:  # running the task again replaces its previous columns
            base = base.remove_columns(clashing)
        self._summarise(writer)
        if not len(base):  # concatenate_datasets leaves empty Datasets out: build the empty output directly
            features = Features({**base.features, **added.features})
            return Dataset.from_dict({name: [] for name in features}, features=features)
        return concatenate_datasets([base, added], axis=1)

    def expected_requests(self, n_rows: int) -> int | None:
        """How many requests ``n_rows`` input rows need, when that is known before planning them (it sizes
        the progress bar); ``None`` when not.

        Example:
            >>> from biomed_vital.generation import GPT4VJudge
            >>> GPT4VJudge("gpt-4o", api_key="sk-x").expected_requests(10) is None
            True
        """
        return None

    def _write_block(self, writer: OutputWriter, block: RowBlock) -> None:
        outputs: list[dict[str, Any]] = []
        input_rows: list[int] = []
        for plan, results in block.results_by_plan():
            for output in self.format_output(plan, results):
                outputs.append(output)
                input_rows.append(block.start + plan.row)
        writer.write(outputs, input_rows)

    def _summarise(self, writer: OutputWriter) -> None:
        statuses, causes = writer.statuses, writer.causes
        total = sum(statuses.values())
        self.last_summary = {
            self.noun: total,
            "by_status": dict(statuses),
            "errors_by_cause": dict(causes),
            "engine": self.engine.last_summary.to_dict() if self.engine.last_summary else None,
        }
        message = f"{total} {self.noun}: " + ", ".join(f"{k}: {v}" for k, v in statuses.most_common())
        if causes:
            message += " (" + ", ".join(f"{cause}: {count}" for cause, count in causes.most_common()) + ")"
        logger.info("%s: %s", self.verb, message)
        if self.engine.config.show_progress:
            from tqdm.auto import tqdm

            tqdm.write(f"[biomed_vital] {self.verb}: {message}")


def _default(config_field: dataclasses.Field[Any]) -> Any:
    if config_field.default is not dataclasses.MISSING:
        return config_field.default
    if config_field.default_factory is not dataclasses.MISSING:
        return config_field.default_factory()
    return dataclasses.MISSING
