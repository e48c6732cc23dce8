"""Evaluation metrics of a selector on preference pairs.

* `accuracy`: share of pairs where the chosen side scores higher (ties count as wrong).
* `judge_accuracy`: the same on judge-score pairs; `clinician_alignment`: on clinician pairs, i.e. how often
  the selector agrees with the clinicians.
* `roc_auc` (and per source): ROC-AUC of the score differences, treating `s_c - s_r` as a positive and
  `s_r - s_c` as a negative example; 0.5 is chance, 1.0 perfect separation with any threshold.
* `clinician_mean_rank` / `clinician_map`: when clinicians compared several answers for one figure (a
  group), the answers are ranked by score; the clinician-preferred answers (chosen at least once, never
  rejected) should come first. Mean rank is 1 at best; MAP (mean average precision) is 1 at best.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np


def _roc_auc(differences: np.ndarray) -> float | None:
    if differences.size == 0:
        return None
    from sklearn.metrics import roc_auc_score

    labels = np.concatenate([np.ones_like(differences), np.zeros_like(differences)])
    values = np.concatenate([differences, -differences])
    return float(roc_auc_score(labels, values))


def _ranking_metrics(
    groups: Sequence, chosen_keys: Sequence, rejected_keys: Sequence, chosen: np.ndarray, rejected: np.ndarray
) -> tuple[float | None, float | None, int]:
    scores: dict = defaultdict(dict)
    won: dict = defaultdict(set)
    lost: dict = defaultdict(set)
    for group, c_key, r_key, c_score, r_score in zip(
        groups, chosen_keys, rejected_keys, chosen, rejected, strict=True
    ):
        scores[group][c_key] = float(c_score)
        scores[group][r_key] = float(r_score)
        won[group].add(c_key)
        lost[group].add(r_key)
    ranks, precisions = [], []
    for group, answer_scores in scores.items():
        preferred = won[group] - lost[group]
        if len(answer_scores) < 2 or not preferred:
            continue
        ordered = sorted(answer_scores, key=lambda key: -answer_scores[key])
        positions = [index + 1 for index, key in enumerate(ordered) if key in preferred]
        ranks.append(float(np.mean(positions)))
        precisions.append(float(np.mean([(hit + 1) / position for hit, position in enumerate(positions)])))
    if not ranks:
        return None, None, 0
    return float(np.mean(ranks)), float(np.mean(precisions)), len(ranks)


def preference_metrics(
    chosen_scores: Sequence[float] | np.ndarray,
    rejected_scores: Sequence[float] | np.ndarray,
    sources: Sequence[str] | None = None,
    *,
    groups: Sequence | None = None,
    chosen_keys: Sequence | None = None,
    rejected_keys: Sequence | None = None,
) -> dict[str, float]:
    """Compute the selector's evaluation metrics from the scores of each pair's two sides.

    Args:
        chosen_scores / rejected_scores: one score per pair.
        sources: `"clinician"` / `"judge"` per pair; enables the per-source metrics.
        groups: the figure (or question) each pair belongs to; with `chosen_keys` / `rejected_keys` (any
            hashable identifying each answer, e.g. its text) enables the clinician ranking metrics.

    Returns:
        A flat dict of floats; metrics that cannot be computed from the given pairs are left out.

    Example:
        >>> preference_metrics([2.0, 0.5], [1.0, 1.0], ["clinician", "judge"])["clinician_alignment"]
        1.0
    """
    chosen = np.asarray(chosen_scores, dtype=np.float64).reshape(-1)
    rejected = np.asarray(rejected_scores, dtype=np.float64).reshape(-1)
    if chosen.shape != rejected.shape:
        raise ValueError(
            f"{chosen.size} chosen scores but {rejected.size} rejected scores; pass one per pair."
        )
    metrics: dict[str, Any] = {"num_pairs": float(chosen.size)}
    if chosen.size == 0:
        return metrics
    differences = chosen - rejected
    metrics["accuracy"] = float(np.mean(differences > 0))
    metrics["mean_score_difference"] = float(np.mean(differences))
    auc = _roc_auc(differences)
    if auc is not None:
        metrics["roc_auc"] = auc
    if sources is not None:
        sources_array = np.asarray(list(sources))
        if sources_array.size != chosen.size:
            raise ValueError(f"{sources_array.size} sources for {chosen.size} pairs; pass one per pair.")
        for source, name in (("judge", "judge_accuracy"), ("clinician", "clinician_alignment")):
            mask = sources_array == source
            if mask.any():
                metrics[name] = float(np.mean(differences[mask] > 0))
                metrics[f"{source}_roc_auc"] = _roc_auc(differences[mask])
                metrics[f"num_{source}_pairs"] = float(mask.sum())
        if groups is not None and chosen_keys is not None and rejected_keys is not None:
            mask = sources_array == "clinician"
            pick = [int(i) for i in np.flatnonzero(mask)]
            mean_rank, average_precision, count = _ranking_metrics(
                [groups[i] for i in pick],
                [chosen_keys[i] for i in pick],
                [rejected_keys[i] for i in pick],
                chosen[pick],
                rejected[pick],
            )
            if mean_rank is not None:
                metrics["clinician_mean_rank"] = mean_rank
                metrics["clinician_map"] = average_precision
                metrics["num_ranked_groups"] = float(count)
    return metrics


__all__ = ["preference_metrics"]
