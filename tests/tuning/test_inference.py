"""generate_answers: batched, deterministic, resumable; the evaluation stage reads what it writes."""

from __future__ import annotations

import json
import shutil

import pytest
from datasets import Dataset

from biomed_vital.evaluation import answer_features, join_answers, read_questions
from biomed_vital.testing import tiny_idefics3, tiny_llava
from biomed_vital.tuning import generate_answers

ANSWER_FILE_FIELDS = {"question_id", "prompt", "text", "answer_id", "model_id", "metadata"}


@pytest.fixture(scope="module")
def question_file(tmp_path_factory, short_conversations, stand_in_images):
    """A question file in LLaVA-Med's layout: the first real question of five demonstrations, `<image>` last."""
    folder = tmp_path_factory.mktemp("questions")
    rows = short_conversations.select(range(5))
    lines = []
    for number, (messages, modality) in enumerate(zip(rows["messages"], rows["modality"], strict=True)):
        image = f"{modality}.png"
        shutil.copy(stand_in_images[modality], folder / image)
        record = {"question_id": 100 + number, "image": image, "text": messages[0]["content"] + "\n<image>"}
        lines.append(json.dumps({**record, "gpt4_answer": messages[1]["content"], "type": "conversation"}))
    (folder / "questions.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "questions.jsonl"


@pytest.fixture(scope="module")
def questions(question_file):
    return read_questions(question_file)


@pytest.fixture(scope="module")
def model_and_processor():
    return tiny_llava(seed=4)


def test_batched_answers_equal_one_at_a_time_and_are_deterministic(
    model_and_processor, questions, question_file
):
    model, processor = model_and_processor
    root = question_file.parent
    batched = generate_answers(model, processor, questions, image_root=root, batch_size=3, max_new_tokens=8)
    single = generate_answers(model, processor, questions, image_root=root, batch_size=1, max_new_tokens=8)
    assert batched.features == answer_features()
    assert batched["answer"] == single["answer"]
    assert all(batched["answer"])
    assert batched["question_id"] == [str(i) for i in range(100, 105)]
    assert batched["prompt"][0] == questions[0]["question"]
    assert len(set(batched["answer_id"])) == 5
    model.train()  # the caller's mode is restored after generation
    generate_answers(model, processor, questions.select(range(1)), image_root=root, max_new_tokens=2)
    assert model.training
    model.eval()


def test_answer_file_is_appended_resumed_and_read_by_the_evaluation_stage(
    tmp_path, model_and_processor, questions, question_file, monkeypatch
):
    model, processor = model_and_processor
    root = question_file.parent
    answers_file = tmp_path / "answers" / "tiny.jsonl"
    first = generate_answers(
        model, processor, questions.select(range(2)), image_root=root, output_file=answers_file, model_id="tiny",
        max_new_tokens=6,
    )  # fmt: skip
    records = [json.loads(line) for line in answers_file.read_text().splitlines()]
    assert [record["question_id"] for record in records] == [100, 101]  # LLaVA-Med's integer ids
    assert set(records[0]) == ANSWER_FILE_FIELDS and records[0]["text"] == first[0]["answer"]

    calls = []
    original = type(model).generate

    def counting_generate(self, *args, **kwargs):
        calls.append(kwargs["input_ids"].shape[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(model), "generate", counting_generate)
    with answers_file.open("a") as handle:  # a crash in the middle of writing a line
        handle.write('{"question_id": 102, "prom')
    everything = generate_answers(
        model, processor, questions, image_root=root, output_file=answers_file, model_id="tiny",
        batch_size=8, max_new_tokens=6,
    )  # fmt: skip
    assert calls == [3]  # only the three unanswered questions were asked
    assert everything["answer"][:2] == first["answer"]
    assert everything["line"] == [1, 2, 3, 4, 5]
    assert [json.loads(line)["question_id"] for line in answers_file.read_text().splitlines()] == list(
        range(100, 105)
    )

    joined = join_answers(questions, everything)
    assert joined["answer"] == everything["answer"] and not any(joined["error"])
    assert set(joined["model_id"]) == {"tiny"}


def test_a_corrupt_answer_file_is_not_overwritten(tmp_path, model_and_processor, questions, question_file):
    model, processor = model_and_processor
    answers_file = tmp_path / "answers.jsonl"
    answers_file.write_text("not json\n" + json.dumps({"question_id": 100, "text": "x"}) + "\n")
    with pytest.raises(ValueError, match="line 1 is not a LLaVA-Med answer record"):
        generate_answers(
            model, processor, questions, image_root=question_file.parent, output_file=answers_file
        )
    assert answers_file.read_text().startswith("not json")


def test_conversations_are_answered_at_their_last_question(short_conversations):
    model, processor = tiny_idefics3()
    rows = short_conversations.select(range(2))
    answers = generate_answers(model, processor, rows, max_new_tokens=4)
    assert answers["question_id"] == rows["id"]
    assert answers["prompt"] == [messages[2]["content"] for messages in rows["messages"]]


def test_an_unreadable_image_names_the_question(tmp_path, model_and_processor):
    model, processor = model_and_processor
    broken = Dataset.from_dict(
        {"question_id": ["q-7"], "image_file": ["missing.png"], "question": ["What is shown?"]}
    )
    with pytest.raises(ValueError, match="question 'q-7'"):
        generate_answers(model, processor, broken, image_root=tmp_path)
