"""The selector text layout and the conversation splitter, on real clinician demonstrations."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from biomed_vital.data import (
    format_selector_conversation,
    format_selector_pairs,
    format_selector_text,
    message_text,
    qa_pairs,
)


def _demonstrations(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_layout_has_every_section_in_order():
    text = format_selector_text("Caption text", ["first", "second"], "Which view?", "Axial.")
    assert text.splitlines() == [
        "Caption: Caption text",
        "Mention: first",
        "Mention: second",
        "Question: Which view?",
        "Answer: Axial.",
    ]


def test_layout_limits_mentions_and_drops_empty_ones():
    text = format_selector_text("c", ["", "a", "  ", "b", "c", "d"], "q", "a", max_mentions=2)
    assert [line for line in text.splitlines() if line.startswith("Mention:")] == ["Mention: a", "Mention: b"]
    assert "Mention" not in format_selector_text("c", ["a"], "q", "a", max_mentions=0)
    with pytest.raises(ValueError, match="max_mentions"):
        format_selector_text("c", [], "q", "a", max_mentions=-1)


def test_layout_treats_a_single_string_mention_as_one_mention():
    assert format_selector_text("", "one mention", "q", "a").splitlines()[1] == "Mention: one mention"


def test_layout_removes_image_placeholder_and_keeps_empty_caption_line():
    text = format_selector_text(None, None, "<image>\nWhat modality?", "CT")
    assert "<image>" not in text
    assert text.splitlines() == ["Caption:", "Question: What modality?", "Answer: CT"]


def test_qa_pairs_reads_llava_turns_of_real_demonstrations(clinician_demonstrations_path):
    records = _demonstrations(clinician_demonstrations_path)
    assert len(records) == 58
    for record in records:
        turns = record["conversations"]
        pairs = qa_pairs(turns)
        assert len(pairs) == sum(turn["from"] == "gpt" for turn in turns)
        assert pairs[0][1] == turns[1]["value"].strip()
        assert all("<image>" not in question for question, _ in pairs)


def test_qa_pairs_reads_trl_messages_with_typed_parts():
    messages = [
        {"role": "system", "content": "ignored"},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is shown?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "A slice."}]},
        {"role": "user", "content": "And the plane?"},
        {"role": "user", "content": "Be brief."},
        {"role": "assistant", "content": "Axial."},
        {"role": "user", "content": "unanswered"},
    ]
    assert qa_pairs(messages) == [("What is shown?", "A slice."), ("And the plane?\nBe brief.", "Axial.")]


def test_qa_pairs_names_the_bad_message():
    with pytest.raises(ValueError, match="message 1 has role 'tool'"):
        qa_pairs([{"role": "user", "content": "q"}, {"role": "tool", "content": "x"}])
    with pytest.raises(TypeError, match="message 0"):
        qa_pairs(["not a message"])


def test_message_text_handles_strings_parts_and_none():
    assert message_text("plain") == "plain"
    assert message_text(None) == ""
    assert (
        message_text([{"type": "text", "text": "a"}, {"type": "image"}, {"type": "text", "text": "b"}])
        == "a\nb"
    )


def test_importing_the_package_does_not_import_torch():
    code = "import sys, biomed_vital.preferences as p; p.format_selector_text; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_conversation_layout_repeats_turn_blocks_and_matches_single_turn(clinician_demonstrations_path):
    record = _demonstrations(clinician_demonstrations_path)[0]
    caption, turns = record["fig_caption"], record["conversations"]
    text = format_selector_conversation(caption, [], turns)
    pairs = qa_pairs(turns)
    assert text.count("\nQuestion: ") == len(pairs) and text.count("\nAnswer: ") == len(pairs)
    assert format_selector_conversation(caption, [], turns[:2]) == format_selector_text(
        caption, [], *pairs[0]
    )


def test_pair_texts_are_the_single_pair_layout_of_each_pair(clinician_demonstrations_path):
    messy = [  # synthetic formatting noise: placeholders, runs of spaces, blank and unanswered turns
        {"role": "user", "content": "<image>\n  What   is\tshown? "},
        {"role": "assistant", "content": "  A  slice. \n\n second  line "},
        {"role": "user", "content": ""},
        {"role": "user", "content": "And <image> the plane?"},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "unanswered"},
    ]
    cases = [("Caption  with  spaces <image>", ["  m1 ", "", "m2", "m3", "m4"], messy)]
    for record in _demonstrations(clinician_demonstrations_path):
        mentions = [mention["tokens"] for mention in record.get("in_text_mention") or []]
        cases.append((record["fig_caption"], mentions, record["conversations"]))
    for caption, mentions, turns in cases:
        expected = [format_selector_text(caption, mentions, q, a) for q, a in qa_pairs(turns)]
        assert format_selector_pairs(caption, mentions, turns) == expected
    assert format_selector_pairs("c", [], [{"role": "user", "content": "q"}]) == []
