"""GPT4VJudge over HTTP against the stand-in server."""

from __future__ import annotations

import json
import re

import pytest
from openai import OpenAI

from biomed_vital.generation import JUDGE_RESPONSE_FORMAT, GPT4VGenerator, GPT4VJudge
from biomed_vital.testing import FaultConfig, StandInServer


def judge_for(server, tmp_path, **options) -> GPT4VJudge:
    options.setdefault("show_progress", False)
    options.setdefault("backoff_base", 0.02)
    return GPT4VJudge(
        "gpt-4o",
        base_url=server.base_url,
        api_key="sk-local-test",
        cache_dir=str(tmp_path / "cache"),
        **options,
    )


def _score_written_in(reply: str) -> float:
    """The score in a stand-in judge reply: JSON, or a ``Score: 7.5/10`` line."""
    if reply.lstrip().startswith("{"):
        return float(json.loads(reply)["score"])
    return float(re.search(r"^Score: ([0-9.]+)/10$", reply, re.MULTILINE).group(1))


@pytest.fixture
def candidates(server, tmp_path, figures):
    generator = GPT4VGenerator(
        "gpt-4o",
        base_url=server.base_url,
        api_key="sk-local-test",
        cache_dir=str(tmp_path / "cache"),
        show_progress=False,
    )
    generated = generator.generate(figures.select(range(4)))
    server.reset()
    return generated


@pytest.mark.parametrize("structured_output", [True, False])
def test_each_turn_is_scored_and_the_mean_is_the_score(
    server, tmp_path, candidates, structured_output
) -> None:
    judge = judge_for(server, tmp_path, structured_output=structured_output)
    judged = judge.score(candidates)
    assert len(judged) == len(candidates)
    assert set(judged["judge_status"][:]) == {"ok"}
    for row in judged:
        turns = len(row["messages"]) // 2
        assert len(row["judge_turn_scores"]) == turns
        assert all(0 <= s <= 10 for s in row["judge_turn_scores"])
        assert row["judge_score"] == pytest.approx(sum(row["judge_turn_scores"]) / turns)
        assert row["judge_rationale"] and row["judge_error"] == ""
    log = server.request_log()
    assert len(log) == sum(len(m) // 2 for m in candidates["messages"][:])
    assert {e["mode"] for e in log} == {"judge"}
    # each turn's score is the one the server wrote for that turn, read here without the judge's parser
    plans = judge.plan(candidates)
    with OpenAI(base_url=server.base_url, api_key="sk-local-test", max_retries=0) as client:
        for plan, scores in zip(plans, judged["judge_turn_scores"][:], strict=True):
            written = [
                _score_written_in(
                    client.chat.completions.create(**request.build()).choices[0].message.content
                )
                for request in plan.requests
            ]
            assert scores == pytest.approx(written)
    assert len({score for scores in judged["judge_turn_scores"][:] for score in scores}) > 3


def test_the_judge_request_carries_the_figure_and_one_pair(server, tmp_path, candidates) -> None:
    judge = judge_for(server, tmp_path, structured_output=True)
    plans = judge.plan(candidates)
    body = plans[0].requests[1].build()
    system, user = body["messages"]
    assert "score" in system["content"].lower() and "medical accuracy" in system["content"]
    assert body["response_format"] == JUDGE_RESPONSE_FORMAT
    image, text = user["content"]
    assert image["image_url"]["url"].startswith("data:image/")
    question, answer = candidates[0]["messages"][2]["content"], candidates[0]["messages"][3]["content"]
    assert f"Question: {question}" in text["text"] and f"Answer: {answer}" in text["text"]
    assert text["text"].count("Question:") == 1
    assert "Caption: Synthetic test caption 0" in text["text"]


def test_conversation_granularity_sends_one_request_per_candidate(server, tmp_path, candidates) -> None:
    judged = judge_for(server, tmp_path, granularity="conversation").score(candidates)
    assert set(judged["judge_status"][:]) == {"ok"}
    assert len(server.request_log()) == len(candidates)
    assert all(len(scores) == 1 for scores in judged["judge_turn_scores"][:])


def test_failed_candidates_are_skipped(server, tmp_path, candidates) -> None:
    statuses = ["ok", "error", "ok", "ok"]
    mixed = candidates.remove_columns("status").add_column("status", statuses)
    judged = judge_for(server, tmp_path).score(mixed)
    assert list(judged["judge_status"][:]) == ["ok", "skipped", "ok", "ok"]
    assert judged[1]["judge_score"] is None


def test_a_reply_without_a_score_is_an_error_not_a_number(tmp_path, candidates) -> None:
    with StandInServer(faults=FaultConfig(malformed=1.0), seed=0) as server:
        judged = judge_for(server, tmp_path / "malformed", structured_output=False).score(candidates)
    assert set(judged["judge_status"][:]) == {"error"}
    assert all(score is None for score in judged["judge_score"][:])
    assert all("no 0-10 score" in error for error in judged["judge_error"][:])


def test_structured_output_defaults_follow_the_provider(server) -> None:
    assert GPT4VJudge("gpt-4o", api_key="sk-x").structured_output is True
    assert GPT4VJudge("gpt-4o", base_url=server.base_url).structured_output is False
    judge = GPT4VJudge(
        "gpt-4o", azure_endpoint="https://example.openai.azure.com", api_version="2024-10-21", api_key="k"
    )
    assert judge.structured_output is True


def test_judging_again_is_served_from_the_cache(server, tmp_path, candidates) -> None:
    first = judge_for(server, tmp_path).score(candidates)
    sent = len(server.request_log())
    second = judge_for(server, tmp_path).score(first)  # replaces the previous judge columns
    assert len(server.request_log()) == sent
    assert second["judge_score"][:] == first["judge_score"][:]
    assert second.column_names.count("judge_score") == 1


def test_replies_without_a_score_are_asked_again_unless_kept(tmp_path, candidates) -> None:
    # the judge shares the generator's handling of unusable replies (ModelTask): here half the replies
    # carry no score
    with StandInServer(faults=FaultConfig(malformed=0.5), seed=1) as server:
        kept = judge_for(server, tmp_path, retry_unusable=0, structured_output=False).score(candidates)
        assert "error" in kept["judge_status"][:]
        unusable = {e["request_key"] for e in server.request_log() if e["fault"] == "malformed"}
        server.reset()
        judge_for(server, tmp_path, retry_unusable=0, keep_unusable=True, structured_output=False).score(
            candidates
        )
        assert server.request_log() == []  # the stored replies were taken as they are
        again = judge_for(server, tmp_path, structured_output=False).score(candidates)
        asked = {e["request_key"] for e in server.request_log()}
    assert asked == unusable  # only the turns whose stored reply had no score
    assert set(again["judge_status"][:]) == {"ok"}


def test_the_judge_writes_a_page_of_the_judged_candidates(server, tmp_path, candidates) -> None:
    judged = judge_for(server, tmp_path, report_dir=str(tmp_path / "judge-report")).score(candidates)
    page = (tmp_path / "judge-report" / "report.html").read_text()
    assert page.count('<article class="row"') == len(judged)
    assert 'data-judge="' in page and "judge score, highest first" in page
    assert judged[0]["judge_rationale"].split(".")[0] in page
