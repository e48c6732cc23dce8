"""Batch mode, batch export/import, several endpoints and the planner from the command line and the tasks."""

from __future__ import annotations

import json
import time

import pytest

from biomed_vital.cli import main
from biomed_vital.engine.batch_files import OPENAI_BATCH_URL
from biomed_vital.engine.planner import RequestProfile, plan_run
from biomed_vital.testing import StandInServer
from biomed_vital.testing.standin import StandInConfig
from tests.conftest import REPO_ROOT


@pytest.fixture()
def batch_server():
    with StandInServer(StandInConfig(batch_seconds=0.1)) as running:
        yield running


def test_generate_and_judge_with_batch(batch_server, tmp_path, figures, monkeypatch, capsys) -> None:
    from datasets import load_from_disk

    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-test")
    figures.select(range(4)).save_to_disk(str(tmp_path / "figures"))
    common = ["--base-url", batch_server.base_url, "--cache-dir", str(tmp_path / "cache"), "--batch"]
    common += ["--batch-poll-interval", "0.05"]
    assert main(["generate", str(tmp_path / "figures"), "--dry-run", *common]) == 0
    assert "at batch prices" in capsys.readouterr().out
    assert main(["generate", str(tmp_path / "figures"), "--out", str(tmp_path / "candidates"), *common]) == 0
    assert main(["judge", str(tmp_path / "candidates"), "--out", str(tmp_path / "judged"), *common]) == 0
    judged = load_from_disk(str(tmp_path / "judged"))
    assert set(judged["status"][:]) == {"ok"} and set(judged["judge_status"][:]) == {"ok"}
    log = batch_server.request_log()
    assert log and all(entry["path"].startswith("/v1/batches/") for entry in log)
    assert main(["batch", "status", "--cache-dir", str(tmp_path / "cache")]) == 0
    assert "2 collected" in capsys.readouterr().out


def test_the_generator_validates_batch_replies_as_in_synchronous_mode(tmp_path, figures) -> None:
    from biomed_vital.generation import GPT4VGenerator

    config = {"fault": ["malformed=0.3", "truncated=0.2"], "seed": 7}
    outputs = []
    for batch in (False, True):
        with StandInServer(StandInConfig(batch_seconds=0.1, **config)) as server:
            generator = GPT4VGenerator(
                "gpt-4o",
                base_url=server.base_url,
                api_key="sk-x",
                cache_dir=str(tmp_path / f"cache-{batch}"),
                show_progress=False,
                batch=batch,
                batch_poll_interval=0.05,
            )
            outputs.append(generator.generate(figures))
    sync, batched = outputs
    assert batched["status"][:] == sync["status"][:] and "error" in sync["status"][:]
    assert batched["error"][:] == sync["error"][:]
    assert batched["messages"][:] == sync["messages"][:]


def test_export_then_import_answers_from_the_command_line(
    batch_server, tmp_path, figures, monkeypatch, capsys
):
    from datasets import load_from_disk
    from openai import OpenAI

    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-test")
    figures.select(range(5)).save_to_disk(str(tmp_path / "figures"))
    common = ["--base-url", batch_server.base_url, "--cache-dir", str(tmp_path / "cache")]
    command = ["generate", str(tmp_path / "figures"), "--out", str(tmp_path / "candidates"), *common]
    assert main([*command, "--batch-export", str(tmp_path / "batch")]) == 0
    assert "no answers yet (exported: 5)" in capsys.readouterr().err
    (requests_file,) = sorted((tmp_path / "batch").glob("requests-*.jsonl"))
    assert batch_server.request_log() == []
    # vLLM's run-batch would answer the file on a GPU machine; here the stand-in's batch endpoint does
    client = OpenAI(base_url=batch_server.base_url, api_key="sk-x")
    uploaded = client.files.create(file=requests_file.open("rb"), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint=OPENAI_BATCH_URL, completion_window="24h"
    )
    while batch.status != "completed":
        time.sleep(0.05)
        batch = client.batches.retrieve(batch.id)
    answers = tmp_path / "answers.jsonl"
    answers.write_bytes(client.files.content(batch.output_file_id).read())
    assert main(["batch", "import", str(answers), "--cache-dir", str(tmp_path / "cache")]) == 0
    assert "5 answers stored" in capsys.readouterr().out
    sent = len(batch_server.request_log())
    assert main(command) == 0
    assert len(batch_server.request_log()) == sent  # every answer came from the cache
    assert set(load_from_disk(str(tmp_path / "candidates"))["status"][:]) == {"ok"}


def test_generate_over_several_endpoints_from_a_file(tmp_path, figures, monkeypatch) -> None:
    from datasets import load_from_disk

    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-test")
    figures.save_to_disk(str(tmp_path / "figures"))
    with StandInServer() as a, StandInServer() as b:
        path = tmp_path / "endpoints.yaml"
        path.write_text(
            f"- base_url: {a.base_url}\n  max_concurrency: 2\n- base_url: {b.base_url}\n  max_concurrency: 2\n"
        )
        command = ["generate", str(tmp_path / "figures"), "--out", str(tmp_path / "candidates")]
        assert main([*command, "--base-url", a.base_url, "--endpoints", str(path)]) == 0
        assert a.request_log() and b.request_log()
    assert set(load_from_disk(str(tmp_path / "candidates"))["status"][:]) == {"ok"}


