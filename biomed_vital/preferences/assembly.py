"""Building the preference Dataset from drafted pairs: deduplicated, with images copied undecoded.

Both pair builders (clinician annotations and judge scores) draft their pairs as a :class:`PairDraft`
(texts, figures, provenance, and the rows of the source Dataset each side comes from) and hand it to
:func:`assemble_pairs`, which merges duplicates, writes the *preferences* columns of
:func:`biomed_vital.schema.preference_features`, and stores the build statistics.

Images are copied between Arrow tables without decoding. When the source Dataset lives on disk, the
pairs are written next to its cache files and memory-mapped, so 100k judged rows with embedded images
do not have to fit in memory.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from biomed_vital import schema
from biomed_vital.preferences.clinician_config import Contradictions
from biomed_vital.preferences.dedup import merge_duplicate_pairs
from biomed_vital.preferences.reading import BATCH_SIZE
from biomed_vital.preferences.summary import with_build_stats

__all__ = ["PairDraft", "assemble_pairs"]

logger = logging.getLogger(__name__)

_CHOSEN_ROW, _REJECTED_ROW = "_chosen_row", "_rejected_row"


@dataclass
class PairDraft:
    """Pairs before deduplication: entry ``i`` of every list belongs to pair ``i``.

    ``chosen_rows`` / ``rejected_rows`` index the source Dataset whose images the pair shows.
    """

    chosen_rows: list[int] = field(default_factory=list)
    rejected_rows: list[int] = field(default_factory=list)
    chosen_text: list[str] = field(default_factory=list)
    rejected_text: list[str] = field(default_factory=list)
    chosen_figure_id: list[str] = field(default_factory=list)
    rejected_figure_id: list[str] = field(default_factory=list)
    annotator: list[str] = field(default_factory=list)
    question: list[str] = field(default_factory=list)
    pair_kind: list[str] = field(default_factory=list)
    chosen_candidate_id: list[str] = field(default_factory=list)
    rejected_candidate_id: list[str] = field(default_factory=list)
    chosen_score: list[float | None] = field(default_factory=list)
    rejected_score: list[float | None] = field(default_factory=list)
    timestamp: list[str] = field(default_factory=list)


def assemble_pairs(
    dataset: Any,
    draft: PairDraft,
    *,
    source: str,
    weight: float,
    contradictions: Contradictions,
    counts: dict[str, int],
    image_column: str | None,
    desc: str,
) -> Any:
    """Deduplicate ``draft`` and build its preference Dataset, images taken from the rows of ``dataset``.

    ``counts`` (the builder's statistics) gains the deduplication counts and ``pairs``, and is stored
    under ``source`` in the build statistics.

    Example:
        >>> pairs = assemble_pairs(judged, draft, source="judge", weight=1.0, contradictions="drop",
        ...                        counts={}, image_column="image", desc="Building pairs")  # doctest: +SKIP
    """
    kept, votes, dedup_counts = merge_duplicate_pairs(
        draft.chosen_figure_id,
        draft.rejected_figure_id,
        draft.chosen_text,
        draft.rejected_text,
        contradictions,
    )
    counts.update(dedup_counts)
    counts["pairs"] = len(kept)
    if not kept:
        logger.warning("no %s pairs were built (%s)", source, counts)

    def take(values: Sequence[Any]) -> list[Any]:
        return [values[i] for i in kept]

    columns = {
        schema.CHOSEN_TEXT: take(draft.chosen_text),
        schema.REJECTED_TEXT: take(draft.rejected_text),
        schema.WEIGHT: [float(weight)] * len(kept),
        schema.SOURCE: [source] * len(kept),
        schema.ANNOTATOR: take(draft.annotator),
        schema.FIGURE_ID: take(draft.chosen_figure_id),
        schema.QUESTION: take(draft.question),
        schema.PAIR_KIND: take(draft.pair_kind),
        schema.CHOSEN_CANDIDATE_ID: take(draft.chosen_candidate_id),
        schema.REJECTED_CANDIDATE_ID: take(draft.rejected_candidate_id),
        schema.CHOSEN_SCORE: take(draft.chosen_score),
        schema.REJECTED_SCORE: take(draft.rejected_score),
        schema.CHOSEN_FIGURE_ID: take(draft.chosen_figure_id),
        schema.REJECTED_FIGURE_ID: take(draft.rejected_figure_id),
        schema.VOTES: votes,
        schema.TIMESTAMP: take(draft.timestamp),
    }
    pairs = _arrow_pairs(
        dataset, image_column, columns, take(draft.chosen_rows), take(draft.rejected_rows), desc
    )
    return with_build_stats(pairs, {source: counts})


def _image_source(dataset: Any, image_column: str | None) -> Any:
    """The image column of ``dataset`` as undecoded ``Image`` structs, or ``None`` when it has none."""
    from datasets import Image, Value

    if not image_column or image_column not in dataset.column_names:
        return None
    images = dataset.select_columns([image_column])
    feature = images.features[image_column]
    if isinstance(feature, Value) and feature.dtype in ("string", "large_string"):
        images = images.cast_column(image_column, Image())
    elif not isinstance(feature, Image):
        raise TypeError(
            f"column {image_column!r} is {feature!r}; expected datasets.Image or image paths (string). "
            "Cast it with dataset.cast_column(column, datasets.Image())."
        )
    # decode=False: the bytes/path structs are copied as they are, never decoded to pixels
    return images.cast_column(image_column, Image(decode=False))


def _arrow_pairs(
    dataset: Any,
    image_column: str | None,
    columns: dict[str, list[Any]],
    chosen_rows: Sequence[int],
    rejected_rows: Sequence[int],
    desc: str,
) -> Any:
    """The preference Dataset: metadata from ``columns``, images from rows of ``dataset``."""
    from datasets import Dataset, Features, Image, Value

    if not chosen_rows:
        # map() over no rows would drop every column it did not write
        return Dataset.from_dict(
            {name: [] for name in schema.preference_features()}, features=schema.preference_features()
        )
    features = schema.preference_features(decode_images=False)
    index = Dataset.from_dict(
        {**columns, _CHOSEN_ROW: list(chosen_rows), _REJECTED_ROW: list(rejected_rows)},
        features=Features(
            {
                **{name: features[name] for name in columns},
                _CHOSEN_ROW: Value("int64"),
                _REJECTED_ROW: Value("int64"),
            }
        ),
    )
    images = _image_source(dataset, image_column)
    image_type = Image().pa_type
    names = list(features)

    def attach_images(batch: pa.Table) -> pa.Table:
        if images is None:
            chosen = rejected = pa.nulls(batch.num_rows, type=image_type)
        else:
            arrow_images = images.with_format("arrow")
            chosen = arrow_images[batch.column(_CHOSEN_ROW).to_pylist()].column(0)
            rejected = arrow_images[batch.column(_REJECTED_ROW).to_pylist()].column(0)
        arrays = {schema.CHOSEN_IMAGE: chosen, schema.REJECTED_IMAGE: rejected}
        return pa.table([arrays[n] if n in arrays else batch.column(n) for n in names], names=names)

    fingerprint = uuid.uuid4().hex
    cache_file_name = None
    if getattr(dataset, "cache_files", None):
        # memory-map the pairs next to the source rows instead of holding every image copy in RAM
        cache_dir = os.path.dirname(dataset.cache_files[0]["filename"])
        if os.access(cache_dir, os.W_OK):
            cache_file_name = os.path.join(cache_dir, f"preferences-{fingerprint}.arrow")
    pairs = index.with_format("arrow").map(
        attach_images,
        batched=True,
        batch_size=BATCH_SIZE,
        remove_columns=index.column_names,
        features=features,
        new_fingerprint=fingerprint,
        cache_file_name=cache_file_name,
        load_from_cache_file=False,
        desc=desc,
    )
    pairs = pairs.with_format(None)
    for column in (schema.CHOSEN_IMAGE, schema.REJECTED_IMAGE):
        # flips the decode flag in the schema only; the Arrow data is not rewritten
        pairs = pairs.cast_column(column, Image())
    return pairs
