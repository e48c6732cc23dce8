"""Reply parsers: conversations as models really write them, and judge scores."""

from __future__ import annotations

import pytest

from biomed_vital.generation.parsing import (
    ReplyParseError,
    parse_conversation,
    parse_judge_reply,
    parse_two_answer_conversation,
)

# Replies in the shapes GPT-4-class models produce; the text is stand-in wording, not medical content.
WELL_FORMED = {
    "plain": "User: Q one?\nAssistant: A one.\nUser: Q two?\nAssistant: A two.\nUser: Q three?\nAssistant: A three.",
    "bold": "**User:** Q one?\n**Assistant:** A one.\n**User:** Q two?\n**Assistant:** A two.\n"
    "**User:** Q three?\n**Assistant:** A three.",
    "bold_outside_colon": "**User**: Q one?\n**Assistant**: A one.\n**User**: Q two?\n**Assistant**: A two.\n"
    "**User**: Q three?\n**Assistant**: A three.",
    "headers": "### User\nQ one?\n### Assistant\nA one.\n### User\nQ two?\n### Assistant\nA two.\n"
    "### User\nQ three?\n### Assistant\nA three.",
    "human_gpt": "Human: Q one?\nGPT: A one.\nHuman: Q two?\nGPT: A two.\nHuman: Q three?\nGPT: A three.",
    "q_a": "Q: Q one?\nA: A one.\nQ: Q two?\nA: A two.\nQ: Q three?\nA: A three.",
    "numbered_question_answer": "Question 1: Q one?\nAnswer 1: A one.\nQuestion 2: Q two?\nAnswer 2: A two.\n"
    "Question 3: Q three?\nAnswer 3: A three.",
    "numbered_turns": "1. User: Q one?\n2. Assistant: A one.\n3. User: Q two?\n4. Assistant: A two.\n"
    "5. User: Q three?\n6. Assistant: A three.",
    "q1_a1_bold": "**Q1:** Q one?\n**A1:** A one.\n**Q2:** Q two?\n**A2:** A two.\n**Q3:** Q three?\n**A3:** A three.",
    "preamble_and_rules": "Here is the conversation:\n\n---\nUser: Q one?\nAssistant: A one.\n---\n"
    "User: Q two?\nAssistant: A two.\n\nUser: Q three?\nAssistant: A three.",
}


@pytest.mark.parametrize("name", sorted(WELL_FORMED))
def test_speaker_tag_styles_parse_to_the_same_conversation(name: str) -> None:
    messages = parse_conversation(WELL_FORMED[name])
    assert [m["role"] for m in messages] == ["user", "assistant"] * 3
    assert [m["content"] for m in messages] == [
        "Q one?",
        "A one.",
        "Q two?",
        "A two.",
        "Q three?",
        "A three.",
    ]


def test_multi_line_answers_and_lists_are_kept_whole() -> None:
    text = (
        "User: Which structures are labelled?\n"
        "Assistant: Three structures are labelled:\n"
        "- structure one\n"
        "- structure two\n"
        "1. a numbered note\n"
        "\n"
        "A second paragraph.\n"
        "User: Is there a scale bar?\nAssistant: Yes.\n"
        "User: What is the view?\nAssistant: Axial."
    )
    messages = parse_conversation(text)
    assert messages[1]["content"] == (
        "Three structures are labelled:\n- structure one\n- structure two\n1. a numbered note\n\nA second paragraph."
    )
    assert len(messages) == 6


def test_image_placeholder_is_removed() -> None:
    text = "User: <image>\nWhat is shown?\nAssistant: A figure.\nUser: Q?\nAssistant: A.\nUser: Q?\nAssistant: A."
    assert parse_conversation(text)[0]["content"] == "What is shown?"


def test_prose_words_that_look_like_tags_stay_content() -> None:
    text = (
        "User: Q one?\nAssistant: A one.\nA second line of the answer.\nAnswer choices are discussed.\n"
        "User: Q two?\nAssistant: A two.\nUser: Q three?\nAssistant: A three."
    )
    messages = parse_conversation(text)
    assert messages[1]["content"] == "A one.\nA second line of the answer.\nAnswer choices are discussed."


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("This reply ignores the format entirely.", "no speaker tags"),
        ("User: Q one?\nAssistant: A one.\nUser: Q two?\nAssistant: A two.", "at least 3"),
        (
            "Assistant: A zero.\nUser: Q one?\nAssistant: A one.\nUser: Q?\nAssistant: A.\nUser: Q?\nAssistant: A.",
            "should speak",
        ),
        (
            "User: Q1?\nUser: Q2?\nAssistant: A.\nUser: Q?\nAssistant: A.\nUser: Q?\nAssistant: A.",
            "should speak",
        ),
        (
            "User: Q?\nAssistant: A.\nUser: Q?\nAssistant: A.\nUser: Q?\nAssistant: A.\nUser: Q four?",
            "no answer",
        ),
        ("User: Q?\nAssistant:\nUser: Q?\nAssistant: A.\nUser: Q?\nAssistant: A.", "empty"),
    ],
)
def test_unusable_conversations_raise_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ReplyParseError, match=reason):
        parse_conversation(text)


