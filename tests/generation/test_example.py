"""The generate-and-judge example runs offline end to end."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "generate_and_judge.py"


@pytest.mark.slow
def test_the_example_generates_judges_saves_and_plots(tmp_path) -> None:
    from datasets import load_from_disk

    spec = importlib.util.spec_from_file_location("generate_and_judge", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--out", str(tmp_path), "--n-candidates", "1"]) == 0
    judged = load_from_disk(str(tmp_path / "judged"))
    assert {"candidate_id", "messages", "judge_score", "judge_status"} <= set(judged.column_names)
    assert set(judged["status"][:]) == {"ok"} and set(judged["judge_status"][:]) == {"ok"}
    assert (tmp_path / "judge_scores.png").stat().st_size > 0
