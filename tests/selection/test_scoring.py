from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from biomed_vital.data import format_selector_conversation, format_selector_text, qa_pairs
from biomed_vital.selection import SelectionConfig, select
from biomed_vital.testing import tiny_selector


@pytest.fixture(scope="module")
def selector():
    model, processor = tiny_selector(head_dropout=0.0)
    return model, processor


def _direct_scores(model, processor, row, score_by="qa_mean"):
    if score_by == "qa_mean":
        texts = [
            format_selector_text(row["caption"], row["mentions"], q, a) for q, a in qa_pairs(row["messages"])
        ]
    else:
        texts = [format_selector_conversation(row["caption"], row["mentions"], row["messages"])]
    batch = processor(images=[row["image"]] * len(texts), text=texts)
    with torch.no_grad():
        return model(**batch).logits.squeeze(-1).mean().item()


def test_scores_are_the_mean_over_question_answer_pairs(selector, candidates):
    model, processor = selector
    model.eval()
    scored = select(candidates, model, processor, batch_size=4, num_workers=0)
    assert "selector_score" in scored.column_names
    by_id = {row["candidate_id"]: row["selector_score"] for row in scored}
    for index in (0, 5):
        row = candidates[index]
        assert by_id[row["candidate_id"]] == pytest.approx(_direct_scores(model, processor, row), abs=1e-5)


def test_whole_conversation_scoring(selector, candidates):
    model, processor = selector
    model.eval()
    scored = select(candidates, model, processor, batch_size=4, num_workers=0, score_by="conversation")
    row = candidates[0]
    expected = _direct_scores(model, processor, row, "conversation")
    assert scored.filter(lambda r: r["candidate_id"] == row["candidate_id"])[0][
        "selector_score"
    ] == pytest.approx(expected, abs=1e-5)


def test_failed_rows_are_never_kept_and_the_model_mode_is_restored(selector, candidates):
    model, processor = selector
    model.train()
    scored = select(candidates, model, processor, batch_size=4, num_workers=0)
    assert model.training
    assert "cand-3" not in scored["candidate_id"]  # status == "error"
    assert len(scored) == len(candidates) - 1
    assert all(score is not None for score in scored["selector_score"])


def test_top_fraction_per_modality_and_report(selector, candidates, tmp_path):
    model, processor = selector
    selected = select(
        candidates,
        model,
        processor,
        top_fraction=0.5,
        per_modality=True,
        batch_size=4,
        num_workers=1,
        output_dir=tmp_path,
    )
    summary = json.loads((tmp_path / "selection_summary.json").read_text())
    assert (tmp_path / "score_histogram.png").stat().st_size > 0
    scores = np.load(tmp_path / "scores.npy")
    assert scores.shape == (len(candidates),) and np.isnan(scores[3])

    ok = candidates.filter(lambda row: row["status"] == "ok")
    for modality, counts in summary["per_modality"].items():
        available = sum(1 for m in ok["modality"] if m == modality)
        assert counts["kept"] == int(np.ceil(0.5 * available))
        kept_scores = [
            s for s, m in zip(selected["selector_score"], selected["modality"], strict=True) if m == modality
        ]
        assert min(kept_scores) >= summary["cutoffs"][modality] - 1e-9
    assert summary["kept"] == len(selected)
    assert summary["not_ok_status"] == 1
    # kept rows keep their original order
    order = [candidates["candidate_id"].index(c) for c in selected["candidate_id"]]
    assert order == sorted(order)


def test_threshold_and_workers_agree_with_inline_scoring(selector, candidates):
    model, processor = selector
    inline = select(candidates, model, processor, batch_size=5, num_workers=0)
    with_workers = select(candidates, model, processor, batch_size=3, num_workers=2)
    np.testing.assert_allclose(inline["selector_score"], with_workers["selector_score"], atol=1e-6)
    # the cut lies in the widest gap between neighbouring scores in the middle, so the float noise of another
    # batching cannot move a candidate across it
    values = np.sort(inline["selector_score"])
    quarter = len(values) // 4
    widest = quarter + int(np.argmax(np.diff(values[quarter : len(values) - quarter])))
    cut = float(values[widest] + values[widest + 1]) / 2
    above = select(candidates, model, processor, threshold=cut, batch_size=4, num_workers=0)
    expected = {c for c, s in zip(inline["candidate_id"], inline["selector_score"], strict=True) if s > cut}
    assert 0 < len(expected) < len(inline)
    assert set(above["candidate_id"]) == expected


