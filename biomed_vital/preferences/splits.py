"""Train/test splits of preference pairs in which no figure is on both sides."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np

from biomed_vital import schema
from biomed_vital.preferences.reading import column_values, require_columns
from biomed_vital.preferences.summary import merge_build_stats, preference_build_stats, with_build_stats

__all__ = ["train_test_split_by_figure"]

logger = logging.getLogger(__name__)


def train_test_split_by_figure(
    dataset: Any, *, test_size: float | int = 0.1, seed: int = 0, stratify_by_source: bool = True
) -> Any:
    """Split preference pairs so that no figure appears in both splits, losing as few pairs as possible.

    Figures (not pairs) are assigned to the test split at random with ``seed``. A judge pair across
    score levels compares two figures, so the pairs link figures into groups; whole groups are
    assigned to a split, so no pair has its two figures in different splits and none is lost. Only
    when a group is too large for the split sizes asked for is it cut: the pairs across the cut are
    dropped, a warning says how many and of which ``pair_kind``, and the count is stored as
    ``pairs_dropped_across_splits``. With ``stratify_by_source`` the groups that hold clinician pairs
    are split separately from the judge-only groups, so the test split holds clinician pairs whenever
    at least two figures have them.

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

    require_columns(dataset, [schema.FIGURE_ID], "the preference pairs")
    columns = dataset.column_names
    chosen_figs = [str(x) for x in column_values(dataset, schema.FIGURE_ID)]
    rejected_figs = (
        [str(x) for x in column_values(dataset, schema.REJECTED_FIGURE_ID)]
        if schema.REJECTED_FIGURE_ID in columns
        else chosen_figs
    )
    sources = column_values(dataset, schema.SOURCE) if schema.SOURCE in columns else [""] * len(chosen_figs)
    all_figures = sorted(set(chosen_figs) | set(rejected_figs))
    fraction = _test_fraction(test_size, len(all_figures))

    groups = _linked_figure_groups(all_figures, zip(chosen_figs, rejected_figs, strict=True))
    if stratify_by_source:
        clinician_figures = {
            figure
            for figures in (chosen_figs, rejected_figs)
            for figure, source in zip(figures, sources, strict=True)
            if source == schema.SOURCE_CLINICIAN
        }
        strata = [
            [group for group in groups if clinician_figures.intersection(group)],
            [group for group in groups if not clinician_figures.intersection(group)],
        ]
    else:
        strata = [groups]
    rng = np.random.default_rng(seed)
    test_figures: set[str] = set()
    for stratum in strata:
        test_figures |= _test_figures_of(stratum, fraction, rng)
    train_rows, test_rows, dropped = [], [], []
    for row, (chosen, rejected) in enumerate(zip(chosen_figs, rejected_figs, strict=True)):
        in_test = (chosen in test_figures, rejected in test_figures)
        if all(in_test):
            test_rows.append(row)
        elif not any(in_test):
            train_rows.append(row)
        else:
            dropped.append(row)
    if dropped:
        kinds = (
            Counter(column_values(dataset.select(dropped), schema.PAIR_KIND))
            if schema.PAIR_KIND in columns
            else Counter({"pairs of two figures": len(dropped)})
        )
        largest = max(len(group) for group in groups)
        logger.warning(
            "%d of %d pairs dropped (%s): each compares two figures that ended in different splits. Pairs "
            "across figures link %d of the %d figures into one group, which test_size=%s cannot keep whole; "
            "to keep such pairs, split the judged candidates by figure first and build the pairs per split.",
            len(dropped),
            len(chosen_figs),
            ", ".join(f"{kind}: {count}" for kind, count in kinds.most_common()),
            largest,
            len(all_figures),
            test_size,
        )
    stats = merge_build_stats(
        preference_build_stats(dataset), {"split": {"pairs_dropped_across_splits": len(dropped)}}
    )
    return DatasetDict(
        {
            "train": with_build_stats(dataset.select(train_rows), stats),
            "test": with_build_stats(dataset.select(test_rows), stats),
        }
    )


def _linked_figure_groups(figures: list[str], links: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The figures grouped so that the two figures of every pair are in one group (sorted, in a fixed order)."""
    parent = {figure: figure for figure in figures}

    def root(figure: str) -> str:
        while parent[figure] != figure:
            parent[figure] = parent[parent[figure]]
            figure = parent[figure]
        return figure

    for first, second in links:
        a, b = root(first), root(second)
        if a != b:
            parent[max(a, b)] = min(a, b)
    members: dict[str, list[str]] = {}
    for figure in figures:  # sorted, so each group is sorted and groups come in order of their first figure
        members.setdefault(root(figure), []).append(figure)
    return list(members.values())


def _test_figures_of(groups: list[list[str]], fraction: float, rng: np.random.Generator) -> set[str]:
    """The test figures of one stratum: whole groups in random order while they fit, then a cut if needed."""
    n_figures = sum(len(group) for group in groups)
    if not n_figures:
        return set()
    n_test = int(round(fraction * n_figures))
    if n_figures >= 2:
        n_test = min(max(n_test, 1), n_figures - 1)
    test: set[str] = set()
    left_out: list[list[str]] = []
    for position in rng.permutation(len(groups)):
        group = groups[position]
        if len(test) + len(group) <= n_test:
            test.update(group)
        else:
            left_out.append(group)
    need = n_test - len(test)
    if need > 0:  # every group left is larger than what is missing: cut the smallest of them
        group = min(left_out, key=len)
        test.update(group[i] for i in rng.permutation(len(group))[:need])
    return test


def _test_fraction(test_size: Any, n_figures: int) -> float:
    """``test_size`` as a fraction of ``n_figures``, or a ``ValueError`` saying what is allowed."""
    if n_figures < 2:
        raise ValueError(
            f"cannot split by figure: the pairs cover {n_figures} figure(s); at least 2 are needed"
        )
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)):
        raise ValueError(f"test_size must be a fraction or a number of figures, got {test_size!r}")
    if isinstance(test_size, float):
        if not 0 < test_size < 1:
            raise ValueError(f"test_size as a fraction must be between 0 and 1, got {test_size}")
        return test_size
    if not 0 < test_size < n_figures:
        raise ValueError(f"test_size must be between 1 and {n_figures - 1} figures, got {test_size}")
    return test_size / n_figures
