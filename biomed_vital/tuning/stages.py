"""The two LLaVA-Med training stages on any image-text-to-text model: which weights train, and how.

* **alignment** (LLaVA-Med stage 1): only the multimodal projector trains, on caption data, so image features
  land in the language model's embedding space. The vision encoder and the language model stay frozen.
* **instruction** (stage 2): the language model trains too, on instruction-following conversations, in one of
  three ways: `full` (every weight of the language model and the projector), `lora` (peft LoRA adapters on the
  language model's linear layers, the projector trained fully) or `qlora` (the same adapters on a base whose
  language model is loaded in 4-bit NF4 with bitsandbytes). The vision encoder stays frozen unless
  `freeze_vision_tower=False`.

The parts of a model are found by name, so the same code serves `LlavaForConditionalGeneration`
(`vision_tower`, `multi_modal_projector`, `language_model`), Idefics3 / SmolVLM (`vision_model`, `connector`,
`text_model`), Qwen2-VL (`visual`, `visual.merger`, `language_model`) and models laid out like them.

Example:
    >>> from biomed_vital.testing import tiny_llava
    >>> from biomed_vital.tuning import VisualInstructionConfig, model_parts, prepare_for_stage
    >>> model, _ = tiny_llava()
    >>> model_parts(model).projector
    ('model.multi_modal_projector',)
    >>> args = VisualInstructionConfig("run", stage="alignment", use_cpu=True, global_batch_size=0)
    >>> trainable = prepare_for_stage(model, args)
    >>> sorted({name.split(".")[1] for name in trainable})
    ['multi_modal_projector']
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from peft import LoraConfig
    from transformers import BitsAndBytesConfig, PreTrainedModel

    from biomed_vital.tuning.config import VisualInstructionConfig

__all__ = [
    "ModelParts",
    "load_model_for_tuning",
    "lora_config_for",
    "model_parts",
    "prepare_for_stage",
    "quantization_config_for",
]

# Attribute names of the three parts, as transformers' image-text-to-text models spell them.
_VISION_NAMES = ("vision_tower", "vision_model", "visual")
_PROJECTOR_NAMES = ("multi_modal_projector", "connector", "mm_projector", "merger")
_LANGUAGE_NAMES = ("language_model", "text_model")


@dataclass(frozen=True)
class ModelParts:
    """Qualified module names of a vision-language model's parts (each a tuple; usually one name).

    Example:
        >>> ModelParts(vision=("model.vision_tower",), projector=("model.multi_modal_projector",),
        ...            language_model=("model.language_model",), lm_head="lm_head").frozen_in_4bit()
        ['model.vision_tower', 'model.multi_modal_projector', 'lm_head']
    """

    vision: tuple[str, ...]
    projector: tuple[str, ...]
    language_model: tuple[str, ...]
    lm_head: str | None

    def frozen_in_4bit(self) -> list[str]:
        """Modules a 4-bit load keeps in full precision: the vision encoder, the projector and the output layer."""
        return [*self.vision, *self.projector, *([self.lm_head] if self.lm_head else [])]


def _shallowest(names: list[str]) -> tuple[str, ...]:
    """Drop names nested in another listed name (``visual.merger`` is a projector, not a second vision part)."""
    kept = [name for name in names if not any(name.startswith(other + ".") for other in names)]
    return tuple(kept)


def model_parts(model: Any) -> ModelParts:
    """Find the vision encoder, the multimodal projector, the language model and the output layer of `model`.

    Raises:
        ValueError: a part cannot be found; the message names the model class and what was looked for.

    Example:
        >>> from biomed_vital.testing import tiny_llava
        >>> model, _ = tiny_llava()
        >>> model_parts(model).language_model
        ('model.language_model',)
    """
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    names = [name for name, _ in base.named_modules() if name]
    leaf = {name: name.rsplit(".", 1)[-1] for name in names}
    projector = _shallowest([n for n in names if leaf[n] in _PROJECTOR_NAMES])
    language = _shallowest([n for n in names if leaf[n] in _LANGUAGE_NAMES])
    vision = _shallowest(
        [
            n
            for n in names
            if leaf[n] in _VISION_NAMES and not any(n.startswith(p + ".") or n == p for p in projector)
        ]
    )
    missing = [
        what
        for what, found, looked_for in (
            ("vision encoder", vision, _VISION_NAMES),
            ("multimodal projector", projector, _PROJECTOR_NAMES),
            ("language model", language, _LANGUAGE_NAMES),
        )
        if not found
    ]
    if missing:
        raise ValueError(
            f"cannot find the {' and '.join(missing)} of {type(base).__name__}: looked for modules named "
            f"{list(_VISION_NAMES)} (vision), {list(_PROJECTOR_NAMES)} (projector) and {list(_LANGUAGE_NAMES)} "
            "(language model); tune such a model with plain trl.SFTTrainer"
        )
    output = base.get_output_embeddings() if hasattr(base, "get_output_embeddings") else None
    lm_head = (
        next((name for name, module in base.named_modules() if module is output), None) if output else None
    )
    return ModelParts(vision=vision, projector=projector, language_model=language, lm_head=lm_head)


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def prepare_for_stage(model: Any, config: VisualInstructionConfig) -> list[str]:
    """Set which parameters of `model` train for the stage and method of `config`; return their names.

    Alignment: only the projector. Instruction, `full`: everything but the vision encoder (unless
    `freeze_vision_tower=False`). For `lora` / `qlora` nothing changes here: peft freezes the base and
    trains the adapters and the projector (see :func:`lora_config_for`).

    Example:
        >>> from biomed_vital.testing import tiny_llava
        >>> model, _ = tiny_llava()
        >>> args = VisualInstructionConfig("run", use_cpu=True, global_batch_size=0)
        >>> any("vision_tower" in name for name in prepare_for_stage(model, args))
        False
    """
    if config.method in ("lora", "qlora"):
        return [name for name, parameter in model.named_parameters() if parameter.requires_grad]
    parts = model_parts(model)
    for name, parameter in model.named_parameters():
        if config.stage == "alignment":
            trainable = _under(name, parts.projector)
        else:
            trainable = not (config.freeze_vision_tower and _under(name, parts.vision))
            trainable = trainable or _under(name, parts.projector)
        parameter.requires_grad_(trainable)
    return [name for name, parameter in model.named_parameters() if parameter.requires_grad]


def _linear_leaf_names(model: Any, prefixes: tuple[str, ...]) -> list[str]:
    import torch

    names = set()
    for name, module in model.named_modules():
        is_linear = isinstance(module, torch.nn.Linear) or type(module).__name__ in (
            "Linear4bit",
            "Linear8bitLt",
        )
        if is_linear and _under(name, prefixes):
            names.add(name.rsplit(".", 1)[-1])
    return sorted(names)


def lora_config_for(model: Any, config: VisualInstructionConfig) -> LoraConfig:
    """The peft `LoraConfig` of `config`: adapters on the language model's linear layers, projector trained fully.

    Adapters go only inside the language model (a regular expression over module names), never on the vision
    encoder, the projector or the output layer; the projector is a `modules_to_save` module, trained fully and
    saved with the adapter, as LLaVA's LoRA recipe does.

    Example:
        >>> from biomed_vital.testing import tiny_llava
        >>> model, _ = tiny_llava()
        >>> lora = lora_config_for(model, VisualInstructionConfig("run", method="lora", lora_r=8, use_cpu=True,
        ...                                                        global_batch_size=0))
        >>> lora.r, lora.modules_to_save
        (8, ['multi_modal_projector'])
    """
    from peft import LoraConfig

    parts = model_parts(model)
    leaves = list(config.lora_target_modules or _linear_leaf_names(model, parts.language_model))
    if not leaves:
        raise ValueError(f"no linear layers found under {list(parts.language_model)} to put LoRA adapters on")
    prefixes = "|".join(re.escape(prefix) for prefix in parts.language_model)
    targets = "|".join(re.escape(leaf) for leaf in leaves)
    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=rf"^(?:{prefixes})\..*\.(?:{targets})$",
        modules_to_save=sorted({name.rsplit(".", 1)[-1] for name in parts.projector}),
        bias="none",
    )


def _parts_from_config(model_config: Any) -> ModelParts:
    """Part names of a model built from its config on the meta device (no weights are read)."""
    import torch
    from transformers import AutoModelForImageTextToText

    with torch.device("meta"):
        skeleton = AutoModelForImageTextToText.from_config(model_config)
    return model_parts(skeleton)


def quantization_config_for(model_config: Any, config: VisualInstructionConfig) -> BitsAndBytesConfig:
    """The bitsandbytes 4-bit NF4 config of QLoRA: the language model quantized, the rest kept as it is.

    The vision encoder, the projector and the output layer are skipped by their full module names (transformers
    matches skip patterns from the start of the name). Compute runs in bfloat16 when training in bf16, else in
    float32.

    Example:
        >>> from biomed_vital.testing import tiny_llava
        >>> model, _ = tiny_llava()
        >>> args = VisualInstructionConfig("run", method="qlora", use_cpu=True, global_batch_size=0)
        >>> quantization_config_for(model.config, args).llm_int8_skip_modules
        ['model.vision_tower', 'model.multi_modal_projector', 'lm_head']
    """
    import torch
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16 if config.bf16 else torch.float32,
        llm_int8_skip_modules=_parts_from_config(model_config).frozen_in_4bit(),
    )


def check_model_source(name_or_path: str | os.PathLike) -> None:
    """A one-line error for a model folder that is not there (or holds no ``config.json``); Hub ids pass.

    Example:
        >>> check_model_source("runs/no_such_model")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        FileNotFoundError: no such folder: runs/no_such_model (expected: a model to tune ...)
    """
    from biomed_vital.paths import check_local_path

    check_local_path(
        name_or_path,
        expected="a model to tune (a folder with config.json, or a Hub id)",
        required_file="config.json",
    )


def load_model_for_tuning(
    name_or_path: str | os.PathLike, config: VisualInstructionConfig, **from_pretrained_kwargs: Any
) -> PreTrainedModel:
    """Load an image-text-to-text model from a Hub id or a local folder, ready for the stage and method.

    `AutoModelForImageTextToText.from_pretrained` with the dtype of the run (bfloat16 with `bf16`, float16 with
    `fp16`, else float32); for `qlora` the language model is loaded in 4-bit and prepared for k-bit training
    (`peft.prepare_model_for_kbit_training`). Extra keyword arguments go to `from_pretrained`.

    Example:
        >>> model = load_model_for_tuning("microsoft/llava-med-v1.5-mistral-7b", args)  # doctest: +SKIP
    """
    import torch
    from transformers import AutoConfig, AutoModelForImageTextToText

    path = os.fspath(name_or_path)
    check_model_source(path)
    dtype = torch.bfloat16 if config.bf16 else torch.float16 if config.fp16 else torch.float32
    kwargs: dict[str, Any] = {"dtype": dtype, **from_pretrained_kwargs}
    if config.method == "qlora":
        from accelerate import PartialState

        model_config = AutoConfig.from_pretrained(path, trust_remote_code=config.trust_remote_code)
        kwargs.setdefault("quantization_config", quantization_config_for(model_config, config))
        state = PartialState()
        kwargs.setdefault(
            "device_map", {"": "cpu" if state.device.type == "cpu" else state.local_process_index}
        )
    model = AutoModelForImageTextToText.from_pretrained(
        path, trust_remote_code=config.trust_remote_code, **kwargs
    )
    if config.method == "qlora":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=bool(config.gradient_checkpointing),
            gradient_checkpointing_kwargs=config.gradient_checkpointing_kwargs,
        )
    return model
