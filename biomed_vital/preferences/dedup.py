"""Duplicate and contradictory preference pairs: found once, merged or dropped, and counted.

Two pairs are the same when both figures and both texts are the same. A duplicate adds its
``votes`` to the first occurrence; a pair whose reverse is also present (A>B and B>A) is a
contradiction. Pair builders call :func:`merge_duplicate_pairs` before writing anything;
:func:`deduplicate_preferences` applies the same rules to pairs already built (for example after
mixing two sets).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from biomed_vital import schema
from biomed_vital.preferences.clinician_config import Contradictions, check_contradictions
from biomed_vital.preferences.reading import column_values, require_columns
from biomed_vital.preferences.summary import merge_build_stats, preference_build_stats, with_build_stats

__all__ = ["deduplicate_preferences", "merge_duplicate_pairs"]


def merge_duplicate_pairs(
    chosen_figures: Sequence[str],
    rejected_figures: Sequence[str],
    chosen_texts: Sequence[str],
    rejected_texts: Sequence[str],
    contradictions: Contradictions,
    votes: Sequence[int | None] | None = None,
) -> tuple[list[int], list[int], dict[str, int]]:
    """Indices of the pairs to keep (first occurrences, in order), their votes, and what was merged or dropped.

    Pairs whose two sides are the same figure and text are dropped. ``votes`` gives each input
    pair's own vote count (default 1 each); a kept pair's votes are the sum over its duplicates.

    Example:
        >>> merge_duplicate_pairs(["f1", "f1"], ["f1", "f1"], ["a", "a"], ["b", "b"], "drop")[:2]
        ([0], [2])
    """
    check_contradictions(contradictions)
    first: dict[tuple[str, str, str, str], int] = {}
    totals: dict[int, int] = {}
    identical = 0
    keys = zip(chosen_figures, rejected_figures, chosen_texts, rejected_texts, strict=True)
    for index, key in enumerate(keys):
        if key[0] == key[1] and key[2] == key[3]:
            identical += 1
            continue
        vote = int(votes[index] or 1) if votes is not None else 1
        if key in first:
            totals[first[key]] += vote
            continue
        first[key] = index
        totals[index] = vote
    contradictory = {
        index
        for (chosen_fig, rejected_fig, chosen_text, rejected_text), index in first.items()
        if (rejected_fig, chosen_fig, rejected_text, chosen_text) in first
    }
    kept = sorted(i for i in first.values() if contradictions == "keep" or i not in contradictory)
    counts = {
        "duplicates_merged": len(chosen_texts) - identical - len(first),
        "identical_pairs_dropped": identical,
        "contradictory_pairs": len(contradictory),
        "contradictory_pairs_dropped": len(contradictory) if contradictions == "drop" else 0,
    }
    return kept, [totals[i] for i in kept], counts


def deduplicate_preferences(dataset: Any, *, contradictions: Contradictions = "drop") -> Any:
    """Merge pairs with the same figures and texts, and drop or keep contradictory pairs.

    A duplicate adds its ``votes`` to the first occurrence (and weights are not summed: the
    pair is one observation). A pair whose reverse is also present (A>B and B>A) is a
    contradiction: both are dropped (``"drop"``) or kept (``"keep"``). The counts are added
    to the build statistics shown by :func:`~biomed_vital.preferences.summarize_preferences`.

    Example:
        >>> clean = deduplicate_preferences(pairs, contradictions="drop")   # doctest: +SKIP
    """
    columns = dataset.column_names
    require_columns(
        dataset, [schema.CHOSEN_TEXT, schema.REJECTED_TEXT, schema.FIGURE_ID], "the preference pairs"
    )
    chosen_figure = schema.CHOSEN_FIGURE_ID if schema.CHOSEN_FIGURE_ID in columns else schema.FIGURE_ID
    rejected_figure = schema.REJECTED_FIGURE_ID if schema.REJECTED_FIGURE_ID in columns else schema.FIGURE_ID
    has_votes = schema.VOTES in columns
    kept, votes, counts = merge_duplicate_pairs(
        column_values(dataset, chosen_figure),
        column_values(dataset, rejected_figure),
        column_values(dataset, schema.CHOSEN_TEXT),
        column_values(dataset, schema.REJECTED_TEXT),
        contradictions,
        votes=column_values(dataset, schema.VOTES) if has_votes else None,
    )
    stats = merge_build_stats(preference_build_stats(dataset), {"deduplication": counts})
    result = dataset.select(kept)
    if has_votes:
        # the merged pair carries the votes of every record it absorbed
        order = result.column_names
        result = result.remove_columns(schema.VOTES).add_column(
            schema.VOTES, votes, feature=dataset.features[schema.VOTES]
        )
        result = result.select_columns(order)
    return with_build_stats(result, stats)
