"""Training data for `VisualInstructionTrainer`: rows in the *training* format from any stage, and mixtures.

The *training* columns of the data contract are TRL's vision format: `images` (a list of images) and
`messages` (user and assistant turns, no `<image>` literal). This module makes them from

* a *training* Dataset (kept as it is),
* the *selected*, *judged* or *candidates* stage (`image` + `messages`; rows whose `status` is not `ok`, that
  have no image or no answer are left out, and a warning says how many and which),
* *figures* with conversations, LLaVA / LLaVA-Med / BioMed-VITAL JSON (read by
  :func:`biomed_vital.data.load_figures`, so `<image>` is removed and image paths are checked), and
* *figures* with captions only, for the alignment stage (:func:`caption_rows`).

Every row also gets `data_source` (the path, Hub id or name it came from). What each source contributed, its
selector and selection ratio when it came from `select()`, is recorded with the Dataset
(:func:`training_sources`) and goes into the model card.

Example:
    >>> from biomed_vital.tuning import load_training_data, mix_training_data
    >>> vital = load_training_data("selected/data", selector="user/vital-selector")        # doctest: +SKIP
    >>> llava_med = load_training_data("llava_med_instruct_60k.json", image_root="images")  # doctest: +SKIP
    >>> train = mix_training_data([vital, llava_med], ratios=[1.0, 0.5])                    # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biomed_vital import schema

if TYPE_CHECKING:  # pragma: no cover
    import datasets

__all__ = [
    "CAPTION_INSTRUCTIONS",
    "DATA_SOURCE",
    "caption_rows",
    "load_training_data",
    "mix_training_data",
    "training_rows",
    "training_sources",
]

logger = logging.getLogger("biomed_vital.tuning")

#: The column naming where each training row came from (a path, a Hub id or a name).
DATA_SOURCE = "data_source"
# Where the provenance of each source is kept, inside the Dataset's info (it survives select, shuffle,
# map, save_to_disk and load_from_disk).
_SOURCES_KEY = "biomed_vital.training_sources"

#: Requests paired with a figure's caption for the alignment stage (synthetic instructions, no medical text).
CAPTION_INSTRUCTIONS: tuple[str, ...] = (
    "Describe the image concisely.",
    "Write a short caption for this figure.",
    "What does this figure show? Answer briefly.",
    "Give a brief description of the image.",
    "Summarize what is shown in this image.",
    "Provide a one-sentence caption for the figure.",
)

_STAGE_MARKERS = (
    (schema.SELECTOR_SCORE, "selected"),
    (schema.JUDGE_SCORE, "judged"),
    (schema.CANDIDATE_ID, "candidates"),
)


def _stage_of(dataset: datasets.Dataset) -> str:
    columns = set(dataset.column_names)
    if {schema.IMAGES, schema.MESSAGES} <= columns:
        return "training"
    for column, stage in _STAGE_MARKERS:
        if column in columns:
            return stage
    return "figures"


def _with_sources(dataset: datasets.Dataset, sources: list[dict[str, Any]]) -> datasets.Dataset:
    import datasets

    info = dataset.info.copy()
    info.description = json.dumps({_SOURCES_KEY: sources})
    # concatenating one Dataset with a new info is the public way to replace it (no data is copied)
    return datasets.concatenate_datasets([dataset], info=info)


def training_sources(dataset: datasets.Dataset) -> list[dict[str, Any]]:
    """What each source contributed to a training Dataset: name, stage, rows, ratio, selector, selection ratio.

    Read from what :func:`load_training_data` / :func:`mix_training_data` recorded; for any other Dataset,
    counted from its `data_source` column (or the whole Dataset as one unnamed source).

    Example:
        >>> from datasets import Dataset
        >>> training_sources(Dataset.from_dict({"data_source": ["a", "a", "b"]}))
        [{'source': 'a', 'rows': 2}, {'source': 'b', 'rows': 1}]
    """
    try:
        recorded = json.loads(dataset.info.description or "{}").get(_SOURCES_KEY)
    except (ValueError, AttributeError):
        recorded = None
    counts = Counter(dataset[DATA_SOURCE]) if DATA_SOURCE in dataset.column_names else None
    if recorded:
        # rows are counted again: the Dataset may have been filtered or subsampled since it was recorded
        return [
            {**source, "rows": counts.get(source["source"], 0)} if counts is not None else dict(source)
            for source in recorded
        ]
    if counts is not None:
        return [{"source": name, "rows": rows} for name, rows in counts.items()]
    return [{"source": "(in memory)", "rows": len(dataset)}]


def _answered(messages: Any) -> bool:
    return any(
        isinstance(message, Mapping) and message.get("role") == "assistant" and message.get("content")
        for message in messages or []
    )


def _clean_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from biomed_vital.data import strip_image_token

    cleaned = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            content = strip_image_token(content)  # TRL inserts the image placeholder itself
        cleaned.append({**message, "content": content})
    return cleaned


def _usable_images(view: datasets.Dataset) -> Any:
    """Per row, whether its (undecoded) image has bytes or a non-empty path; read from Arrow, no bytes copied."""
    import numpy as np
    import pyarrow.compute as pc

    column = view.select_columns([schema.IMAGE]).with_format("arrow")[:][schema.IMAGE]
    data, path = pc.struct_field(column, "bytes"), pc.struct_field(column, "path")
    has_path = pc.and_kleene(pc.is_valid(path), pc.not_equal(path, ""))
    usable = pc.and_kleene(pc.is_valid(column), pc.or_kleene(pc.is_valid(data), has_path))
    return np.asarray(pc.fill_null(usable, False).to_numpy(zero_copy_only=False), dtype=bool)


def training_rows(
    dataset: datasets.Dataset, *, source: str | None = None, drop_failed: bool = True
) -> datasets.Dataset:
    """Rows in the *training* format (`images`, `messages`, `data_source`) from any stage with conversations.

    A *training* Dataset passes through (a `data_source` column is added when missing). From the *selected*,
    *judged*, *candidates* or *figures* stages, each row's `image` becomes a one-image list and its `messages`
    are kept (with any `<image>` literal removed). Rows whose `status` is not `ok`, that have no image or no
    assistant answer are dropped with a warning naming how many and the first ids (`drop_failed=False` raises
    instead).

    Example:
        >>> from datasets import Dataset
        >>> from PIL import Image
        >>> rows = Dataset.from_dict({"id": ["f1"], "image": [Image.new("RGB", (8, 8))],
        ...     "messages": [[{"role": "user", "content": "<image>\\nWhat is shown?"},
        ...                   {"role": "assistant", "content": "(a synthetic answer)"}]]})
        >>> training = training_rows(rows, source="demo")
        >>> training.column_names, training[0]["messages"][0]["content"]
        (['images', 'messages', 'data_source'], 'What is shown?')
    """
    from datasets import Image, Value

    name = source or "(in memory)"
    stage = _stage_of(dataset)
    if stage == "training":
        return (
            dataset
            if DATA_SOURCE in dataset.column_names
            else dataset.add_column(DATA_SOURCE, [name] * len(dataset))
        )
    if schema.MESSAGES not in dataset.column_names or schema.IMAGE not in dataset.column_names:
        raise ValueError(
            f"{name}: cannot train on this Dataset; it has the columns {dataset.column_names}. Training needs "
            "images + messages (the training stage), or image + messages (selected / judged / candidates / "
            "figures with conversations); for captions alone use the alignment stage (caption_rows)"
        )
    columns = [c for c in (schema.ID, schema.CANDIDATE_ID, schema.STATUS) if c in dataset.column_names]
    view = dataset.select_columns([schema.IMAGE, schema.MESSAGES, *columns]).cast_column(
        schema.IMAGE, Image(decode=False)
    )
    dropped: Counter[str] = Counter()
    first_dropped: list[str] = []
    keep: list[int] = []
    has_image = _usable_images(view)
    statuses = view[schema.STATUS] if schema.STATUS in columns else [schema.STATUS_OK] * len(view)
    identifiers = (
        view[schema.CANDIDATE_ID if schema.CANDIDATE_ID in columns else schema.ID] if columns else None
    )
    for index, (image_ok, messages, status) in enumerate(
        zip(has_image, view[schema.MESSAGES], statuses, strict=True)
    ):
        reason = (
            f"status {status!r}"
            if status != schema.STATUS_OK
            else "no image"
            if not image_ok
            else "no answer"
            if not _answered(messages)
            else None
        )
        if reason is None:
            keep.append(index)
            continue
        dropped[reason] += 1
        if len(first_dropped) < 5:
            first_dropped.append(str(identifiers[index]) if identifiers is not None else f"row {index}")
    if dropped:
        summary = ", ".join(f"{count} with {reason}" for reason, count in dropped.most_common())
        message = f"{name}: left out {sum(dropped.values())} of {len(view)} rows ({summary}); first: {first_dropped}"
        if not drop_failed:
            raise ValueError(message + "; pass drop_failed=True to train on the rest")
        logger.warning(message)
    if not keep:
        raise ValueError(f"{name}: no row can be trained on ({dict(dropped)})")
    kept = view.select(keep) if len(keep) != len(view) else view

    def to_training(batch: dict[str, list]) -> dict[str, list]:
        return {
            schema.IMAGES: [[image] for image in batch[schema.IMAGE]],
            schema.MESSAGES: [_clean_messages(messages) for messages in batch[schema.MESSAGES]],
            DATA_SOURCE: [name] * len(batch[schema.IMAGE]),
        }

    features = schema.training_features().copy()
    features[DATA_SOURCE] = Value("string")
    return kept.map(
        to_training,
        batched=True,
        remove_columns=kept.column_names,
        features=features,
        desc=f"Training rows from {stage}",
    )


def caption_rows(
    figures: datasets.Dataset,
    *,
    source: str | None = None,
    instructions: Sequence[str] = CAPTION_INSTRUCTIONS,
    seed: int = 0,
) -> datasets.Dataset:
    """Alignment-stage rows from figures: a brief request (from `instructions`, seeded) and the caption as answer.

    Figures without an image or with an empty caption are left out, with a warning.

    Example:
        >>> from datasets import Dataset
        >>> from PIL import Image
        >>> figures = Dataset.from_dict({"id": ["f1"], "image": [Image.new("RGB", (8, 8))],
        ...                              "caption": ["(a synthetic caption)"]})
        >>> caption_rows(figures)[0]["messages"][1]
        {'role': 'assistant', 'content': '(a synthetic caption)'}
    """
    import numpy as np
    from datasets import Image, Value

    name = source or "(in memory)"
    missing = [c for c in (schema.IMAGE, schema.CAPTION) if c not in figures.column_names]
    if missing:
        raise ValueError(
            f"{name}: caption rows need the figure columns {missing} (it has {figures.column_names})"
        )
    if not instructions:
        raise ValueError("caption_rows needs at least one instruction")
    view = figures.select_columns([schema.IMAGE, schema.CAPTION]).cast_column(
        schema.IMAGE, Image(decode=False)
    )
    has_caption = np.array([bool((caption or "").strip()) for caption in view[schema.CAPTION]], dtype=bool)
    keep = np.flatnonzero(_usable_images(view) & has_caption)
    if len(keep) < len(view):
        logger.warning(
            "%s: left out %d of %d figures without an image or a caption",
            name,
            len(view) - len(keep),
            len(view),
        )
    if not len(keep):
        raise ValueError(f"{name}: no figure has both an image and a caption")
    choices = np.random.default_rng(seed).integers(len(instructions), size=len(view))
    kept = view.select(keep) if len(keep) != len(view) else view

    def to_training(batch: dict[str, list], positions: list[int]) -> dict[str, list]:
        return {
            schema.IMAGES: [[image] for image in batch[schema.IMAGE]],
            schema.MESSAGES: [
                [
                    {"role": "user", "content": instructions[choices[keep[position]]]},
                    {"role": "assistant", "content": caption.strip()},
                ]
                for position, caption in zip(positions, batch[schema.CAPTION], strict=True)
            ],
            DATA_SOURCE: [name] * len(positions),
        }

    features = schema.training_features().copy()
    features[DATA_SOURCE] = Value("string")
    return kept.map(
        to_training,
        batched=True,
        with_indices=True,
        remove_columns=kept.column_names,
        features=features,
        desc="Caption rows",
    )


def _selection_report(path: Path) -> dict[str, Any] | None:
    """The `select()` report next to a saved selected stage (`biomed-vital select --out OUT` writes OUT/data
    and OUT/report/selection_summary.json)."""
    for candidate in (path / "selection_summary.json", path.parent / "report" / "selection_summary.json"):
        if candidate.is_file():
            try:
                return json.loads(candidate.read_text())
            except ValueError:
                logger.warning("could not read the selection report %s", candidate)
    return None


def load_training_data(
    source: str | os.PathLike | datasets.Dataset,
    *,
    image_root: str | os.PathLike | None = None,
    stage: str = "instruction",
    name: str | None = None,
    selector: str | None = None,
    selection_ratio: float | None = None,
    split: str = "train",
) -> datasets.Dataset:
    """Load training rows from a stage's saved Dataset, a Hub id, a LLaVA-format JSON file or a Dataset.

    `.json` / `.jsonl` files go through :func:`biomed_vital.data.load_figures` (LLaVA, LLaVA-Med and
    BioMed-VITAL instruction files; image paths resolve under `image_root`); saved folders, Parquet files and
    Hub ids through :func:`biomed_vital.schema.load_stage`. For `stage="alignment"`, figures without
    conversations become caption rows. For a selected stage written by `biomed-vital select`, the selection
    ratio is read from its report; `selector` names the selection model for the model card.

    Example:
        >>> train = load_training_data("BioMed-VITAL-instructions-80K.json", image_root="pmc_images/")  # doctest: +SKIP
    """
    import datasets

    if isinstance(source, datasets.Dataset):
        loaded, label, report = source, name or "(in memory)", None
    else:
        path = Path(os.fspath(source)).expanduser()
        label = name or os.fspath(source)
        report = _selection_report(path) if path.exists() else None
        if path.is_file() and path.suffix in (".json", ".jsonl"):
            from biomed_vital.data import load_figures

            loaded = load_figures(path, image_root=image_root)
        else:
            from biomed_vital.data import confine_image_references

            loaded = schema.load_stage(path if path.exists() else os.fspath(source), split=split)
            # a saved folder, Parquet file or Hub dataset may name any file: read references only under image_root
            loaded = confine_image_references(loaded, [image_root] if image_root is not None else [], label)
    origin_stage = _stage_of(loaded)
    if (
        stage == "alignment"
        and schema.MESSAGES not in loaded.column_names
        and schema.IMAGES not in loaded.column_names
    ):
        rows = caption_rows(loaded, source=label)
    else:
        rows = training_rows(loaded, source=label)
    record: dict[str, Any] = {
        "source": label,
        "stage": origin_stage,
        "rows": len(rows),
        "rows_available": len(loaded),
    }
    if origin_stage == "selected" or selector or selection_ratio is not None:
        if selection_ratio is None and report:
            kept, scored = report.get("kept"), report.get("scored") or report.get("candidates")
            selection_ratio = report.get("top_fraction") or (kept / scored if kept and scored else None)
        record["selector"] = selector
        record["selection_ratio"] = selection_ratio
        if schema.SELECTOR_SCORE in loaded.column_names:
            scores = [s for s in loaded[schema.SELECTOR_SCORE] if s is not None]
            if scores:
                record["min_selector_score"] = min(scores)
    return _with_sources(rows, [record])


def mix_training_data(
    sources: Sequence[datasets.Dataset], ratios: Sequence[float] | None = None, *, seed: int = 0
) -> datasets.Dataset:
    """Mix training Datasets: each contributes `ratio` times its rows (0.5 a random half, 2 every row twice).

    The paper trained on its 80K alone and on 80K + LLaVA-Med's 10K + 60K (all ratios 1). Fractions draw rows
    with `seed`; what each source contributed is recorded (:func:`training_sources`). The trainer shuffles.

    Example:
        >>> from datasets import Dataset
        >>> a = Dataset.from_dict({"images": [[]] * 4, "messages": [[]] * 4, "data_source": ["a"] * 4})
        >>> b = Dataset.from_dict({"images": [[]] * 2, "messages": [[]] * 2, "data_source": ["b"] * 2})
        >>> mixed = mix_training_data([a, b], ratios=[0.5, 2.0])
        >>> sorted(mixed["data_source"])
        ['a', 'a', 'b', 'b', 'b', 'b']
    """
    import datasets

    if not sources:
        raise ValueError("mix_training_data needs at least one Dataset")
    ratios = list(ratios) if ratios is not None else [1.0] * len(sources)
    if len(ratios) != len(sources):
        raise ValueError(f"got {len(sources)} Datasets but {len(ratios)} ratios; give one ratio per Dataset")
    if any(ratio <= 0 for ratio in ratios):
        raise ValueError(f"ratios must be > 0; got {ratios}")
    rng = random.Random(seed)
    parts, records = [], []
    for position, (dataset, ratio) in enumerate(zip(sources, ratios, strict=True)):
        rows = training_rows(dataset, source=f"dataset {position}")
        whole, fraction = divmod(ratio, 1.0)
        indices = list(range(len(rows))) * int(whole) + sorted(
            rng.sample(range(len(rows)), round(fraction * len(rows)))
        )
        parts.append(rows.select(indices))
        for record in training_sources(rows):
            records.append(
                {**record, "ratio": ratio, "rows": round(record["rows"] * len(indices) / len(rows))}
            )
    # the Trainer's sampler shuffles every epoch, so the sources are simply put one after the other
    return _with_sources(datasets.concatenate_datasets(parts), records)
