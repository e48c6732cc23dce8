"""LLaVA conversations <-> TRL messages."""

from __future__ import annotations

import pytest

from biomed_vital.data import conversations_to_messages, messages_to_conversations
from biomed_vital.data.conversations import strip_image_token


def test_demonstrations_round_trip_both_ways(clinician_demonstrations_path):
    from tests.data.conftest import demonstrations

    for record in demonstrations(clinician_demonstrations_path):
        messages = conversations_to_messages(record["conversations"])
        assert [m["content"] for m in messages] == [t["value"] for t in record["conversations"]]
        assert {m["role"] for m in messages} <= {"user", "assistant"}
        conversations = messages_to_conversations(messages)
        assert conversations[0]["value"] == "<image>\n" + record["conversations"][0]["value"]
        assert conversations[1:] == record["conversations"][1:]
        assert conversations_to_messages(conversations) == messages
        assert messages_to_conversations(messages, with_image=False) == record["conversations"]


@pytest.mark.parametrize(
    "first_turn",
    [
        "<image>\nWhat modality is used to take this image?",
        "What modality is used to take this image?\n<image>",
        "<image>What modality is used to take this image?",
        "  <image>\nWhat modality is used to take this image?",
    ],
)
def test_image_token_is_removed_wherever_it_is_in_the_first_human_turn(first_turn):
    conversation = [{"from": "human", "value": first_turn}, {"from": "gpt", "value": "CT."}]
    messages = conversations_to_messages(conversation)
    assert messages[0] == {"role": "user", "content": "What modality is used to take this image?"}
    assert (
        messages_to_conversations(messages)[0]["value"]
        == "<image>\nWhat modality is used to take this image?"
    )


def test_token_in_the_middle_keeps_the_two_parts_apart():
    assert (
        strip_image_token("Look at this figure.\n<image>\nWhat is shown?")
        == "Look at this figure.\nWhat is shown?"
    )


def test_only_the_first_human_turn_is_touched():
    conversation = [
        {"from": "human", "value": "<image>\nQ1"},
        {"from": "gpt", "value": "A1"},
        {"from": "human", "value": "Q2 mentions <image> literally"},
    ]
    assert conversations_to_messages(conversation)[2]["content"] == "Q2 mentions <image> literally"


def test_content_parts_are_flattened_and_system_turns_kept():
    messages = [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Which organ?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "The liver."}]},
    ]
    assert messages_to_conversations(messages) == [
        {"from": "system", "value": "Answer briefly."},
        {"from": "human", "value": "<image>\nWhich organ?"},
        {"from": "gpt", "value": "The liver."},
    ]


def test_bad_turns_name_their_position():
    with pytest.raises(ValueError, match="turn 1 has speaker 'doctor'"):
        conversations_to_messages([{"from": "human", "value": "Q"}, {"from": "doctor", "value": "A"}])
    with pytest.raises(ValueError, match="turn 0 must be an object"):
        conversations_to_messages(["just text"])
    with pytest.raises(ValueError, match="message 0 has role 'robot'"):
        messages_to_conversations([{"role": "robot", "content": "x"}])


def test_clean_text_shortcut_gives_what_the_full_cleaning_gives() -> None:
    """`clean_text` returns clean text untouched without cleaning it; that shortcut must never change a result."""
    import random
    import re

    from biomed_vital.data import clean_text
    from biomed_vital.data.conversations import _IMAGE_PLACEHOLDER, _WHITESPACE

    def full_cleaning(text: str) -> str:
        text = _IMAGE_PLACEHOLDER.sub(" ", text)
        return "\n".join(_WHITESPACE.sub(" ", line).strip() for line in text.strip().splitlines()).strip()

    # synthetic strings built from the characters that cleaning treats specially
    alphabet = [
        "a",
        "b",
        ".",
        " ",
        "  ",
        "\t",
        "\n",
        "\r",
        "\r\n",
        "\x0b",
        "\x0c",
        "\x85",
        "\u2028",
        "\u00a0",
        "\u3000",
        "<image>",
        "<",
        ">",
    ]
    generator = random.Random(0)
    for _ in range(20_000):
        text = "".join(generator.choice(alphabet) for _ in range(generator.randint(1, 8)))
        assert clean_text(text) == full_cleaning(text), repr(text)
    assert clean_text("Synthetic caption: a grey square.") == "Synthetic caption: a grey square."
    assert re.fullmatch(r"a b", clean_text(" a\t b ")) is not None
