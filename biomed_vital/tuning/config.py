"""`VisualInstructionConfig`: the training arguments of `VisualInstructionTrainer`.

`trl.SFTConfig` plus the two LLaVA-Med training stages and the choice of full, LoRA or QLoRA tuning. Defaults
that differ from `SFTConfig` (LLaVA-Med's recipe: stage 1 one epoch at 2e-3, stage 2 three epochs at 2e-5, both
with a cosine schedule, 3 % warm-up and a global batch of 128):

* `learning_rate=None` and `num_train_epochs=None` resolve from the recipe of the stage and method
  (:data:`RECIPES`; SFTConfig: 2e-5 and 3 for everything);
* `lr_scheduler_type="cosine"` (SFTConfig: `"linear"`) and `warmup_steps=0.03`, a fraction of the training
  steps (SFTConfig: 0);
* `global_batch_size=128`: `gradient_accumulation_steps` is derived from it, the per-device batch and the
  number of processes, so the recipe holds on one GPU or on 64 (SFTConfig: no global batch; accumulation 1);
* `max_length=2048`, LLaVA-Med's `model_max_length` (SFTConfig: 1024, which can cut into image tokens);
* `assistant_only_loss=True`: the loss sees only the answers, never the user turns, the system prompt or the
  image tokens (SFTConfig: False, which trains on everything);
* `bf16=None` resolves to True only on an accelerator that supports bfloat16, never on CPU (SFTConfig: True
  unless fp16 is set, which fails on CPU); `gradient_checkpointing=None` resolves to True on an accelerator
  and False on CPU (SFTConfig: True everywhere);
* `hub_private_repo=True`: `push_to_hub` creates private repositories (SFTConfig: public).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import torch

from biomed_vital.notices import bitsandbytes_kernel_notice_silenced

with bitsandbytes_kernel_notice_silenced():  # trl imports peft, which imports bitsandbytes
    from trl import SFTConfig

__all__ = ["METHODS", "RECIPES", "STAGES", "VisualInstructionConfig"]

logger = logging.getLogger("biomed_vital.tuning")

#: The two LLaVA-Med training stages: `alignment` trains only the projector on caption data (stage 1),
#: `instruction` tunes on instruction-following conversations (stage 2).
STAGES: tuple[str, ...] = ("alignment", "instruction")
#: How the language model is tuned in the instruction stage.
METHODS: tuple[str, ...] = ("full", "lora", "qlora")

#: Learning rate and epochs by (stage, method). LLaVA-Med: alignment 2e-3 for 1 epoch, instruction 2e-5 for
#: 3 epochs; LoRA and QLoRA use LLaVA-1.5's LoRA learning rate, 2e-4.
RECIPES: dict[tuple[str, str], dict[str, float]] = {
    ("alignment", "full"): {"learning_rate": 2e-3, "num_train_epochs": 1.0},
    ("instruction", "full"): {"learning_rate": 2e-5, "num_train_epochs": 3.0},
    ("instruction", "lora"): {"learning_rate": 2e-4, "num_train_epochs": 3.0},
    ("instruction", "qlora"): {"learning_rate": 2e-4, "num_train_epochs": 3.0},
}


def _on_accelerator(use_cpu: bool) -> bool:
    if use_cpu:
        return False
    xpu = getattr(torch, "xpu", None)
    return torch.cuda.is_available() or bool(xpu is not None and xpu.is_available())


def _bf16_supported() -> bool:
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    xpu = getattr(torch, "xpu", None)
    return bool(xpu is not None and xpu.is_available())


@dataclass
class VisualInstructionConfig(SFTConfig):
    """Training arguments of `VisualInstructionTrainer`: `trl.SFTConfig` plus the tuning stage and method.

    Args:
        stage: `"instruction"` (LLaVA-Med stage 2, the default) or `"alignment"` (stage 1: only the multimodal
            projector is trained, on caption data).
        method: `"full"` (every weight of the language model and the projector), `"lora"` (peft LoRA adapters on
            the language model's linear layers, the projector trained fully) or `"qlora"` (the same on a 4-bit
            NF4 base loaded with bitsandbytes). The alignment stage is always `"full"` on the projector only.
        global_batch_size: sequences per optimizer step over all processes; `gradient_accumulation_steps` is
            derived from it. None or 0: use `gradient_accumulation_steps` as given.
        freeze_vision_tower: keep the vision encoder frozen (LLaVA-Med does in both stages).
        lora_r, lora_alpha, lora_dropout, lora_target_modules: the LoRA adapter (LLaVA-1.5: r 128, alpha 256,
            dropout 0.05, every linear layer of the language model).

    Example:
        >>> args = VisualInstructionConfig("llava-vital", method="lora", use_cpu=True, global_batch_size=8,
        ...                                per_device_train_batch_size=4)
        >>> args.learning_rate, args.num_train_epochs, args.gradient_accumulation_steps, args.bf16
        (0.0002, 3.0, 2, False)
    """

    stage: str = field(
        default="instruction",
        metadata={
            "help": "instruction (LLaVA-Med stage 2) or alignment (stage 1: only the projector, on caption data).",
            "choices": list(STAGES),
        },
    )
    method: str = field(
        default="full",
        metadata={
            "help": "full, lora (peft adapters on the language model) or qlora (the same on a 4-bit base).",
            "choices": list(METHODS),
        },
    )
    learning_rate: float | None = field(  # type: ignore[assignment]
        default=None,
        metadata={
            "help": "Initial learning rate; empty: the recipe's (alignment 2e-3; instruction 2e-5 full, 2e-4 "
            "LoRA/QLoRA)."
        },
    )
    num_train_epochs: float | None = field(  # type: ignore[assignment]
        default=None,
        metadata={"help": "Training epochs; empty: the recipe's (alignment 1, instruction 3)."},
    )
    lr_scheduler_type: str = field(  # type: ignore[assignment]
        default="cosine", metadata={"help": "Learning-rate schedule (LLaVA-Med: cosine)."}
    )
    warmup_steps: float = field(
        default=0.03,
        metadata={"help": "Warm-up steps; below 1, a fraction of the training steps (LLaVA-Med: 0.03)."},
    )
    global_batch_size: int | None = field(
        default=128,
        metadata={
            "help": "Sequences per optimizer step over all processes (LLaVA-Med: 128); sets "
            "gradient_accumulation_steps. 0 or empty: use gradient_accumulation_steps as given."
        },
    )
    max_length: int | None = field(
        default=2048,
        metadata={
            "help": "Longest tokenized conversation, image tokens included (LLaVA-Med: 2048); longer ones are "
            "cut at the end. Empty: no limit."
        },
    )
    assistant_only_loss: bool = field(
        default=True,
        metadata={"help": "Train on the answers only (never user turns, the system prompt or image tokens)."},
    )
    bf16: bool | None = field(  # type: ignore[assignment]
        default=None,
        metadata={"help": "bf16 mixed precision; empty: on an accelerator that supports it, never on CPU."},
    )
    gradient_checkpointing: bool | None = field(  # type: ignore[assignment]
        default=None,
        metadata={"help": "Recompute activations to save memory; empty: on an accelerator, not on CPU."},
    )
    hub_private_repo: bool | None = field(
        default=True, metadata={"help": "Create the Hub repository as private (push_to_hub)."}
    )
    freeze_vision_tower: bool = field(
        default=True, metadata={"help": "Keep the vision encoder frozen (LLaVA-Med does in both stages)."}
    )
    lora_r: int = field(default=128, metadata={"help": "LoRA rank (LLaVA-1.5: 128)."})
    lora_alpha: int = field(default=256, metadata={"help": "LoRA scaling alpha (LLaVA-1.5: 256)."})
    lora_dropout: float = field(
        default=0.05, metadata={"help": "Dropout on the LoRA path (LLaVA-1.5: 0.05)."}
    )
    lora_target_modules: list[str] | None = field(
        default=None,
        metadata={
            "help": "Module names (suffixes) inside the language model that get LoRA adapters; empty: every "
            "linear layer of the language model."
        },
    )

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"stage={self.stage!r}; use one of {list(STAGES)}")
        if self.method not in METHODS:
            raise ValueError(f"method={self.method!r}; use one of {list(METHODS)}")
        if self.stage == "alignment" and self.method != "full":
            raise ValueError(
                f"the alignment stage trains only the projector, fully; method={self.method!r} applies to the "
                "instruction stage (drop --method or use --stage instruction)"
            )
        recipe = RECIPES[(self.stage, self.method)]
        if self.learning_rate is None:
            self.learning_rate = recipe["learning_rate"]
        if self.num_train_epochs is None:
            self.num_train_epochs = recipe["num_train_epochs"]
        on_accelerator = _on_accelerator(self.use_cpu)
        if self.bf16 is None:
            self.bf16 = bool(not self.fp16 and on_accelerator and _bf16_supported())
        if self.gradient_checkpointing is None and self.activation_checkpointing is None:
            # the current name of the setting; transformers mirrors it into gradient_checkpointing
            self.activation_checkpointing = on_accelerator
        if self.global_batch_size == 0:
            self.global_batch_size = None
        if self.global_batch_size is not None and self.global_batch_size < 0:
            raise ValueError(f"global_batch_size must be >= 1, or 0 / empty; got {self.global_batch_size}")
        super().__post_init__()
        if self.global_batch_size is not None:
            derived = self.accumulation_for(self.world_size)
            # 1 is the default; the derived value comes back when a config is rebuilt from its own to_dict()
            if self.gradient_accumulation_steps not in (1, derived):
                raise ValueError(
                    f"set either global_batch_size ({self.global_batch_size}) or gradient_accumulation_steps "
                    f"({self.gradient_accumulation_steps}), not both; pass global_batch_size=None "
                    "(--global-batch-size 0) to use gradient_accumulation_steps"
                )
            self.gradient_accumulation_steps = derived

    def accumulation_for(self, world_size: int) -> int:
        """Gradient accumulation steps that give `global_batch_size` with `world_size` processes.

        When the global batch is not a multiple of per-device batch x processes, the next larger batch is
        used and a warning says so.

        Example:
            >>> VisualInstructionConfig("run", use_cpu=True, per_device_train_batch_size=4).accumulation_for(8)
            4
        """
        if self.global_batch_size is None:
            return self.gradient_accumulation_steps
        per_step = self.per_device_train_batch_size * max(1, world_size)
        steps = max(1, math.ceil(self.global_batch_size / per_step))
        if steps * per_step != self.global_batch_size:
            logger.warning(
                "global_batch_size=%d is not a multiple of per_device_train_batch_size x processes (%d); "
                "training with a global batch of %d",
                self.global_batch_size,
                per_step,
                steps * per_step,
            )
        return steps

    def recipe(self) -> dict[str, Any]:
        """The settings that define the training recipe, for model cards and logs.

        Example:
            >>> VisualInstructionConfig("run", use_cpu=True, global_batch_size=16).recipe()["lr_scheduler_type"]
            'cosine'
        """
        recipe: dict[str, Any] = {
            "stage": self.stage,
            "method": self.method,
            "learning_rate": self.learning_rate,
            "num_train_epochs": self.num_train_epochs,
            "lr_scheduler_type": str(getattr(self.lr_scheduler_type, "value", self.lr_scheduler_type)),
            "warmup_steps": self.warmup_steps,
            "global_batch_size": self.per_device_train_batch_size
            * self.gradient_accumulation_steps
            * max(1, self.world_size),
            "per_device_train_batch_size": self.per_device_train_batch_size,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
            "max_length": self.max_length,
            "assistant_only_loss": self.assistant_only_loss,
            "freeze_vision_tower": self.freeze_vision_tower,
            "bf16": self.bf16,
            "seed": self.seed,
        }
        if self.method in ("lora", "qlora"):
            recipe.update(
                lora_r=self.lora_r,
                lora_alpha=self.lora_alpha,
                lora_dropout=self.lora_dropout,
                lora_target_modules=self.lora_target_modules or "every linear layer of the language model",
            )
        if self.method == "qlora":
            recipe["quantization"] = "bitsandbytes 4-bit NF4, double quantization"
        return recipe
