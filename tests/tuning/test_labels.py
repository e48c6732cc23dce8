"""The loss sees the assistant's answers only: never user turns, the system prompt or image tokens."""

from __future__ import annotations

import pytest

from biomed_vital.testing import tiny_idefics3, tiny_llava
from biomed_vital.tuning import VisualInstructionTrainer, chat_template
from tests.tuning.conftest import cpu_config


def _supervised_text(trainer, row):
    batch = trainer.data_collator([dict(row)])
    ids, labels = batch["input_ids"][0], batch["labels"][0]
    tokenizer = trainer.processing_class.tokenizer
    return tokenizer.decode(ids[labels != -100]), tokenizer.decode(ids[labels == -100]), batch


@pytest.mark.parametrize("build", [tiny_llava, tiny_idefics3], ids=["llava", "idefics3"])
def test_label_mask_on_a_real_multi_turn_conversation(tmp_path, demonstration_conversations, build):
    model, processor = build()
    # the first clinician demonstration: a five-question conversation about a CT image (stand-in image)
    row = demonstration_conversations[0]
    messages = row["messages"]
    assert row["image_is_stand_in"] and len(messages) == 10
    system = {"role": "system", "content": "Answer as a careful radiologist."}  # synthetic system prompt
    example = {"images": row["image"] and [row["image"]], "messages": [system, *messages]}
    trainer = VisualInstructionTrainer(
        model,
        cpu_config(tmp_path),
        train_dataset=demonstration_conversations.select([0]),
        processing_class=processor,
    )
    trained, masked, batch = _supervised_text(trainer, example)
    eos = processor.tokenizer.eos_token
    answers = [m["content"] for m in messages if m["role"] == "assistant"]
    questions = [m["content"] for m in messages if m["role"] == "user"]
    assert trained.replace(" ", "") == "".join(answer + eos for answer in answers).replace(" ", "")
    for question in questions:
        assert question.replace(" ", "") in masked.replace(" ", "")
    assert system["content"] not in trained and system["content"] in masked
    image_ids = batch["input_ids"][0] == processor.image_token_id
    assert image_ids.sum() > 0
    assert (batch["labels"][0][image_ids] == -100).all()


def test_template_without_generation_markers_is_refused(tmp_path, short_conversations):
    model, processor = tiny_llava()
    processor.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    with pytest.raises(ValueError, match=r"\{% generation %\}"):
        VisualInstructionTrainer(
            model, cpu_config(tmp_path), train_dataset=short_conversations, processing_class=processor
        )


def test_a_template_that_trains_on_image_tokens_is_caught(tmp_path, short_conversations):
    model, processor = tiny_llava()
    processor.chat_template = (  # wrong on purpose: the whole conversation, image included, is "generation"
        "{% generation %}{% for message in messages %}{{ message['role'] }}: "
        "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for part in message['content'] %}"
        "{% if part['type'] == 'image' %}<image>{% else %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}"
        "{{ '\\n' }}{% endfor %}{% endgeneration %}"
    )
    with pytest.raises(ValueError, match="image tokens would be trained on"):
        VisualInstructionTrainer(
            model, cpu_config(tmp_path), train_dataset=short_conversations, processing_class=processor
        )


@pytest.mark.parametrize("name", ["vicuna_v1", "mistral_instruct"])
def test_original_llava_templates_mark_exactly_the_answers(name):
    _, processor = tiny_llava()
    tokenizer = processor.tokenizer
    messages = [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Synthetic question one?"}]},
        {"role": "assistant", "content": "Synthetic answer one."},
        {"role": "user", "content": "Synthetic question two?"},
        {"role": "assistant", "content": "Synthetic answer two."},
    ]
    template = chat_template(name)
    out = tokenizer.apply_chat_template(
        messages, chat_template=template, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    trained = tokenizer.decode(
        [i for i, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    )
    assert trained.replace(" ", "") == "Syntheticanswerone.</s>Syntheticanswertwo.</s>"
    rendered = tokenizer.apply_chat_template(messages, chat_template=template, tokenize=False)
    expected = {
        "vicuna_v1": " USER: <image>\nSynthetic question one? ASSISTANT: Synthetic answer one.</s>USER: "
        "Synthetic question two? ASSISTANT: Synthetic answer two.</s>",
        "mistral_instruct": "<s>[INST]  <image>\nSynthetic question one? [/INST]Synthetic answer one.</s>"
        "[INST] Synthetic question two? [/INST]Synthetic answer two.</s>",
    }[name]
    assert rendered.endswith(expected)
