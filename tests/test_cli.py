"""The ``biomed-vital`` command, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys

from biomed_vital.cli import main


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
    return subprocess.run(
        [sys.executable, "-m", "biomed_vital.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_help_lists_the_commands():
    result = _run("--help")
    assert result.returncode == 0
    for command in (
        "demo",
        "figures",
        "generate",
        "judge",
        "preferences",
        "train-selector",
        "select",
        "serve-standin",
        "evaluate",
    ):
        assert command in result.stdout


def test_demo_prints_the_demo_figures_with_modalities_and_sources(tmp_path):
    from biomed_vital.data import load_demo_figures

    result = _run("demo", "--output-dir", str(tmp_path / "demo"), "--no-show-progress", "--until", "figures")
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


def test_serve_standin_forwards_its_options_and_serves(tmp_path):
    import signal

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    help_run = _run("serve-standin", "--help")
    assert help_run.returncode == 0 and "--rpm" in help_run.stdout
    process = subprocess.Popen(
        [sys.executable, "-m", "biomed_vital.cli", "serve-standin", "--port", "0", "--rpm", "600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        first_line = process.stdout.readline()
        assert "http://127.0.0.1:" in first_line
        from openai import OpenAI

        base_url = first_line[first_line.index("http://") :].split()[0]
        client = OpenAI(base_url=base_url, api_key="sk-cli-test", max_retries=0)
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Caption: Whole Body Bone"}]
        )
        assert raw.parse().choices[0].message.content
        # --rpm took effect: the server enforces 600 requests/min and says so
        assert raw.headers["x-ratelimit-limit-requests"] == "600"
        assert raw.headers["x-ratelimit-remaining-requests"] == "599"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
