"""A page to look at any stage's Dataset: one self-contained HTML file, no server, no network.

Each row shows its image thumbnail, its conversation (or caption and mentions), the judge's score and
rationale, the selector's score and whether the row was kept or dropped, whichever of these the Dataset
has. The page filters by modality and by kept / dropped, sorts by either score, and shows the histogram
of the scores of every row on top (kept and dropped stacked). Thumbnails are embedded as JPEG data URLs,
so the file can be mailed or opened from a shared folder. :func:`~biomed_vital.selection.select` writes
one next to its report (``output_dir``), and so does :class:`~biomed_vital.generation.GPT4VJudge` with
``report_dir``.

Large pools are sampled for the page (``max_rows``): rows are taken evenly along the score ranking, so
the best, the worst and the cut-off all appear; the histogram still counts every row.

Example:
    >>> from biomed_vital.data import write_html_report
    >>> write_html_report(judged, "judged.html")                  # doctest: +SKIP
    PosixPath('judged.html')
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biomed_vital import schema

if TYPE_CHECKING:
    import datasets

__all__ = ["DEFAULT_MAX_ROWS", "write_html_report"]

#: Rows a page shows at most (thumbnails make each row a few kB).
DEFAULT_MAX_ROWS = 500
# The score the page sorts by first and draws the histogram of: the last stage's.
_SCORE_COLUMNS = (schema.SELECTOR_SCORE, schema.JUDGE_SCORE)
_SCORE_LABELS = {schema.SELECTOR_SCORE: "selector score", schema.JUDGE_SCORE: "judge score"}
_ATTRIBUTE = {schema.SELECTOR_SCORE: "selector", schema.JUDGE_SCORE: "judge"}
_TEXT_COLUMNS = (
    schema.ID,
    schema.CANDIDATE_ID,
    schema.MODALITY,
    schema.CAPTION,
    schema.MENTIONS,
    schema.MESSAGES,
    schema.STATUS,
    schema.ERROR,
    schema.JUDGE_SCORE,
    schema.JUDGE_STATUS,
    schema.JUDGE_RATIONALE,
    schema.JUDGE_ERROR,
    schema.JUDGE_TURN_SCORES,
    schema.SELECTOR_SCORE,
)


def write_html_report(
    dataset: datasets.Dataset,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    kept: Sequence[bool] | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    thumbnail_side: int = 160,
) -> Path:
    """Write a self-contained HTML page of ``dataset``'s rows and return its path.

    Args:
        dataset: any stage's Dataset (figures, candidates, judged, selected); the columns it lacks
            are left out of the page.
        path: the ``.html`` file to write (its folder is created; the file is replaced atomically).
        title: the page's heading (default: the file name).
        kept: one flag per row of ``dataset``, True for the rows a selection kept; the page then
            shows kept / dropped and filters by it.
        max_rows: most rows on the page; larger Datasets are sampled evenly along the score ranking.
        thumbnail_side: longest side of the embedded thumbnails, in pixels.

    Example:
        >>> write_html_report(scored, "report/report.html", kept=keep, title="Selection")  # doctest: +SKIP
    """
    if kept is not None and len(kept) != len(dataset):
        raise ValueError(f"kept has {len(kept)} flags for {len(dataset)} rows; give one flag per row")
    if max_rows < 1:
        raise ValueError(f"max_rows must be >= 1, got {max_rows}")
    from tqdm.auto import tqdm

    columns = [name for name in _TEXT_COLUMNS if name in dataset.column_names]
    score_column = next((name for name in _SCORE_COLUMNS if name in dataset.column_names), None)
    scores = _scores(dataset, score_column)
    flags = [bool(flag) for flag in kept] if kept is not None else None
    shown = _rows_to_show(scores, max_rows)
    table = dataset.select_columns(columns).select(shown).to_dict() if columns else {}
    images = _image_column(dataset, shown)
    articles = []
    progress = tqdm(
        shown, desc="Writing the report page", unit=" rows", leave=False, disable=len(shown) < 100
    )
    for position, row in enumerate(progress):
        values = {name: table[name][position] for name in columns}
        thumbnail = _thumbnail(images[position], thumbnail_side) if images is not None else None
        articles.append(_article(row, values, thumbnail, flags[row] if flags is not None else None))
    modalities = sorted(set(dataset[schema.MODALITY])) if schema.MODALITY in dataset.column_names else []
    page = _PAGE.format(
        title=html.escape(title or Path(path).stem),
        summary=html.escape(_summary(len(dataset), len(shown), flags, score_column)),
        histogram=_histogram_svg(scores, flags, _SCORE_LABELS.get(score_column or "", "score")),
        modality_options="".join(
            f'<option value="{html.escape(name, quote=True)}">{html.escape(name)}</option>'
            for name in modalities
        ),
        kept_control="" if flags is None else _KEPT_CONTROL,
        sort_options=_sort_options(dataset.column_names),
        total=len(shown),
        rows="\n".join(articles),
        style=_STYLE,
        script=_SCRIPT,
    )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, target)
    return target


# ------------------------------------------------------------------------------------------ rows


def _scores(dataset: datasets.Dataset, column: str | None) -> list[float | None]:
    if column is None:
        return [None] * len(dataset)
    return [None if value is None or not math.isfinite(value) else float(value) for value in dataset[column]]


def _rows_to_show(scores: list[float | None], max_rows: int) -> list[int]:
    """Every row, or ``max_rows`` rows spread evenly along the score ranking (unscored rows last)."""
    if len(scores) <= max_rows:
        return list(range(len(scores)))
    ranked = sorted(range(len(scores)), key=lambda row: (scores[row] is None, -(scores[row] or 0.0), row))
    step = (len(ranked) - 1) / (max_rows - 1) if max_rows > 1 else 0
    return sorted({ranked[round(i * step)] for i in range(max_rows)})


def _image_column(dataset: datasets.Dataset, rows: list[int]) -> list[Any] | None:
    """The stored images of ``rows`` (bytes / path records, not decoded), or None without an image column."""
    from datasets import Image

    if schema.IMAGE not in dataset.column_names:
        return None
    view = dataset.select_columns([schema.IMAGE]).select(rows)
    if isinstance(view.features[schema.IMAGE], Image):
        view = view.cast_column(schema.IMAGE, Image(decode=False))
    return list(view[schema.IMAGE])


def _thumbnail(value: Any, side: int) -> str | None:
    """A JPEG data URL of the image, at most ``side`` pixels on its longest side; None when it cannot be read."""
    from biomed_vital.data.images import ImageLoadError, load_image

    if value is None:
        return None
    try:
        image = load_image(value)
    except (ImageLoadError, OSError, ValueError):
        return None
    image.thumbnail((side, side))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _number(value: Any) -> str:
    return "" if value is None or not math.isfinite(value) else f"{float(value):.4g}"


def _article(row: int, values: dict[str, Any], thumbnail: str | None, kept: bool | None) -> str:
    """One row of the page: thumbnail, names, scores, conversation and the judge's rationale."""
    escape = html.escape
    modality = values.get(schema.MODALITY) or ""
    attributes = {
        "order": str(row),
        "modality": modality,
        "kept": "" if kept is None else ("kept" if kept else "dropped"),
        **{_ATTRIBUTE[name]: _number(values.get(name)) for name in _SCORE_COLUMNS if name in values},
    }
    data = " ".join(f'data-{key}="{escape(value, quote=True)}"' for key, value in attributes.items())
    image = (
        f'<img src="{thumbnail}" alt="image of {escape(str(values.get(schema.ID, row)), quote=True)}">'
        if thumbnail
        else '<div class="no-image">no image</div>'
    )
    name = values.get(schema.CANDIDATE_ID) or values.get(schema.ID) or f"row {row}"
    badges = [f'<span class="modality">{escape(modality)}</span>'] if modality else []
    if kept is not None:
        badges.append(f'<span class="{attributes["kept"]}">{attributes["kept"]}</span>')
    for column in (schema.JUDGE_SCORE, schema.SELECTOR_SCORE):
        if column in values:
            shown = _number(values[column]) or "none"
            badges.append(f'<span class="score">{_SCORE_LABELS[column]} <b>{escape(shown)}</b></span>')
    problems = [
        f"{label}: {values[column]}"
        for column, label in ((schema.ERROR, "error"), (schema.JUDGE_ERROR, "judge error"))
        if values.get(column)
    ]
    parts = [
        f'<article class="row" {data}>',
        f'<div class="thumb">{image}</div>',
        '<div class="body">',
        f"<h2>{escape(str(name))} {' '.join(badges)}</h2>",
        *(f'<p class="problem">{escape(problem)}</p>' for problem in problems),
        _context(values),
        _conversation(values),
    ]
    if values.get(schema.JUDGE_RATIONALE):
        parts.append(f'<p class="rationale"><b>Judge:</b> {escape(values[schema.JUDGE_RATIONALE])}</p>')
    parts += ["</div>", "</article>"]
    return "\n".join(part for part in parts if part)


