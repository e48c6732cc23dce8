"""The data contract: `load_stage` reads back what any stage saved; the docs and the design agree with schema.py."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from datasets import Dataset, DatasetDict

from biomed_vital import schema

ROWS = {"candidate_id": ["a-c0", "a-c1"], "status": ["ok", "error"], "judge_score": [7.5, None]}


def test_saved_folder_json_and_parquet_give_the_same_rows(tmp_path):
    dataset = Dataset.from_dict(ROWS)
    dataset.save_to_disk(str(tmp_path / "saved"))
    dataset.to_json(str(tmp_path / "rows.jsonl"))
    dataset.to_parquet(str(tmp_path / "rows.parquet"))
    for source in ("saved", "rows.jsonl", "rows.parquet"):
        assert schema.load_stage(tmp_path / source).to_dict() == ROWS


def test_a_dataset_dict_gives_the_asked_split(tmp_path):
    DatasetDict(
        {"train": Dataset.from_dict(ROWS), "test": Dataset.from_dict({"candidate_id": ["b"]})}
    ).save_to_disk(str(tmp_path / "splits"))
    assert schema.load_stage(tmp_path / "splits", split="test")["candidate_id"] == ["b"]
    with pytest.raises(ValueError, match="holds the splits"):
        schema.load_stage(tmp_path / "splits", split="validation")


def test_an_unreadable_path_says_what_to_use_instead(tmp_path):
    (tmp_path / "captions.txt").write_text("not a dataset")
    with pytest.raises(ValueError, match="load_figures"):
        schema.load_stage(tmp_path / "captions.txt")


# ------------------------------------------------------------------ the docs and the design agree with schema.py
REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_FORMATS = REPO_ROOT / "docs" / "data-formats.md"
DESIGN = Path(os.environ.get("BIOMED_VITAL_DESIGN", REPO_ROOT.parent / "shared" / "DESIGN.md"))


def _stage_features() -> dict[str, dict]:
    """Every column each stage's Dataset has, per schema.py (the generator's optional columns included)."""
    return {
        "figures": schema.figure_features(with_messages=True),
        "candidates": schema.candidate_features(two_answers=True),
        "judged": schema.judge_features(),
        "preferences": schema.preference_features(),
        "selected": schema.selected_features(),
        "training": schema.training_features(),
    }


def _section(text: str, heading: str) -> str:
    """The lines after the ``## `` heading that contains ``heading``, up to the next ``## `` heading."""
    lines = text.splitlines()
    start = next(
        (i for i, line in enumerate(lines) if line.startswith("## ") and heading in line.lower()), None
    )
    assert start is not None, f"no '## ...{heading}...' section"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start + 1 : end])


def _column_tables(text: str) -> dict[str, list[tuple[str, str, bool]]]:
    """``{stage: [(column, constant, contract), ...]}`` from the ``### stage`` tables of the docs."""
    tables: dict[str, list[tuple[str, str, bool]]] = {}
    stage = None
    for line in _section(text, "columns of every stage").splitlines():
        if line.startswith("### "):
            stage = line[4:].strip()
            tables[stage] = []
        elif stage is not None and line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            tables[stage].append((cells[0].strip("`"), cells[1].strip("`"), cells[3] == "yes"))
    return tables


def test_the_docs_have_a_column_table_for_every_stage_of_the_schema():
    tables = _column_tables(DATA_FORMATS.read_text(encoding="utf-8"))
    assert list(tables) == list(schema.STAGES), (
        "docs/data-formats.md: one '### stage' table per schema.STAGES"
    )
    for stage, features in _stage_features().items():
        documented = [column for column, _, _ in tables[stage]]
        assert documented == list(features), (
            f"docs/data-formats.md, '{stage}' table lists {documented}; schema.py has {list(features)}"
        )


def test_every_contract_column_is_marked_in_its_stage_table_with_its_constant():
    tables = _column_tables(DATA_FORMATS.read_text(encoding="utf-8"))
    for stage, contract in schema.STAGES.items():
        marked = {column for column, _, is_contract in tables[stage] if is_contract}
        missing = [column for column in contract.columns if column not in marked]
        assert not missing, f"docs/data-formats.md, '{stage}' table: contract columns {missing} not marked"
        extra = sorted(marked - set(contract.columns))
        assert not extra, (
            f"docs/data-formats.md, '{stage}' table: {extra} are marked but not in schema.STAGES"
        )
        for column, constant, _ in tables[stage]:
            assert getattr(schema, constant, None) == column, (
                f"'{stage}' table: schema.{constant} is not {column!r}"
            )


def _names_outside_parentheses(text: str) -> list[str]:
    """Backticked names that are not inside parentheses (those give types, values and other formats)."""
    depth, kept = 0, []
    for character in text:
        if character == "(":
            depth += 1
        elif character == ")":
            depth = max(depth - 1, 0)
        elif depth == 0:
            kept.append(character)
    return re.findall(r"`([A-Za-z_]+)`", "".join(kept))


def test_the_design_data_contract_names_only_columns_of_the_schema():
    if not DESIGN.is_file():
        pytest.skip(f"the design document is not at {DESIGN} (set BIOMED_VITAL_DESIGN to its path)")
    bullets = re.findall(
        r"^- \*\*(\w+)\*\*(.*)$", _section(DESIGN.read_text(encoding="utf-8"), "data contract"), re.M
    )
    assert [stage for stage, _ in bullets] == list(schema.STAGES), f"{DESIGN}: one bullet per schema.STAGES"
    features = _stage_features()
    for stage, text in bullets:
        # a generation stage also holds the columns of the stages it builds on
        chain = schema.STAGE_CHAIN
        builds_on = chain[: chain.index(stage) + 1] if stage in chain else (stage,)
        known = {column for name in builds_on for column in features[name]}
        names = _names_outside_parentheses(text)
        assert names, f"{DESIGN}: the {stage} bullet names no columns"
        unknown = [name for name in names if name not in known]
        assert not unknown, (
            f"{DESIGN}, data contract, {stage}: {unknown} are not columns of that stage in schema.py"
        )
