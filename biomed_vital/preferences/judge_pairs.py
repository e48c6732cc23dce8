"""Preference pairs sampled from judge scores: the work behind
:meth:`~biomed_vital.preferences.PreferenceDataset.from_judge_scores`.

Rows the judge could not score, or whose generation failed, are skipped and counted. An *item* is a
question/answer turn with its ``judge_turn_scores`` entry, a candidate's first question/answer with its
``judge_score``, or a whole candidate with its ``judge_score``; items are paired by
:func:`sample_pair_indices` (or, as the paper did, across score levels by
:func:`sample_score_level_pairs`) and laid out with
:func:`~biomed_vital.data.format_selector_text` (turns) or
:func:`~biomed_vital.data.format_selector_conversation` (conversations), the layouts ``select()``
scores.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from biomed_vital import schema
from biomed_vital.data import format_selector_text, qa_pairs
from biomed_vital.preferences.assembly import PairDraft, assemble_pairs
from biomed_vital.preferences.judge_pairs_config import JudgePairConfig
from biomed_vital.preferences.reading import as_dataset, question_key, read_item_texts, require_columns

__all__ = [
    "PAIR_KIND_SAME_FIGURE",
    "PAIR_KIND_SAME_QUESTION",
    "PAIR_KIND_SCORE_LEVELS",
    "build_judge_pairs",
    "sample_pair_indices",
    "sample_score_level_pairs",
]

#: ``pair_kind`` of two answers to the same question of one figure (per-turn scores).
PAIR_KIND_SAME_QUESTION = "judge_same_question"
#: ``pair_kind`` of two candidates of one figure (per-conversation scores).
PAIR_KIND_SAME_FIGURE = "judge_same_figure"
#: ``pair_kind`` of two items of different groups, paired across score levels.
PAIR_KIND_SCORE_LEVELS = "judge_score_levels"

_META_COLUMNS = (
    schema.ID,
    schema.CANDIDATE_ID,
    schema.JUDGE_SCORE,
    schema.JUDGE_STATUS,
    schema.STATUS,
    schema.JUDGE_MODEL,
)


def build_judge_pairs(judged: Any, config: JudgePairConfig) -> Any:
    """Sample preference pairs (the *preferences* columns) from the judge scores of ``judged``.

    Call it through :meth:`PreferenceDataset.from_judge_scores
    <biomed_vital.preferences.PreferenceDataset.from_judge_scores>`, which documents the rules and
    takes the options as keyword arguments. With ``pairing="score_levels"`` the result is a
    ``DatasetDict`` with ``train`` and ``test``; otherwise one ``Dataset``.

    Example:
        >>> pairs = build_judge_pairs(judged, JudgePairConfig(min_gap=3))      # doctest: +SKIP
    """
    judged = as_dataset(judged, "judged")
    require_columns(judged, [schema.ID, schema.CANDIDATE_ID, schema.JUDGE_SCORE], "judged rows")
    rows = _UsableRows(judged)
    counts = dict(rows.counts)
    unit = config.unit
    if unit == "auto":
        unit = "turn" if schema.JUDGE_TURN_SCORES in judged.column_names else "conversation"
    if unit == "conversation":
        items = _conversation_items(rows)
    elif unit == "first_pair":
        items = _first_pair_items(judged, rows, config.max_mentions, counts)
    else:
        items = _turn_items(judged, rows, config.max_mentions, counts)
    counts["items"] = len(items.rows)
    rng = np.random.default_rng(config.seed)
    if config.pairing == "score_levels":
        from datasets import DatasetDict

        train, test, level_counts = sample_score_level_pairs(
            items.scores,
            float(config.min_gap),
            config.level_train_fraction,
            int(config.num_pairs or 0),
            config.num_test_pairs,
            rng,
        )
        counts.update(level_counts)
        splits = {}
        for name, (high, low) in (("train", train), ("test", test)):
            split_counts = {**counts, "sampled_pairs": len(high)}
            no_group = np.zeros(len(high), dtype=bool)
            splits[name] = _assemble(judged, config, rows, items, unit, high, low, no_group, split_counts)
        return DatasetDict(splits)
    high, low, same_group, counts["items_without_partner"] = sample_pair_indices(
        items.groups, items.scores, float(config.min_gap), config.pairs_per_item, rng
    )
    counts["sampled_pairs"] = len(high)
    return _assemble(judged, config, rows, items, unit, high, low, same_group, counts)


def _assemble(
    judged: Any,
    config: JudgePairConfig,
    rows: _UsableRows,
    items: _Items,
    unit: str,
    high: np.ndarray,
    low: np.ndarray,
    same_group: np.ndarray,
    counts: dict[str, int],
) -> Any:
    """The preference Dataset of the sampled (higher, lower) item pairs."""
    chosen_rows, rejected_rows = items.rows[high], items.rows[low]
    if unit == "conversation":
        needed = np.unique(np.concatenate([chosen_rows, rejected_rows]))
        texts = read_item_texts(
            judged, needed, config.max_mentions, "Formatting judged candidates", whole_conversation=True
        )
        chosen_text = [texts[int(r)] for r in chosen_rows]
        rejected_text = [texts[int(r)] for r in rejected_rows]
        questions = [""] * len(high)
        same_kind = PAIR_KIND_SAME_FIGURE
    else:
        chosen_text = [items.texts[int(i)] for i in high]
        rejected_text = [items.texts[int(i)] for i in low]
        questions = [items.questions[int(i)] for i in high]
        same_kind = PAIR_KIND_SAME_QUESTION if unit == "turn" else PAIR_KIND_SAME_FIGURE
    draft = PairDraft(
        chosen_rows=chosen_rows.tolist(),
        rejected_rows=rejected_rows.tolist(),
        chosen_text=chosen_text,
        rejected_text=rejected_text,
        chosen_figure_id=[str(rows.figures[r]) for r in chosen_rows],
        rejected_figure_id=[str(rows.figures[r]) for r in rejected_rows],
        annotator=[str(rows.judge_models[r] or "") for r in chosen_rows]
        if rows.judge_models
        else [""] * len(high),
        question=questions,
        pair_kind=[same_kind if same else PAIR_KIND_SCORE_LEVELS for same in same_group],
        chosen_candidate_id=[rows.candidate_ids[r] for r in chosen_rows],
        rejected_candidate_id=[rows.candidate_ids[r] for r in rejected_rows],
        chosen_score=items.scores[high].tolist(),
        rejected_score=items.scores[low].tolist(),
        timestamp=[""] * len(high),
    )
    return assemble_pairs(
        judged,
        draft,
        source=schema.SOURCE_JUDGE,
        weight=config.weight,
        contradictions="drop",
        counts=counts,
        image_column=config.image_column,
        desc="Building judge pairs",
    )


class _UsableRows:
    """The judged rows that can be paired, with their figure, candidate id, judge model and score.

    A row is usable when its ``judge_score`` is a finite number, its ``judge_status`` (when present)
    is ``ok`` and its generation ``status`` (when present) is ``ok``; the others are counted.
    """

    def __init__(self, judged: Any) -> None:
        meta_columns = [c for c in _META_COLUMNS if c in judged.column_names]
        table = judged.select_columns(meta_columns).with_format("arrow")[:]
        raw_scores = table.column(schema.JUDGE_SCORE).to_pylist()
        self.scores = np.array([np.nan if s is None else float(s) for s in raw_scores], dtype=np.float64)
        usable = np.isfinite(self.scores)
        self.counts = {"rows": len(self.scores), "skipped_no_score": int(np.count_nonzero(~usable))}
        for column, key in (
            (schema.JUDGE_STATUS, "skipped_judge_status"),
            (schema.STATUS, "skipped_generation_status"),
        ):
            self.counts[key] = 0
            if column in meta_columns:
                ok = np.array([s == schema.STATUS_OK for s in table.column(column).to_pylist()], dtype=bool)
                self.counts[key] = int(np.count_nonzero(usable & ~ok))
                usable &= ok
        self.rows = np.flatnonzero(usable)
        self.counts["usable_rows"] = len(self.rows)
        self.figures = np.array([str(x) for x in table.column(schema.ID).to_pylist()], dtype=object)
        self.candidate_ids = [str(x) for x in table.column(schema.CANDIDATE_ID).to_pylist()]
        self.judge_models = (
            table.column(schema.JUDGE_MODEL).to_pylist() if schema.JUDGE_MODEL in meta_columns else None
        )


class _Items:
    """Judged items: the row each comes from, its score and group, and (turns only) its text and question."""

    def __init__(
        self,
        rows: np.ndarray,
        scores: np.ndarray,
        groups: np.ndarray,
        texts: list[str] | None = None,
        questions: list[str] | None = None,
    ) -> None:
        self.rows, self.scores, self.groups = rows, scores, groups
        self.texts, self.questions = texts or [], questions or []


def _conversation_items(rows: _UsableRows) -> _Items:
    """One item per usable row, scored by ``judge_score`` and grouped by figure."""
    return _Items(rows.rows, rows.scores[rows.rows], rows.figures[rows.rows].astype(str))


def _first_pair_items(judged: Any, rows: _UsableRows, max_mentions: int, counts: dict[str, int]) -> _Items:
    """One item per usable row: its first question/answer, scored by ``judge_score`` and grouped by figure;
    rows without a question/answer pair are skipped and counted in ``counts``."""
    require_columns(judged, [schema.MESSAGES], "judged rows (unit='first_pair')")
    row_inputs = read_item_texts(
        judged, rows.rows, max_mentions, "Reading judged first pairs", whole_conversation=False
    )
    item_rows: list[int] = []
    texts: list[str] = []
    questions: list[str] = []
    counts["skipped_no_pair"] = 0
    for row in rows.rows.tolist():
        caption, mentions, messages = row_inputs.pop(row)
        turns = qa_pairs(messages)
        if not turns:
            counts["skipped_no_pair"] += 1
            continue
        question, answer = turns[0]
        texts.append(format_selector_text(caption, mentions, question, answer, max_mentions=max_mentions))
        questions.append(question)
        item_rows.append(row)
    item_array = np.array(item_rows, dtype=np.int64)
    return _Items(
        item_array,
        rows.scores[item_array],
        rows.figures[item_array].astype(str) if len(item_array) else np.zeros(0, dtype=str),
        texts,
        questions,
    )


def _turn_items(judged: Any, rows: _UsableRows, max_mentions: int, counts: dict[str, int]) -> _Items:
    """One item per scored turn, grouped by figure and question; rows whose scores do not match
    their turns, and turns without a score, are skipped and counted in ``counts``."""
    require_columns(judged, [schema.JUDGE_TURN_SCORES, schema.MESSAGES], "judged rows (unit='turn')")
    turn_scores = judged.select_columns([schema.JUDGE_TURN_SCORES]).with_format("arrow")[:]
    turn_scores = turn_scores.column(0).to_pylist()
    row_inputs = read_item_texts(
        judged, rows.rows, max_mentions, "Reading judged turns", whole_conversation=False
    )
    item_rows: list[int] = []
    scores: list[float] = []
    groups: list[str] = []
    texts: list[str] = []
    questions: list[str] = []
    counts["rows_turn_count_mismatch"] = counts["skipped_turns_no_score"] = 0
    for row in rows.rows.tolist():
        caption, mentions, messages = row_inputs.pop(row)  # drops each conversation once read
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
            texts.append(format_selector_text(caption, mentions, question, answer, max_mentions=max_mentions))
            questions.append(question)
            item_rows.append(row)
            scores.append(float(score))
            groups.append(f"{rows.figures[row]}\x1f{question_key(question)}")
    return _Items(
        np.array(item_rows, dtype=np.int64),
        np.array(scores, dtype=np.float64),
        np.array(groups, dtype=object).astype(str),
        texts,
        questions,
    )


def sample_pair_indices(
    figures: np.ndarray, scores: np.ndarray, min_gap: float, pairs_per_item: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Sample (higher, lower) pairs of items whose scores are at least ``min_gap`` apart.

    Each item anchors up to ``pairs_per_item`` pairs: with partners of its own group (``figures``:
    a figure, or a figure and question) when there are any that far apart, otherwise with partners
    of any group, picking an eligible score level uniformly and then an item at that level. A pair
    drawn from both ends counts once.

    Returns:
        The higher-scored and lower-scored item of each pair, whether the pair lies within one
        group, and how many items found no partner at all.

    Example:
        >>> high, low, same, alone = sample_pair_indices(
        ...     np.array(["f1", "f1"]), np.array([9.0, 2.0]), 2.0, 1, np.random.default_rng(0))
        >>> high.tolist(), low.tolist(), same.tolist(), alone
        ([0], [1], [True], 0)
    """
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


