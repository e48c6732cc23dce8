"""A printable overview of a figures Dataset: one line per figure, then counts."""

from __future__ import annotations

import io
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biomed_vital import schema
from biomed_vital.data.figures import error_cause

if TYPE_CHECKING:
    import datasets


def _image_size(record: dict[str, Any] | None) -> str:
    """``WxH`` read from the image header only (no pixel decoding)."""
    if not record:
        return "-"
    from PIL import Image

    try:
        if record.get("bytes"):
            with Image.open(io.BytesIO(record["bytes"])) as image:
                return f"{image.width}x{image.height}"
        if record.get("path"):
            with Image.open(record["path"]) as image:
                return f"{image.width}x{image.height}"
    except (OSError, ValueError):
        return "?"
    return "-"


def _cell(text: Any, width: int) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def summarize_figures(dataset: datasets.Dataset, *, max_rows: int = 30, width: int = 40) -> str:
    """A table of the figures (id, modality, size, caption head, source, error) followed by counts.

    Counts: rows, rows per modality, rows with errors grouped by cause, empty captions.

    Example:
        >>> from biomed_vital.data import load_demo_figures, summarize_figures
        >>> print(summarize_figures(load_demo_figures()))       # doctest: +SKIP
        id                 modality   size      caption                      source        error
        pydicom_ct_small   ct_scan    128x128   CT, e+1                      pydicom==3.0.2…
        ...
    """
    from datasets import Image

    missing = [
        name for name in (schema.ID, schema.CAPTION, schema.MODALITY) if name not in dataset.column_names
    ]
    if missing:
        raise ValueError(
            f"summarize_figures needs the figures columns; missing {missing} in {dataset.column_names}"
        )
    shown = dataset.select(range(min(max_rows, len(dataset))))
    has_image = schema.IMAGE in dataset.column_names and isinstance(dataset.features[schema.IMAGE], Image)
    if has_image:
        shown = shown.cast_column(schema.IMAGE, Image(decode=False))
    header = (schema.ID, schema.MODALITY, "size", schema.CAPTION, schema.SOURCE, schema.ERROR)
    lines: list[tuple[str, ...]] = [header]
    for row in shown:
        lines.append(
            (
                _cell(row[schema.ID], 28),
                row[schema.MODALITY],
                _image_size(row[schema.IMAGE]) if has_image else "-",
                _cell(row[schema.CAPTION], width) or "(empty)",
                _cell(row.get(schema.SOURCE, ""), width),
                _cell(row.get(schema.ERROR, ""), width),
            )
        )
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    table = "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in lines
    )
    if len(dataset) > len(shown):
        table += f"\n… {len(dataset) - len(shown)} more rows"

    modalities = Counter(dataset[schema.MODALITY])
    errors = (
        [error for error in dataset[schema.ERROR] if error] if schema.ERROR in dataset.column_names else []
    )
    empty = sum(1 for caption in dataset[schema.CAPTION] if not caption.strip())
    counts = [
        f"{len(dataset)} figures; modalities: "
        + ", ".join(f"{name} {count}" for name, count in modalities.most_common()),
        f"{len(errors)} with errors"
        + (
            ": "
            + "; ".join(
                f"{cause} {count}" for cause, count in Counter(map(error_cause, errors)).most_common()
            )
            if errors
            else ""
        ),
        f"{empty} empty captions",
    ]
    return table + "\n\n" + "\n".join(counts)


def plot_figure_summary(dataset: datasets.Dataset, path: str | os.PathLike) -> Path:
    """Save a PNG with two bar charts: figures per modality, and rows with errors per cause.

    Example:
        >>> from biomed_vital.data import load_figures, plot_figure_summary
        >>> plot_figure_summary(load_figures("captions.json"), "figures.png")   # doctest: +SKIP
        PosixPath('figures.png')
    """
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    modalities = Counter(dataset[schema.MODALITY])
    errors = (
        Counter(error_cause(error) for error in dataset[schema.ERROR] if error)
        if schema.ERROR in dataset.column_names
        else Counter()
    )
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    names = sorted(modalities, key=lambda name: -modalities[name])
    left.bar(names, [modalities[name] for name in names], color="#4c72b0")
    left.set_title(f"{len(dataset)} figures by modality")
    left.set_ylabel("figures")
    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    left.tick_params(axis="x", rotation=30)
    if errors:
        causes = [cause for cause, _ in errors.most_common()]
        right.barh(causes, [errors[cause] for cause in causes], color="#c44e52")
        right.invert_yaxis()
        right.set_xlabel("rows")
        right.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        right.text(0.5, 0.5, "no rows with errors", ha="center", va="center", transform=right.transAxes)
        right.set_xticks([])
        right.set_yticks([])
    right.set_title(f"{sum(errors.values())} rows with errors, by cause")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=100)
    plt.close(figure)
    return target
