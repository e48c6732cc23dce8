"""VisualInstructionConfig: the LLaVA-Med recipe as defaults, resolved for the device."""

from __future__ import annotations

import pytest

from biomed_vital.tuning import RECIPES, VisualInstructionConfig


def test_recipe_defaults_follow_llava_med():
    stage2 = VisualInstructionConfig("run", use_cpu=True, per_device_train_batch_size=4)
    assert (stage2.learning_rate, stage2.num_train_epochs) == (2e-5, 3.0)
    assert str(stage2.lr_scheduler_type.value) == "cosine"
    assert stage2.warmup_steps == pytest.approx(0.03)
    assert stage2.assistant_only_loss is True
    assert stage2.max_length == 2048
    assert stage2.per_device_train_batch_size * stage2.gradient_accumulation_steps == 128  # one process
    stage1 = VisualInstructionConfig("run", stage="alignment", use_cpu=True)
    assert (stage1.learning_rate, stage1.num_train_epochs) == (2e-3, 1.0)
    lora = VisualInstructionConfig("run", method="lora", use_cpu=True)
    assert lora.learning_rate == RECIPES[("instruction", "lora")]["learning_rate"] == 2e-4
    assert VisualInstructionConfig("run", use_cpu=True, learning_rate=1e-5).learning_rate == 1e-5


def test_cpu_runs_without_bf16_or_checkpointing_and_pushes_privately():
    args = VisualInstructionConfig("run", use_cpu=True)
    assert args.bf16 is False
    assert args.gradient_checkpointing is False
    assert args.hub_private_repo is True


@pytest.mark.parametrize(
    ("global_batch", "per_device", "world", "accumulation"),
    [(128, 4, 8, 4), (128, 16, 8, 1), (128, 8, 1, 16), (100, 8, 4, 4)],
)
def test_global_batch_sets_accumulation(global_batch, per_device, world, accumulation):
    args = VisualInstructionConfig(
        "run", use_cpu=True, global_batch_size=global_batch, per_device_train_batch_size=per_device
    )
    assert args.accumulation_for(world) == accumulation


def test_global_batch_can_be_switched_off_for_explicit_accumulation():
    args = VisualInstructionConfig("run", use_cpu=True, global_batch_size=0, gradient_accumulation_steps=3)
    assert args.gradient_accumulation_steps == 3
    with pytest.raises(ValueError, match="either global_batch_size"):
        VisualInstructionConfig("run", use_cpu=True, gradient_accumulation_steps=3)


def test_config_rebuilt_from_its_own_dict_keeps_its_values():
    args = VisualInstructionConfig("run", use_cpu=True, per_device_train_batch_size=4, global_batch_size=16)
    fields = VisualInstructionConfig.__dataclass_fields__
    again = VisualInstructionConfig(
        **{key: value for key, value in args.to_dict().items() if key in fields and fields[key].init}
    )
    assert again.gradient_accumulation_steps == args.gradient_accumulation_steps == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stage": "pretraining"}, "stage='pretraining'"),
        ({"method": "adapter"}, "method='adapter'"),
        ({"stage": "alignment", "method": "lora"}, "alignment stage trains only the projector"),
        ({"global_batch_size": -4}, "global_batch_size must be"),
    ],
)
def test_bad_options_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VisualInstructionConfig("run", use_cpu=True, **kwargs)


def test_recipe_lists_what_the_model_card_records():
    recipe = VisualInstructionConfig(
        "run", method="qlora", use_cpu=True, global_batch_size=8, per_device_train_batch_size=4
    ).recipe()
    assert recipe["global_batch_size"] == 8
    assert recipe["gradient_accumulation_steps"] == 2
    assert recipe["lora_r"] == 128 and recipe["quantization"].startswith("bitsandbytes 4-bit NF4")
