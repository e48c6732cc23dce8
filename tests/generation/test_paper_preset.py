"""The ``biomed-vital`` preset of the generator and the judge, end to end against the stand-in server.

Figures and answers here are synthetic stand-in text (the stand-in quotes the captions it is sent); the
clinician demonstrations come from the shared fixtures.
"""

from __future__ import annotations

import pytest

from biomed_vital.generation import GPT4VGenerator, GPT4VJudge, parse_two_answer_conversation
from biomed_vital.generation.paper_prompts import PAPER_GENERATION_SYSTEM_PROMPT, PAPER_REQUEST_INSTRUCTION
from biomed_vital.generation.two_answers import answers_per_question, two_answer_demonstrations
from tests.generation.helpers import make_figures

OPTIONS = {"api_key": "sk-local-test", "show_progress": False, "backoff_base": 0.02, "backoff_max": 0.2}


def _connected(server, tmp_path, task_class, **options):
    return task_class(
        "gpt-4o", base_url=server.base_url, cache_dir=str(tmp_path / "cache"), **OPTIONS, **options
    )


@pytest.fixture
def labelled_figures():
    figures = make_figures(6)
    return figures.add_column("fig_label", [f"Figure {i + 1}" for i in range(len(figures))])


def test_the_paper_request_has_the_label_the_persona_and_no_temperature(server, tmp_path, labelled_figures):
    generator = _connected(server, tmp_path, GPT4VGenerator, preset="biomed-vital")
    body = generator.build_requests(labelled_figures)[2].build()
    assert body["messages"][0]["content"] == PAPER_GENERATION_SYSTEM_PROMPT.replace("{min_rounds}", "1")
    assert "specialised in biomedical topics" in body["messages"][0]["content"]
    text = body["messages"][-1]["content"][-1]["text"]
    assert text.splitlines()[0] == PAPER_REQUEST_INSTRUCTION
    assert "Caption: Figure 3: Synthetic test caption 2" in text
    assert body["max_tokens"] == 4096 and "temperature" not in body
    candidates = generator.generate(labelled_figures.select(range(2)))
    assert list(candidates["status"][:]) == ["ok", "ok"]


def test_two_answer_mode_shows_two_answer_demonstrations_and_gets_ab_pairs(
    server, tmp_path, labelled_figures
):
    # two-answer candidates (as clinicians compare them) become the demonstrations of the next run
    first_run = _connected(server, tmp_path, GPT4VGenerator, preset="biomed-vital", two_answers=True)
    pairs = first_run.generate(labelled_figures.select(range(2)))
    demonstrations = two_answer_demonstrations(pairs)
    assert len(demonstrations) == 2
    assert all(answers_per_question(row["messages"]) == 2 for row in demonstrations)

    generator = _connected(
        server,
        tmp_path,
        GPT4VGenerator,
        preset="biomed-vital",
        two_answers=True,
        demonstrations=demonstrations,
    )
    figures = labelled_figures.select(range(2, 6))
    body = generator.build_requests(figures)[0].build()
    shown = [m["content"] for m in body["messages"][1:-1] if m["role"] == "assistant"]
    assert shown, "the demonstrations are in the request"
    for reply in shown:
        assert "Assistant:" not in reply and "Answer A:" in reply and "Answer B:" in reply
        first, second = parse_two_answer_conversation(reply, min_rounds=1)  # the layout the prompt asks for
        assert [m["content"] for m in first if m["role"] == "user"] == [
            m["content"] for m in second if m["role"] == "user"
        ]
    assert "two separate answers" in body["messages"][0]["content"]

    candidates = generator.generate(figures)
    assert len(candidates) == 8 and list(candidates["answer_variant"][:]) == ["A", "B"] * 4
    for a, b in zip(candidates.select(range(0, 8, 2)), candidates.select(range(1, 8, 2)), strict=True):
        assert a["status"] == b["status"] == "ok" and a["pair_id"] == b["pair_id"]
        assert [m["content"] for m in a["messages"] if m["role"] == "user"] == [
            m["content"] for m in b["messages"] if m["role"] == "user"
        ]
        assert a["messages"] != b["messages"]


def test_one_answer_demonstrations_are_refused_in_two_answer_mode(clinician_demonstrations_path):
    with pytest.raises(ValueError, match="two_answers=True needs two-answer demonstrations") as raised:
        GPT4VGenerator(
            "gpt-4o",
            api_key="sk-local-test",
            two_answers=True,
            demonstrations=str(clinician_demonstrations_path),
        )
    assert "two_answer_demonstrations" in str(raised.value)
    two_answer = [
        {
            "id": "synthetic-1",
            "caption": "Synthetic test caption (stand-in text).",
            "mentions": [],
            "modality": "other",
            "messages": [
                {"role": "user", "content": "Synthetic question?"},
                {"role": "assistant", "content": "Synthetic answer one."},
                {"role": "assistant", "content": "Synthetic answer two."},
            ],
        }
    ]
    with pytest.raises(ValueError, match="have two answers per question"):
        GPT4VGenerator("gpt-4o", api_key="sk-local-test", demonstrations=two_answer)
    # the released demonstrations (two of them split an answer over two turns) still work in one-answer mode
    assert (
        len(
            GPT4VGenerator(
                "gpt-4o", api_key="sk-local-test", demonstrations=str(clinician_demonstrations_path)
            ).demonstrations
        )
        == 58
    )


def test_two_answer_demonstrations_need_complete_pairs(server, tmp_path, labelled_figures):
    pairs = _connected(server, tmp_path, GPT4VGenerator, two_answers=True).generate(
        labelled_figures.select(range(1))
    )
    with pytest.raises(ValueError, match="no complete two-answer pair"):
        two_answer_demonstrations(pairs.select([0]))
    with pytest.raises(ValueError, match="generate them with"):
        two_answer_demonstrations(labelled_figures)


def test_first_pair_scoring_sends_one_request_per_candidate(server, tmp_path, labelled_figures):
    candidates = _connected(server, tmp_path, GPT4VGenerator).generate(labelled_figures)
    pairs_per_candidate = [len(m) // 2 for m in candidates["messages"][:]]
    assert min(pairs_per_candidate) >= 3
    before = len(server.request_log())

    judge = _connected(server, tmp_path, GPT4VJudge, preset="biomed-vital")
    requests = judge.build_requests(candidates)
    assert len(requests) == len(candidates)
    for request, messages in zip(requests, candidates["messages"][:], strict=True):
        text = request.build()["messages"][-1]["content"][-1]["text"]
        assert f"Question: {messages[0]['content']}" in text and messages[2]["content"] not in text
    judged = judge.score(candidates)
    assert len(server.request_log()) - before == len(candidates)
    assert list(judged["judge_status"][:]) == ["ok"] * len(candidates)
    for score, turn_scores in zip(judged["judge_score"][:], judged["judge_turn_scores"][:], strict=True):
        assert score == int(score) and 0 <= score <= 10  # read from the first line as a whole number
        assert turn_scores == [score]

    # the library's default scores every pair: one request each
    default = _connected(server, tmp_path, GPT4VJudge)
    assert len(default.build_requests(candidates)) == sum(pairs_per_candidate)