def _context(values: dict[str, Any]) -> str:
    caption = values.get(schema.CAPTION) or ""
    mentions = [mention for mention in values.get(schema.MENTIONS) or [] if mention]
    if not caption and not mentions:
        return ""
    lines = [f"<p><b>Caption:</b> {html.escape(caption)}</p>"] if caption else []
    lines += [f'<p class="mention"><b>Mention:</b> {html.escape(mention)}</p>' for mention in mentions[:3]]
    summary = "Caption and mentions" if values.get(schema.MESSAGES) else "Caption"
    opened = "" if values.get(schema.MESSAGES) else " open"
    return f'<details class="context"{opened}><summary>{summary}</summary>{"".join(lines)}</details>'


def _conversation(values: dict[str, Any]) -> str:
    """The conversation as question / answer lines, each answer with its judge turn score when known."""
    from biomed_vital.data.conversations import qa_pairs

    messages = values.get(schema.MESSAGES) or []
    if not messages:
        return ""
    turns = qa_pairs(messages)
    turn_scores = values.get(schema.JUDGE_TURN_SCORES) or []
    if len(turn_scores) != len(turns):
        turn_scores = [None] * len(turns)
    lines = ['<dl class="conversation">']
    for (question, answer), score in zip(turns, turn_scores, strict=True):
        badge = f' <span class="turn-score">{_number(score)}</span>' if score is not None else ""
        lines.append(f"<dt>{html.escape(question)}</dt><dd>{html.escape(answer)}{badge}</dd>")
    lines.append("</dl>")
    return "".join(lines)


