"""A training and a selection run say what they do, and nothing else: no third-party notice, no warning of ours.

Each run is a fresh ``biomed-vital`` process (import-time notices show only once per process), on the tiny
selector, with the options a user types (no ``--use-cpu``), the way the pin-memory warning appears on a
machine without an accelerator.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from biomed_vital.testing import tiny_selector
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

# What used to be printed on every run, and where it came from.
NOISE = {
    "kernels-community": "bitsandbytes' optional-kernel notice, on importing trl",
    "gradient_checkpointing": "transformers' deprecation of the name our config set",
    "pin_memory": "torch's warning about pinned memory without an accelerator",
    "PAD/BOS/EOS": "transformers' notice that the tokenizer and the model config disagreed",
}


def _biomed_vital(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    env.pop(
        "TRANSFORMERS_VERBOSITY", None
    )  # the tests' conftest quiets transformers; a user's shell does not
    result = subprocess.run(
        [sys.executable, "-m", "biomed_vital.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def test_training_and_selection_print_no_notice_and_no_warning(tmp_path, small_pairs, candidates):
    tiny_selector(out_dir=tmp_path / "start")
    small_pairs.save_to_disk(str(tmp_path / "pairs"))
    candidates.save_to_disk(str(tmp_path / "candidates"))

    training = _biomed_vital(
        "train-selector",
        str(tmp_path / "pairs"),
        "--model",
        str(tmp_path / "start"),
        "--num-train-epochs",
        "1",
        "--output-dir",
        str(tmp_path / "selector"),
        "--report-to",
        "none",
    )
    selection = _biomed_vital(
        "select",
        str(tmp_path / "candidates"),
        "--model",
        str(tmp_path / "selector"),
        "--top-fraction",
        "0.5",
        "--out",
        str(tmp_path / "selected"),
    )

    assert "saved the selector" in training and "kept 6 of 12 candidates" in selection
    for output in (training, selection):
        heard = {text: why for text, why in NOISE.items() if text in output}
        assert not heard, f"{heard}\n{output[-3000:]}"
        assert "Warning" not in output, output[-3000:]
