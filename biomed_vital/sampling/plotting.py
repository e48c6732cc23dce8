"""The picture of a draw: the pool's joint embedding projected to 2-D, coloured by modality, drawn figures marked.

Example:
    >>> plot_projection(vectors, modalities, selected, "sampling.png")   # doctest: +SKIP
    PosixPath('sampling.png')
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["plot_projection"]


def plot_projection(
    embeddings: np.ndarray,
    strata: Sequence[str],
    selected: np.ndarray,
    path: str | os.PathLike[str],
    *,
    title: str = "",
    max_points: int = 20_000,
    seed: int = 0,
) -> Path:
    """Save a PNG of a PCA projection of ``embeddings``: one colour per stratum, ``selected`` rows marked.

    Args:
        embeddings: ``(n, d)`` joint embeddings of the pool.
        strata: the modality (or other stratum) of each row, for the colours.
        selected: positions of the drawn figures (black-edged stars).
        path: the PNG file to write.
        title: the plot title.
        max_points: at most this many background points (a seeded subset); drawn ones always show.
        seed: seed of the subset.

    Example:
        >>> import tempfile, os
        >>> vectors = np.random.default_rng(0).normal(size=(30, 5))
        >>> plot_projection(vectors, ["ct_scan"] * 15 + ["mri"] * 15, np.array([0, 20]),
        ...                 os.path.join(tempfile.mkdtemp(), "p.png")).suffix
        '.png'
    """
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    embeddings = np.asarray(embeddings, dtype=np.float32)
    if len(embeddings) != len(strata):
        raise ValueError(f"{len(embeddings)} embeddings but {len(strata)} strata")
    if embeddings.shape[0] >= 2 and embeddings.shape[1] >= 2:
        points = PCA(n_components=2, random_state=seed).fit_transform(embeddings)
    else:  # a single figure or a single dimension: nothing to project
        points = np.zeros((len(embeddings), 2), np.float32)
        points[:, 0] = embeddings[:, 0] if embeddings.size else 0.0
    shown = np.arange(len(points))
    if len(shown) > max_points:
        shown = np.random.default_rng(seed).choice(len(points), max_points, replace=False)
    strata_array = np.asarray([str(s) for s in strata])
    names = sorted(set(strata_array.tolist()))
    colours = plt.get_cmap("tab10")
    figure, axis = plt.subplots(figsize=(7.5, 6), constrained_layout=True)
    for index, name in enumerate(names):
        colour = colours(index % 10)
        background = shown[strata_array[shown] == name]
        axis.scatter(
            points[background, 0],
            points[background, 1],
            s=10,
            alpha=0.45,
            color=colour,
            label=f"{name} ({int((strata_array == name).sum())})",
        )
        drawn = selected[strata_array[selected] == name] if len(selected) else selected
        axis.scatter(
            points[drawn, 0],
            points[drawn, 1],
            s=140,
            marker="*",
            color=colour,
            edgecolors="black",
            linewidths=0.9,
        )
    axis.scatter(
        [], [], s=140, marker="*", color="white", edgecolors="black", label=f"drawn ({len(selected)})"
    )
    axis.set_xlabel("principal component 1")
    axis.set_ylabel("principal component 2")
    axis.set_title(title)
    axis.legend(loc="best", fontsize=8, frameon=True)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=110)
    plt.close(figure)
    return target
