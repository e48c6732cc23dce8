"""The reply contract of the stand-in server, read through the real openai SDK."""

from __future__ import annotations

import json
import re

from biomed_vital.engine.tokens import estimate_message_tokens, estimate_text_tokens
from biomed_vital.testing.standin.vocabulary import STANDIN_MARKER
from tests.testing.standin.helpers import (
    USER_PROMPT,
    judge_messages,
    png_data_url,
    user_messages,
)


def test_generation_reply_has_usage_five_exchanges_and_quotes_the_caption(server, client):
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=user_messages(), max_tokens=800
    )
    assert raw.headers["x-request-id"] == f"req_standin_{server.request_log()[-1]['seq']}"
    completion = raw.parse()
    content = completion.choices[0].message.content
    assert completion.object == "chat.completion"
    assert completion.model == "gpt-4o"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.role == "assistant"
    lines = content.splitlines()
    assert [line.split(":")[0] for line in lines] == ["User", "Assistant"] * 5
    assert all(STANDIN_MARKER in line for line in lines if line.startswith("Assistant:"))
    assert "Second synthetic sentence about delta." in content
    assert completion.usage.prompt_tokens == estimate_message_tokens(user_messages())
    assert completion.usage.completion_tokens == estimate_text_tokens(content)
    assert (
        completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_image_parts_are_accepted_and_counted_as_prompt_tokens(client):
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": USER_PROMPT},
                {"type": "image_url", "image_url": {"url": png_data_url(), "detail": "high"}},
            ],
        }
    ]
    completion = client.chat.completions.create(model="gpt-4o", messages=messages)
    assert completion.usage.prompt_tokens == estimate_message_tokens(messages)
    assert completion.usage.prompt_tokens > estimate_message_tokens(user_messages()) + 100
    assert "alpha beta gamma panel" in completion.choices[0].message.content


def test_two_answer_format_when_the_system_prompt_asks_for_answer_a_and_b(client):
    messages = [
        {"role": "system", "content": "For each question write Answer A: and Answer B:"},
        *user_messages(),
    ]
    content = client.chat.completions.create(model="gpt-4o", messages=messages).choices[0].message.content
    assert [line.split(":")[0] for line in content.splitlines()] == ["User", "Answer A", "Answer B"] * 5
    for question_index in range(5):
        _, answer_a, answer_b = content.splitlines()[3 * question_index : 3 * question_index + 3]
        assert answer_a[len("Answer A:") :] != answer_b[len("Answer B:") :]


def test_judge_text_reply_scores_grounded_answers_above_generic_ones(client):
    def score(answer: str) -> float:
        content = client.chat.completions.create(model="gpt-4o", messages=judge_messages(answer))
        text = content.choices[0].message.content
        match = re.match(r"Score: ([0-9.]+)/10\nRationale: .+", text)
        assert match, text
        return float(match.group(1))

    grounded = score("The alpha beta gamma panel and the delta panel.")
    generic = score("Nothing specific could be determined here.")
    assert 0 <= generic < grounded <= 10
    assert grounded >= 7 and generic <= 3


def test_judge_json_schema_reply_parses(client):
    schema = {
        "name": "verdict",
        "schema": {
            "type": "object",
            "properties": {"score": {"type": "number"}, "rationale": {"type": "string"}},
            "required": ["score", "rationale"],
        },
    }
    messages = [{"role": "user", "content": f"{USER_PROMPT}Answer: alpha beta gamma"}]
    completion = client.chat.completions.create(
        model="gpt-4o", messages=messages, response_format={"type": "json_schema", "json_schema": schema}
    )
    verdict = json.loads(completion.choices[0].message.content)
    assert set(verdict) == {"score", "rationale"}
    assert 0 <= verdict["score"] <= 10


def test_same_body_gives_the_same_reply_and_n_gives_distinct_choices(client):
    body = {"model": "gpt-4o", "messages": user_messages(), "seed": 11, "temperature": 0.7}
    first = client.chat.completions.create(**body).choices[0].message.content
    second = client.chat.completions.create(**body).choices[0].message.content
    assert first == second
    several = client.chat.completions.create(**body, n=4)
    assert [c.index for c in several.choices] == [0, 1, 2, 3]
    assert len({c.message.content for c in several.choices}) > 1


def test_max_tokens_cuts_the_reply_with_finish_reason_length(client):
    completion = client.chat.completions.create(model="gpt-4o", messages=user_messages(), max_tokens=10)
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.completion_tokens <= 10


def _quoted_texts(answer: str) -> list[str]:
    """What an answer quotes: the text between its first and last double quote (captions may hold quotes)."""
    if answer.count('"') < 2:
        return []
    return [answer[answer.index('"') + 1 : answer.rindex('"')].removesuffix(" ...")]


def test_candidates_of_a_figure_differ_quote_only_its_text_and_give_same_question_pairs(
    server, fixtures_dir, tmp_path
):
    """The generator's two candidates per figure, from the stand-in, on the real fixture figures."""
    from biomed_vital.data import load_figures, qa_pairs
    from biomed_vital.generation import GPT4VGenerator, GPT4VJudge
    from biomed_vital.preferences import PreferenceDataset

    figures = load_figures(fixtures_dir / "images.jsonl")
    options = {"base_url": server.base_url, "api_key": "sk-test", "seed": 0, "show_progress": False}
    options["cache_dir"] = str(tmp_path / "cache")
    candidates = GPT4VGenerator("gpt-4o", n_candidates=2, **options).generate(figures)
    assert set(candidates["status"]) == {"ok"}

    by_figure: dict[str, list[dict]] = {}
    for row in candidates:
        by_figure.setdefault(row["id"], []).append(row)
    for figure_id, (first, second) in by_figure.items():
        assert first["messages"] != second["messages"], figure_id
        first_turns, second_turns = qa_pairs(first["messages"]), qa_pairs(second["messages"])
        assert [q for q, _ in first_turns] == [q for q, _ in second_turns], figure_id  # the same questions
        own_text = " ".join(" ".join([first["caption"], *first["mentions"]]).split())
        for _, answer in first_turns + second_turns:
            for quoted in _quoted_texts(answer):
                assert quoted in own_text or quoted == "(no caption was given)", (figure_id, quoted)

    judged = GPT4VJudge("gpt-4o", **options).score(candidates)
    pairs = PreferenceDataset.from_judge_scores(judged, min_gap=1.0, seed=0)
    same_question = {
        figure
        for figure, kind in zip(pairs["figure_id"], pairs["pair_kind"], strict=True)
        if kind == "judge_same_question"
    }
    captioned = {row["id"] for row in figures if row["caption"].strip()}
    assert captioned and captioned <= same_question  # every figure with text to quote has same-figure pairs