def _summary(total: int, shown: int, kept: list[bool] | None, score_column: str | None) -> str:
    parts = [f"{total} rows"]
    if kept is not None:
        parts.append(f"{sum(kept)} kept, {total - sum(kept)} dropped")
    if shown < total:
        by = f" spread along the {_SCORE_LABELS[score_column]}" if score_column else ""
        parts.append(f"this page shows {shown} of them{by}; the histogram counts all")
    return "; ".join(parts)


def _sort_options(columns: Sequence[str]) -> str:
    options = []
    for column in _SCORE_COLUMNS:
        if column in columns:
            label, key = _SCORE_LABELS[column], _ATTRIBUTE[column]
            options.append(f'<option value="{key}:desc">{label}, highest first</option>')
            options.append(f'<option value="{key}:asc">{label}, lowest first</option>')
    options.append('<option value="order:asc">dataset order</option>')
    return "".join(options)


# ------------------------------------------------------------------------------------- histogram


def _histogram_svg(scores: list[float | None], kept: list[bool] | None, label: str) -> str:
    """An inline SVG histogram of the scores, kept and dropped rows stacked; "" without scores."""
    values = [
        (score, kept[row] if kept is not None else True)
        for row, score in enumerate(scores)
        if score is not None
    ]
    if not values:
        return ""
    low, high = min(score for score, _ in values), max(score for score, _ in values)
    n_bins = max(5, min(40, int(math.sqrt(len(values))) + 1))
    width = (high - low) / n_bins or 1.0
    counts = [[0, 0] for _ in range(n_bins)]  # [kept, dropped]
    for score, flag in values:
        counts[min(n_bins - 1, int((score - low) / width))][0 if flag else 1] += 1
    tallest = max(sum(pair) for pair in counts)
    chart_w, chart_h, left, bottom = 720, 150, 40, 30
    bar_w = chart_w / n_bins
    shapes = []
    for index, (n_kept, n_dropped) in enumerate(counts):
        x = left + index * bar_w
        start, end = low + index * width, low + (index + 1) * width
        y = float(chart_h)
        for count, css in ((n_kept, "bar-kept"), (n_dropped, "bar-dropped")):
            if not count:
                continue
            height = chart_h * count / tallest
            y -= height
            what = "rows" if kept is None else ("kept" if css == "bar-kept" else "dropped")
            shapes.append(
                f'<rect class="{css}" x="{x + 1:.1f}" y="{y + 10:.1f}" width="{bar_w - 2:.1f}" '
                f'height="{height:.1f}"><title>{start:.3g} to {end:.3g}: {count} {what}</title></rect>'
            )
    axis = (
        f'<line x1="{left}" y1="{chart_h + 10}" x2="{left + chart_w}" y2="{chart_h + 10}" class="axis"/>'
        f'<text x="{left}" y="{chart_h + 25}">{low:.3g}</text>'
        f'<text x="{left + chart_w}" y="{chart_h + 25}" text-anchor="end">{high:.3g}</text>'
        f'<text x="{left + chart_w / 2}" y="{chart_h + 25}" text-anchor="middle">{html.escape(label)}</text>'
        f'<text x="{left - 6}" y="16" text-anchor="end">{tallest}</text>'
    )
    legend = (
        ""
        if kept is None
        else '<text x="760" y="16" text-anchor="end"><tspan class="legend-kept">■ kept</tspan> '
        '<tspan class="legend-dropped">■ dropped</tspan></text>'
    )
    height = chart_h + bottom + 10
    return (
        f'<svg id="histogram" viewBox="0 0 {left + chart_w + 10} {height}" role="img" '
        f'aria-label="histogram of the {html.escape(label)}">{"".join(shapes)}{axis}{legend}</svg>'
    )