@pytest.mark.parametrize(
    ("cores", "torch_threads", "device", "expected"),
    [
        (8, 8, "cpu", 0),  # torch's threads take every core: read in a thread
        (8, 7, "cpu", 0),  # one core to spare: still a thread
        (8, 4, "cpu", 4),
        (16, 4, "cpu", 4),  # never more than 4
        (8, 8, "cuda", 4),  # the model on a GPU leaves the CPU's cores to reading, but the one driving it
        (2, 2, "cuda", 0),  # ... and one spare core is a thread's
        (3, 3, "cuda", 2),
    ],
)
def test_default_reading_processes_use_the_cores_the_model_leaves_free(
    monkeypatch, cores, torch_threads, device, expected
):
    import os

    from biomed_vital.selection import scoring

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    monkeypatch.setattr(torch, "get_num_threads", lambda: torch_threads)
    assert scoring._default_num_workers(torch.device(device)) == expected


def test_select_picks_its_readers_for_the_models_device(selector, candidates, monkeypatch):
    from biomed_vital.selection import scoring

    model, processor = selector
    asked: list[torch.device] = []
    monkeypatch.setattr(scoring, "_default_num_workers", lambda device: asked.append(device) or 0)
    select(candidates, model, processor, batch_size=8)
    assert asked == [next(model.parameters()).device]
    select(candidates, model, processor, batch_size=8, num_workers=0)  # an explicit count is taken as it is
    assert len(asked) == 1


def test_a_figures_image_is_encoded_once_per_block_for_all_its_candidates(selector, candidates):
    from datasets import Image as ImageFeature

    model, processor = selector
    model.eval()  # the direct scores below need dropout off
    stored = candidates.cast_column("image", ImageFeature(decode=False))
    eligible = [row for row in stored if row["status"] == "ok"]
    distinct = len({(row["image"]["path"], row["image"]["bytes"]) for row in eligible})
    assert distinct < len(eligible)  # the candidates share images, as a figure's candidates do
    encoded: list[int] = []
    encode_image = model.encode_image
    model.encode_image = lambda pixel_values: (encoded.append(len(pixel_values)), encode_image(pixel_values))[
        1
    ]
    try:
        scored = select(candidates, model, processor, batch_size=len(candidates))
    finally:
        del model.encode_image
    assert encoded == [distinct]
    # and every candidate is scored with its own image
    by_id = dict(zip(scored["candidate_id"], scored["selector_score"], strict=True))
    for row in candidates:
        if row["status"] == "ok":
            assert by_id[row["candidate_id"]] == pytest.approx(
                _direct_scores(model, processor, row), abs=1e-5
            )


def test_greyscale_images_score_as_their_rgb_conversions(selector, candidates):
    """Grey images skip the RGB conversion until after resizing; the scores must not notice."""
    model, processor = selector
    # a size other than the selector's, so that resizing takes place
    grey = candidates.map(lambda row: {"image": row["image"].convert("L").resize((61, 45))})
    assert grey[0]["image"].mode == "L"
    as_rgb = grey.map(lambda row: {"image": row["image"].convert("RGB")})
    assert as_rgb[0]["image"].mode == "RGB"
    np.testing.assert_allclose(
        np.asarray(select(grey, model, processor, batch_size=4)["selector_score"]),
        np.asarray(select(as_rgb, model, processor, batch_size=4)["selector_score"]),
        rtol=0,
        atol=1e-6,
    )


