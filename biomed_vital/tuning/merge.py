"""`merge_adapter`: fold a LoRA / QLoRA adapter into its base model and save a standalone model.

An adapter saved by `VisualInstructionTrainer` (method `lora` or `qlora`) holds the LoRA weights, the projector
(trained fully) and the processor. Merging loads the base model in full precision, applies the adapter,
merges it (`peft`'s `merge_and_unload`) and saves the model, the processor and a model card, so the result
loads with `AutoModelForImageTextToText.from_pretrained` alone. A QLoRA adapter, trained against the 4-bit
base, is merged into the full-precision base, as is usual; the merged model's outputs differ from the
quantized training model's by the quantization error.

Example:
    >>> from biomed_vital.tuning import merge_adapter
    >>> merge_adapter("llava-vital-lora", "llava-vital-merged")           # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["merge_adapter"]

_DATA_SECTION = re.compile(r"## Training data\n.*?(?=\n## )", re.S)


def merge_adapter(
    adapter: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    base_model: str | os.PathLike | None = None,
    dtype: str = "auto",
) -> Path:
    """Merge the adapter at `adapter` (a folder or Hub id) into its base model and save the result.

    Args:
        adapter: the adapter saved by `VisualInstructionTrainer.save_model` (or any peft LoRA adapter).
        output_dir: where the merged model, the processor and the model card go.
        base_model: the base model's folder or Hub id (default: the one recorded in the adapter's config).
        dtype: the dtype the base is loaded and saved in (`auto`: as stored).

    Example:
        >>> merge_adapter("runs/lora", "runs/merged", base_model="llava-hf/llava-1.5-7b-hf")   # doctest: +SKIP
        PosixPath('runs/merged')
    """
    from huggingface_hub import ModelCard
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from biomed_vital.hub import model_card
    from biomed_vital.notices import bitsandbytes_kernel_notice_silenced, peft_checkpointing_warning_silenced
    from biomed_vital.paths import check_local_path

    with bitsandbytes_kernel_notice_silenced():  # peft imports bitsandbytes
        from peft import PeftConfig, PeftModel

    adapter_path = os.fspath(adapter)
    check_local_path(adapter_path, expected="a saved adapter", required_file="adapter_config.json")
    peft_config = PeftConfig.from_pretrained(adapter_path)
    base = os.fspath(base_model) if base_model is not None else peft_config.base_model_name_or_path
    if not base:
        raise ValueError(
            f"the adapter {adapter_path} does not record its base model; pass base_model=<folder or Hub id>"
        )
    check_local_path(base, expected="the adapter's base model (a folder with config.json, or a Hub id)")
    model = AutoModelForImageTextToText.from_pretrained(base, dtype=dtype)
    with peft_checkpointing_warning_silenced():
        merged = PeftModel.from_pretrained(model, adapter_path).merge_and_unload()
    try:
        processor = AutoProcessor.from_pretrained(adapter_path)
    except (OSError, ValueError):  # an adapter saved without its processor
        processor = AutoProcessor.from_pretrained(base)
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(output)
    processor.save_pretrained(output)

    description = f"The adapter `{adapter_path}` merged into its base model `{base}`."
    card_file = Path(adapter_path) / "README.md"
    if card_file.is_file():
        section = _DATA_SECTION.search(ModelCard.load(card_file).text)
        if section:
            description += "\n\n" + section.group(0).strip()
    model_card(
        repo_id=None,
        model_kind="vlm",
        description=description,
        base_models=[base] if not os.path.exists(base) else [],
    ).save(output / "README.md")
    return output
