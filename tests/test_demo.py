"""The offline end-to-end demo: every stage runs and hands the next one the agreed columns."""

from __future__ import annotations

import logging
from collections import Counter

import pytest
from datasets import load_from_disk


@pytest.mark.slow
def test_demo_runs_every_stage_offline_and_saves_them(tmp_path, capsys, caplog):
    from biomed_vital.data import load_demo_figures
    from biomed_vital.demo import run_demo

    selected = run_demo(tmp_path / "demo", show_progress=False)
    printed = capsys.readouterr().out

    figures = load_demo_figures()
    for figure_id in figures["id"]:
        assert figure_id in printed
    candidates = load_from_disk(str(tmp_path / "demo" / "candidates"))
    assert len(candidates) == 2 * len(figures)
    assert set(candidates["status"]) == {"ok"}
    judged = load_from_disk(str(tmp_path / "demo" / "judged"))
    assert all(0 <= score <= 10 for score in judged["judge_score"])
    preferences = load_from_disk(str(tmp_path / "demo" / "preferences"))
    assert len(preferences) > 0 and set(preferences["source"]) == {"judge"}
    # the stand-in's two candidates of a figure differ, so the judge makes same-figure pairs
    for figure_id in figures["id"]:
        first, second = (row["messages"] for row in candidates if row["id"] == figure_id)
        assert first != second, figure_id
    assert "judge_same_question" in preferences["pair_kind"]
    # the best half of each modality's candidates is kept: no modality is left out
    generated = Counter(candidates["modality"])
    assert Counter(selected["modality"]) == {modality: count // 2 for modality, count in generated.items()}
    assert (tmp_path / "demo" / "selection_report" / "score_histogram.png").is_file()
    assert (tmp_path / "demo" / "selector" / "config.json").is_file()

    # a rerun is served from the cache: every generation request is answered from it
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="biomed_vital"):
        run_demo(tmp_path / "demo", show_progress=False)
    n = len(candidates)
    assert f"{n} requests: {n} ok, 0 error (none); {n} from cache" in caplog.text
