"""`SelectorTrainingConfig`: the training arguments of the selection model.

`trl.RewardConfig` plus the selector's loss options. Defaults that differ from `RewardConfig`:

* `bf16=None` resolves to True only on an accelerator that supports bfloat16 (RewardConfig: True unless
  fp16 is set, which fails on CPU);
* `gradient_checkpointing=None` (RewardConfig: True; the selector's encoders are small): activation checkpointing
  stays off unless `activation_checkpointing=True` (or the deprecated `gradient_checkpointing=True`) asks for it;
* `dataloader_pin_memory` is False when no accelerator is present (pinning needs one);
* `max_length=None` means the tokenizer's limit, and longer texts are truncated, never dropped
  (RewardConfig: 1024, and longer pairs are filtered out);
* `learning_rate=2e-5` (RewardConfig: 1e-4, too high to fine-tune pretrained encoders) and
  `per_device_train_batch_size=per_device_eval_batch_size=32` (RewardConfig: 8; a pair is two small
  encoder passes, and larger batches steady the pairwise loss).

`SelectorTrainingConfig.from_preset("biomed-vital", output_dir=...)` is the authors' training: Adam at a constant
1e-5 for 6 epochs in batches of 64, a margin-1 hinge on the selector's sigmoid outputs, `w * loss` averaged over
the batch, texts cut to 256 tokens from the end (`biomed_vital.presets.selection`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from biomed_vital.notices import bitsandbytes_kernel_notice_silenced
from biomed_vital.presets.registry import FromPreset
from biomed_vital.selection.losses import LOSS_REDUCTIONS, LOSS_TYPES

with bitsandbytes_kernel_notice_silenced():  # trl imports peft, which imports bitsandbytes
    from trl import RewardConfig

__all__ = ["SelectorTrainingConfig"]


def _accelerator_supports_bf16() -> bool:
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    xpu = getattr(torch, "xpu", None)
    return bool(xpu is not None and xpu.is_available())


@dataclass
class SelectorTrainingConfig(RewardConfig, FromPreset):
    """Training arguments of the selector: `trl.RewardConfig` plus the selector's loss options.

    Device-dependent defaults are resolved for the machine instead of TRL's GPU defaults: `bf16=None` becomes
    True only on an accelerator that supports bfloat16 (never on CPU), activation checkpointing stays off
    (selector encoders are small; turn it on with `activation_checkpointing=True` for large towers), and
    memory is not pinned without an accelerator.

    Args:
        loss_type: `"logistic"` (weighted Bradley-Terry, the default) or `"hinge"`; both on raw scores.
        margin: for `hinge` the required score gap (default 1.0); for `logistic` a gap subtracted from the score
            difference (default 0). A `margin` column in the dataset overrides it per pair.
        clinician_weight: if set, every pair whose `source` is `"clinician"` gets this weight (judge pairs keep
            their `weight` column, or 1).
        loss_reduction: `"weighted_mean"` (default: `sum(w * loss) / sum(w)`, a weight sets a pair's share of its
            batch) or `"batch_mean"` (the paper's: `mean(w * loss)`, a weight scales the pair's gradient). A
            clinician weight means different things under the two; compare sweeps within one.
        max_length: tokens per text; longer texts are truncated (default: the tokenizer's limit), never dropped.
        truncation_side: `"left"` cuts the start of the text (caption, mentions) so the answer, which comes last
            in the selector layout, is always seen; `"right"` cuts the end. None (default) keeps the processor's
            setting (`"left"` unless changed), so that training, `compute_features` and `select()` truncate alike.

    Example:
        >>> args = SelectorTrainingConfig("selector-run", loss_type="hinge", clinician_weight=10.0,
        ...                               use_cpu=True, report_to="none")
        >>> args.bf16, args.gradient_checkpointing, args.margin
        (False, False, 1.0)
    """

    learning_rate: float = field(
        default=2e-5,
        metadata={"help": "Initial learning rate (RewardConfig: 1e-4, too high for pretrained encoders)."},
    )
    per_device_train_batch_size: int = field(
        default=32, metadata={"help": "Preference pairs per device per step."}
    )
    per_device_eval_batch_size: int = field(
        default=32, metadata={"help": "Preference pairs per device per evaluation step."}
    )
    gradient_checkpointing: bool | None = field(  # type: ignore[assignment]
        default=None,
        metadata={
            "help": "Deprecated alias of activation_checkpointing; None (RewardConfig: True) leaves it off, as "
            "the selector's encoders are small."
        },
    )
    bf16: bool | None = field(  # type: ignore[assignment]
        default=None,
        metadata={
            "help": "bf16 mixed precision; None resolves to True only on an accelerator with bf16 support."
        },
    )
    loss_type: str = field(default="logistic", metadata={"help": f"One of {list(LOSS_TYPES)}."})
    margin: float | None = field(
        default=None, metadata={"help": "Score gap: hinge default 1.0, logistic default 0.0."}
    )
    clinician_weight: float | None = field(
        default=None,
        metadata={"help": "Weight given to every clinician pair (None keeps the weight column)."},
    )
    loss_reduction: str = field(
        default="weighted_mean",
        metadata={
            "help": "weighted_mean: sum(w*loss)/sum(w); batch_mean: mean(w*loss), the paper's (a weight then "
            "scales its pair's gradient)."
        },
    )
    max_length: int | None = field(
        default=None,
        metadata={"help": "Tokens per text (truncated, never dropped); None: the tokenizer's limit."},
    )
    truncation_side: str | None = field(
        default=None,
        metadata={"help": "'left' or 'right' to override the processor's tokenizer; None keeps its setting."},
    )

    def __post_init__(self):
        if self.loss_type not in LOSS_TYPES:
            raise ValueError(f"loss_type={self.loss_type!r} is not supported; use one of {list(LOSS_TYPES)}.")
        if self.loss_reduction not in LOSS_REDUCTIONS:
            raise ValueError(
                f"loss_reduction={self.loss_reduction!r} is not supported; use one of {list(LOSS_REDUCTIONS)}."
            )
        if self.truncation_side not in (None, "left", "right"):
            raise ValueError(f"truncation_side={self.truncation_side!r}; use 'left' or 'right'.")
        if self.clinician_weight is not None and self.clinician_weight <= 0:
            raise ValueError(f"clinician_weight must be > 0; got {self.clinician_weight}.")
        if self.margin is None:
            self.margin = 1.0 if self.loss_type == "hinge" else 0.0
        if self.bf16 is None:
            on_accelerator = not self.use_cpu and (torch.cuda.is_available() or _accelerator_supports_bf16())
            self.bf16 = bool(not self.fp16 and on_accelerator and _accelerator_supports_bf16())
        # gradient_checkpointing stays None unless set: TrainingArguments then turns activation checkpointing
        # off without the deprecation warning that any value of the old name gives.
        if not torch.accelerator.is_available():
            self.dataloader_pin_memory = False  # pinning needs an accelerator; torch warns on every loader
        super().__post_init__()
