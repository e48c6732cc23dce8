"""The generate and judge command lines, offline against the stand-in server."""

from __future__ import annotations

import pytest

from biomed_vital.cli import main


def test_generate_then_judge_from_the_command_line(server, tmp_path, figures, capsys, monkeypatch) -> None:
    from datasets import load_from_disk

    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-test")
    figures.select(range(3)).save_to_disk(str(tmp_path / "figures"))
    common = ["--model", "gpt-4o", "--base-url", server.base_url, "--cache-dir", str(tmp_path / "cache")]
    assert main(["generate", str(tmp_path / "figures"), "--dry-run", *common]) == 0
    assert "projected: 3 requests" in capsys.readouterr().out
    assert server.request_log() == []

    assert (
        main(
            [
                "generate",
                str(tmp_path / "figures"),
                "--out",
                str(tmp_path / "candidates"),
                "--n-candidates",
                "2",
                *common,
            ]
        )
        == 0
    )
    candidates = load_from_disk(str(tmp_path / "candidates"))
    assert len(candidates) == 6 and set(candidates["status"][:]) == {"ok"}

    assert main(["judge", str(tmp_path / "candidates"), "--out", str(tmp_path / "judged"), *common]) == 0
    judged = load_from_disk(str(tmp_path / "judged"))
    assert set(judged["judge_status"][:]) == {"ok"}


def test_out_is_required_unless_dry_run(tmp_path) -> None:
    with pytest.raises(SystemExit):
        main(["generate", str(tmp_path)])
    assert main(["unknown"]) == 2
