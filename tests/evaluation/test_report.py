"""One call and one command write a report folder: JSON of every number, a Markdown table, PNG charts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from biomed_vital.evaluation import (
    EvaluationConfig,
    evaluate,
    read_questions,
    read_reviews,
    relative_scores,
    write_answers,
)
from biomed_vital.testing import StandInServer


def _answer_file(questions_path, tmp_path, model, grounded):
    rows = [
        {
            "question_id": row["question_id"],
            "answer": f"The caption reads: {row['caption']}"
            if grounded
            else "(synthetic answer that quotes nothing)",
            "model_id": model,
        }
        for row in read_questions(questions_path)
    ]
    return write_answers(rows, tmp_path / f"{model}.jsonl")


def _options(server, tmp_path):
    return {
        "base_url": server.base_url,
        "api_key": "sk-offline",
        "cache_dir": str(tmp_path / "cache"),
        "show_progress": False,
    }


def test_open_chat_report_for_two_models_with_a_win_rate(server, demo_questions, tmp_path):
    out = tmp_path / "report"
    config = EvaluationConfig(
        out=str(out),
        questions=str(demo_questions),
        answers=[
            _answer_file(demo_questions, tmp_path, "grounded", True),
            _answer_file(demo_questions, tmp_path, "ungrounded", False),
        ],
        bootstrap_samples=300,
    )
    report = evaluate(config, judge_model="gpt-4o", **_options(server, tmp_path))
    data = json.loads((out / "report.json").read_text())
    assert data["mode"] == "open_chat"
    assert data["judge"]["model"] == "gpt-4o" and len(data["judge"]["prompt_sha"]) == 64
    assert data["pairwise_judge"]["model"] == "gpt-4o"
    assert data["reference"]["source"].startswith("the question file's gpt4_answer")
    # 18 reviews per model and 2 x 18 comparisons, with tokens and spend
    total = data["requests"]["total"]
    assert total["n_requests"] == 18 + 18 + 36 and total["prompt_tokens"] > 0 and total["cost_usd"] > 0
    assert set(data["open_chat"]) == {"grounded", "ungrounded"}
    grounded, ungrounded = report.open_chat["grounded"], report.open_chat["ungrounded"]
    assert grounded.overall.relative_score > ungrounded.overall.relative_score
    (win,) = report.win_rates
    assert (win.model_1, win.model_2, win.win_rate) == ("grounded", "ungrounded", 1.0)
    assert data["win_rates"][0]["wins"] == 18
    # the review files reproduce the table without a model call
    again = relative_scores(read_reviews(out / "reviews" / "grounded.jsonl"))
    assert again.overall.relative_score == pytest.approx(grounded.overall.relative_score)
    for name in (
        "report.md",
        "relative_scores.png",
        "win_rates.png",
        "win_rates/grounded__vs__ungrounded.jsonl",
    ):
        assert (out / name).stat().st_size > 0, name
    markdown = (out / "report.md").read_text()
    assert "| grounded |" in markdown and "Win rates" in markdown and "gpt-4o" in markdown
    assert sorted(data["files"]) == sorted(report.files)


def test_references_regenerated_with_another_model_are_recorded(server, demo_questions, tmp_path):
    config = EvaluationConfig(
        out=str(tmp_path / "report"),
        questions=str(demo_questions),
        answers=[_answer_file(demo_questions, tmp_path, "grounded", True)],
        reference_model="gpt-4o-mini",
    )
    report = evaluate(config, **_options(server, tmp_path))
    assert report.reference["model"] == "gpt-4o-mini" and len(report.reference["prompt_sha"]) == 64
    assert report.requests["reference_answers"]["n_requests"] == 18
    assert report.open_chat["grounded"].overall.n == 18
    reviews = read_reviews(tmp_path / "report" / "reviews" / "grounded.jsonl")
    assert reviews[0]["reference_answer"] != read_questions(demo_questions)[0]["reference_answer"]


def test_reviews_are_scored_without_any_model_call(data_dir, tmp_path):
    report = evaluate(
        EvaluationConfig(out=str(tmp_path / "r"), reviews=[str(data_dir / "llava_med_review.jsonl")])
    )
    (scores,) = report.open_chat.values()
    assert scores.overall.relative_score == pytest.approx(90.0)
    assert report.requests["total"]["n_requests"] == 0
    assert (tmp_path / "r" / "relative_scores.png").stat().st_size > 0


def test_vqa_report_scores_every_model_and_compares_open_answers(server, data_dir, tmp_path):
    questions = data_dir / "VQA_RAD Dataset Public.json"
    first = write_answers(
        [
            {"question_id": q, "answer": a, "model_id": "first"}
            for q, a in [("2", "Right lower lobe."), ("3", "No."), ("4", "Axial.")]
        ],
        tmp_path / "first.jsonl",
    )
    second = write_answers(
        [
            {"question_id": q, "answer": a, "model_id": "second"}
            for q, a in [("2", "Left upper lobe."), ("3", "A nodule."), ("4", "Coronal.")]
        ],
        tmp_path / "second.jsonl",
    )
    out = tmp_path / "vqa"
    report = evaluate(
        EvaluationConfig(out=str(out), vqa=str(questions), answers=[first, second]),
        **_options(server, tmp_path),
    )
    assert report.vqa["first"].closed_accuracy == 1.0 and report.vqa["second"].closed_accuracy == 0.0
    assert report.vqa["first"].open_recall == 1.0
    (win,) = report.win_rates
    assert win.n == 1  # only the open question is compared, as BioMed-VITAL reports win rates
    assert (out / "vqa_scores.png").stat().st_size > 0
    assert json.loads((out / "report.json").read_text())["vqa"]["first"]["n_closed"] == 2


def test_dry_run_prints_the_projected_cost_and_writes_nothing(demo_questions, tmp_path, capsys):
    config = EvaluationConfig(
        out=str(tmp_path / "report"),
        questions=str(demo_questions),
        answers=[
            _answer_file(demo_questions, tmp_path, "a", True),
            _answer_file(demo_questions, tmp_path, "b", False),
        ],
        dry_run=True,
    )
    evaluate(config, api_key="sk-offline", cache_dir=str(tmp_path / "cache"))
    printed = capsys.readouterr().out
    assert "reviews of a:" in printed and "win rate a vs b:" in printed
    assert not (tmp_path / "report").exists()


def test_config_mistakes_are_clear_errors():
    with pytest.raises(ValueError, match="exactly one of --questions"):
        EvaluationConfig(out="x")
    with pytest.raises(ValueError, match="--questions needs --answers"):
        EvaluationConfig(out="x", questions="q.jsonl")
    with pytest.raises(ValueError, match="--answers belong with"):
        EvaluationConfig(out="x", reviews=["r.jsonl"], answers=["a.jsonl"])


def _cli(*args, cwd=None):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
    return subprocess.run(
        [sys.executable, "-m", "biomed_vital.cli", "evaluate", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=cwd,
    )


def test_command_scores_review_files_and_reports_mistakes_in_one_line(data_dir, tmp_path):
    result = _cli("--reviews", str(data_dir / "llava_med_review.jsonl"), "--out", str(tmp_path / "r"))
    assert result.returncode == 0, result.stderr
    assert "90.0" in result.stdout and (tmp_path / "r" / "report.json").is_file()
    missing = _cli("--reviews", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "r2"))
    assert missing.returncode == 2
    assert "nope.jsonl: no such file" in missing.stderr and "Traceback" not in missing.stderr
    nothing = _cli("--out", str(tmp_path / "r3"))
    assert nothing.returncode == 2 and "exactly one of --questions" in nothing.stderr


def test_command_evaluates_several_answer_files_against_a_server(demo_questions, tmp_path, monkeypatch):
    from biomed_vital.cli import main

    monkeypatch.setenv("OPENAI_API_KEY", "sk-offline")
    with StandInServer(seed=0) as server:
        code = main(
            [
                "evaluate",
                "--questions",
                str(demo_questions),
                "--answers",
                _answer_file(demo_questions, tmp_path, "a", True),
                _answer_file(demo_questions, tmp_path, "b", False),
                "--model",
                "gpt-4o",
                "--base-url",
                server.base_url,
                "--cache-dir",
                str(tmp_path / "cache"),
                "--no-show-progress",
                "--out",
                str(tmp_path / "report"),
            ]
        )
    assert code == 0
    data = json.loads((tmp_path / "report" / "report.json").read_text())
    assert set(data["open_chat"]) == {"a", "b"} and data["win_rates"][0]["win_rate"] == 1.0
