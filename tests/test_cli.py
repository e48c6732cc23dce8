"""The ``biomed-vital`` command, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys

from biomed_vital.cli import main


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
    return subprocess.run(
        [sys.executable, "-m", "biomed_vital.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_help_lists_the_commands():
    result = _run("--help")
    assert result.returncode == 0
    for command in ("demo", "figures", "serve-standin"):
        assert command in result.stdout


def test_demo_prints_the_demo_figures_with_modalities_and_sources():
    from biomed_vital.data import load_demo_figures

    result = _run("demo")
    assert result.returncode == 0, result.stderr
    figures = load_demo_figures()
    for row in figures.select_columns(["id", "modality"]):
        assert row["id"] in result.stdout
        assert row["modality"] in result.stdout
    assert "pydicom" in result.stdout and "scikit-image" in result.stdout


def test_user_error_is_one_line_without_traceback(tmp_path, capsys):
    code = main(["figures", str(tmp_path / "does-not-exist.json")])
    err = capsys.readouterr().err
    assert code == 2
    assert "does-not-exist.json" in err
    assert "Traceback" not in err
