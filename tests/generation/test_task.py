"""ModelTask's shared run: rows planned, sent and written in blocks, in order, whatever the block size."""

from __future__ import annotations

import pytest

from biomed_vital.generation import GPT4VGenerator, GPT4VJudge
from biomed_vital.generation import task as task_module
from tests.generation.helpers import make_figures

NO_IMAGE = {3, *range(7, 14), 39}  # one whole block of 7 rows among them


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 7 rows, at most 2 planned ahead: many block boundaries in a small test."""
    monkeypatch.setattr(task_module, "BLOCK_ROWS", 7)
    monkeypatch.setattr(task_module, "BLOCKS_AHEAD", 2)


def test_rows_come_out_in_input_order_across_blocks(server, tmp_path, small_blocks) -> None:
    from datasets import Dataset

    figures = make_figures(40, size=8)
    rows = figures.to_list()
    for index in NO_IMAGE:
        rows[index]["image"] = None
    figures = Dataset.from_list(rows, features=figures.features)
    ids = figures["id"][:]
    options = {"base_url": server.base_url, "api_key": "sk-local-test", "show_progress": False}
    generator = GPT4VGenerator(
        "gpt-4o", cache_dir=str(tmp_path / "cache"), n_candidates=2, max_concurrency=8, **options
    )
    candidates = generator.generate(figures)
    assert candidates["candidate_id"][:] == [f"{figure_id}-c{c}" for figure_id in ids for c in (0, 1)]
    assert candidates["id"][:] == [figure_id for figure_id in ids for _ in (0, 1)]
    expected = ["error" if index in NO_IMAGE else "ok" for index in range(40) for _ in (0, 1)]
    assert candidates["status"][:] == expected
    assert len(server.request_log()) == 2 * (40 - len(NO_IMAGE))
    assert candidates.cache_files  # the added columns are memory-mapped from disk, not held in memory
    assert generator.last_summary["by_status"] == {"ok": 62, "error": 18}

    # the judge: a different number of requests per row (one per turn; none for failed candidates)
    judge = GPT4VJudge("gpt-4o", cache_dir=str(tmp_path / "cache"), max_concurrency=8, **options)
    judged = judge.score(candidates)
    assert judged["candidate_id"][:] == candidates["candidate_id"][:]
    for row in judged:
        if row["status"] == "ok":
            assert row["judge_status"] == "ok" and len(row["judge_turn_scores"]) == len(row["messages"]) // 2
        else:
            assert row["judge_status"] == "skipped"


def test_an_empty_dataset_gives_an_empty_output(server, tmp_path) -> None:
    figures = make_figures(3, size=8).select([])
    generator = GPT4VGenerator(
        "gpt-4o", base_url=server.base_url, api_key="sk-x", cache_dir=str(tmp_path), show_progress=False
    )
    candidates = generator.generate(figures)
    assert len(candidates) == 0 and "candidate_id" in candidates.column_names
    assert server.request_log() == []
