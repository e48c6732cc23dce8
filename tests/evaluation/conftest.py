"""Fixtures for the evaluation tests: hand-written files in LLaVA-Med's and the VQA benchmarks' layouts
(synthetic text, labelled as such), an isolated request cache and stand-in servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never let a test write to the user's real cache folder."""
    monkeypatch.setenv("BIOMED_VITAL_CACHE", str(tmp_path_factory.mktemp("default-cache")))


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def format_ignoring_server() -> Iterator[object]:
    """A stand-in server whose every reply ignores the requested format (prose, no score, no verdict)."""
    from biomed_vital.testing import FaultConfig, StandInServer

    with StandInServer(faults=FaultConfig(malformed=1.0), seed=0) as running:
        yield running


@pytest.fixture
def server() -> Iterator[object]:
    """The stand-in server: it answers the evaluation judges' two-score and verdict formats."""
    from biomed_vital.testing import StandInServer

    with StandInServer(seed=0) as running:
        yield running


@pytest.fixture
def demo_questions(tmp_path: Path) -> Path:
    """A LLaVA-Med question file built from the library's demo figures (real captions), both question types."""
    from biomed_vital.data import load_demo_figures
    from biomed_vital.evaluation.llava_med_files import write_questions

    rows = []
    for index, figure in enumerate(
        load_demo_figures().select_columns(["id", "caption", "mentions", "domain"])
    ):
        for offset, (kind, question) in enumerate(
            (
                ("conversation", "What does this image show?"),
                ("detailed_description", "Describe the image in detail."),
            )
        ):
            rows.append(
                {
                    "question_id": str(2 * index + offset),
                    "question": question,
                    "reference_answer": f"The caption reads: {figure['caption']}",
                    "caption": figure["caption"],
                    "fig_label": "",
                    "mentions": figure["mentions"],
                    "domain": figure["domain"],
                    "question_type": kind,
                    "image_file": f"{figure['id']}.png",
                    "pair_id": figure["id"],
                }
            )
    return Path(write_questions(rows, tmp_path / "questions.jsonl"))
