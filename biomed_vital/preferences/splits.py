"""Train/test splits of preference pairs in which no figure is on both sides."""

from __future__ import annotations

import logging
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

    if stratify_by_source:
        clinician_figures = {
            figure
            for figures in (chosen_figs, rejected_figs)
            for figure, source in zip(figures, sources, strict=True)
            if source == schema.SOURCE_CLINICIAN
        }
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
    stats = merge_build_stats(
        preference_build_stats(dataset), {"split": {"pairs_dropped_across_splits": dropped}}
    )
    return DatasetDict(
        {
            "train": with_build_stats(dataset.select(train_rows), stats),
            "test": with_build_stats(dataset.select(test_rows), stats),
        }
    )


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
