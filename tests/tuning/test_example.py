"""`examples/tune_llava.py` runs as its docstring says: both stages, the merge and the answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tune_llava.py"


def test_the_docstring_gives_the_command_this_test_runs():
    assert "python examples/tune_llava.py --output-dir tune-demo" in EXAMPLE.read_text()


@pytest.mark.slow
def test_the_example_tunes_both_stages_and_answers(fixtures_dir, tmp_path):
    out = tmp_path / "tune-demo"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable, str(EXAMPLE), "--fixtures", str(fixtures_dir), "--output-dir", str(out),
        "--max-steps", "2", "--held-out", "3",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stage1"]["rows"] == summary["stage2"]["rows"] == 55  # 58 demonstrations, 3 held out
    assert len(summary["stage1"]["losses"]) == len(summary["stage2"]["losses"]) == 2
    assert summary["answers"] == 3
    answers = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    assert {"question_id", "prompt", "text", "answer_id", "model_id", "metadata"} == set(answers[0])
    card = (out / "stage2" / "README.md").read_text()
    assert "| method | lora |" in card
    assert "| clinician demonstrations, stand-in images | 55 |" in card
    assert (out / "merged" / "model.safetensors").is_file()
