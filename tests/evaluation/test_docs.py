"""The code blocks of the evaluation pages run as written, against the stand-in server, on files in their layouts."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = ["evaluation.md", "reproduce-llava-med-open-chat.md"]


def _blocks(page: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", (DOCS / page).read_text(), re.S)


@pytest.fixture
def workdir(tmp_path, data_dir, demo_questions, server, monkeypatch):
    """The files the pages name, in their layouts, and a judge endpoint from the environment."""
    from biomed_vital.evaluation import read_questions, write_answers

    shutil.copy(demo_questions, tmp_path / "llava_med_eval_qa50_qa.jsonl")
    shutil.copy(data_dir / "llava_med_review.jsonl", tmp_path / "llava-med-review.jsonl")
    shutil.copy(data_dir / "VQA_RAD Dataset Public.json", tmp_path / "VQA_RAD Dataset Public.json")
    shutil.copytree(data_dir / "slake", tmp_path / "Slake1.0")
    questions = read_questions(demo_questions)
    for model, grounded in (("ours", True), ("llava-med", False)):
        rows = [
            {
                "question_id": q["question_id"],
                "answer": f"The caption reads: {q['caption']}"
                if grounded
                else "(synthetic answer quoting nothing)",
                "model_id": model,
            }
            for q in questions
        ]
        write_answers(rows, tmp_path / "answers" / f"{model}.jsonl")
    for model, texts in (
        ("ours", ["Right lower lobe.", "No.", "Axial."]),
        ("baseline", ["Unclear.", "Yes.", "No."]),
    ):
        rows = [
            {"question_id": q, "answer": t, "model_id": model}
            for q, t in zip(["2", "3", "4"], texts, strict=True)
        ]
        write_answers(rows, tmp_path / "answers" / f"{model}-vqa-rad.jsonl")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-offline")
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_python_blocks_run(page, workdir):
    blocks = _blocks(page, "python")
    assert blocks
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, f"{page} block", "exec"), namespace)  # noqa: S102 (the docs' own code)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_command_lines_run(page, workdir):
    from biomed_vital.cli import main

    commands = []
    for block in _blocks(page, "bash"):
        for command in block.replace("\\\n", " ").splitlines():
            command = command.split("#")[0].strip()
            if command.startswith("biomed-vital "):
                commands.append(shlex.split(command)[1:])
    assert commands
    for argv in commands:
        assert main([*argv, "--no-show-progress"]) == 0, argv
        out = argv[argv.index("--out") + 1]
        assert (workdir / out / "report.json").is_file()
