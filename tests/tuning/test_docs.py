"""The tuning guide runs end to end: its Python blocks and its `biomed-vital` commands, in order, offline.

`tests/test_docs.py` runs the Python blocks of every page and checks the flags of shell commands; this test
also runs the guide's shell commands, which use what the Python blocks before them wrote.
"""

from __future__ import annotations

import shlex

import pytest

from tests.conftest import REPO_ROOT
from tests.test_docs import code_blocks

GUIDE = REPO_ROOT / "docs" / "tuning.md"


def test_blocks_left_out_need_a_gpu_or_the_hub():
    blocks = code_blocks(GUIDE)
    lines = GUIDE.read_text().splitlines()
    assert sum(block.mode == "run" for block in blocks) >= 8
    for block in blocks:
        if block.mode != "run":
            mark = lines[block.line - 2]  # the docs-test mark on the line before the fence
            assert "GPU" in mark or "Hugging Face Hub" in mark, block.label


@pytest.mark.slow
def test_the_guide_runs_with_its_commands(tmp_path, monkeypatch):
    from biomed_vital.cli.main import main as cli

    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "docs_tuning"}
    for block in code_blocks(GUIDE):
        if block.mode != "run":
            continue
        if block.language == "python":
            exec(compile(block.code, block.label, "exec"), namespace)
            continue
        for line in block.code.replace(
            "\\\n", " "
        ).splitlines():  # shell blocks hold biomed-vital commands only
            program, *arguments = shlex.split(line)
            assert program == "biomed-vital", f"{block.label}: {line}"
            assert cli(arguments) == 0, f"{block.label}: {line}"
    assert (tmp_path / "runs" / "cli" / "adapter_model.safetensors").is_file()
    assert (tmp_path / "answers" / "converted.jsonl").read_text().count("\n") == 3
    assert (tmp_path / "converted-cli" / "config.json").is_file()
