"""Every code block in docs/tuning.md runs as written, in order, offline; the rest say why they cannot."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "tuning.md"
_BLOCK = re.compile(r"(?:<!-- skip: (?P<skip>[^>]*?) -->\n)?```(?P<lang>\w+)\n(?P<code>.*?)```", re.S)


def _blocks() -> list[tuple[str, str, str | None]]:
    return [(m["lang"], m["code"], m["skip"]) for m in _BLOCK.finditer(DOC.read_text())]


def test_skipped_blocks_need_a_gpu_or_the_hub():
    blocks = _blocks()
    assert len(blocks) >= 10
    assert {lang for lang, _, _ in blocks} <= {"python", "bash"}
    for _, _, skip in blocks:
        assert skip is None or re.search(r"GPU|Hub", skip), skip


@pytest.mark.slow
def test_every_runnable_block_runs(tmp_path, monkeypatch):
    from biomed_vital.cli.main import main as cli

    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "docs_tuning"}
    for lang, code, skip in _blocks():
        if skip:
            continue
        if lang == "python":
            exec(compile(code, str(DOC), "exec"), namespace)
            continue
        for line in code.replace("\\\n", " ").splitlines():  # shell blocks hold biomed-vital commands only
            program, *arguments = shlex.split(line)
            assert program == "biomed-vital", line
            assert cli(arguments) == 0, line
    assert (tmp_path / "runs" / "cli" / "adapter_model.safetensors").is_file()
    assert (tmp_path / "answers" / "converted.jsonl").read_text().count("\n") == 3
    assert (tmp_path / "converted-cli" / "config.json").is_file()
