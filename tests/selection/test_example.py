"""`examples/train_selector.py` runs as its docstring says and learns the degraded-answer task."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_selector.py"


@pytest.mark.slow
def test_the_example_trains_evaluates_and_saves_a_loadable_selector(fixtures_dir, tmp_path):
    out = tmp_path / "selector-demo"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--fixtures", str(fixtures_dir), "--output-dir", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["heldout"]["eval_pairwise_accuracy"] > 0.6  # chance is 0.5
    assert (out / "heldout_accuracy.png").is_file()

    from transformers import AutoModel

    import biomed_vital  # noqa: F401  (registers the selector with the Auto classes)

    assert type(AutoModel.from_pretrained(out)).__name__ == "SelectorModel"
