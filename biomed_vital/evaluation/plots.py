"""Bar charts of an evaluation report (PNG): relative scores by type and domain, VQA metrics, win rates.

People compare models by looking, so every report folder holds these next to its JSON and table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["plot_relative_scores", "plot_vqa_scores", "plot_win_rates"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _grouped_bars(axis: Any, groups: Sequence[str], series: Mapping[str, Sequence[float | None]]) -> None:
    width = 0.8 / max(1, len(series))
    for offset, (name, values) in enumerate(series.items()):
        xs = [i + (offset - (len(series) - 1) / 2) * width for i in range(len(groups))]
        heights = [v if v is not None else 0.0 for v in values]
        bars = axis.bar(xs, heights, width=width, label=name)
        for bar, value in zip(bars, values, strict=True):
            if value is not None:
                axis.annotate(
                    f"{value:.1f}",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                )
    axis.set_xticks(range(len(groups)))
    axis.set_xticklabels([g.replace("_", "\n") for g in groups], fontsize=8)
    if len(series) > 1:
        axis.legend(fontsize="small")


def plot_relative_scores(scores: Mapping[str, Any], path: str | os.PathLike[str]) -> str:
    """Relative score (%) per question type, domain and overall, one bar per model; returns the path.

    ``scores`` maps a model to its :class:`~biomed_vital.evaluation.OpenChatScores`.
    """
    plt = _pyplot()
    groups: list[str] = []
    for result in scores.values():
        for name, group in result.table():
            if group.n and name not in groups:
                groups.append(name)
    series = {}
    for model, result in scores.items():
        table = dict(result.table())
        series[model] = [table[g].relative_score if g in table and table[g].n else None for g in groups]
    figure, axis = plt.subplots(figsize=(max(6.0, 1.0 * len(groups) + 2), 3.8))
    _grouped_bars(axis, groups, series)
    axis.axhline(100, color="grey", linewidth=0.8, linestyle="--")
    axis.set_ylabel("relative score (% of reference)")
    axis.set_title("Open visual chat: relative score by question type and domain")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return os.fspath(path)


def plot_vqa_scores(scores: Mapping[str, Any], path: str | os.PathLike[str]) -> str:
    """VQA metrics (%) per model; ``scores`` maps a model to its :class:`~biomed_vital.evaluation.VQAScores`."""
    plt = _pyplot()
    metrics = ["closed_accuracy", "open_recall", "exact_match", "token_f1", "bleu"]
    series = {
        model: [None if getattr(s, m) is None else 100 * getattr(s, m) for m in metrics]
        for model, s in scores.items()
    }
    figure, axis = plt.subplots(figsize=(7.5, 3.8))
    _grouped_bars(axis, metrics, series)
    axis.set_ylim(0, 105)
    axis.set_ylabel("%")
    benchmark = next((s.benchmark for s in scores.values() if s.benchmark), "VQA")
    axis.set_title(f"{benchmark}: answer metrics")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return os.fspath(path)


def plot_win_rates(win_rates: Sequence[Any], path: str | os.PathLike[str]) -> str:
    """Win rate (%) of model 1 against model 2 for every pair, with bootstrap intervals; returns the path."""
    plt = _pyplot()
    rows = [w for w in win_rates if w.win_rate is not None]
    labels = [f"{w.model_1}\nvs {w.model_2}" for w in rows]
    rates = [100 * w.win_rate for w in rows]
    errors = [[100 * (w.win_rate - w.ci_low) for w in rows], [100 * (w.ci_high - w.win_rate) for w in rows]]
    figure, axis = plt.subplots(figsize=(6.5, 1.2 + 0.6 * max(1, len(rows))))
    axis.barh(range(len(rows)), rates, xerr=errors, capsize=4, color="tab:blue")
    for y, (rate, w) in enumerate(zip(rates, rows, strict=True)):
        axis.annotate(
            f"{rate:.1f}% (n={w.n})", (rate, y), xytext=(4, 6), textcoords="offset points", fontsize=8
        )
    axis.axvline(50, color="grey", linewidth=0.8, linestyle="--")
    axis.set_yticks(range(len(rows)))
    axis.set_yticklabels(labels, fontsize=8)
    axis.set_xlim(0, 100)
    axis.set_xlabel("win rate of the first model (%), with its bootstrap interval")
    axis.set_title("Pairwise win rates (each question judged in both orders)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return os.fspath(path)
