"""A typo in a local path: one line that says which folder is missing and what belongs there, never a Hub lookup.

Each command and each Python entry that takes "a folder or a Hub id" is called the way a user mistypes a
path: a folder under an existing one, a relative path with several parts, a file name with a suffix.
"""

from __future__ import annotations

import os

import pytest
from datasets import Dataset

from biomed_vital.cli import main
from biomed_vital.paths import check_local_path, looks_like_hub_id, looks_like_local_path

HUB_WORDS = ("huggingface.co", "Hub", "Repo id", "Traceback", "OfflineModeIsEnabled")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A working folder with an ``out/`` folder, as after a first run; relative paths resolve here."""
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def saved_rows(workdir):
    """A saved Dataset under out/rows with the columns select() asks for (their values do not matter here)."""
    Dataset.from_dict({"id": ["synthetic-1"], "image": [None], "messages": [[]]}).save_to_disk("out/rows")
    return "out/rows"


@pytest.mark.parametrize(
    ("name", "local"),
    [
        ("microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext", False),
        ("bert-base-uncased", False),
        ("user/vital-selector", False),
        ("./user/vital-selector", True),
        ("/data/selector", True),
        ("~/selector", True),
        ("runs/selector/final", True),
        ("candidates.jsonl", True),
        ("org/figures.parquet", True),
        ("out\\selector", True),
        ("my selector", True),
    ],
)
def test_local_paths_and_hub_ids_are_told_apart(name, local, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert looks_like_local_path(name) is local


def test_a_name_under_an_existing_folder_is_local(workdir):
    assert not looks_like_local_path("runs/selector")
    assert looks_like_local_path("out/selector")  # out/ exists here
    assert looks_like_hub_id("out/selector")  # it has the form of one, but the folder wins


def test_check_local_path_names_the_folder_what_was_expected_and_a_close_match(workdir):
    (workdir / "out" / "candidates").mkdir()
    with pytest.raises(FileNotFoundError) as caught:
        check_local_path("out/candidtes", expected="a saved candidates Dataset")
    message = str(caught.value)
    assert message.startswith("no such folder: out/candidtes (expected: a saved candidates Dataset)")
    assert f"did you mean {os.path.join('out', 'candidates')}?" in message
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        check_local_path("out/candidates", expected="a saved selector", required_file="config.json")
    check_local_path("user/vital-selector", expected="a saved selector")  # a Hub id is not checked


# ------------------------------------------------------------------ the commands


def _one_line_error(capsys, command: list[str]) -> str:
    code = main(command)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert not any(word in err for word in HUB_WORDS), err
    return err


@pytest.mark.parametrize(
    "command",
    [
        ["select", "out/no_such_candidates", "--model", "out/selector", "--out", "out/selected"],
        ["judge", "out/no_such_candidates", "--out", "out/judged"],
        ["train-selector", "out/no_such_preferences", "--model", "out/selector", "--output-dir", "sel"],
        ["generate", "out/no_such_figures", "--out", "out/candidates", "--model", "gpt-4o"],
    ],
    ids=lambda command: command[0],
)
def test_commands_answer_a_typo_in_the_input_path_in_one_line(command, workdir, capsys):
    err = _one_line_error(capsys, command)
    assert f"error: no such folder: {command[1]} (expected: " in err


def test_select_answers_a_typo_in_the_selector_path(saved_rows, capsys):
    err = _one_line_error(capsys, ["select", saved_rows, "--model", "out/selectr", "--out", "out/sel"])
    assert "no such folder: out/selectr (expected: a saved selector" in err


def test_select_answers_a_folder_that_holds_no_selector(saved_rows, capsys):
    err = _one_line_error(capsys, ["select", saved_rows, "--model", "out", "--out", "out/sel"])
    assert "out has no processor_config.json (expected: a saved selector" in err and "'rows'" in err


def test_train_selector_answers_a_typo_in_an_encoder_path(saved_rows, capsys):
    command = ["train-selector", saved_rows, "--vision-model", "./encoders/vison", "--text-model"]
    err = _one_line_error(capsys, [*command, "./encoders/text", "--output-dir", "out/selector"])
    assert "no such folder: ./encoders/vison (expected: a vision encoder checkpoint" in err


def test_generate_answers_a_typo_in_the_demonstrations_file(saved_rows, capsys):
    command = ["generate", saved_rows, "--out", "out/c", "--model", "gpt-4o", "--demonstrations"]
    err = _one_line_error(capsys, [*command, "demonstratons.jsonl", "--dry-run"])
    assert "no such file: demonstratons.jsonl (expected: a figure file" in err


# ------------------------------------------------------------------ the Python entries


def test_load_stage_and_load_figures_answer_a_typo(workdir):
    from biomed_vital.data import load_figures
    from biomed_vital.schema import load_stage

    with pytest.raises(FileNotFoundError, match=r"^no such folder: out/judgd \(expected: a stage's"):
        load_stage("out/judgd")
    with pytest.raises(FileNotFoundError, match=r"^no such file: figures/captions.json \(expected: a figure"):
        load_figures("figures/captions.json")


def test_selector_loaders_answer_a_typo(workdir):
    from biomed_vital.selection import SelectorModel, SelectorProcessor

    expected = r"\(expected: a saved selector"
    with pytest.raises(FileNotFoundError, match=rf"^no such folder: out/selectr {expected}"):
        SelectorModel.from_pretrained("out/selectr")
    with pytest.raises(FileNotFoundError, match=rf"^no such folder: out/selectr {expected}"):
        SelectorProcessor.from_pretrained("out/selectr")
    with pytest.raises(FileNotFoundError, match=r"^no such folder: \./vit \(expected: a vision encoder"):
        SelectorModel.from_encoders("./vit", "./bert")
    with pytest.raises(FileNotFoundError, match=r"^no such folder: out/bert \(expected: a text encoder"):
        SelectorProcessor.from_encoders("user/vit", "out/bert")


def test_select_with_a_typo_in_the_selector_path(workdir):
    from biomed_vital.selection import select

    candidates = Dataset.from_dict({"image": [None], "messages": [[]]})
    with pytest.raises(FileNotFoundError, match=r"^no such folder: out/selectr \(expected: a saved selector"):
        select(candidates, "out/selectr")


def test_load_vqa_answers_a_typo(workdir):
    from biomed_vital.evaluation import load_vqa

    with pytest.raises(FileNotFoundError, match=r"^no such file: vqa_rad/test.json \(expected: a VQA-RAD"):
        load_vqa("vqa_rad/test.json")
