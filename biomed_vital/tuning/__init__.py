"""Stage 6: tune a vision-language model on the selected data, convert the released checkpoints, answer questions.

One concern per module: `config` (VisualInstructionConfig: the LLaVA-Med recipe, stages and methods), `data`
(training rows from any stage, LLaVA JSON, mixtures), `stages` (which weights train: alignment, full, LoRA,
QLoRA), `trainer` (VisualInstructionTrainer, a TRL `SFTTrainer`), `templates` (the original LLaVA chat formats),
`convert` (original LLaVA / LLaVA-Med / BioMed-VITAL checkpoints to the transformers Llava layout), `merge`
(a LoRA / QLoRA adapter merged into its base), `inference` (`generate_answers`) and `cards` (the model card).

Names load lazily, so `import biomed_vital.tuning` does not import torch, transformers or trl.

Example:
    >>> from biomed_vital.tuning import VisualInstructionConfig, VisualInstructionTrainer   # doctest: +SKIP
    >>> args = VisualInstructionConfig("llava-vital", method="lora")                         # doctest: +SKIP
    >>> trainer = VisualInstructionTrainer("llava-hf/llava-1.5-7b-hf", args,                # doctest: +SKIP
    ...                                    train_dataset=load_training_data("selected/data"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from biomed_vital._lazy import attach

_LAZY_ATTRIBUTES: dict[str, str] = {
    "VisualInstructionConfig": "biomed_vital.tuning.config",
    "RECIPES": "biomed_vital.tuning.config",
    "STAGES": "biomed_vital.tuning.config",
    "METHODS": "biomed_vital.tuning.config",
    "VisualInstructionTrainer": "biomed_vital.tuning.trainer",
    "load_training_data": "biomed_vital.tuning.data",
    "mix_training_data": "biomed_vital.tuning.data",
    "training_rows": "biomed_vital.tuning.data",
    "caption_rows": "biomed_vital.tuning.data",
    "training_sources": "biomed_vital.tuning.data",
    "CAPTION_INSTRUCTIONS": "biomed_vital.tuning.data",
    "DATA_SOURCE": "biomed_vital.tuning.data",
    "ModelParts": "biomed_vital.tuning.stages",
    "model_parts": "biomed_vital.tuning.stages",
    "prepare_for_stage": "biomed_vital.tuning.stages",
    "lora_config_for": "biomed_vital.tuning.stages",
    "quantization_config_for": "biomed_vital.tuning.stages",
    "load_model_for_tuning": "biomed_vital.tuning.stages",
    "chat_template": "biomed_vital.tuning.templates",
    "CHAT_TEMPLATES": "biomed_vital.tuning.templates",
    "convert_llava_checkpoint": "biomed_vital.tuning.convert",
    "ConversionError": "biomed_vital.tuning.convert",
    "merge_adapter": "biomed_vital.tuning.merge",
    "generate_answers": "biomed_vital.tuning.inference",
    "tuning_model_card": "biomed_vital.tuning.cards",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY_ATTRIBUTES)

if TYPE_CHECKING:
    from biomed_vital.tuning.cards import tuning_model_card
    from biomed_vital.tuning.config import METHODS, RECIPES, STAGES, VisualInstructionConfig
    from biomed_vital.tuning.convert import ConversionError, convert_llava_checkpoint
    from biomed_vital.tuning.data import (
        CAPTION_INSTRUCTIONS,
        DATA_SOURCE,
        caption_rows,
        load_training_data,
        mix_training_data,
        training_rows,
        training_sources,
    )
    from biomed_vital.tuning.inference import generate_answers
    from biomed_vital.tuning.merge import merge_adapter
    from biomed_vital.tuning.stages import (
        ModelParts,
        load_model_for_tuning,
        lora_config_for,
        model_parts,
        prepare_for_stage,
        quantization_config_for,
    )
    from biomed_vital.tuning.templates import CHAT_TEMPLATES, chat_template
    from biomed_vital.tuning.trainer import VisualInstructionTrainer
