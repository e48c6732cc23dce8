"""`examples/evaluate_answers.py` runs offline as its docstring says and writes a full report."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "evaluate_answers.py"


def _load():
    spec = importlib.util.spec_from_file_location("evaluate_answers", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docstring_names_the_command_the_test_runs():
    assert "examples/evaluate_answers.py --out runs/evaluate-answers" in EXAMPLE.read_text()


@pytest.mark.slow
def test_the_example_evaluates_two_models_offline(tmp_path, monkeypatch, capsys):
    assert _load().main(["--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "report.json").read_text())
    assert set(data["open_chat"]) == {"answers-from-caption", "answers-without-caption"}
    from_caption = data["open_chat"]["answers-from-caption"]["overall"]
    without = data["open_chat"]["answers-without-caption"]["overall"]
    assert from_caption["n"] == without["n"] == 18
    assert from_caption["relative_score"] > without["relative_score"]
    assert data["win_rates"][0]["win_rate"] == 1.0
    for name in ("report.md", "relative_scores.png", "win_rates.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert "win rate 100.0%" in capsys.readouterr().out
