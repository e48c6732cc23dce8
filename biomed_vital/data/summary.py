"""A printable overview of a figures Dataset: one line per figure, then counts."""

from __future__ import annotations

import io
from collections import Counter
from typing import TYPE_CHECKING, Any

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

    missing = [name for name in ("id", "caption", "modality") if name not in dataset.column_names]
    if missing:
        raise ValueError(
            f"summarize_figures needs the figures columns; missing {missing} in {dataset.column_names}"
        )
    shown = dataset.select(range(min(max_rows, len(dataset))))
    has_image = "image" in dataset.column_names and isinstance(dataset.features["image"], Image)
    if has_image:
        shown = shown.cast_column("image", Image(decode=False))
    header = ("id", "modality", "size", "caption", "source", "error")
    lines: list[tuple[str, ...]] = [header]
    for row in shown:
        lines.append(
            (
                _cell(row["id"], 28),
                row["modality"],
                _image_size(row["image"]) if has_image else "-",
                _cell(row["caption"], width) or "(empty)",
                _cell(row.get("source", ""), width),
                _cell(row.get("error", ""), width),
            )
        )
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    table = "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in lines
    )
    if len(dataset) > len(shown):
        table += f"\n… {len(dataset) - len(shown)} more rows"

    modalities = Counter(dataset["modality"])
    errors = [error for error in dataset["error"] if error] if "error" in dataset.column_names else []
    empty = sum(1 for caption in dataset["caption"] if not caption.strip())
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
