"""`load_stage` reads back what any stage saved, without re-parsing it."""

from __future__ import annotations

import pytest
from datasets import Dataset, DatasetDict

from biomed_vital.data import load_stage

ROWS = {"candidate_id": ["a-c0", "a-c1"], "status": ["ok", "error"], "judge_score": [7.5, None]}


def test_saved_folder_json_and_parquet_give_the_same_rows(tmp_path):
    dataset = Dataset.from_dict(ROWS)
    dataset.save_to_disk(str(tmp_path / "saved"))
    dataset.to_json(str(tmp_path / "rows.jsonl"))
    dataset.to_parquet(str(tmp_path / "rows.parquet"))
    for source in ("saved", "rows.jsonl", "rows.parquet"):
        assert load_stage(tmp_path / source).to_dict() == ROWS


def test_a_dataset_dict_gives_the_asked_split(tmp_path):
    DatasetDict(
        {"train": Dataset.from_dict(ROWS), "test": Dataset.from_dict({"candidate_id": ["b"]})}
    ).save_to_disk(str(tmp_path / "splits"))
    assert load_stage(tmp_path / "splits", split="test")["candidate_id"] == ["b"]
    with pytest.raises(ValueError, match="holds the splits"):
        load_stage(tmp_path / "splits", split="validation")


def test_an_unreadable_path_says_what_to_use_instead(tmp_path):
    (tmp_path / "captions.txt").write_text("not a dataset")
    with pytest.raises(ValueError, match="load_figures"):
        load_stage(tmp_path / "captions.txt")
