"""VQA-RAD, SLAKE, PathVQA and LLaVA-Med's converted files, read from hand-written files in their layouts."""

from __future__ import annotations

import json

import pytest

from biomed_vital.evaluation import EvaluationFileError, join_answers, load_vqa, read_answers, score_vqa


def test_vqa_rad_public_json_splits_by_phrase_type(data_dir):
    everything = load_vqa(data_dir / "VQA_RAD Dataset Public.json", split=None)
    assert everything["benchmark"][:] == ["vqa-rad"] * 4
    assert everything["split"][:] == ["train", "test", "test", "test"]
    test = load_vqa(data_dir / "VQA_RAD Dataset Public.json", split="test")
    assert test["question_id"][:] == ["2", "3", "4"]
    assert test["answer_type"][:] == ["open", "closed", "closed"]  # "CLOSED " with a stray space too
    assert test["image_file"][:] == ["synpic0001.jpg", "synpic0002.jpg", "synpic0002.jpg"]
    assert test[0]["reference_answer"] == "right lower lobe"


def test_slake_folder_reads_the_split_file_and_keeps_english_questions(data_dir):
    test = load_vqa(data_dir / "slake", split="test")
    assert test["question_id"][:] == ["20", "22"]  # the Chinese question (21) is left out by default
    assert test["split"][:] == ["test", "test"] and test["benchmark"][:] == ["slake", "slake"]
    assert test["image_file"][0] == "xmlab2/source.jpg"
    assert load_vqa(data_dir / "slake", split="test", language=None)["question_id"][:] == ["20", "21", "22"]
    assert load_vqa(data_dir / "slake", split="train")["question_id"][:] == ["10"]
    assert len(load_vqa(data_dir / "slake" / "test.json", split=None)) == 2


def test_pathvqa_records_infer_closed_from_yes_no_and_keep_unreadable_lines(data_dir):
    pathvqa = load_vqa(data_dir / "pathvqa_test.jsonl", split=None)
    assert pathvqa["benchmark"][:2] == ["pathvqa", "pathvqa"]
    assert pathvqa["answer_type"][:2] == ["closed", "open"]
    assert pathvqa["split"][:2] == ["test", "test"]
    assert "record 3" in pathvqa[2]["error"] and "not JSON" in pathvqa[2]["error"]
    with pytest.raises(EvaluationFileError, match="line 3: not JSON"):
        load_vqa(data_dir / "pathvqa_test.jsonl", split=None, strict=True)


def test_llava_med_converted_test_file(data_dir):
    converted = load_vqa(data_dir / "test.json", benchmark="vqa-rad")
    assert converted["question_id"][:] == ["101", "102"]
    assert converted["question"][0] == "(synthetic) Is the finding present?"
    assert converted["reference_answer"][:] == ["no", "left"]
    assert converted["answer_type"][:] == ["closed", "open"]


def test_unknown_benchmark_and_missing_sources_are_clear_errors(data_dir, tmp_path):
    with pytest.raises(ValueError, match="unknown benchmark 'vqa-x'"):
        load_vqa(data_dir / "test.json", benchmark="vqa-x")
    with pytest.raises(FileNotFoundError, match="no train.json / validate.json / test.json"):
        load_vqa(tmp_path)
    with pytest.raises(FileNotFoundError, match="neither a local file or folder nor a loadable Hub dataset"):
        load_vqa("someone/not-a-dataset-offline")
    with pytest.raises(ValueError, match="no questions in split 'validation'"):
        load_vqa(data_dir / "slake" / "test.json", split="validation")


def test_score_vqa_hand_checked_with_an_unanswered_question(data_dir, tmp_path):
    questions = load_vqa(data_dir / "VQA_RAD Dataset Public.json", split=None)
    answers = tmp_path / "model.jsonl"
    answers.write_text(
        "\n".join(
            json.dumps(record)
            for record in [
                {"question_id": 1, "text": "Yes, there is.", "model_id": "m"},  # closed, correct
                {"question_id": 2, "text": "In the right upper lobe.", "model_id": "m"},  # open, recall 2/3
                {
                    "question_id": 3,
                    "text": "A nodule is seen.",
                    "model_id": "m",
                },  # closed "no": no answer given
                # question 4 (closed "axial") unanswered: counted as wrong and listed
            ]
        )
        + "\n"
    )
    scores = score_vqa(join_answers(questions, read_answers(answers)))
    assert (scores.n_closed, scores.n_open) == (3, 1)
    assert scores.closed_accuracy == pytest.approx(1 / 3)
    assert scores.closed_without_yes_no == 1
    assert scores.open_recall == pytest.approx(2 / 3)
    assert scores.exact_match == 0.0
    assert scores.token_f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))  # P 2/4, R 2/3
    assert [m["question_id"] for m in scores.missing] == ["4"]
    assert "closed accuracy 33.33 (3)" in str(scores)
