"""`select()`: score a pool of generated candidates with a selector and keep the best.

Scoring reads the Arrow-backed dataset a block of rows at a time, decodes the images and lays out the texts
(with the shared layout of `biomed_vital.data.format_selector_pairs`), preprocesses and tokenizes them, and runs
the model on the block while the next one is read: in a background thread of this process by default, or in
DataLoader worker processes (`num_workers`). Each image is decoded, preprocessed and encoded once per block
of rows, however many candidates of its figure and question/answer pairs of their conversations use it. Under `accelerate launch` every process scores its share of
the rows and the scores are gathered back in row order.
"""

from __future__ import annotations

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
from biomed_vital.data import (
    format_selector_conversation,
    format_selector_pairs,
    load_image,
    write_html_report,
)
from biomed_vital.selection._rows import (
    RELEASE_EVERY_ROWS,
    MappedFilePages,
    RowBatches,
    column_array,
    identity_collate,
    read_ahead,
    row_blocks,
    undecoded,
)
from biomed_vital.selection._sharing import ProcessShare
from biomed_vital.selection.scoring_config import SelectionConfig

SCORE_COLUMN = schema.SELECTOR_SCORE
_TEXT_COLUMNS = (schema.CAPTION, schema.MENTIONS, schema.MESSAGES)


class _CandidateBatch:
    """Builds one model batch from a block of rows (in the reading thread or a DataLoader worker)."""

    def __init__(self, processor: Any, score_by: str, max_length: int | None):
        self.processor = processor
        self.score_by = score_by
        self.max_length = max_length

    def texts(self, caption: Any, mentions: Any, messages: Any) -> list[str]:
        if self.score_by == "conversation":
            return [format_selector_conversation(caption, mentions, messages)] if messages else []
        pairs = format_selector_pairs(caption, mentions, messages)
        return pairs[:1] if self.score_by == "first_pair" else pairs

    def __call__(self, rows: dict[str, list], indices: list[int]) -> dict[str, Any]:
        images: list[Any] = []
        image_of: dict[Any, int] = {}  # stored image -> its position in `images`
        texts: list[str] = []
        owners: list[int] = []
        kept: list[int] = []
        kept_images: list[int] = []
        errors: list[tuple[int, str]] = []
        missing = [None] * len(indices)
        captions, mentions = rows.get(schema.CAPTION, missing), rows.get(schema.MENTIONS, missing)
        for position, row in enumerate(indices):
            try:
                row_texts = self.texts(
                    captions[position], mentions[position], rows[schema.MESSAGES][position]
                )
                if not row_texts:
                    raise ValueError("the conversation has no question/answer pair")
                stored = rows[schema.IMAGE][position]
                # a figure's candidates carry the same image: decode, preprocess and encode it once per block
                key = _stored_image_key(stored)
                image = image_of.get(key) if key is not None else None
                if image is None:
                    # grey images stay one band until after resizing (preprocess_images handles both)
                    images.append(load_image(stored, keep_greyscale=True))
                    image = len(images) - 1
                    if key is not None:
                        image_of[key] = image
            except Exception as error:  # one bad row must not stop a pool of 100k
                errors.append((row, f"{type(error).__name__}: {error}"))
                continue
            owners.extend([len(kept)] * len(row_texts))
            texts.extend(row_texts)
            kept.append(row)
            kept_images.append(image)
        batch: dict[str, Any] = {"rows": kept, "errors": errors}
        if kept:
            batch.update(self.processor.preprocess_images(images, return_tensors="pt"))
            batch.update(self.processor.tokenize(texts, max_length=self.max_length, return_tensors="pt"))
            batch["owners"] = torch.tensor(owners)
            batch["image_of_row"] = torch.tensor(kept_images)
        return batch


def _stored_image_key(stored: Any) -> Any:
    """What identifies a stored image within a block (its bytes, else its path); None: not comparable."""
    if isinstance(stored, dict):
        if stored.get("bytes"):
            return stored["bytes"]
        return ("path", stored["path"]) if stored.get("path") else None
    return ("path", stored) if isinstance(stored, str) else None


class _BlockReader:
    """`read(block)`: the batch of one block of positions, handing back mapped pages now and then."""

    def __init__(self, view: Dataset, rows: np.ndarray, make_batch: _CandidateBatch):
        self.view, self.rows, self.make_batch = view, rows, make_batch
        self.pages = MappedFilePages(view)
        self._rows_since_release = 0

    def read(self, block: np.ndarray) -> dict[str, Any]:
        rows = self.rows[block].tolist()
        batch = self.make_batch(self.view[rows], rows)
        self._rows_since_release += len(rows)
        if self._rows_since_release >= RELEASE_EVERY_ROWS:
            self.pages.release()
            self._rows_since_release = 0
        return batch


