"""What a preference dataset holds: the build statistics stored with it, and a printable summary.

Counts that are not rows (ties, both-bad choices, skipped judge rows, merged duplicates, pairs
dropped by a split) are kept in ``dataset.info.description`` as JSON, so they survive
``save_to_disk`` / ``load_from_disk``; :func:`preference_build_stats` reads them back and
:func:`summarize_preferences` prints them next to the pairs and weight mass per source.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from biomed_vital import schema
from biomed_vital.preferences.reading import column_values

__all__ = ["merge_build_stats", "preference_build_stats", "summarize_preferences", "with_build_stats"]

_DESCRIPTION_PREFIX = "Preference pairs built by biomed_vital.preferences. build_stats="
_STATS_PATTERN = re.compile(re.escape(_DESCRIPTION_PREFIX) + r"(\{.*\})\s*$", re.S)


def preference_build_stats(dataset: Any) -> dict[str, dict[str, int]]:
    """Return the build counts stored with a preference dataset (``{}`` when there are none).

    Keys are ``"clinician"``, ``"judge"``, ``"deduplication"`` and ``"split"``; values count
    records, ties, skipped rows, merged duplicates, etc.

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


def with_build_stats(dataset: Any, stats: Mapping[str, Mapping[str, int]]) -> Any:
    """Store ``stats`` in ``dataset.info`` (replacing earlier ones) and return ``dataset``.

    Example:
        >>> pairs = with_build_stats(pairs, {"judge": {"rows": 10}})    # doctest: +SKIP
    """
    dataset.info.description = _DESCRIPTION_PREFIX + json.dumps(stats, sort_keys=True)
    return dataset


def merge_build_stats(*all_stats: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """Add up build statistics key by key (for datasets that are concatenated or derived).

    Example:
        >>> merge_build_stats({"judge": {"rows": 2}}, {"judge": {"rows": 3}})
        {'judge': {'rows': 5}}
    """
    merged: dict[str, dict[str, int]] = {}
    for stats in all_stats:
        for source, counts in stats.items():
            target = merged.setdefault(source, {})
            for key, value in counts.items():
                target[key] = target.get(key, 0) + int(value)
    return merged


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
    columns = dataset.column_names
    sources = column_values(dataset, schema.SOURCE) if schema.SOURCE in columns else ["?"] * len(dataset)
    weights = column_values(dataset, schema.WEIGHT) if schema.WEIGHT in columns else [1.0] * len(dataset)
    figures: set[str] = set()
    for column in (schema.FIGURE_ID, schema.REJECTED_FIGURE_ID):
        if column in columns:
            figures.update(str(f) for f in column_values(dataset, column))
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
    clinician = stats.get(schema.SOURCE_CLINICIAN)
    if clinician:
        lines.append(
            "clinician records: {records:,} ({pairwise_records:,} pairwise, {mark_records:,} accept/reject marks); "
            "ties {ties:,}, both bad {both_bad:,}, unpaired marks {unpaired_marks:,}".format_map(
                _zero_default(clinician)
            )
        )
        lines.append(_dedup_line(clinician))
    judge = stats.get(schema.SOURCE_JUDGE)
    if judge:
        lines.append(
            "judge rows: {rows:,}, usable {usable_rows:,}; skipped: no score {skipped_no_score:,}, "
            "judge status {skipped_judge_status:,}, generation status {skipped_generation_status:,}; "
            "items without a partner {items_without_partner:,}".format_map(_zero_default(judge))
        )
        if judge.get("rows_turn_count_mismatch") or judge.get("skipped_turns_no_score"):
            lines.append(
                "  per-turn scores: rows whose scores do not match their turns {rows_turn_count_mismatch:,}, "
                "turns without a score {skipped_turns_no_score:,}".format_map(_zero_default(judge))
            )
        lines.append(_dedup_line(judge))
    if stats.get("deduplication"):
        lines.append(_dedup_line(stats["deduplication"]))
    if stats.get("split", {}).get("pairs_dropped_across_splits"):
        lines.append(f"pairs dropped across splits: {stats['split']['pairs_dropped_across_splits']:,}")
    return "\n".join(lines)


def _zero_default(counts: Mapping[str, int]) -> dict[str, int]:
    # a count a source did not record reads as 0 (older datasets lack the newer counts)
    return defaultdict(int, counts)


def _dedup_line(counts: Mapping[str, int]) -> str:
    c = _zero_default(counts)
    return (
        f"  duplicates merged {c['duplicates_merged']:,}, identical pairs dropped {c['identical_pairs_dropped']:,}, "
        f"contradictory pairs {c['contradictory_pairs']:,} (dropped {c['contradictory_pairs_dropped']:,})"
    )
