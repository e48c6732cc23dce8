"""Readers and writers of LLaVA-Med's question, answer and review files, on hand-written files in their layout."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from biomed_vital.evaluation import (
    EvaluationFileError,
    join_answers,
    read_answers,
    read_questions,
    read_reviews,
    write_answers,
    write_reviews,
)


def test_questions_are_read_with_every_field(data_dir):
    questions = read_questions(data_dir / "llava_med_questions.jsonl")
    assert len(questions) == 5  # four questions and the unreadable line, kept as a row
    first = questions[0]
    assert first["question_id"] == "0"
    assert first["question"] == "(synthetic question 0)"  # without the <image> placeholder
    assert first["reference_answer"] == "(synthetic reference answer 0 for a reader test)"
    assert first["caption"] == "(synthetic caption for a reader test)"
    assert first["fig_label"] == "Figure 1"
    assert first["mentions"] == ["(synthetic in-text mention for a reader test)"]
    assert first["domain"]["chest_xray"] and not first["domain"]["mri"]
    assert first["question_type"] == "conversation"
    assert first["image_file"] == "PMC1_F1.jpg" and first["pair_id"] == "PMC1_F1"
    assert first["line"] == 1 and first["error"] == ""


def test_python_literal_fields_are_read(data_dir):
    literal = read_questions(data_dir / "llava_med_questions.jsonl")[3]
    assert literal["error"] == ""
    assert literal["mentions"] == ["(synthetic in-text mention for a reader test)"]
    assert literal["domain"]["ct_scan"] and not literal["domain"]["histology"]


def test_an_unreadable_line_is_kept_with_its_line_number_and_logged(data_dir, caplog):
    path = data_dir / "llava_med_questions.jsonl"
    with caplog.at_level(logging.WARNING, logger="biomed_vital.evaluation"):
        questions = read_questions(path)
    bad = questions[4]
    assert bad["line"] == 5
    assert "line 5" in bad["error"] and "not JSON" in bad["error"]
    assert "line 5" in caplog.text


def test_strict_reading_raises_naming_every_bad_line(data_dir):
    with pytest.raises(EvaluationFileError, match=r"1 unreadable line\(s\): line 5: not JSON") as info:
        read_questions(data_dir / "llava_med_questions.jsonl", strict=True)
    assert info.value.problems[0][0] == 5


def test_missing_fields_and_missing_files_are_clear_errors(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"image": "x.jpg", "text": "(synthetic question)"}) + "\n[1, 2]\n")
    questions = read_questions(path)
    assert "line 1: missing field 'question_id'" in questions[0]["error"]
    assert "line 2: expected a JSON object, got list" in questions[1]["error"]
    with pytest.raises(FileNotFoundError, match="nope.jsonl: no such file"):
        read_questions(tmp_path / "nope.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(ValueError, match="no questions in the file"):
        read_questions(empty)


def test_answers_are_joined_by_question_id_not_by_line(data_dir):
    questions = read_questions(data_dir / "llava_med_questions.jsonl")
    answers = read_answers(data_dir / "llava_med_answers.jsonl")
    assert answers["model_id"][:] == ["synthetic-model"] * 3
    joined = join_answers(questions, answers)
    by_id = {row["question_id"]: row for row in joined}
    assert by_id["0"]["answer"] == "(synthetic model answer 0 for a reader test)"
    assert (
        by_id["3"]["answer"] == "(synthetic model answer 3 for a reader test)"
    )  # first line of the answer file
    assert (
        by_id["2"]["answer"] == ""
        and "no answer from 'synthetic-model' to question_id '2'" in by_id["2"]["error"]
    )
    assert "line 5" in joined[4]["error"]  # the unreadable question stays listed


def test_answers_to_unknown_questions_and_duplicates_are_errors(data_dir, tmp_path):
    questions = read_questions(data_dir / "llava_med_questions.jsonl")
    stray = tmp_path / "stray.jsonl"
    stray.write_text(json.dumps({"question_id": 99, "text": "(synthetic)", "model_id": "m"}) + "\n")
    with pytest.raises(ValueError, match="not in the question file: 99"):
        join_answers(questions, read_answers(stray))
    twice = tmp_path / "twice.jsonl"
    twice.write_text(
        "\n".join(json.dumps({"question_id": 0, "text": "(synthetic)"}) for _ in range(2)) + "\n"
    )
    with pytest.raises(ValueError, match="answered twice"):
        join_answers(questions, read_answers(twice))


def test_model_id_falls_back_to_the_file_name(tmp_path):
    path = tmp_path / "my-model.jsonl"
    path.write_text(json.dumps({"question_id": 0, "text": "(synthetic)"}) + "\n")
    assert read_answers(path)["model_id"] == ["my-model"]
    assert read_answers(path, model_id="renamed")["model_id"] == ["renamed"]


def test_reviews_are_read_in_both_layouts(data_dir):
    reviews = read_reviews(data_dir / "llava_med_review.jsonl")
    assert len(reviews) == 9
    assert reviews[0]["review"].splitlines()[0] == "8 6"
    assert reviews[0]["answer"] == "(synthetic model answer 0 for a reader test)"
    assert reviews[0]["reference_answer"] == "(synthetic reference answer 0 for a reader test)"
    assert reviews[7]["error"] == "" and reviews[7]["review"].startswith("7 7")  # a Python-repr line
    assert "line 9" in reviews[8]["error"]
    later = read_reviews(data_dir / "llava_med_review_gpt_eval.jsonl")
    assert later[0]["review"].startswith("8 6")


def test_written_reviews_and_answers_read_back_unchanged(data_dir, tmp_path):
    reviews = read_reviews(data_dir / "llava_med_review.jsonl").select(range(8))
    path = write_reviews(reviews, tmp_path / "out" / "review.jsonl")
    again = read_reviews(path)
    for name in (
        "question_id",
        "question",
        "reference_answer",
        "answer",
        "review",
        "caption",
        "mentions",
        "domain",
        "question_type",
        "fig_label",
    ):
        assert again[name][:] == reviews[name][:], name
    record = json.loads(Path(path).read_text().splitlines()[0])
    assert record["question_id"] == 0 and record["text"].endswith("<image>") and "result" in record
    answers_path = write_answers(
        [{"question_id": "0", "answer": "(synthetic answer)", "model_id": "m"}], tmp_path / "answers.jsonl"
    )
    answers = read_answers(answers_path)
    assert answers[0]["answer"] == "(synthetic answer)" and answers[0]["model_id"] == "m"
