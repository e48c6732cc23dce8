"""`select()` under `accelerate launch` with two CPU processes: each scores its share, scores come back in order."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from biomed_vital.selection import select
from biomed_vital.testing import tiny_selector

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_two_processes_score_their_shares_and_return_the_single_process_selection(candidates, tmp_path):
    model, processor = tiny_selector(head_dropout=0.0)
    model.eval()
    model.save_pretrained(tmp_path / "selector")
    processor.save_pretrained(tmp_path / "selector")
    candidates.save_to_disk(tmp_path / "pool")
    out = tmp_path / "out"
    out.mkdir()
    env = {
        **os.environ,
        "CUDA_VISIBLE_DEVICES": "",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
    }
    command = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--config_file", str(REPO / "examples" / "accelerate" / "ddp.yaml"),
        "--num_processes", "2",
        "--mixed_precision", "no",
        "--main_process_port", str(_free_port()),
        str(Path(__file__).with_name("select_two_processes.py")),
        str(tmp_path / "pool"), str(tmp_path / "selector"), str(out),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]

    ranks = [json.loads((out / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert ranks[0] == ranks[1]  # every process returns the same selection
    summary = json.loads((out / "report" / "selection_summary.json").read_text())
    assert summary["processes"] == 2
    eligible = len(candidates) - 1  # one row has status "error"
    assert summary["scored_per_process"] == [(eligible + 1) // 2, eligible // 2]

    single = select(candidates, model, processor, top_fraction=0.5, batch_size=3, num_workers=0)
    assert ranks[0]["candidate_id"] == single["candidate_id"]  # same rows, same (original) order
    np.testing.assert_allclose(ranks[0]["selector_score"], single["selector_score"], rtol=1e-5, atol=1e-6)
    scores = np.load(out / "report" / "scores.npy")
    single_all = select(candidates, model, processor, batch_size=3, num_workers=0)
    expected = np.full(len(candidates), np.nan)
    positions = [candidates["candidate_id"].index(cid) for cid in single_all["candidate_id"]]
    expected[positions] = single_all["selector_score"]
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)  # row order, NaN where not scored