# ------------------------------------------------------------------------------------------ page

_KEPT_CONTROL = (
    '<label>Selection <select id="kept"><option value="all">kept and dropped</option>'
    '<option value="kept">kept</option><option value="dropped">dropped</option></select></label>'
)

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 16px; color: #1d2330; }
h1 { font-size: 20px; margin: 0 0 4px; } .summary { color: #555; margin: 0 0 12px; }
#histogram { width: 100%; max-width: 780px; display: block; margin-bottom: 8px; }
#histogram text { font-size: 11px; fill: #555; } .axis { stroke: #999; }
.bar-kept { fill: #2f7d4f; } .bar-dropped { fill: #b9bec8; }
.legend-kept { fill: #2f7d4f; } .legend-dropped { fill: #8a909c; }
.controls { position: sticky; top: 0; background: #fff; padding: 8px 0; border-bottom: 1px solid #ddd;
            display: flex; gap: 16px; align-items: center; flex-wrap: wrap; z-index: 1; }
.row { display: grid; grid-template-columns: 170px 1fr; gap: 14px; padding: 12px 0; border-bottom: 1px solid #eee; }
.row[hidden] { display: none; }
.thumb img { max-width: 160px; max-height: 160px; border-radius: 4px; background: #000; }
.no-image { width: 160px; height: 100px; display: grid; place-items: center; background: #f1f1f1; color: #888; }
.row h2 { font-size: 15px; margin: 0 0 6px; word-break: break-all; }
.row h2 span { font-size: 12px; font-weight: normal; border-radius: 10px; padding: 1px 8px; margin-left: 4px;
               background: #eef1f6; word-break: normal; }
.row h2 .kept { background: #d8efe1; color: #1f5c38; } .row h2 .dropped { background: #eceef2; color: #666; }
.conversation dt { font-weight: 600; margin-top: 6px; } .conversation dd { margin: 2px 0 0 16px; }
.turn-score { font-size: 12px; background: #eef1f6; border-radius: 8px; padding: 0 6px; }
.rationale { background: #fbf8ee; padding: 6px 8px; border-radius: 4px; }
.problem { color: #a02a2a; } .context p { margin: 4px 0; } .mention { color: #555; }
"""

_SCRIPT = """
const list = document.getElementById('rows');
const rows = Array.from(list.querySelectorAll('article.row'));
const kept = document.getElementById('kept');
function apply() {
  const modality = document.getElementById('modality').value;
  const selection = kept ? kept.value : 'all';
  let shown = 0;
  for (const row of rows) {
    const visible = (modality === 'all' || row.dataset.modality === modality)
      && (selection === 'all' || row.dataset.kept === selection);
    row.hidden = !visible;
    if (visible) shown += 1;
  }
  document.getElementById('shown').textContent = shown;
}
function order() {
  const [key, direction] = document.getElementById('sort').value.split(':');
  const value = (row) => { const text = row.dataset[key]; return text === undefined || text === '' ? null : Number(text); };
  rows.sort((a, b) => {
    const x = value(a), y = value(b);
    if (x === null || y === null) return (x === null) - (y === null) || Number(a.dataset.order) - Number(b.dataset.order);
    return (direction === 'asc' ? x - y : y - x) || Number(a.dataset.order) - Number(b.dataset.order);
  });
  for (const row of rows) list.appendChild(row);
}
for (const id of ['modality', 'kept']) { const control = document.getElementById(id); if (control) control.addEventListener('change', apply); }
document.getElementById('sort').addEventListener('change', order);
order();
apply();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<h1>{title}</h1>
<p class="summary">{summary}</p>
{histogram}
<div class="controls">
<label>Modality <select id="modality"><option value="all">all</option>{modality_options}</select></label>
{kept_control}
<label>Sort by <select id="sort">{sort_options}</select></label>
<span>showing <b id="shown">{total}</b> of {total}</span>
</div>
<div id="rows">
{rows}
</div>
<script>{script}</script>
</body>
</html>
"""