def _default_num_workers(device: torch.device) -> int:
    """Reading processes for a model on `device`: up to 4 of the cores it leaves free, or 0 (a thread).

    A background thread overlaps reading with the model; worker processes only pay for themselves with two
    or more cores to spare. On CPU torch's own threads take `torch.get_num_threads()` cores; with the model
    on an accelerator only the thread that drives it takes one.
    """
    try:
        cores = len(os.sched_getaffinity(0))  # the cores this process may use (a container's or job's share)
    except AttributeError:  # no affinity outside Linux
        cores = os.cpu_count() or 1
    busy = torch.get_num_threads() if device.type == "cpu" else 1
    spare = cores - busy
    return min(4, spare) if spare >= 2 else 0


def _score_rows(
    view: Dataset,
    rows: np.ndarray,
    model: Any,
    make_batch: _CandidateBatch,
    batch_size: int,
    num_workers: int,
    show_progress: bool,
) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Scores of `rows` (NaN where a row failed) and the failures as (row, message)."""
    scores = np.full(len(rows), np.nan, dtype=np.float32)
    errors: list[tuple[int, str]] = []
    if not len(rows):
        return scores, errors
    batches: Any
    if num_workers > 0:
        batches = torch.utils.data.DataLoader(
            RowBatches(view, rows, make_batch),
            batch_size=batch_size,
            num_workers=num_workers,
            collate_fn=identity_collate,
            prefetch_factor=4,
            persistent_workers=False,
        )
    else:
        reader = _BlockReader(view, rows, make_batch)
        batches = read_ahead(reader.read, row_blocks(len(rows), batch_size), depth=2)
    device = next(model.parameters()).device
    total = math.ceil(len(rows) / batch_size)
    with torch.inference_mode():
        for batch in tqdm(
            batches, total=total, desc="Scoring candidates", unit="batch", disable=not show_progress
        ):
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
            image_of_text = batch["image_of_row"].to(device)[owners]
            text_scores = (
                model.score_features(image_features[image_of_text], text_features).squeeze(-1).float()
            )
            sums = torch.zeros(len(batch["rows"]), device=device).index_add_(0, owners, text_scores)
            counts = torch.bincount(owners, minlength=len(batch["rows"])).clamp(min=1)
            scores[np.searchsorted(rows, batch["rows"])] = (sums / counts).cpu().numpy()
    return scores, errors


def _cutoffs(
    scores: np.ndarray,
    group_codes: np.ndarray,
    group_names: list[str],
    top_fraction: float | None,
    threshold: float | None,
    rounding: str = "ceil",
) -> tuple[np.ndarray, dict[str, float | None]]:
    keep = ~np.isnan(scores)
    cutoffs: dict[str, float | None] = {}
    for code, group in enumerate(group_names):
        members = np.flatnonzero((group_codes == code) & keep)
        cutoff = None
        if top_fraction is not None and members.size:
            if rounding == "floor":  # int(), as the paper's script counts; may keep none
                count = int(math.floor(top_fraction * members.size + 1e-9))
            else:
                count = max(1, math.ceil(top_fraction * members.size - 1e-9))
            # stable sort: among equal scores the earlier candidate wins
            order = members[np.argsort(-scores[members], kind="stable")]
            keep[order[count:]] = False
            cutoff = float(scores[order[count - 1]]) if count else None
        if threshold is not None:
            keep[members[scores[members] < threshold]] = False
            cutoff = threshold if cutoff is None else max(cutoff, threshold)
        cutoffs[group] = cutoff
    return keep, cutoffs


def _groups(candidates: Dataset, column: str | None) -> tuple[np.ndarray, list[str]]:
    """Per row the position of its group in the returned names (one group "all" without a column)."""
    if column is None or column not in candidates.column_names:
        return np.zeros(len(candidates), dtype=np.int32), ["all"]
    import pyarrow as pa
    import pyarrow.compute as pc

    values = column_array(candidates, column)
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        values = pc.cast(values, pa.string())
    encoded = pc.dictionary_encode(pc.fill_null(values, "None"))  # str(None), as the report always named it
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32), encoded.dictionary.to_pylist()


def _eligible_rows(candidates: Dataset) -> np.ndarray:
    if schema.STATUS not in candidates.column_names:
        return np.arange(len(candidates), dtype=np.int64)
    import pyarrow.compute as pc

    ok = pc.fill_null(pc.equal(column_array(candidates, schema.STATUS), schema.STATUS_OK), False)
    return np.flatnonzero(ok.to_numpy(zero_copy_only=False))


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

    Under `accelerate launch` each process scores a contiguous share of the rows on its device
    (`PartialState().device`, where the model is moved) and every process returns the same selection; the main
    process writes the report.

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
    missing = [column for column in (schema.IMAGE, schema.MESSAGES) if column not in candidates.column_names]
    if missing:
        raise ValueError(
            f"select() needs the candidate columns {missing} (the dataset has {candidates.column_names}); "
            "pass the output of GPT4VGenerator or a dataset with the same columns."
        )
    if config.per_modality and schema.MODALITY not in candidates.column_names:
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
    share = ProcessShare.current()
    if share is not None and next(model.parameters()).device != share.device:
        model = model.to(share.device)
    num_workers = (
        _default_num_workers(next(model.parameters()).device)
        if config.num_workers is None
        else config.num_workers
    )
    eligible = _eligible_rows(candidates)
    shares = share.split(eligible) if share is not None else [eligible]
    own = shares[share.index] if share is not None else eligible

    view = undecoded(candidates, [schema.IMAGE, *[c for c in _TEXT_COLUMNS if c in candidates.column_names]])
    make_batch = _CandidateBatch(processor, config.score_by, config.max_length)
    was_training = model.training
    model.eval()
    try:
        own_scores, errors = _score_rows(
            view,
            own,
            model,
            make_batch,
            config.batch_size,
            num_workers,
            show_progress=share is None or share.is_main,
        )
    finally:
        model.train(was_training)

    total = len(candidates)
    output_path = Path(output_dir) if output_dir is not None else None
    write_report = output_path is not None and (share is None or share.is_main)
    scores: np.ndarray
    if write_report:
        assert output_path is not None
        output_path.mkdir(parents=True, exist_ok=True)
        scores = np.lib.format.open_memmap(
            output_path / "scores.npy", mode="w+", dtype=np.float32, shape=(total,)
        )
        scores[:] = np.nan
    else:
        scores = np.full(total, np.nan, dtype=np.float32)
    scored_per_process = [int((~np.isnan(own_scores)).sum())]
    if share is None:
        scores[own] = own_scores
    else:
        gathered = share.gather((own_scores, errors))
        errors = []
        scored_per_process = []
        for rows, (part_scores, part_errors) in zip(shares, gathered, strict=True):
            scores[rows] = part_scores
            errors.extend(part_errors)
            scored_per_process.append(int((~np.isnan(part_scores)).sum()))

    group_codes, group_names = _groups(candidates, schema.MODALITY if config.per_modality else None)
    keep, cutoffs = _cutoffs(
        np.asarray(scores, dtype=np.float64),
        group_codes,
        group_names,
        config.top_fraction,
        config.threshold,
        config.fraction_rounding,
    )

    if write_report:
        assert output_path is not None
        from biomed_vital.selection.report import write_selection_report

        if isinstance(scores, np.memmap):
            scores.flush()
        modality_codes, modality_names = _groups(candidates, schema.MODALITY)
        summary = {
            "candidates": total,
            "not_ok_status": int(total - eligible.size),
            "failed": len(errors),
            "first_failures": [{"row": row, "error": message} for row, message in errors[:20]],
            "scored": int((~np.isnan(scores)).sum()),
            "kept": int(keep.sum()),
            "processes": 1 if share is None else share.count,
            "scored_per_process": scored_per_process,
            "top_fraction": config.top_fraction,
            "threshold": config.threshold,
            "per_modality_cutoff": config.per_modality,
            "score_by": config.score_by,
        }
        write_selection_report(
            output_path, np.asarray(scores), keep, modality_codes, modality_names, cutoffs, summary
        )
    if share is not None:
        share.wait()  # the report is complete before any process goes on

    import pyarrow as pa

    score_values = np.asarray(scores, dtype=np.float64)
    column = pa.array(score_values, mask=np.isnan(score_values))  # unscored rows are null, not NaN
    if candidates._indices is not None:
        # add_column needs a contiguous table; this writes the view once instead of failing.
        candidates = candidates.flatten_indices()
    scored = candidates.add_column(SCORE_COLUMN, column, feature=Value("float64"))
    if write_report:  # a page to look at what was kept and dropped
        assert output_path is not None
        write_html_report(scored, output_path / "report.html", kept=keep.tolist(), title="Selection")
    return scored.select(np.flatnonzero(keep))


__all__ = ["select"]
