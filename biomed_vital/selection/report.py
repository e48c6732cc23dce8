"""The report of a `select()` run: `selection_summary.json` and `score_histogram.png` per modality."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def write_selection_report(
    output_dir: Path,
    scores: np.ndarray,
    keep: np.ndarray,
    modality_codes: np.ndarray,
    modality_names: Sequence[str],
    cutoffs: dict[str, float | None],
    summary: dict[str, Any],
) -> None:
    """Write the summary (counts kept and dropped, mean score and cut-off per modality) and the histogram.

    `modality_codes[i]` is the position in `modality_names` of row `i`'s modality; `scores` holds NaN where a
    row was not scored.

    Example:
        >>> write_selection_report(Path("report"), scores, keep, codes, ["ct_scan", "mri"],   # doctest: +SKIP
        ...                        {"all": 0.3}, {"candidates": len(scores)})
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    scored = ~np.isnan(scores)
    per_modality = {}
    for code, name in sorted(enumerate(modality_names), key=lambda item: item[1]):
        in_group = modality_codes == code
        per_modality[name] = {
            "candidates": int(in_group.sum()),
            "scored": int((in_group & scored).sum()),
            "kept": int((keep & in_group).sum()),
            "dropped": int((in_group & ~keep).sum()),
            "mean_score": float(np.mean(scores[in_group & scored])) if (in_group & scored).any() else None,
        }
    summary["per_modality"] = per_modality
    summary["cutoffs"] = cutoffs
    (output_dir / "selection_summary.json").write_text(json.dumps(summary, indent=2))

    if not scored.any():
        return
    valid = scores[scored]
    bins = np.histogram_bin_edges(valid, bins=min(50, max(5, int(np.sqrt(valid.size)))))
    names = list(per_modality)
    columns = min(3, len(names))
    rows = math.ceil(len(names) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.5 * columns, 3.2 * rows), squeeze=False)
    for axis, name in zip(axes.flat, names, strict=False):
        code = list(modality_names).index(name)
        axis.hist(scores[(modality_codes == code) & scored], bins=bins, color="tab:blue", alpha=0.8)
        cutoff = cutoffs.get(name, cutoffs.get("all"))
        if cutoff is not None:
            axis.axvline(cutoff, color="tab:red", linestyle="--", label=f"cut-off {cutoff:.3g}")
            axis.legend(fontsize=8)
        axis.set_title(f"{name}: kept {per_modality[name]['kept']} of {per_modality[name]['candidates']}")
        axis.set_xlabel("selector score")
        axis.xaxis.set_major_locator(MaxNLocator(nbins=4))
        axis.set_ylabel("candidates")
    for axis in list(axes.flat)[len(names) :]:
        axis.set_visible(False)
    figure.tight_layout()
    figure.savefig(output_dir / "score_histogram.png", dpi=110)
    plt.close(figure)


__all__ = ["write_selection_report"]
