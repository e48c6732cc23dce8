"""`PreferenceDataset`: clinician and judge preference pairs as a `datasets.Dataset`.

Every constructor returns a plain ``datasets.Dataset`` with the *preferences* columns, so the
result goes straight into ``SelectorTrainer``, ``save_to_disk`` or ``push_to_hub``:

=======================  ==================================================================
column                   meaning
=======================  ==================================================================
``chosen_image``         ``datasets.Image`` of the preferred item's figure
``rejected_image``       ``datasets.Image`` of the other item's figure
``chosen_text``          :func:`format_selector_text` / :func:`format_selector_conversation`
``rejected_text``        the same layout for the rejected item
``weight``               float; the per-pair loss weight (see :meth:`PreferenceDataset.mix`)
``source``               ``"clinician"`` or ``"judge"``
``annotator``            who judged (clinician label, or the judge model for judge pairs)
``figure_id``            the chosen item's figure (``chosen_figure_id``)
``question``             the compared question (the chosen side's, for judge turns);
                         empty for judge pairs of whole conversations
``pair_kind``            ``clinician_pairwise``, ``clinician_marks``, ``judge_same_question``
                         (per-turn judge scores), ``judge_same_figure`` (per-conversation
                         judge scores), ``judge_score_levels``
``chosen_candidate_id``  candidate ids (empty when an answer was given as text)
``rejected_candidate_id``
``chosen_score``         judge scores (null for clinician pairs)
``rejected_score``
``chosen_figure_id``     both figures; they differ only for judge pairs across score levels
``rejected_figure_id``
``votes``                how many records produced this pair (duplicates are merged)
``timestamp``            the clinician record's timestamp (empty for judge pairs)
=======================  ==================================================================

Counts that are not rows (ties, both-bad, skipped judge rows, merged duplicates) are kept in
``dataset.info.description`` and read back by :func:`summarize_preferences`; they survive
``save_to_disk``/``load_from_disk``.

Images are copied between Arrow tables without decoding. When the candidates live on disk,
the pairs are written next to their cache files and memory-mapped, so 100k judged rows with
embedded images do not have to fit in memory.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from tqdm.auto import tqdm

from biomed_vital.data.text import (
    DEFAULT_MAX_MENTIONS,
    format_selector_conversation,
    format_selector_text,
    qa_pairs,
)
from biomed_vital.preferences.annotations import AnnotationError, read_annotations
from biomed_vital.schema import preference_features

__all__ = [
    "PAPER_CLINICIAN_WEIGHTS",
    "PreferenceDataset",
    "clinician_weight_sweep",
    "deduplicate_preferences",
    "mix_preferences",
    "preference_features",
    "preference_build_stats",
    "summarize_preferences",
    "train_test_split_by_figure",
]

logger = logging.getLogger(__name__)

#: The clinician weights swept in the BioMed-VITAL paper for the selection-model mixture.
PAPER_CLINICIAN_WEIGHTS: tuple[float, ...] = (1.0, 10.0, 100.0, 200.0, 300.0, 400.0)

Contradictions = Literal["drop", "keep"]

_DESCRIPTION_PREFIX = "Preference pairs built by biomed_vital.preferences. build_stats="
_STATS_PATTERN = re.compile(re.escape(_DESCRIPTION_PREFIX) + r"(\{.*\})\s*$", re.S)
_TEXT_COLUMNS = ("caption", "mentions", "messages")
_BATCH = 1000

_STRING_COLUMNS = (
    "chosen_text",
    "rejected_text",
    "source",
    "annotator",
    "figure_id",
    "question",
    "pair_kind",
    "chosen_candidate_id",
    "rejected_candidate_id",
)


# ----------------------------------------------------------------------------- build statistics


def preference_build_stats(dataset: Any) -> dict[str, dict[str, int]]:
    """Return the build counts stored with a preference dataset (``{}`` when there are none).

    Keys are ``"clinician"`` and/or ``"judge"``; values count records, ties, skipped rows, etc.

    Example:
        >>> preference_build_stats(pairs)["clinician"]["ties"]          # doctest: +SKIP
        3
    """
    match = _STATS_PATTERN.search(getattr(dataset.info, "description", "") or "")
    if not match:
        return {}
    try:
        return json.loads(match.group(1))
    except json.JSONDecodeError:
        return {}


def _with_stats(dataset: Any, stats: Mapping[str, Mapping[str, int]]) -> Any:
    dataset.info.description = _DESCRIPTION_PREFIX + json.dumps(stats, sort_keys=True)
    return dataset


def _merge_stats(*all_stats: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    merged: dict[str, dict[str, int]] = {}
    for stats in all_stats:
        for source, counts in stats.items():
            target = merged.setdefault(source, {})
            for key, value in counts.items():
                target[key] = target.get(key, 0) + int(value)
    return merged


# ----------------------------------------------------------------------------- shared helpers


def _question_key(text: str | None) -> str:
    return " ".join((text or "").replace("<image>", " ").split()).casefold()


def _as_dataset(data: Any, what: str):
    from datasets import Dataset

    if isinstance(data, Dataset):
        return data
    if isinstance(data, (list, tuple)):
        return Dataset.from_list(list(data))
    raise TypeError(f"{what} must be a datasets.Dataset or a list of dicts, got {type(data).__name__}")


def _require_columns(dataset: Any, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in dataset.column_names]
    if missing:
        raise ValueError(
            f"{what} lack the column(s) {missing}; they have {dataset.column_names}. "
            "Pass the candidates/judged dataset produced by the generator and judge."
        )


def _pylist(dataset: Any, column: str) -> list[Any]:
    # Arrow read of one column; avoids decoding images or formatting other columns
    return dataset.select_columns([column]).with_format("arrow")[:][column].to_pylist()


def _item_texts(
    dataset: Any, rows: np.ndarray, max_mentions: int, desc: str, *, whole_conversation: bool
) -> dict[int, Any]:
    """Read caption/mentions/messages of the given rows; return row -> selector inputs."""
    present = [c for c in _TEXT_COLUMNS if c in dataset.column_names]
    if not present:
        # no caption/mentions/messages at all: the layout still applies, with empty sections
        empty = format_selector_conversation(None, None, None, max_mentions=max_mentions)
        return {int(r): empty if whole_conversation else (None, None, None) for r in rows}
    subset = dataset.select_columns(present).select(rows.tolist()) if len(rows) else None
    out: dict[int, Any] = {}
    if subset is None:
        return out
    position = 0
    with tqdm(total=len(rows), desc=desc, unit="rows", leave=False) as progress:
        for batch in subset.iter(batch_size=_BATCH):
            size = len(batch[present[0]]) if present else 0
            captions = batch.get("caption", [None] * size)
            mentions = batch.get("mentions", [None] * size)
            messages = batch.get("messages", [None] * size)
            for caption, mention, conversation in zip(captions, mentions, messages, strict=True):
                row = int(rows[position])
                if whole_conversation:
                    out[row] = format_selector_conversation(
                        caption, mention, conversation, max_mentions=max_mentions
                    )
                else:
                    out[row] = (caption, mention, conversation)
                position += 1
            progress.update(size)
    return out


def _dedup_indices(
    chosen_figures: Sequence[str],
    rejected_figures: Sequence[str],
    chosen_texts: Sequence[str],
    rejected_texts: Sequence[str],
    contradictions: Contradictions,
) -> tuple[list[int], list[int], dict[str, int]]:
    """Indices of pairs to keep, their vote counts, and what was merged or dropped."""
    if contradictions not in ("drop", "keep"):
        raise ValueError(f"contradictions must be 'drop' or 'keep', got {contradictions!r}")
    first: dict[tuple[str, str, str, str], int] = {}
    votes: dict[int, int] = {}
    identical = 0
    for index, key in enumerate(
        zip(chosen_figures, rejected_figures, chosen_texts, rejected_texts, strict=True)
    ):
        if key[0] == key[1] and key[2] == key[3]:
            identical += 1
            continue
        if key in first:
            votes[first[key]] += 1
            continue
        first[key] = index
        votes[index] = 1
    contradictory: set[int] = set()
    for (chosen_fig, rejected_fig, chosen_text, rejected_text), index in first.items():
        if (rejected_fig, chosen_fig, rejected_text, chosen_text) in first:
            contradictory.add(index)
    kept = sorted(i for i in first.values() if contradictions == "keep" or i not in contradictory)
    counts = {
        "duplicates_merged": len(chosen_texts) - identical - len(first),
        "identical_pairs_dropped": identical,
        "contradictory_pairs": len(contradictory),
        "contradictory_pairs_dropped": len(contradictory) if contradictions == "drop" else 0,
    }
    return kept, [votes[i] for i in kept], counts


def _image_source(dataset: Any, image_column: str | None):
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


def _assemble(
    source: Any,
    image_column: str | None,
    columns: dict[str, list[Any]],
    chosen_rows: Sequence[int],
    rejected_rows: Sequence[int],
    stats: Mapping[str, Mapping[str, int]],
    desc: str,
):
    """Build the preference Dataset: metadata from ``columns``, images taken from ``source`` rows."""
    from datasets import Dataset, Features, Image, Value

    features = preference_features(decode_images=False)
    meta_features = Features(
        {
            **{name: features[name] for name in columns},
            "_chosen_row": Value("int64"),
            "_rejected_row": Value("int64"),
        }
    )
    index = Dataset.from_dict(
        {**columns, "_chosen_row": list(chosen_rows), "_rejected_row": list(rejected_rows)},
        features=meta_features,
    )
    images = _image_source(source, image_column)
    image_type = Image().pa_type
    names = list(features)

    def attach_images(batch: pa.Table) -> pa.Table:
        if images is None:
            chosen = rejected = pa.nulls(batch.num_rows, type=image_type)
        else:
            arrow_images = images.with_format("arrow")
            chosen = arrow_images[batch.column("_chosen_row").to_pylist()].column(0)
            rejected = arrow_images[batch.column("_rejected_row").to_pylist()].column(0)
        arrays = {"chosen_image": chosen, "rejected_image": rejected}
        return pa.table([arrays[n] if n in arrays else batch.column(n) for n in names], names=names)

    fingerprint = uuid.uuid4().hex
    cache_file_name = None
    if len(index) and getattr(source, "cache_files", None):
        # memory-map the pairs next to the candidates instead of holding every image copy in RAM
        cache_dir = os.path.dirname(source.cache_files[0]["filename"])
        if os.access(cache_dir, os.W_OK):
            cache_file_name = os.path.join(cache_dir, f"preferences-{fingerprint}.arrow")
    pairs = index.with_format("arrow").map(
        attach_images,
        batched=True,
        batch_size=_BATCH,
        remove_columns=index.column_names,
        features=features,
        new_fingerprint=fingerprint,
        cache_file_name=cache_file_name,
        load_from_cache_file=False,
        desc=desc,
    )
    pairs = pairs.with_format(None)
    for column in ("chosen_image", "rejected_image"):
        # flips the decode flag in the schema only; the Arrow data is not rewritten
        pairs = pairs.cast_column(column, Image())
    return _with_stats(pairs, stats)


# ----------------------------------------------------------------------------- clinician pairs


class _Candidates:
    """Lookups into the candidates table: candidate id -> row, figure id -> row, row -> texts."""

    def __init__(self, candidates: Any, max_mentions: int) -> None:
        _require_columns(candidates, ["id"], "candidates")
        self.dataset = candidates
        self.max_mentions = max_mentions
        self.figure_of_row = [str(x) for x in _pylist(candidates, "id")]
        self.row_of_figure: dict[str, int] = {}
        for row, figure in enumerate(self.figure_of_row):
            self.row_of_figure.setdefault(figure, row)
        self.row_of_candidate: dict[str, int] = {}
        if "candidate_id" in candidates.column_names:
            for row, candidate_id in enumerate(_pylist(candidates, "candidate_id")):
                if candidate_id is not None:
                    self.row_of_candidate.setdefault(str(candidate_id), row)
        self._texts: dict[int, Any] = {}

    def load_texts(self, rows: Iterable[int]) -> None:
        wanted = np.array(sorted(set(rows) - set(self._texts)), dtype=np.int64)
        self._texts.update(
            _item_texts(
                self.dataset, wanted, self.max_mentions, "Reading candidates", whole_conversation=False
            )
        )

    def caption_mentions(self, row: int) -> tuple[Any, Any]:
        caption, mentions, _ = self._texts[row]
        return caption, mentions

    def turns(self, row: int) -> list[tuple[str, str]]:
        return qa_pairs(self._texts[row][2])


def _resolve_side(
    record: Mapping[str, Any], index: int, side: str, lookup: _Candidates
) -> tuple[int, str | None, str | None]:
    """Return (row, candidate id, answer text or None when it must be read from the candidate)."""
    suffix = f"_{side}" if side else ""
    label = f"answer {side.upper()}" if side else "the answer"
    candidate_id = record.get(f"candidate_id{suffix}")
    answer = record.get(f"answer{suffix}")
    figure_id = record.get("figure_id")
    if candidate_id is not None:
        row = lookup.row_of_candidate.get(candidate_id)
        if row is None:
            raise ValueError(
                f"record {index}: {label} names candidate {candidate_id!r}, which is not in the candidates"
            )
        if figure_id is not None and lookup.figure_of_row[row] != figure_id:
            raise ValueError(
                f"record {index}: {label} is candidate {candidate_id!r} of figure "
                f"{lookup.figure_of_row[row]!r}, but the record is about figure {figure_id!r}"
            )
        return row, candidate_id, answer
    row = lookup.row_of_figure.get(figure_id) if figure_id is not None else None
    if row is None:
        raise ValueError(f"record {index}: figure {figure_id!r} is not in the candidates")
    return row, None, answer


def _answer_for(
    record: Mapping[str, Any],
    index: int,
    row: int,
    candidate_id: str | None,
    answer: str | None,
    lookup: _Candidates,
) -> tuple[str, str]:
    """Return (question, answer) for one side, reading the candidate's conversation if needed."""
    question = record.get("question")
    if answer is not None:
        if question is None:
            raise ValueError(f"record {index}: a text answer needs the 'question' it answers")
        return question, answer
    turns = lookup.turns(row)
    if question is None:
        if len(turns) != 1:
            raise ValueError(
                f"record {index}: candidate {candidate_id!r} has {len(turns)} turns; "
                "give 'question' to say which answer was judged"
            )
        return turns[0]
    key = _question_key(question)
    for turn_question, turn_answer in turns:
        if _question_key(turn_question) == key:
            # the candidate's own wording, so the text matches what select() lays out for it
            return turn_question, turn_answer
    asked = "; ".join(repr(q[:60]) for q, _ in turns) or "none"
    raise ValueError(
        f"record {index}: candidate {candidate_id!r} has no turn asking {question[:80]!r} (its questions: {asked})"
    )