def test_a_broken_image_is_reported_and_not_kept(selector, candidates, tmp_path):
    model, processor = selector
    from datasets import Image

    raw = candidates.cast_column("image", Image(decode=False))
    broken = raw.map(
        lambda row, index: {
            "image": {"bytes": b"not an image", "path": None} if index == 1 else row["image"]
        },
        with_indices=True,
    ).cast_column("image", Image())
    selected = select(broken, model, processor, batch_size=4, num_workers=0, output_dir=tmp_path)
    summary = json.loads((tmp_path / "selection_summary.json").read_text())
    assert summary["failed"] == 1 and summary["first_failures"][0]["row"] == 1
    assert "cand-1" not in selected["candidate_id"]
    assert len(selected) == len(candidates) - 2


def test_missing_columns_and_bad_fraction_raise(selector, candidates):
    model, processor = selector
    with pytest.raises(ValueError, match="messages"):
        select(candidates.remove_columns("messages"), model, processor)
    with pytest.raises(ValueError, match="top_fraction"):
        select(candidates, model, processor, top_fraction=1.5)
    with pytest.raises(ValueError, match="modality"):
        select(candidates.remove_columns("modality"), model, processor, per_modality=True)


def test_first_pair_scoring_scores_only_the_first_question_and_answer(selector, candidates):
    model, processor = selector
    model.eval()
    scored = select(candidates, model, processor, batch_size=4, num_workers=0, score_by="first_pair")
    by_id = {row["candidate_id"]: row["selector_score"] for row in scored}
    for index in (0, 5):
        row = candidates[index]
        question, answer = qa_pairs(row["messages"])[0]
        batch = processor(
            images=[row["image"]],
            text=[format_selector_text(row["caption"], row["mentions"], question, answer)],
        )
        with torch.no_grad():
            expected = model(**batch).logits.item()
        assert by_id[row["candidate_id"]] == pytest.approx(expected, abs=1e-5)
        assert len(qa_pairs(row["messages"])) > 1
        assert by_id[row["candidate_id"]] != pytest.approx(_direct_scores(model, processor, row), abs=1e-6)


def test_the_preset_ranks_the_whole_pool_and_keeps_int_of_the_fraction(selector, candidates, tmp_path):
    model, processor = selector
    model.eval()
    scored = len(candidates) - 1  # one row failed generation
    kept = select(
        candidates,
        model,
        processor,
        preset="biomed-vital",
        top_fraction=0.4,
        num_workers=0,
        output_dir=tmp_path,
    )
    assert len(kept) == int(0.4 * scored) == 4
    summary = json.loads((tmp_path / "selection_summary.json").read_text())
    assert summary["score_by"] == "first_pair" and not summary["per_modality_cutoff"]
    assert len(select(candidates, model, processor, top_fraction=0.4, num_workers=0)) == math.ceil(
        0.4 * scored
    )
    with pytest.raises(ValueError, match="not both"):
        select(candidates, model, processor, preset="biomed-vital", config=SelectionConfig())


def test_fraction_counts_are_not_thrown_off_by_floating_point():
    from biomed_vital.selection.scoring import _cutoffs

    scores, codes = np.arange(30, dtype=np.float64), np.zeros(30, dtype=np.int32)
    for rounding in ("ceil", "floor"):
        keep, _ = _cutoffs(scores, codes, ["all"], 0.1, None, rounding)  # 0.1 * 30 is 3.0000000000000004
        assert keep.sum() == 3
    keep, cutoffs = _cutoffs(scores[:5], codes[:5], ["all"], 0.1, None, "floor")
    assert keep.sum() == 0 and cutoffs["all"] is None  # int(0.5): the paper's count keeps none


def test_select_writes_a_page_of_every_candidate_kept_or_dropped(selector, candidates, tmp_path):
    model, processor = selector
    selected = select(candidates, model, processor, top_fraction=0.5, num_workers=0, output_dir=tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert page.count('<article class="row"') == len(candidates)
    assert page.count('data-kept="kept"') == len(selected)
    assert page.count('data-kept="dropped"') == len(candidates) - len(selected)
    assert "error: timeout" in page  # the failed candidate is shown with its error
