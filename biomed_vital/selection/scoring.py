"""`select()`: score a pool of generated candidates with a selector and keep the best.

Scoring is a batched DataLoader pass: workers read rows from the Arrow-backed dataset, decode the images
and build the texts (with the shared layout of `biomed_vital.preferences`), the collate step preprocesses
them, and the parent process only runs the model under `torch.inference_mode`. Each image is encoded once
per candidate even when its conversation has several question/answer pairs. Scores go into one float array
(a memmap in `output_dir`), so pools larger than memory work.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import Dataset, Value
from tqdm.auto import tqdm

from biomed_vital import schema
from biomed_vital.data import load_image, write_html_report
from biomed_vital.selection._rows import RowBatches, identity_collate, iter_column, undecoded
from biomed_vital.selection.scoring_config import SelectionConfig

SCORE_COLUMN = schema.SELECTOR_SCORE
_TEXT_COLUMNS = (schema.CAPTION, schema.MENTIONS, schema.MESSAGES)


def _candidate_texts(caption: Any, mentions: Any, messages: Any, score_by: str) -> list[str]:
    from biomed_vital.data import format_selector_conversation, format_selector_text, qa_pairs

    if score_by == "conversation":
        return [format_selector_conversation(caption, mentions, messages)] if messages else []
    pairs = qa_pairs(messages)
    if score_by == "first_pair":
        pairs = pairs[:1]
    return [format_selector_text(caption, mentions, question, answer) for question, answer in pairs]


class _CandidateBatch:
    """Builds one model batch from a block of rows (runs in a DataLoader worker)."""

    def __init__(self, processor: Any, score_by: str, max_length: int | None):
        self.processor = processor
        self.score_by = score_by
        self.max_length = max_length

    def __call__(self, rows: dict[str, list], indices: list[int]) -> dict[str, Any]:
        images: list[Any] = []
        texts: list[str] = []
        owners: list[int] = []
        kept: list[int] = []
        errors: list[tuple[int, str]] = []
        missing = [None] * len(indices)
        captions, mentions = rows.get(schema.CAPTION, missing), rows.get(schema.MENTIONS, missing)
        for position, row in enumerate(indices):
            try:
                row_texts = _candidate_texts(
                    captions[position], mentions[position], rows[schema.MESSAGES][position], self.score_by
                )
                if not row_texts:
                    raise ValueError("the conversation has no question/answer pair")
                image = load_image(rows[schema.IMAGE][position])
            except Exception as error:  # one bad row must not stop a pool of 100k
                errors.append((row, f"{type(error).__name__}: {error}"))
                continue
            owners.extend([len(kept)] * len(row_texts))
            texts.extend(row_texts)
            images.append(image)
            kept.append(row)
        batch: dict[str, Any] = {"rows": kept, "errors": errors}
        if kept:
            batch.update(self.processor.preprocess_images(images, return_tensors="pt"))
            batch.update(self.processor.tokenize(texts, max_length=self.max_length, return_tensors="pt"))
            batch["owners"] = torch.tensor(owners)
        return batch


def _cutoffs(
    scores: np.ndarray,
    groups: np.ndarray,
    top_fraction: float | None,
    threshold: float | None,
    rounding: str = "ceil",
) -> tuple[np.ndarray, dict[str, float | None]]:
    keep = ~np.isnan(scores)
    cutoffs: dict[str, float | None] = {}
    for group in np.unique(groups):
        members = np.flatnonzero((groups == group) & ~np.isnan(scores))
        cutoff = None
        if top_fraction is not None and members.size:
            if rounding == "floor":  # int(), as the paper's script counts; may keep none
                count = int(math.floor(top_fraction * members.size + 1e-9))
            else:
                count = max(1, math.ceil(top_fraction * members.size - 1e-9))
            # stable sort: among equal scores the earlier candidate wins
            order = members[np.argsort(-scores[members], kind="stable")]
            dropped = order[count:]
            keep[dropped] = False
            cutoff = float(scores[order[count - 1]]) if count else None
        if threshold is not None:
            keep[members[scores[members] < threshold]] = False
            cutoff = threshold if cutoff is None else max(cutoff, threshold)
        cutoffs[str(group)] = cutoff
    return keep, cutoffs


def _write_report(
    output_dir: Path,
    scores: np.ndarray,
    keep: np.ndarray,
    modalities: np.ndarray,
    cutoffs: dict,
    summary: dict[str, Any],
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    names = sorted(set(modalities.tolist()))
    per_modality = {}
    for name in names:
        in_group = modalities == name
        scored = in_group & ~np.isnan(scores)
        per_modality[name] = {
            "candidates": int(in_group.sum()),
            "scored": int(scored.sum()),
            "kept": int((keep & in_group).sum()),
            "dropped": int((in_group & ~keep).sum()),
            "mean_score": float(np.mean(scores[scored])) if scored.any() else None,
        }
    summary["per_modality"] = per_modality
    summary["cutoffs"] = cutoffs
    (output_dir / "selection_summary.json").write_text(json.dumps(summary, indent=2))

    valid = scores[~np.isnan(scores)]
    if valid.size:
        bins = np.histogram_bin_edges(valid, bins=min(50, max(5, int(np.sqrt(valid.size)))))
        columns = min(3, len(names))
        rows = math.ceil(len(names) / columns)
        figure, axes = plt.subplots(rows, columns, figsize=(4.5 * columns, 3.2 * rows), squeeze=False)
        for axis, name in zip(axes.flat, names, strict=False):
            group = scores[(modalities == name) & ~np.isnan(scores)]
            axis.hist(group, bins=bins, color="tab:blue", alpha=0.8)
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


def select(
    candidates: Dataset,
    model: Any,
    processor: Any = None,
    *,
    config: SelectionConfig | None = None,
    output_dir: str | os.PathLike | None = None,
    preset: str | None = None,
    **options: Any,
) -> Dataset:
    """Score every candidate conversation and keep the best ones; adds the `selector_score` column.

    A candidate's score is the mean of the scores of its question/answer pairs, each laid out with
    `format_selector_text` (`score_by="qa_mean"`), the score of its first pair (`score_by="first_pair"`, the
    paper's), or the score of the whole conversation laid out with `format_selector_conversation`
    (`score_by="conversation"`). Rows whose `status` is not `"ok"`, whose
    image cannot be decoded or whose conversation has no answer get `selector_score=None` and are never kept.

    Args:
        candidates: the generator's output (`image`, `caption`, `mentions`, `messages`, `status`, `modality`).
        model: a `SelectorModel` (or a path / Hub id to load one).
        processor: its `SelectorProcessor` (loaded from `model` when it is a path and this is None).
        config: a `SelectionConfig` (`top_fraction`, `threshold`, `per_modality`, `score_by`, `batch_size`,
            `num_workers`, `max_length`); keyword arguments naming its fields override it. With neither
            `top_fraction` nor `threshold`, every scored candidate is kept (pure scoring).
        preset: start from a named preset's `SelectionConfig` instead (`"biomed-vital"`: first pair, the whole
            pool ranked together, `int(fraction * n)` kept); `options` override it.
        output_dir: where the selection report goes: `selection_summary.json` (counts kept/dropped per
            modality, cut-offs, failures), `score_histogram.png`, `scores.npy` (one score per row, NaN where
            not scored) and `report.html` (every candidate's thumbnail, conversation, scores, kept or dropped).

    Returns:
        The kept rows of `candidates` in their original order, with `selector_score`.

    Example:
        >>> selected = select(candidates, "path/to/selector", top_fraction=0.2, per_modality=True,  # doctest: +SKIP
        ...                   output_dir="selection_report")
    """
    unknown = sorted(set(options) - {f.name for f in fields(SelectionConfig)})
    if unknown:
        raise TypeError(
            f"select() got unknown option(s) {unknown}; SelectionConfig fields are "
            f"{sorted(f.name for f in fields(SelectionConfig))}"
        )
    if preset is not None:
        if config is not None:
            raise ValueError("select(): pass config= or preset=, not both")
        config = SelectionConfig.from_preset(preset)
    config = replace(config, **options) if config is not None else SelectionConfig(**options)
    top_fraction, threshold, per_modality = config.top_fraction, config.threshold, config.per_modality
    score_by, batch_size, num_workers, max_length = (
        config.score_by,
        config.batch_size,
        config.num_workers,
        config.max_length,
    )
    missing = [column for column in (schema.IMAGE, schema.MESSAGES) if column not in candidates.column_names]
    if missing:
        raise ValueError(
            f"select() needs the candidate columns {missing} (the dataset has {candidates.column_names}); "
            "pass the output of GPT4VGenerator or a dataset with the same columns."
        )
    if per_modality and schema.MODALITY not in candidates.column_names:
        raise ValueError(f"per_modality=True needs a {schema.MODALITY!r} column in the candidates.")
    if SCORE_COLUMN in candidates.column_names:
        candidates = candidates.remove_columns(SCORE_COLUMN)
    if isinstance(model, (str, os.PathLike)):
        from biomed_vital.selection.modeling import SelectorModel
        from biomed_vital.selection.processing import SelectorProcessor

        processor = processor or SelectorProcessor.from_pretrained(model)
        model = SelectorModel.from_pretrained(model)
    if processor is None:
        raise ValueError("select() needs the selector's processor (SelectorProcessor.from_pretrained(path)).")
    if num_workers is None:
        num_workers = min(4, max(0, (os.cpu_count() or 1) - 1))

    total = len(candidates)
    statuses = (
        np.array([s == schema.STATUS_OK for s in iter_column(candidates, schema.STATUS)], dtype=bool)
        if schema.STATUS in candidates.column_names
        else np.ones(total, dtype=bool)
    )
    eligible = np.flatnonzero(statuses)
    output_path = Path(output_dir) if output_dir is not None else None
    scores: np.ndarray
    if output_path is not None:
        output_path.mkdir(parents=True, exist_ok=True)
        scores = np.lib.format.open_memmap(
            output_path / "scores.npy", mode="w+", dtype=np.float32, shape=(total,)
        )
        scores[:] = np.nan
    else:
        scores = np.full(total, np.nan, dtype=np.float32)

    view = undecoded(candidates, [schema.IMAGE, *[c for c in _TEXT_COLUMNS if c in candidates.column_names]])
    loader: torch.utils.data.DataLoader = torch.utils.data.DataLoader(
        RowBatches(view, eligible.tolist(), _CandidateBatch(processor, score_by, max_length)),
        batch_size=batch_size,
        num_workers=num_workers,
        collate_fn=identity_collate,
        prefetch_factor=4 if num_workers > 0 else None,
        persistent_workers=False,
    )
    device = next(model.parameters()).device
    errors: list[tuple[int, str]] = []
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for batch in tqdm(loader, desc="Scoring candidates", unit="batch"):
                errors.extend(batch["errors"])
                if not batch["rows"]:
                    continue
                image_features = model.encode_image(batch["pixel_values"].to(device))
                text_features = model.encode_text(
                    batch["input_ids"].to(device),
                    batch["attention_mask"].to(device),
                    batch["token_type_ids"].to(device) if "token_type_ids" in batch else None,
                )
                owners = batch["owners"].to(device)
                text_scores = model.score_features(image_features[owners], text_features).squeeze(-1).float()
                sums = torch.zeros(len(batch["rows"]), device=device).index_add_(0, owners, text_scores)
                counts = torch.bincount(owners, minlength=len(batch["rows"])).clamp(min=1)
                scores[np.asarray(batch["rows"])] = (sums / counts).cpu().numpy()
    finally:
        model.train(was_training)

    groups = (
        np.asarray(list(iter_column(candidates, schema.MODALITY)), dtype=object).astype(str)
        if per_modality
        else np.full(total, "all", dtype=object)
    )
    keep, cutoffs = _cutoffs(
        np.asarray(scores, dtype=np.float64), groups, top_fraction, threshold, config.fraction_rounding
    )

    if output_path is not None:
        if isinstance(scores, np.memmap):
            scores.flush()
        modalities = (
            np.asarray(list(iter_column(candidates, schema.MODALITY)), dtype=object).astype(str)
            if schema.MODALITY in candidates.column_names
            else np.full(total, "all", dtype=object)
        )
        summary = {
            "candidates": total,
            "not_ok_status": int(total - eligible.size),
            "failed": len(errors),
            "first_failures": [{"row": row, "error": message} for row, message in errors[:20]],
            "scored": int((~np.isnan(scores)).sum()),
            "kept": int(keep.sum()),
            "top_fraction": top_fraction,
            "threshold": threshold,
            "per_modality_cutoff": per_modality,
            "score_by": score_by,
        }
        _write_report(output_path, np.asarray(scores), keep, modalities, cutoffs, summary)

    values = [None if math.isnan(value) else float(value) for value in np.asarray(scores).tolist()]
    if candidates._indices is not None:
        # add_column needs a contiguous table; this writes the view once instead of failing.
        candidates = candidates.flatten_indices()
    scored = candidates.add_column(SCORE_COLUMN, values, feature=Value("float64"))
    if output_path is not None:  # a page to look at what was kept and dropped
        write_html_report(scored, output_path / "report.html", kept=keep.tolist(), title="Selection")
    return scored.select(np.flatnonzero(keep))


__all__ = ["select"]