def sample_score_level_pairs(
    scores: np.ndarray,
    min_gap: float,
    train_fraction: float,
    num_pairs: int,
    num_test_pairs: int,
    rng: np.random.Generator,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], dict[str, int]]:
    """Draw pairs across whole-number score levels, as BioMed-VITAL's selector training did.

    The items of each level (in their order) are split: the first ``train_fraction`` are for training, the
    rest for testing. Each draw picks two levels at least ``min_gap`` apart uniformly among the pairs of
    levels that can give an item to that split (a level with a single item is never drawn, as in the
    authors' script), then one item from each. Items of any figure meet; the same pair may be drawn twice.

    Returns:
        ``(train_higher, train_lower)``, ``(test_higher, test_lower)`` (item indices) and counts.

    Raises:
        ValueError: a score is not a whole number (levels are whole-number scores).

    Example:
        >>> train, test, counts = sample_score_level_pairs(
        ...     np.array([9.0, 9.0, 2.0, 2.0, 5.0]), 1.0, 0.5, 3, 1, np.random.default_rng(0))
        >>> train[0].tolist(), train[1].tolist(), test[0].tolist(), test[1].tolist()
        ([0, 0, 0], [2, 2, 2], [1], [3])
    """
    fractional = np.flatnonzero(np.abs(scores - np.round(scores)) > 1e-9)
    if fractional.size:
        first = int(fractional[0])
        raise ValueError(
            f"pairing='score_levels' groups items by whole-number score, but item {first} scores "
            f"{scores[first]:g}; judge with granularity='first_pair' and score_parsing='first_line' (the "
            "biomed-vital preset), or use pairing='anchored'"
        )
    levels, inverse = np.unique(scores, return_inverse=True)
    members = [np.flatnonzero(inverse == level) for level in range(len(levels))]
    # the scripts take len * 4 // 5; the small epsilon keeps 0.8 * 5 from rounding down to 3
    cuts = [int(math.floor(len(m) * train_fraction + 1e-9)) for m in members]
    parts = {
        "train": [m[:cut] if len(m) >= 2 else m[:0] for m, cut in zip(members, cuts, strict=True)],
        "test": [m[cut:] if len(m) >= 2 else m[:0] for m, cut in zip(members, cuts, strict=True)],
    }
    counts = {
        "score_levels": len(levels),
        "train_items": int(sum(len(p) for p in parts["train"])),
        "test_items": int(sum(len(p) for p in parts["test"])),
    }
    drawn: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for split, wanted in (("train", num_pairs), ("test", num_test_pairs)):
        pools = parts[split]
        usable = [i for i, pool in enumerate(pools) if len(pool)]
        level_pairs = np.array(
            [(a, b) for a in usable for b in usable if a < b and levels[b] - levels[a] >= min_gap],
            dtype=np.int64,
        ).reshape(-1, 2)
        counts[f"{split}_level_pairs"] = len(level_pairs)
        if not len(level_pairs) or not wanted:
            drawn[split] = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
            continue
        chosen_levels = level_pairs[rng.integers(len(level_pairs), size=wanted)]
        sizes = np.array([len(pool) for pool in pools])
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        flat = np.concatenate(pools)

        picked = []
        for level in (chosen_levels[:, 0], chosen_levels[:, 1]):
            offsets = np.floor(rng.random(len(level)) * sizes[level]).astype(np.int64)
            picked.append(flat[starts[level] + offsets])
        lower, higher = picked
        drawn[split] = (higher, lower)
    return drawn["train"], drawn["test"], counts
