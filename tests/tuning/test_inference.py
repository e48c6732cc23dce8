"""generate_answers: batched, deterministic, resumable, LLaVA-Med's answer-file format."""

from __future__ import annotations

import json

import pytest
from datasets import Dataset

from biomed_vital.testing import tiny_idefics3, tiny_llava
from biomed_vital.tuning import generate_answers
from biomed_vital.tuning.inference import ANSWER_COLUMNS


@pytest.fixture(scope="module")
def questions(short_conversations, stand_in_images) -> Dataset:
    """LLaVA-Med question-file rows: the first real question of each demonstration, `<image>` at the end."""
    rows = short_conversations.select(range(5))
    return Dataset.from_dict(
        {
            "question_id": list(range(100, 105)),
            "image": [stand_in_images[modality] for modality in rows["modality"]],
            "text": [messages[0]["content"] + "\n<image>" for messages in rows["messages"]],
        }
    )


@pytest.fixture(scope="module")
def model_and_processor():
    return tiny_llava(seed=4)


def test_batched_answers_equal_one_at_a_time_and_are_deterministic(model_and_processor, questions):
    model, processor = model_and_processor
    batched = generate_answers(model, processor, questions, batch_size=3, max_new_tokens=8, model_id="tiny")
    single = generate_answers(model, processor, questions, batch_size=1, max_new_tokens=8, model_id="tiny")
    assert batched.column_names == list(ANSWER_COLUMNS)
    assert batched["text"] == single["text"]
    assert all(text for text in batched["text"])
    assert batched["question_id"] == list(range(100, 105))
    assert batched["prompt"][0] == questions[0]["text"].removesuffix("\n<image>")
    assert len(set(batched["answer_id"])) == 5 and set(batched["model_id"]) == {"tiny"}
    model.train()  # the caller's mode is restored after generation
    generate_answers(model, processor, questions.select(range(1)), max_new_tokens=2)
    assert model.training
    model.eval()


def test_answer_file_is_appended_and_resumed(tmp_path, model_and_processor, questions, monkeypatch):
    model, processor = model_and_processor
    answers_file = tmp_path / "answers" / "tiny.jsonl"
    first = generate_answers(
        model, processor, questions.select(range(2)), output_file=answers_file, max_new_tokens=6
    )
    lines = answers_file.read_text().splitlines()
    assert [json.loads(line)["question_id"] for line in lines] == [100, 101]
    assert set(json.loads(lines[0])) == {*ANSWER_COLUMNS, "metadata"}

    calls = []
    original = type(model).generate

    def counting_generate(self, *args, **kwargs):
        calls.append(kwargs["input_ids"].shape[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(model), "generate", counting_generate)
    with answers_file.open("a") as handle:  # a crash in the middle of writing a line
        handle.write('{"question_id": 102, "prom')
    everything = generate_answers(
        model, processor, questions, output_file=answers_file, batch_size=8, max_new_tokens=6
    )
    assert calls == [3]  # only the three unanswered questions were asked
    assert everything["text"][:2] == first["text"]
    assert [json.loads(line)["question_id"] for line in answers_file.read_text().splitlines()] == list(
        range(100, 105)
    )


def test_a_corrupt_answer_file_is_not_overwritten(tmp_path, model_and_processor, questions):
    model, processor = model_and_processor
    answers_file = tmp_path / "answers.jsonl"
    answers_file.write_text("not json\n" + json.dumps({"question_id": 100, "text": "x"}) + "\n")
    with pytest.raises(ValueError, match="line 1: not a LLaVA-Med answer record"):
        generate_answers(model, processor, questions, output_file=answers_file)
    assert answers_file.read_text().startswith("not json")


def test_conversations_are_answered_at_their_last_question(short_conversations):
    model, processor = tiny_idefics3()
    rows = short_conversations.select(range(2))
    answers = generate_answers(model, processor, rows, max_new_tokens=4)
    assert answers["question_id"] == rows["id"]
    assert answers["prompt"] == [messages[2]["content"] for messages in rows["messages"]]


def test_an_unreadable_image_names_the_question(tmp_path, model_and_processor, questions):
    model, processor = model_and_processor
    broken = Dataset.from_dict({"question_id": ["q-7"], "image": ["missing.png"], "text": ["What is shown?"]})
    with pytest.raises(ValueError, match="question 'q-7'"):
        generate_answers(model, processor, broken, image_root=tmp_path)
