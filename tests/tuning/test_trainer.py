"""VisualInstructionTrainer on tiny models with real conversations: stages, methods, saving, cards, pushes."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForImageTextToText, AutoProcessor

from biomed_vital.testing import tiny_idefics3, tiny_llava
from biomed_vital.tuning import VisualInstructionTrainer, model_parts, training_rows
from tests.tuning.conftest import cpu_config


def _snapshot(model):
    return {name: parameter.detach().clone() for name, parameter in model.named_parameters()}


def _changed(model, before):
    return {
        name
        for name, parameter in model.named_parameters()
        if not torch.equal(parameter.detach(), before[name])
    }


def _under(names, prefixes):
    return {name for name in names if any(name.startswith(prefix + ".") for prefix in prefixes)}


def _logits(model, processor, row):
    batch = processor.apply_chat_template(
        [
            [
                {
                    "role": "user",
                    "content": [{"type": "image", "image": row["images"][0]}, {"type": "text", "text": "Q?"}],
                }
            ]
        ],
        add_generation_prompt=True,
        tokenize=True,
        return_dict=True,
        return_tensors="pt",
    )
    model.eval()
    with torch.no_grad():
        return model(**batch).logits


def _losses(trainer):
    return [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]


@pytest.mark.slow
def test_loss_falls_on_real_conversations(tmp_path, short_conversations):
    model, processor = tiny_llava()
    args = cpu_config(tmp_path, max_steps=12, learning_rate=3e-3, warmup_steps=0)
    trainer = VisualInstructionTrainer(
        model, args, train_dataset=short_conversations, processing_class=processor
    )
    trainer.train()
    losses = _losses(trainer)
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.3, losses


def test_alignment_stage_changes_only_the_projector(tmp_path, demonstration_conversations):
    model, processor = tiny_llava()
    figures = demonstration_conversations.select(range(8)).remove_columns("messages")  # captions only
    args = cpu_config(tmp_path, stage="alignment", max_steps=2)
    trainer = VisualInstructionTrainer(model, args, train_dataset=figures, processing_class=processor)
    assert trainer.train_dataset[0]["messages"][1]["content"] == figures[0]["caption"].strip()
    before = _snapshot(trainer.model)
    trainer.train()
    changed = _changed(trainer.model, before)
    projector = _under(before, model_parts(trainer.model).projector)
    assert changed == projector and len(projector) == 4


def test_full_instruction_stage_trains_the_language_model_not_the_vision_tower(tmp_path, short_conversations):
    model, processor = tiny_llava()
    trainer = VisualInstructionTrainer(
        model,
        cpu_config(tmp_path, max_steps=2),
        train_dataset=short_conversations,
        processing_class=processor,
    )
    before = _snapshot(trainer.model)
    trainer.train()
    parts = model_parts(trainer.model)
    changed = _changed(trainer.model, before)
    assert not _under(changed, parts.vision)
    assert _under(changed, parts.language_model) and _under(changed, parts.projector)

    trainer.save_model()
    reloaded = AutoModelForImageTextToText.from_pretrained(tmp_path)
    reloaded_processor = AutoProcessor.from_pretrained(tmp_path)
    row = trainer.train_dataset[0]
    torch.testing.assert_close(
        _logits(reloaded, reloaded_processor, row), _logits(trainer.model, processor, row)
    )


def test_the_saved_processor_carries_no_truncation_left_from_training(tmp_path, short_conversations):
    import warnings

    model, processor = tiny_llava()
    trainer = VisualInstructionTrainer(
        model,
        cpu_config(tmp_path, max_steps=1),
        train_dataset=short_conversations,
        processing_class=processor,
    )
    trainer.train()
    trainer.save_model()
    reloaded = AutoProcessor.from_pretrained(tmp_path).tokenizer
    assert reloaded.backend_tokenizer.truncation is None
    assert reloaded.init_kwargs.get("max_length") is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "`max_length` is ignored when `padding`=`True` ..." came with it
        batch = reloaded(
            ["Synthetic test prompt.", "A longer synthetic test prompt, for padding."], padding=True
        )
    assert len({len(ids) for ids in batch["input_ids"]}) == 1


def test_wrapping_the_model_in_lora_prints_no_deprecation_warning(tmp_path, short_conversations):
    import warnings

    model, processor = tiny_llava()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        VisualInstructionTrainer(
            model,
            cpu_config(tmp_path, method="lora", max_steps=1),
            train_dataset=short_conversations,
            processing_class=processor,
        )
    assert not [str(w.message) for w in caught if "is_gradient_checkpointing" in str(w.message)]


@pytest.mark.slow
def test_lora_from_a_folder_saves_an_adapter_that_reloads_with_the_same_logits(
    tmp_path, tiny_model_dir, short_conversations
):
    from peft import PeftModel

    args = cpu_config(tmp_path / "run", method="lora", max_steps=3, learning_rate=1e-2)
    trainer = VisualInstructionTrainer(str(tiny_model_dir), args, train_dataset=short_conversations)
    assert type(trainer.processing_class).__name__ == "LlavaProcessor"
    before = _snapshot(trainer.model)
    trainer.train()
    changed = _changed(trainer.model, before)
    assert changed and all("lora_" in name or "multi_modal_projector" in name for name in changed)
    trainer.save_model()
    files = {path.name for path in (tmp_path / "run").iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "README.md", "processor_config.json"} <= files
    assert "model.safetensors" not in files

    base = AutoModelForImageTextToText.from_pretrained(tiny_model_dir)
    reloaded = PeftModel.from_pretrained(base, tmp_path / "run")
    row = trainer.train_dataset[0]
    processor = AutoProcessor.from_pretrained(tmp_path / "run")
    torch.testing.assert_close(_logits(reloaded, processor, row), _logits(trainer.model, processor, row))


@pytest.mark.slow
def test_qlora_trains_on_a_4bit_base_on_cpu(tmp_path, tiny_model_dir, short_conversations):
    args = cpu_config(tmp_path, method="qlora", max_steps=2)
    trainer = VisualInstructionTrainer(str(tiny_model_dir), args, train_dataset=short_conversations)
    kinds = {type(module).__name__ for module in trainer.model.modules()}
    assert "Linear4bit" in kinds
    vision = model_parts(trainer.model).vision[0]
    assert not any(
        type(module).__name__ == "Linear4bit" and name.startswith("base_model.model." + vision)
        for name, module in trainer.model.named_modules()
    )
    trainer.train()
    assert all(torch.isfinite(torch.tensor(_losses(trainer))))
    trainer.save_model()
    assert (tmp_path / "adapter_model.safetensors").is_file()


def test_qlora_needs_a_path_to_load_in_4bit(tmp_path, short_conversations):
    model, processor = tiny_llava()
    with pytest.raises(ValueError, match="loads the base model in 4-bit itself"):
        VisualInstructionTrainer(
            model,
            cpu_config(tmp_path, method="qlora"),
            train_dataset=short_conversations,
            processing_class=processor,
        )


@pytest.mark.slow
def test_a_second_architecture_idefics3_tunes_in_both_stages(tmp_path, short_conversations):
    model, processor = tiny_idefics3()
    parts = model_parts(model)
    assert parts.projector == ("model.connector",) and parts.vision == ("model.vision_model",)
    figures = short_conversations.remove_columns("messages")
    stage1 = VisualInstructionTrainer(
        model,
        cpu_config(tmp_path / "1", stage="alignment", max_steps=2),
        train_dataset=figures,
        processing_class=processor,
    )
    before = _snapshot(stage1.model)
    stage1.train()
    assert _changed(stage1.model, before) == _under(before, parts.projector)
    stage2 = VisualInstructionTrainer(
        stage1.model,
        cpu_config(tmp_path / "2", method="lora", max_steps=2),
        train_dataset=short_conversations,
        processing_class=processor,
    )
    stage2.train()
    assert all(torch.isfinite(torch.tensor(_losses(stage2))))


def test_model_card_records_data_recipe_and_metrics(tmp_path, short_conversations):
    model, processor = tiny_llava()
    data = training_rows(short_conversations.select(range(6)), source="user/vital-selected")
    args = cpu_config(tmp_path, max_steps=1, hub_model_id="user/tiny-vital")
    trainer = VisualInstructionTrainer(model, args, train_dataset=data, processing_class=processor)
    trainer.train()
    trainer.save_model()
    card = (tmp_path / "README.md").read_text()
    assert "| user/vital-selected | 6 |" in card
    assert "datasets:\n- user/vital-selected" in card
    assert "| stage | instruction |" in card and "| lr_scheduler_type | cosine |" in card
    assert "| train_loss |" in card and "| global_batch_size | 4 |" in card


def test_push_to_hub_creates_a_private_repository(tmp_path, short_conversations):
    from biomed_vital.testing import FakeHub

    model, processor = tiny_llava()
    args = cpu_config(tmp_path, max_steps=1, hub_model_id="user/tiny-vital")
    trainer = VisualInstructionTrainer(
        model, args, train_dataset=short_conversations.select(range(4)), processing_class=processor
    )
    trainer.train()
    with FakeHub() as hub:
        trainer.push_to_hub()
        assert hub.is_private("user/tiny-vital")
        files = hub.files("user/tiny-vital")
        assert {"README.md", "model.safetensors", "config.json", "processor_config.json"} <= set(files)
        assert "VisualInstructionTrainer" in files["README.md"].decode()