def _clinician_pairs(
    records: Sequence[Mapping[str, Any]],
    lookup: _Candidates,
    pair_marks_across_annotators: bool,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    problems: list[str] = []
    resolved: list[tuple[int, Mapping[str, Any], list[tuple[int, str | None, str | None]]]] = []
    for index, record in enumerate(records):
        sides = ("a", "b") if record["kind"] == "pairwise" else ("",)
        try:
            resolved.append((index, record, [_resolve_side(record, index, side, lookup) for side in sides]))
        except ValueError as error:
            problems.append(str(error))
    if problems:
        raise AnnotationError(problems)
    lookup.load_texts(row for _, _, sides in resolved for row, _, _ in sides)

    counts = {
        "records": len(records),
        "pairwise_records": 0,
        "mark_records": 0,
        "ties": 0,
        "both_bad": 0,
        "unpaired_marks": 0,
    }
    items: list[dict[str, Any]] = []
    marks: dict[tuple[str, str, str], dict[bool, list[dict[str, Any]]]] = defaultdict(
        lambda: {True: [], False: []}
    )
    for index, record, sides in resolved:
        side_figures = {lookup.figure_of_row[row] for row, _, _ in sides}
        if len(side_figures) > 1:
            problems.append(
                f"record {index}: answers A and B belong to different figures ({', '.join(map(repr, sorted(side_figures)))})"
            )
            continue
        try:
            answers = [_answer_for(record, index, row, cid, answer, lookup) for row, cid, answer in sides]
        except ValueError as error:
            problems.append(str(error))
            continue
        if record["kind"] == "pairwise":
            counts["pairwise_records"] += 1
            (row_a, cid_a, _), (row_b, cid_b, _) = sides
            if _question_key(answers[0][0]) != _question_key(answers[1][0]):
                problems.append(f"record {index}: answers A and B respond to different questions")
                continue
            choice = record["choice"]
            if choice in ("tie", "both_bad"):
                counts["ties" if choice == "tie" else "both_bad"] += 1
                continue
            item_a = {"row": row_a, "candidate_id": cid_a, "question": answers[0][0], "answer": answers[0][1]}
            item_b = {"row": row_b, "candidate_id": cid_b, "question": answers[1][0], "answer": answers[1][1]}
            chosen, rejected = (item_a, item_b) if choice == "A" else (item_b, item_a)
            items.append(
                {"chosen": chosen, "rejected": rejected, "record": record, "pair_kind": "clinician_pairwise"}
            )
        else:
            counts["mark_records"] += 1
            row, cid, _ = sides[0]
            question, answer = answers[0]
            annotator = "" if pair_marks_across_annotators else record["annotator"]
            key = (lookup.figure_of_row[row], _question_key(question), annotator)
            marks[key][record["accepted"]].append(
                {"row": row, "candidate_id": cid, "question": question, "answer": answer, "record": record}
            )
    if problems:
        raise AnnotationError(problems)
    for group in marks.values():
        accepted, rejected_marks = group[True], group[False]
        if not accepted or not rejected_marks:
            counts["unpaired_marks"] += len(accepted) + len(rejected_marks)
            continue
        for chosen in accepted:
            for rejected in rejected_marks:
                annotators = sorted({chosen["record"]["annotator"], rejected["record"]["annotator"]} - {""})
                record = {
                    "annotator": "+".join(annotators),
                    "timestamp": max(chosen["record"]["timestamp"], rejected["record"]["timestamp"]),
                }
                items.append(
                    {"chosen": chosen, "rejected": rejected, "record": record, "pair_kind": "clinician_marks"}
                )
    return items, counts


# ----------------------------------------------------------------------------- judge pairs


def _judge_pair_rows(
    figures: np.ndarray, scores: np.ndarray, min_gap: float, pairs_per_item: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Sample (higher, lower) index pairs; returns them, a same-figure flag, and items left without a partner."""
    n = len(scores)
    anchors_a: list[np.ndarray] = []
    partners_a: list[np.ndarray] = []
    paired_within = np.zeros(n, dtype=bool)
    order = np.argsort(figures, kind="stable")
    boundaries = np.flatnonzero(figures[order][1:] != figures[order][:-1]) + 1
    for members in np.split(order, boundaries):
        if len(members) < 2:
            continue
        member_scores = scores[members]
        eligible = np.abs(member_scores[:, None] - member_scores[None, :]) >= min_gap
        for position, anchor in enumerate(members):
            candidates = members[eligible[position]]
            if len(candidates) == 0:
                continue
            take = min(pairs_per_item, len(candidates))
            partners_a.append(rng.choice(candidates, size=take, replace=False))
            anchors_a.append(np.full(take, anchor))
            paired_within[anchor] = True
    within_anchor = np.concatenate(anchors_a) if anchors_a else np.zeros(0, dtype=np.int64)
    within_partner = np.concatenate(partners_a) if partners_a else np.zeros(0, dtype=np.int64)

    # Items with no usable partner in their own figure are paired across score levels: pick an
    # eligible level uniformly (so rare levels are not drowned by common ones), then an item in it.
    lonely = np.flatnonzero(~paired_within)
    sorted_items = np.argsort(scores, kind="stable")
    levels, level_start, level_count = np.unique(scores[sorted_items], return_index=True, return_counts=True)
    anchor_scores = np.repeat(scores[lonely], pairs_per_item)
    anchors = np.repeat(lonely, pairs_per_item)
    low_levels = np.searchsorted(levels, anchor_scores - min_gap, side="right")
    high_start = np.searchsorted(levels, anchor_scores + min_gap, side="left")
    n_eligible = low_levels + (len(levels) - high_start)
    has_partner = n_eligible > 0
    anchors, low_levels, high_start, n_eligible = (
        anchors[has_partner],
        low_levels[has_partner],
        high_start[has_partner],
        n_eligible[has_partner],
    )
    pick = np.floor(rng.random(len(anchors)) * n_eligible).astype(np.int64)
    level = np.where(pick < low_levels, pick, high_start + pick - low_levels)
    offset = np.floor(rng.random(len(anchors)) * level_count[level]).astype(np.int64)
    cross_partner = sorted_items[level_start[level] + offset]
    items_without_partner = int(np.count_nonzero(~np.isin(lonely, anchors)))

    first = np.concatenate([within_anchor, anchors]).astype(np.int64)
    second = np.concatenate([within_partner, cross_partner]).astype(np.int64)
    same_figure = np.concatenate([np.ones(len(within_anchor), bool), np.zeros(len(anchors), bool)])
    higher = np.where(scores[first] > scores[second], first, second)
    lower = np.where(scores[first] > scores[second], second, first)
    # an unordered pair drawn from both ends counts once
    _, unique_positions = np.unique(np.stack([higher, lower], axis=1), axis=0, return_index=True)
    unique_positions.sort()
    return (
        higher[unique_positions],
        lower[unique_positions],
        same_figure[unique_positions],
        items_without_partner,
    )


# ----------------------------------------------------------------------------- public API


class PreferenceDataset:
    """Constructors and tools for preference pairs; every constructor returns a ``datasets.Dataset``.

    The class is a namespace (like ``datasets.load_dataset`` returning plain datasets): the
    results are ordinary ``Dataset`` objects with the columns listed in this module's
    docstring, ready for ``SelectorTrainer`` and ``push_to_hub``.

    Example:
        >>> clinician = PreferenceDataset.from_clinician_annotations("annotations.jsonl", candidates)  # doctest: +SKIP
        >>> judge = PreferenceDataset.from_judge_scores(judged, min_gap=2, pairs_per_item=2, seed=0)  # doctest: +SKIP
        >>> train = PreferenceDataset.mix(clinician, judge, clinician_weight=100)                     # doctest: +SKIP
        >>> print(PreferenceDataset.summarize(train))                                                 # doctest: +SKIP
    """

    @classmethod
    def from_clinician_annotations(
        cls,
        annotations: Any,
        candidates: Any,
        *,
        weight: float = 1.0,
        pair_marks_across_annotators: bool = False,
        contradictions: Contradictions = "drop",
        max_mentions: int = DEFAULT_MAX_MENTIONS,
        image_column: str = "image",
    ):
        """Turn clinician judgements into preference pairs.

        Pairwise records with choice ``A``/``B`` give one pair each; ``tie`` and ``both_bad``
        give none and are counted. Accept/reject marks on answers to the same question (same
        figure, same annotator unless ``pair_marks_across_annotators``) give every
        accepted x rejected pair. Pairs with the same figure and texts are merged (``votes``
        counts them); A>B and B>A from different records are contradictions, dropped or kept
        by ``contradictions`` and counted either way. The record schema is documented in
        :mod:`biomed_vital.preferences.annotations`.

        Args:
            annotations: a JSONL path, a ``datasets.Dataset`` or a list of dicts.
            candidates: the candidates (or judged) dataset the records refer to: needs ``id``
                and, for records naming candidates, ``candidate_id`` and ``messages``;
                ``caption``, ``mentions`` and ``image`` are used when present.
            weight: the initial ``weight`` of every pair (:meth:`mix` sets it per source).
            pair_marks_across_annotators: pair one clinician's accepted answer with another
                clinician's rejected answer to the same question.
            contradictions: ``"drop"`` (default) or ``"keep"`` contradictory pairs.
            max_mentions: passed to :func:`format_selector_text`.
            image_column: the image column of ``candidates``.

        Raises:
            AnnotationError: listing every bad record by index (unknown candidate or figure,
                a candidate of another figure, a question the candidate never asks, a bad
                choice value); nothing is built until all records are valid.

        Example:
            >>> pairs = PreferenceDataset.from_clinician_annotations(
            ...     [{"candidate_id_a": "c1", "candidate_id_b": "c2", "question": "What modality?",
            ...       "choice": "B", "annotator": "rad-1"}], candidates)                  # doctest: +SKIP
        """
        _check_weight(weight, "weight")
        records = read_annotations(annotations)
        candidates = _as_dataset(candidates, "candidates")
        lookup = _Candidates(candidates, max_mentions)
        items, counts = _clinician_pairs(records, lookup, pair_marks_across_annotators)

        def text(item: Mapping[str, Any]) -> str:
            caption, mentions = lookup.caption_mentions(item["row"])
            return format_selector_text(
                caption, mentions, item["question"], item["answer"], max_mentions=max_mentions
            )

        chosen_text = [text(item["chosen"]) for item in items]
        rejected_text = [text(item["rejected"]) for item in items]
        chosen_fig = [lookup.figure_of_row[item["chosen"]["row"]] for item in items]
        rejected_fig = [lookup.figure_of_row[item["rejected"]["row"]] for item in items]
        kept, votes, dedup_counts = _dedup_indices(
            chosen_fig, rejected_fig, chosen_text, rejected_text, contradictions
        )
        counts.update(dedup_counts)
        counts["pairs"] = len(kept)
        kept_items = [items[i] for i in kept]
        columns = {
            "chosen_text": [chosen_text[i] for i in kept],
            "rejected_text": [rejected_text[i] for i in kept],
            "weight": [float(weight)] * len(kept),
            "source": ["clinician"] * len(kept),
            "annotator": [item["record"]["annotator"] for item in kept_items],
            "figure_id": [chosen_fig[i] for i in kept],
            "question": [item["chosen"]["question"] for item in kept_items],
            "pair_kind": [item["pair_kind"] for item in kept_items],
            "chosen_candidate_id": [item["chosen"]["candidate_id"] or "" for item in kept_items],
            "rejected_candidate_id": [item["rejected"]["candidate_id"] or "" for item in kept_items],
            "chosen_score": [None] * len(kept),
            "rejected_score": [None] * len(kept),
            "chosen_figure_id": [chosen_fig[i] for i in kept],
            "rejected_figure_id": [rejected_fig[i] for i in kept],
            "votes": votes,
            "timestamp": [item["record"]["timestamp"] for item in kept_items],
        }
        if not kept:
            logger.warning("no clinician pairs were built from %d records (%s)", len(records), counts)
        return _assemble(
            candidates,
            image_column,
            columns,
            [item["chosen"]["row"] for item in kept_items],
            [item["rejected"]["row"] for item in kept_items],
            {"clinician": counts},
            "Building clinician pairs",
        )

    @classmethod
    def from_judge_scores(
        cls,
        judged: Any,
        *,
        min_gap: float = 2.0,
        pairs_per_item: int = 2,
        seed: int = 0,
        weight: float = 1.0,
        max_mentions: int = DEFAULT_MAX_MENTIONS,
        image_column: str = "image",
        unit: Literal["auto", "turn", "conversation"] = "auto",
    ):
        """Sample preference pairs from judge scores (the *judged* columns).

        Rows with ``judge_score`` null or not finite, ``judge_status`` other than ``"ok"``,
        or a failed generation (``status`` other than ``"ok"``) are skipped and counted.
        Each usable candidate anchors up to ``pairs_per_item`` pairs with partners scored at
        least ``min_gap`` apart, the higher score being *chosen*:

        - when its figure has other candidates that far apart, partners come from the same
          figure (``pair_kind="judge_same_figure"``): the comparison the judge's scale is most
          reliable for;
        - otherwise partners come from any figure, by picking an eligible score level
          uniformly and then a candidate at that level (``pair_kind="judge_score_levels"``),
          as the paper samples pairs across score levels with a minimum gap.

        A pair drawn from both ends is kept once; the same ``seed`` gives the same pairs.

        ``unit`` decides what an item is. ``"turn"`` (the default when the judged data has
        ``judge_turn_scores``, as ``GPT4VJudge(granularity="turn")`` writes): each question/answer
        turn with its own score, laid out with :func:`format_selector_text` exactly like clinician
        pairs and like ``select(score_by="qa_mean")``; same-group partners are other answers to the
        same question of the same figure (``pair_kind="judge_same_question"``). Rows whose turn
        scores do not match their turns are skipped and counted. ``"conversation"``: each
        candidate with ``judge_score``, laid out with :func:`format_selector_conversation`
        (matching ``select(score_by="conversation")``), grouped by figure.

        Args:
            judged: a ``datasets.Dataset`` with ``id``, ``candidate_id``, ``judge_score`` and
                usually ``judge_status``, ``caption``, ``mentions``, ``messages``, ``image``.
            min_gap: the smallest score difference that makes a pair (> 0).
            pairs_per_item: how many pairs each usable candidate anchors (>= 1).
            seed: the sampling seed.
            weight: the initial ``weight`` of every pair.
            max_mentions: passed to the text layout.
            image_column: the image column of ``judged``.
            unit: ``"auto"``, ``"turn"`` or ``"conversation"`` (see above).

        Example:
            >>> pairs = PreferenceDataset.from_judge_scores(judged, min_gap=2, pairs_per_item=2, seed=0)  # doctest: +SKIP
        """
        if not (isinstance(min_gap, (int, float)) and math.isfinite(min_gap) and min_gap > 0):
            raise ValueError(
                f"min_gap must be a positive number (equal scores cannot be ordered), got {min_gap!r}"
            )
        if not (isinstance(pairs_per_item, int) and pairs_per_item >= 1):
            raise ValueError(f"pairs_per_item must be an integer >= 1, got {pairs_per_item!r}")
        if unit not in ("auto", "turn", "conversation"):
            raise ValueError(f"unit must be 'auto', 'turn' or 'conversation', got {unit!r}")
        _check_weight(weight, "weight")
        judged = _as_dataset(judged, "judged")
        _require_columns(judged, ["id", "candidate_id", "judge_score"], "judged rows")
        meta_columns = [
            c
            for c in ("id", "candidate_id", "judge_score", "judge_status", "status")
            if c in judged.column_names
        ]
        if "judge_model" in judged.column_names:
            meta_columns.append("judge_model")
        table = judged.select_columns(meta_columns).with_format("arrow")[:]
        raw_scores = table.column("judge_score").to_pylist()
        scores = np.array([np.nan if s is None else float(s) for s in raw_scores], dtype=np.float64)
        usable = np.isfinite(scores)
        counts = {"rows": len(scores), "skipped_no_score": int(np.count_nonzero(~usable))}
        for column, key in (
            ("judge_status", "skipped_judge_status"),
            ("status", "skipped_generation_status"),
        ):
            if column in meta_columns:
                ok = np.array([s == "ok" for s in table.column(column).to_pylist()], dtype=bool)
                counts[key] = int(np.count_nonzero(usable & ~ok))
                usable &= ok
            else:
                counts[key] = 0
        usable_rows = np.flatnonzero(usable)
        counts["usable_rows"] = len(usable_rows)
        figures = np.array([str(x) for x in table.column("id").to_pylist()], dtype=object)
        candidate_ids = [str(x) for x in table.column("candidate_id").to_pylist()]
        judge_models = table.column("judge_model").to_pylist() if "judge_model" in meta_columns else None

        if unit == "auto":
            unit = "turn" if "judge_turn_scores" in judged.column_names else "conversation"
        rng = np.random.default_rng(seed)
        if unit == "conversation":
            item_rows = usable_rows
            item_scores = scores[usable_rows]
            item_groups = figures[usable_rows].astype(str)
        else:
            _require_columns(judged, ["judge_turn_scores", "messages"], "judged rows (unit='turn')")
            turn_scores = judged.select_columns(["judge_turn_scores"]).with_format("arrow")[:]
            turn_scores = turn_scores.column(0).to_pylist()
            row_inputs = _item_texts(
                judged, usable_rows, max_mentions, "Reading judged turns", whole_conversation=False
            )
            rows_list, scores_list, groups_list, turn_texts = [], [], [], {}
            counts["rows_turn_count_mismatch"] = counts["skipped_turns_no_score"] = 0
            for row in usable_rows.tolist():
                caption, mentions, messages = row_inputs[row]
                turns = qa_pairs(messages)
                row_scores = turn_scores[row] or []
                if len(row_scores) != len(turns):
                    # scores that cannot be matched to turns (e.g. judged per conversation) are not guessed
                    counts["rows_turn_count_mismatch"] += 1
                    continue
                for (question, answer), score in zip(turns, row_scores, strict=True):
                    if score is None or not math.isfinite(score):
                        counts["skipped_turns_no_score"] += 1
                        continue
                    turn_texts[len(rows_list)] = (
                        format_selector_text(caption, mentions, question, answer, max_mentions=max_mentions),
                        question,
                    )
                    rows_list.append(row)
                    scores_list.append(float(score))
                    groups_list.append(f"{figures[row]}\x1f{_question_key(question)}")
            del row_inputs  # the conversations are no longer needed; keeps the peak down at 100k rows
            item_rows = np.array(rows_list, dtype=np.int64)
            item_scores = np.array(scores_list, dtype=np.float64)
            item_groups = np.array(groups_list, dtype=object).astype(str)
            del rows_list, scores_list, groups_list
        counts["items"] = len(item_rows)
        local_high, local_low, same_group, without_partner = _judge_pair_rows(
            item_groups, item_scores, float(min_gap), pairs_per_item, rng
        )
        chosen_rows, rejected_rows = item_rows[local_high], item_rows[local_low]
        counts["items_without_partner"] = without_partner
        counts["sampled_pairs"] = len(chosen_rows)

        if unit == "conversation":
            needed = np.unique(np.concatenate([chosen_rows, rejected_rows]))
            texts = _item_texts(
                judged, needed, max_mentions, "Formatting judged candidates", whole_conversation=True
            )
            chosen_text = [texts[int(r)] for r in chosen_rows]
            rejected_text = [texts[int(r)] for r in rejected_rows]
            questions = [""] * len(chosen_rows)
            same_kind = "judge_same_figure"
        else:
            chosen_text = [turn_texts[int(i)][0] for i in local_high]
            rejected_text = [turn_texts[int(i)][0] for i in local_low]
            questions = [turn_texts[int(i)][1] for i in local_high]
            del turn_texts
            same_kind = "judge_same_question"
        chosen_fig = [str(figures[r]) for r in chosen_rows]
        rejected_fig = [str(figures[r]) for r in rejected_rows]
        kept, votes, dedup_counts = _dedup_indices(
            chosen_fig, rejected_fig, chosen_text, rejected_text, "drop"
        )
        counts.update(dedup_counts)
        counts["pairs"] = len(kept)
        kept_array = np.array(kept, dtype=np.int64)
        chosen_rows, rejected_rows = chosen_rows[kept_array], rejected_rows[kept_array]
        columns = {
            "chosen_text": [chosen_text[i] for i in kept],
            "rejected_text": [rejected_text[i] for i in kept],
            "weight": [float(weight)] * len(kept),
            "source": ["judge"] * len(kept),
            "annotator": [str(judge_models[r] or "") for r in chosen_rows]
            if judge_models
            else [""] * len(kept),
            "figure_id": [chosen_fig[i] for i in kept],
            "question": [questions[i] for i in kept],
            "pair_kind": [same_kind if same_group[i] else "judge_score_levels" for i in kept],
            "chosen_candidate_id": [candidate_ids[r] for r in chosen_rows],
            "rejected_candidate_id": [candidate_ids[r] for r in rejected_rows],
            "chosen_score": item_scores[local_high[kept_array]].tolist(),
            "rejected_score": item_scores[local_low[kept_array]].tolist(),
            "chosen_figure_id": [chosen_fig[i] for i in kept],
            "rejected_figure_id": [rejected_fig[i] for i in kept],
            "votes": votes,
            "timestamp": [""] * len(kept),
        }
        if not kept:
            logger.warning("no judge pairs were built (%s)", counts)
        return _assemble(
            judged,
            image_column,
            columns,
            chosen_rows.tolist(),
            rejected_rows.tolist(),
            {"judge": counts},
            "Building judge pairs",
        )

    @staticmethod
    def mix(clinician: Any, judge: Any, *, clinician_weight: float | Mapping[str, float]):
        """Concatenate clinician and judge pairs and set ``weight`` per source.

        See :func:`mix_preferences`.
        """
        return mix_preferences(clinician, judge, clinician_weight=clinician_weight)

    @staticmethod
    def weight_sweep(
        clinician: Any, judge: Any, clinician_weights: Sequence[float] = PAPER_CLINICIAN_WEIGHTS
    ) -> dict[float, Any]:
        """One mixed dataset per clinician weight; see :func:`clinician_weight_sweep`."""
        return clinician_weight_sweep(clinician, judge, clinician_weights)

    @staticmethod
    def train_test_split_by_figure(
        dataset: Any, *, test_size: float = 0.1, seed: int = 0, stratify_by_source: bool = True
    ):
        """Split so that no figure is in both splits; see :func:`train_test_split_by_figure`."""
        return train_test_split_by_figure(
            dataset, test_size=test_size, seed=seed, stratify_by_source=stratify_by_source
        )

    @staticmethod
    def deduplicate(dataset: Any, *, contradictions: Contradictions = "drop"):
        """Merge duplicate pairs; see :func:`deduplicate_preferences`."""
        return deduplicate_preferences(dataset, contradictions=contradictions)

    @staticmethod
    def summarize(dataset: Any) -> str:
        """A short text summary; see :func:`summarize_preferences`."""
        return summarize_preferences(dataset)


def _check_weight(value: Any, name: str) -> float:
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def mix_preferences(clinician: Any, judge: Any, *, clinician_weight: float | Mapping[str, float]):
    """Concatenate clinician and judge pairs into one dataset and set ``weight`` by ``source``.

    Clinician pairs get ``clinician_weight`` and judge pairs 1.0; a mapping such as
    ``{"clinician": 100, "judge": 1}`` sets every source explicitly (each source in the data
    must then be listed). The paper swept the clinician weight over 1, 10, 100, 200, 300 and
    400 (``PAPER_CLINICIAN_WEIGHTS``; :func:`clinician_weight_sweep` builds them all); there
    is no default because the right value depends on how many clinician pairs there are.
    Either input may be ``None``. Only the ``weight`` column is rewritten: images are not copied.

    Example:
        >>> train = mix_preferences(clinician_pairs, judge_pairs, clinician_weight=100.0)  # doctest: +SKIP
        >>> sorted(set(zip(train["source"], train["weight"])))                              # doctest: +SKIP
        [('clinician', 100.0), ('judge', 1.0)]
    """
    from datasets import Value, concatenate_datasets

    if isinstance(clinician_weight, Mapping):
        weights = {str(k): _check_weight(v, f"weight of source {k!r}") for k, v in clinician_weight.items()}
    else:
        weights = {"clinician": _check_weight(clinician_weight, "clinician_weight"), "judge": 1.0}
    parts = [d for d in (clinician, judge) if d is not None]
    if not parts:
        raise ValueError("mix needs at least one of clinician or judge pairs")
    features = preference_features()
    for name, part in (("clinician", clinician), ("judge", judge)):
        if part is not None:
            _require_columns(part, list(features), f"the {name} pairs")
    stats = _merge_stats(*(preference_build_stats(d) for d in parts))
    parts = [d.select_columns(list(features)).cast(features) if d.features != features else d for d in parts]
    mixed = concatenate_datasets(parts) if len(parts) > 1 else parts[0]
    sources = _pylist(mixed, "source")
    unknown = sorted(set(sources) - set(weights))
    if unknown:
        raise ValueError(
            f"no weight given for source(s) {unknown}; pass a mapping with a weight for each of them"
        )
    new_weights = [weights[s] for s in sources]
    order = mixed.column_names
    mixed = mixed.remove_columns("weight").add_column("weight", new_weights, feature=Value("float64"))
    mixed = mixed.select_columns(order)
    return _with_stats(mixed, stats)


def clinician_weight_sweep(
    clinician: Any, judge: Any, clinician_weights: Sequence[float] = PAPER_CLINICIAN_WEIGHTS
) -> dict[float, Any]:
    """Build one mixed dataset per clinician weight (the paper's sweep by default).

    Each result shares the image data of its inputs; only the ``weight`` column differs.

    Example:
        >>> sweep = clinician_weight_sweep(clinician_pairs, judge_pairs)   # doctest: +SKIP
        >>> list(sweep)                                                      # doctest: +SKIP
        [1.0, 10.0, 100.0, 200.0, 300.0, 400.0]
    """
    return {float(w): mix_preferences(clinician, judge, clinician_weight=float(w)) for w in clinician_weights}


def deduplicate_preferences(dataset: Any, *, contradictions: Contradictions = "drop"):
    """Merge pairs with the same figures and texts, and drop or keep contradictory pairs.

    A duplicate adds its ``votes`` to the first occurrence (and weights are not summed: the
    pair is one observation). A pair whose reverse is also present (A>B and B>A) is a
    contradiction: both are dropped (``"drop"``) or kept (``"keep"``). The counts are added
    to the build statistics shown by :func:`summarize_preferences`.

    Example:
        >>> clean = deduplicate_preferences(pairs, contradictions="drop")   # doctest: +SKIP
    """
    _require_columns(dataset, ["chosen_text", "rejected_text", "figure_id"], "the preference pairs")
    figure_column = "chosen_figure_id" if "chosen_figure_id" in dataset.column_names else "figure_id"
    rejected_column = "rejected_figure_id" if "rejected_figure_id" in dataset.column_names else "figure_id"
    kept, votes, counts = _dedup_indices(
        _pylist(dataset, figure_column),
        _pylist(dataset, rejected_column),
        _pylist(dataset, "chosen_text"),
        _pylist(dataset, "rejected_text"),
        contradictions,
    )
    stats = preference_build_stats(dataset)
    result = dataset.select(kept)
    if "votes" in dataset.column_names:
        old_votes = _pylist(dataset, "votes")
        # the merged pair carries the votes of every record it absorbed
        totals = _merged_votes(dataset, kept, old_votes)
        order = result.column_names
        result = result.remove_columns("votes").add_column("votes", totals, feature=dataset.features["votes"])
        result = result.select_columns(order)
    stats = _merge_stats(stats, {"deduplication": counts})
    return _with_stats(result, stats)


def _merged_votes(dataset: Any, kept: Sequence[int], old_votes: Sequence[int]) -> list[int]:
    keys = list(
        zip(
            _pylist(
                dataset, "chosen_figure_id" if "chosen_figure_id" in dataset.column_names else "figure_id"
            ),
            _pylist(
                dataset, "rejected_figure_id" if "rejected_figure_id" in dataset.column_names else "figure_id"
            ),
            _pylist(dataset, "chosen_text"),
            _pylist(dataset, "rejected_text"),
            strict=True,
        )
    )
    totals: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for key, vote in zip(keys, old_votes, strict=True):
        totals[key] += int(vote or 1)
    return [totals[keys[i]] for i in kept]


def train_test_split_by_figure(
    dataset: Any, *, test_size: float | int = 0.1, seed: int = 0, stratify_by_source: bool = True
):
    """Split preference pairs so that no figure appears in both splits.

    Figures (not pairs) are assigned to the test split at random with ``seed``. With
    ``stratify_by_source`` the figures that carry clinician pairs are split separately from
    the judge-only figures, so the test split holds clinician pairs whenever at least two
    figures have them. A judge pair across score levels touches two figures; it goes to a
    split only when both of its figures are there, and is dropped otherwise (the count is
    logged and stored as ``pairs_dropped_across_splits``).

    Args:
        dataset: preference pairs.
        test_size: a fraction of the figures (0 < x < 1) or a number of figures.
        seed: the shuffling seed.
        stratify_by_source: split clinician figures and judge-only figures separately.

    Returns:
        A ``datasets.DatasetDict`` with ``train`` and ``test``.

    Example:
        >>> splits = train_test_split_by_figure(pairs, test_size=0.2, seed=0)    # doctest: +SKIP
        >>> set(splits["train"]["figure_id"]) & set(splits["test"]["figure_id"])  # doctest: +SKIP
        set()
    """
    from datasets import DatasetDict

    _require_columns(dataset, ["figure_id"], "the preference pairs")
    chosen_figs = [str(x) for x in _pylist(dataset, "figure_id")]
    rejected_figs = (
        [str(x) for x in _pylist(dataset, "rejected_figure_id")]
        if "rejected_figure_id" in dataset.column_names
        else chosen_figs
    )
    sources = _pylist(dataset, "source") if "source" in dataset.column_names else [""] * len(chosen_figs)
    all_figures = sorted(set(chosen_figs) | set(rejected_figs))
    if len(all_figures) < 2:
        raise ValueError(
            f"cannot split by figure: the pairs cover {len(all_figures)} figure(s); at least 2 are needed"
        )
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)):
        raise ValueError(f"test_size must be a fraction or a number of figures, got {test_size!r}")
    if isinstance(test_size, float):
        if not 0 < test_size < 1:
            raise ValueError(f"test_size as a fraction must be between 0 and 1, got {test_size}")
        fraction = test_size
    else:
        if not 0 < test_size < len(all_figures):
            raise ValueError(
                f"test_size must be between 1 and {len(all_figures) - 1} figures, got {test_size}"
            )
        fraction = test_size / len(all_figures)

    if stratify_by_source:
        clinician_figures = {f for f, s in zip(chosen_figs, sources, strict=True) if s == "clinician"}
        clinician_figures |= {f for f, s in zip(rejected_figs, sources, strict=True) if s == "clinician"}
        strata = [sorted(clinician_figures), sorted(set(all_figures) - clinician_figures)]
    else:
        strata = [all_figures]
    rng = np.random.default_rng(seed)
    test_figures: set[str] = set()
    for stratum in strata:
        if not stratum:
            continue
        n_test = int(round(fraction * len(stratum)))
        if len(stratum) >= 2:
            n_test = min(max(n_test, 1), len(stratum) - 1)
        shuffled = rng.permutation(len(stratum))
        test_figures.update(stratum[i] for i in shuffled[:n_test])
    train_rows, test_rows, dropped = [], [], 0
    for row, (chosen, rejected) in enumerate(zip(chosen_figs, rejected_figs, strict=True)):
        in_test = (chosen in test_figures, rejected in test_figures)
        if all(in_test):
            test_rows.append(row)
        elif not any(in_test):
            train_rows.append(row)
        else:
            dropped += 1
    if dropped:
        logger.warning("%d pair(s) compare figures that fell into different splits and were dropped", dropped)
    stats = _merge_stats(preference_build_stats(dataset), {"split": {"pairs_dropped_across_splits": dropped}})
    return DatasetDict(
        {
            "train": _with_stats(dataset.select(train_rows), stats),
            "test": _with_stats(dataset.select(test_rows), stats),
        }
    )


def summarize_preferences(dataset: Any) -> str:
    """Describe a preference dataset in a few lines: pairs and weight mass by source, and the
    records that produced no pair (ties, both-bad, unpaired marks, skipped judge rows).

    Example:
        >>> print(summarize_preferences(train))             # doctest: +SKIP
        1,214 preference pairs over 380 figures
          source        pairs    weight mass   share of weight
          clinician       114       11,400.0             91.3%
          judge         1,100        1,100.0              8.7%
        ...
    """
    sources = _pylist(dataset, "source") if "source" in dataset.column_names else ["?"] * len(dataset)
    weights = _pylist(dataset, "weight") if "weight" in dataset.column_names else [1.0] * len(dataset)
    figures: set[str] = set()
    for column in ("figure_id", "rejected_figure_id"):
        if column in dataset.column_names:
            figures.update(str(f) for f in _pylist(dataset, column))
    pair_count: dict[str, int] = defaultdict(int)
    mass: dict[str, float] = defaultdict(float)
    for source, weight in zip(sources, weights, strict=True):
        pair_count[source] += 1
        mass[source] += float(weight if weight is not None else 1.0)
    total_mass = sum(mass.values()) or 1.0
    lines = [f"{len(dataset):,} preference pairs over {len(figures):,} figures"]
    if pair_count:
        lines.append(f"  {'source':<12}{'pairs':>8}{'weight mass':>15}{'share of weight':>18}")
        for source in sorted(pair_count):
            lines.append(
                f"  {source:<12}{pair_count[source]:>8,}{mass[source]:>15,.1f}{mass[source] / total_mass:>17.1%}"
            )
    stats = preference_build_stats(dataset)
    clinician = stats.get("clinician")
    if clinician:
        lines.append(
            "clinician records: {records:,} ({pairwise_records:,} pairwise, {mark_records:,} accept/reject marks); "
            "ties {ties:,}, both bad {both_bad:,}, unpaired marks {unpaired_marks:,}".format(
                **_defaults(clinician)
            )
        )
        lines.append(_dedup_line(clinician))
    judge = stats.get("judge")
    if judge:
        lines.append(
            "judge rows: {rows:,}, usable {usable_rows:,}; skipped: no score {skipped_no_score:,}, "
            "judge status {skipped_judge_status:,}, generation status {skipped_generation_status:,}; "
            "items without a partner {items_without_partner:,}".format(**_defaults(judge))
        )
        if judge.get("rows_turn_count_mismatch") or judge.get("skipped_turns_no_score"):
            lines.append(
                "  per-turn scores: rows whose scores do not match their turns {rows_turn_count_mismatch:,}, "
                "turns without a score {skipped_turns_no_score:,}".format(**_defaults(judge))
            )
        lines.append(_dedup_line(judge))
    if stats.get("deduplication"):
        lines.append(_dedup_line(stats["deduplication"]))
    if stats.get("split", {}).get("pairs_dropped_across_splits"):
        lines.append(f"pairs dropped across splits: {stats['split']['pairs_dropped_across_splits']:,}")
    return "\n".join(lines)


def _defaults(counts: Mapping[str, int]) -> dict[str, int]:
    return defaultdict(int, counts)


def _dedup_line(counts: Mapping[str, int]) -> str:
    c = _defaults(counts)
    return (
        f"  duplicates merged {c['duplicates_merged']:,}, identical pairs dropped {c['identical_pairs_dropped']:,}, "
        f"contradictory pairs {c['contradictory_pairs']:,} (dropped {c['contradictory_pairs_dropped']:,})"
    )