def test_a_bad_endpoints_file_is_one_line(tmp_path, capsys) -> None:
    path = tmp_path / "endpoints.yaml"
    path.write_text("- base_url: http://gpu1:8000/v1\n  api_key: sk-secret-value\n")
    with pytest.raises(SystemExit) as stop:
        main(["generate", str(tmp_path), "--dry-run", "--endpoints", str(path)])
    assert stop.value.code == 2
    assert "keys do not belong in a list of endpoints" in capsys.readouterr().err


def test_the_plan_scales_the_measured_request() -> None:
    profile = RequestProfile(n_sampled=4, prompt_tokens=800.0, max_tokens=1024.0, line_bytes=50_000.0)
    plan = plan_run(
        1_000_000,
        profile,
        model="gpt-4o",
        requests_per_figure=2,
        rpm=10_000,
        tpm=30_000_000,
        latency_seconds=8.0,
        max_concurrency=64,
        batch_queue_tokens=200_000_000,
    )
    assert plan.requests == 2_000_000 and plan.prompt_tokens == 1_600_000_000
    assert plan.completion_tokens == 2_048_000_000 and plan.completion_is_budget
    assert plan.cost_usd == pytest.approx((1.6e9 * 2.5 + 2.048e9 * 10.0) / 1e6)
    assert plan.batch_cost_usd == pytest.approx(plan.cost_usd / 2)
    # 2M requests x 8 s / 64 in flight = 250,000 s, longer than 2M / (10,000 x 0.985) min
    assert plan.limited_by == "requests in flight" and plan.sync_seconds == pytest.approx(250_000)
    assert plan.batch_rounds == 8 and plan.batch_files == 527  # 3,800 requests of 50 kB per 190 MB file
    assert "requests in flight" in str(plan) and "8 round(s)" in str(plan)
    unknown = plan_run(10, profile, model="my-local-model")
    assert unknown.cost_usd is None and unknown.sync_seconds is None and "unknown" in str(unknown)


def test_the_estimate_command_measures_a_sample(tmp_path, figures, capsys) -> None:
    figures.select(range(3)).save_to_disk(str(tmp_path / "figures"))
    plan_file = tmp_path / "plan.json"
    argv = ["estimate", "--figures", "1000", "--sample", str(tmp_path / "figures"), "--n-candidates", "2"]
    assert main([*argv, "--rpm", "600", "--json-out", str(plan_file)]) == 0
    out = capsys.readouterr().out
    assert "2,000 (2 per figure)" in out and "limited by requests per minute" in out
    plan = json.loads(plan_file.read_text())
    assert plan["requests"] == 2000 and plan["n_sampled"] == 6


@pytest.mark.slow
@pytest.mark.parametrize("name", ["estimate-100k", "estimate-1m"])
def test_the_plans_in_the_docs_are_what_the_command_prints(name, capsys) -> None:
    """docs/scale.md shows these files; they must be what the command prints today."""
    saved = REPO_ROOT / "benchmarks" / "results" / f"{name}.txt"
    command_line, *expected = saved.read_text().splitlines()
    assert command_line.startswith("$ biomed-vital estimate ")
    assert main(command_line.split()[2:]) == 0
    assert capsys.readouterr().out.splitlines() == expected


def test_the_evaluation_judge_reviews_through_batches_as_it_does_synchronously(tmp_path) -> None:
    from biomed_vital.data import load_demo_figures
    from biomed_vital.evaluation import (
        OpenChatJudge,
        join_answers,
        read_answers,
        read_questions,
        write_answers,
    )
    from biomed_vital.evaluation.llava_med_files import write_questions

    figures = load_demo_figures().select(range(3))
    questions = [
        {
            "question_id": str(i),
            "question": "What does this image show?",
            "reference_answer": f"The caption reads: {figure['caption']}",
            "caption": figure["caption"],
            "fig_label": "",
            "mentions": figure["mentions"],
            "domain": figure["domain"],
            "question_type": "conversation",
            "image_file": f"{figure['id']}.png",
            "pair_id": figure["id"],
        }
        for i, figure in enumerate(figures)
    ]
    answers = [
        {
            "question_id": row["question_id"],
            "answer": "(synthetic answer that quotes nothing)",
            "model_id": "m",
        }
        for row in questions
    ]
    samples = join_answers(
        read_questions(write_questions(questions, tmp_path / "questions.jsonl")),
        read_answers(write_answers(answers, tmp_path / "answers.jsonl")),
    )
    reviews = {}
    with StandInServer(StandInConfig(batch_seconds=0.1, seed=0)) as server:
        for batch in (False, True):
            judge = OpenChatJudge(
                "gpt-4o",
                base_url=server.base_url,
                api_key="sk-offline",
                cache_dir=str(tmp_path / f"cache-{batch}"),
                show_progress=False,
                batch=batch,
                batch_poll_interval=0.05,
            )
            reviewed = judge.review(samples)
            assert set(reviewed["review_status"][:]) == {"ok"}
            reviews[batch] = reviewed["review"][:]
        batch_paths = {entry["path"].split("/")[2] for entry in server.request_log()}
    assert reviews[True] == reviews[False]
    assert batch_paths == {"chat", "batches"}  # one run synchronous, one through batches