def test_min_rounds_is_configurable() -> None:
    assert len(parse_conversation("User: Q?\nAssistant: A.", min_rounds=1)) == 2
    with pytest.raises(ReplyParseError):
        parse_conversation(WELL_FORMED["plain"], min_rounds=4)


def test_two_answer_replies_split_into_paired_conversations() -> None:
    text = "\n".join(
        f"**User:** Q{i}?\n**Answer A:** first {i}.\n**Answer B:** second {i}.\nstill second {i}."
        for i in range(3)
    )
    first, second = parse_two_answer_conversation(text)
    assert [m["content"] for m in first if m["role"] == "user"] == [
        m["content"] for m in second if m["role"] == "user"
    ]
    assert first[1]["content"] == "first 0."
    assert second[1]["content"] == "second 0.\nstill second 0."
    assert len(first) == len(second) == 6


@pytest.mark.parametrize(
    "text",
    [
        "User: Q?\nAnswer A: a.\nUser: Q?\nAnswer A: a.\nAnswer B: b.\nUser: Q?\nAnswer A: a.\nAnswer B: b.",
        "User: Q?\nAnswer A: a.\nAnswer B: b.\nUser: Q?\nAnswer A: a.\nAnswer B: b.\nUser: Q?\nAnswer A: a.",
        "User: Q?\nAssistant: a.\nUser: Q?\nAssistant: a.\nUser: Q?\nAssistant: a.",
    ],
)
def test_two_answer_replies_with_a_missing_answer_raise(text: str) -> None:
    with pytest.raises(ReplyParseError):
        parse_two_answer_conversation(text)


def test_a_two_answer_reply_is_not_read_as_a_single_conversation() -> None:
    with pytest.raises(ReplyParseError, match="parse_two_answer_conversation"):
        parse_conversation("User: Q?\nAnswer A: a.\nAnswer B: b.")


JUDGE_REPLIES = [
    ("8", 8.0),
    ("Score: 8/10", 8.0),
    ("8.5", 8.5),
    ("**Score**: 8", 8.0),
    ("**Score:** 7/10\n**Rationale:** Grounded in the caption.", 7.0),
    ("I would give this answer a score of 7 out of 10 because it is grounded.", 7.0),
    ("Rating: 6/10\nThe answer is partly correct.", 6.0),
    ("The answer is accurate but brief.\n\nScore: 9", 9.0),
    ('{"score": 4, "rationale": "Too vague."}', 4.0),
    ('```json\n{"score": 6.5, "rationale": "Mostly right."}\n```', 6.5),
    ('{"Score": "3", "Reason": "Off topic."}', 3.0),
    ("Overall score = 10\nReason: complete.", 10.0),
    ("Score: 0/10 - the answer contradicts the caption.", 0.0),
    ("I give it a 5.", 5.0),
]


@pytest.mark.parametrize(("text", "expected"), JUDGE_REPLIES)
def test_judge_scores_are_read_from_json_and_prose(text: str, expected: float) -> None:
    assert parse_judge_reply(text).score == expected


def test_judge_rationale_is_kept() -> None:
    assert (
        parse_judge_reply("Score: 7/10\nRationale: Grounded in the caption.").rationale
        == "Grounded in the caption."
    )
    assert parse_judge_reply('{"score": 4, "rationale": "Too vague."}').rationale == "Too vague."


@pytest.mark.parametrize(
    "text",
    [
        "",
        None,
        "The answer is reasonable but gives no verdict.",
        "Score: 11/10",
        "Score: 12",
        "Score: -2",
        "Score: 85/100",
        '{"score": 14, "rationale": "x"}',
        '{"score": "high", "rationale": "x"}',
    ],
)
def test_judge_replies_without_a_valid_score_raise_instead_of_guessing(text: str | None) -> None:
    with pytest.raises(ReplyParseError):
        parse_judge_reply(text)


@pytest.mark.parametrize(
    ("reply", "score", "rationale"),
    [
        ("8\nClear and grounded in the image.", 8.0, "Clear and grounded in the image."),
        ("**Score: 7/10**\nThe answer is vague.", 7.0, "The answer is vague."),
        ("7.5\nBetween 7 and 8.", 7.0, "Between 7 and 8."),  # the scripts' first whole number
        ("\n\n10\n", 10.0, ""),
    ],
)
def test_first_line_scores_are_read_as_the_scripts_read_them(reply, score, rationale):
    from biomed_vital.generation import parse_first_line_score

    verdict = parse_first_line_score(reply)
    assert (verdict.score, verdict.rationale) == (score, rationale)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("The answer is good.\n9", "no whole number on the first line"),
        ("85 points\n", "outside 0-10"),
        ("   ", "empty"),
    ],
)
def test_a_first_line_without_a_score_is_an_error_not_a_number(reply, message):
    from biomed_vital.generation import ReplyParseError, parse_first_line_score

    with pytest.raises(ReplyParseError, match=message):
        parse_first_line_score(reply)
