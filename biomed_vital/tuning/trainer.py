"""`VisualInstructionTrainer`: LLaVA-Med-style visual instruction tuning with TRL's `SFTTrainer`.

TRL already does the vision-language work: with a processor as `processing_class` and an `images` column it
collates images and conversations on the fly (`DataCollatorForVisionLanguageModeling`), inserts the image
placeholder, and with `assistant_only_loss=True` and a `{% generation %}` chat template trains on the answers
only. Logging, checkpoints, `accelerate launch` (DDP, DeepSpeed, FSDP), peft and `push_to_hub` are TRL's and
transformers'. The subclass adds only what that path does not know:

* **data of any stage**: a *selected*, *judged* or *candidates* Dataset, figures with conversations or, for the
  alignment stage, figures with captions are turned into training rows (:mod:`biomed_vital.tuning.data`);
* **the two stages and three methods**: a model id or folder is loaded for the method (4-bit for QLoRA),
  weights are frozen for the stage, and the LoRA config is built for the language model with the projector
  trained fully (:mod:`biomed_vital.tuning.stages`);
* **a label check before training**: the chat template must mark the answers, and on the first row at least one
  token must be trained on and no image token may be; otherwise it stops with an error instead of training on
  the wrong tokens;
* **the model card**: data sources, sizes, selector and selection ratio, the recipe and the metrics
  (:mod:`biomed_vital.tuning.cards`), written with every save and push (repositories are private by default).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import torch
from datasets import Dataset, IterableDataset

from biomed_vital import schema
from biomed_vital.notices import bitsandbytes_kernel_notice_silenced, peft_checkpointing_warning_silenced
from biomed_vital.tokenizer_state import clear_call_truncation
from biomed_vital.tuning.cards import tuning_model_card
from biomed_vital.tuning.config import VisualInstructionConfig
from biomed_vital.tuning.data import caption_rows, training_rows, training_sources
from biomed_vital.tuning.stages import (
    check_model_source,
    load_model_for_tuning,
    lora_config_for,
    prepare_for_stage,
)

with bitsandbytes_kernel_notice_silenced():  # trl imports peft, which imports bitsandbytes
    from trl import SFTTrainer
    from trl.chat_template_utils import has_generation_markers

__all__ = ["VisualInstructionTrainer"]

logger = logging.getLogger("biomed_vital.tuning")

_IGNORE_INDEX = -100
_SUMMARY_KEYS = ("train_loss", "train_runtime", "train_samples_per_second", "train_steps_per_second", "epoch")


def _as_training(dataset: Any, stage: str, name: str) -> Any:
    """Training rows from a stage Dataset; other objects (IterableDataset, dicts of Datasets) are left to TRL."""
    if isinstance(dataset, dict):
        return {key: _as_training(value, stage, f"{name} {key!r}") for key, value in dataset.items()}
    if not isinstance(dataset, Dataset):
        return dataset
    columns = set(dataset.column_names)
    if stage == "alignment" and schema.MESSAGES not in columns and schema.IMAGES not in columns:
        return caption_rows(dataset, source=name)
    return training_rows(dataset, source=name)


def _image_token_ids(processing_class: Any, model: Any) -> set[int]:
    ids = set()
    for owner, attribute in ((processing_class, "image_token_id"), (model.config, "image_token_id")):
        value = getattr(owner, attribute, None)
        if isinstance(value, int):
            ids.add(value)
    index = getattr(model.config, "image_token_index", None)
    if isinstance(index, int):
        ids.add(index)
    return ids


class VisualInstructionTrainer(SFTTrainer):
    """Tune a vision-language model on visual instruction data, with the LLaVA-Med stages and LoRA / QLoRA.

    Args:
        model: a Hub id or local folder (loaded with `AutoModelForImageTextToText` for the method of `args`), or
            a loaded model (`LlavaForConditionalGeneration`, Idefics3, Qwen2-VL, ...). QLoRA needs an id or
            folder, since the base is loaded in 4-bit.
        args: a :class:`VisualInstructionConfig` (stage, method, the recipe; a plain `SFTConfig` is converted).
        train_dataset: training rows (`images` + `messages`), or any stage with `image` + `messages`
            (selected, judged, candidates, figures with conversations), or figures with captions for the
            alignment stage. Use :func:`~biomed_vital.tuning.load_training_data` for files and Hub ids and
            :func:`~biomed_vital.tuning.mix_training_data` for mixtures.
        processing_class: the model's processor (default: loaded from `model` when it is an id or folder).
        peft_config: a peft config to use instead of the one built from `args` (LoRA / QLoRA).

    Example:
        >>> from biomed_vital.testing import tiny_llava
        >>> model, processor = tiny_llava()
        >>> args = VisualInstructionConfig("run", method="lora", lora_r=8, max_steps=5, use_cpu=True,   # doctest: +SKIP
        ...                                global_batch_size=4, per_device_train_batch_size=2)
        >>> trainer = VisualInstructionTrainer(model, args, train_dataset=selected,                    # doctest: +SKIP
        ...                                    processing_class=processor)
        >>> trainer.train()                                                                             # doctest: +SKIP
        >>> trainer.save_model()                                                                        # doctest: +SKIP
    """

    _tag_names = ["trl", "sft", "biomed-vital", "visual-instruction-tuning"]
    _name = "VisualInstruction"
    args: VisualInstructionConfig

    def __init__(
        self,
        model: Any,
        args: VisualInstructionConfig | None = None,
        data_collator: Any = None,
        train_dataset: Dataset | IterableDataset | None = None,
        eval_dataset: Any = None,
        processing_class: Any = None,
        callbacks: Any = None,
        optimizers: tuple = (None, None),
        peft_config: Any = None,
        **kwargs: Any,
    ) -> None:
        if args is None:
            name = os.path.basename(os.fspath(model)) if isinstance(model, str | os.PathLike) else "model"
            args = VisualInstructionConfig(f"{name}-visual-instruction")
        elif not isinstance(args, VisualInstructionConfig):
            raise TypeError(
                f"VisualInstructionTrainer needs a VisualInstructionConfig, got {type(args).__name__}; build one "
                "with VisualInstructionConfig(**sft_config.to_dict())"
            )
        if train_dataset is None:
            raise ValueError("train_dataset is required (training rows, or a stage with image + messages)")

        if isinstance(model, str | os.PathLike):
            self.base_model_id: str | None = os.fspath(model)
            check_model_source(self.base_model_id)  # before the processor, whose error would name the Hub
            if processing_class is None:
                from transformers import AutoProcessor

                processing_class = AutoProcessor.from_pretrained(
                    self.base_model_id, trust_remote_code=args.trust_remote_code
                )
            model = load_model_for_tuning(self.base_model_id, args)
        else:
            self.base_model_id = getattr(model.config, "_name_or_path", None) or None
            if args.method == "qlora" and not getattr(model, "is_loaded_in_4bit", False):
                raise ValueError(
                    "method='qlora' loads the base model in 4-bit itself: pass the model's Hub id or folder "
                    "instead of a loaded model (or load it with biomed_vital.tuning.load_model_for_tuning)"
                )
        if processing_class is None or not hasattr(processing_class, "tokenizer"):
            raise ValueError(
                "VisualInstructionTrainer needs the model's processor (images and text) as processing_class; "
                "load it with transformers.AutoProcessor.from_pretrained(path)"
            )
        if args.assistant_only_loss:
            self._check_chat_template(processing_class)

        train_dataset = _as_training(train_dataset, args.stage, "train_dataset")
        eval_dataset = (
            _as_training(eval_dataset, args.stage, "eval_dataset") if eval_dataset is not None else None
        )
        self.data_sources = (
            training_sources(train_dataset)
            if isinstance(train_dataset, Dataset)
            else [{"source": type(train_dataset).__name__}]
        )

        from accelerate.utils import is_peft_model

        if is_peft_model(model):
            pass  # a model that already has adapters trains as it was set up
        elif args.method in ("lora", "qlora"):
            if peft_config is None:
                peft_config = lora_config_for(model, args)
        else:
            trainable = prepare_for_stage(model, args)
            if not trainable:
                raise ValueError(
                    f"no parameter of {type(model).__name__} is left to train in stage {args.stage!r}"
                )

        with peft_checkpointing_warning_silenced():  # SFTTrainer wraps the model with peft_config
            super().__init__(
                model=model,
                args=args,
                data_collator=data_collator,
                train_dataset=train_dataset,
                eval_dataset=eval_dataset,
                processing_class=processing_class,
                callbacks=callbacks,
                optimizers=optimizers,
                peft_config=peft_config,
                **kwargs,
            )
        if args.method == "qlora" and not args.bf16:
            # TRL stores QLoRA's trainable weights in bfloat16 for bf16 training; in float32 runs (CPU) the
            # projector would then meet float32 image features, so keep them in the run's precision.
            trained: Any = self.model
            for parameter in trained.parameters():
                if parameter.requires_grad and parameter.dtype == torch.bfloat16:
                    parameter.data = parameter.data.float()
        if isinstance(train_dataset, Dataset) and len(train_dataset):
            self.check_labels(train_dataset[0])

    # ------------------------------------------------------------------ checks
    @staticmethod
    def _check_chat_template(processing_class: Any) -> None:
        template = getattr(processing_class, "chat_template", None)
        if isinstance(template, dict):
            template = template.get("default")
        if template and has_generation_markers(template):
            return
        from trl.chat_template_utils import get_training_chat_template

        try:
            if template and get_training_chat_template(processing_class):
                return  # TRL knows a training version of this template and swaps it in
        except Exception:  # an unknown template: the error below says what to do
            pass
        raise ValueError(
            "the processor's chat template does not mark the assistant's answers with {% generation %} ... "
            "{% endgeneration %}, so assistant-only loss cannot tell answers from questions. Set one with "
            "processor.chat_template = biomed_vital.tuning.chat_template('vicuna_v1') (or 'mistral_instruct'), "
            "or pass assistant_only_loss=False to train on every token"
        )

    def check_labels(self, example: dict[str, Any]) -> dict[str, int]:
        """Collate one row and check its labels: some answer tokens trained on, no image token.

        Returns the counts `{"tokens", "trained", "image_tokens"}`. Raises ValueError when nothing or an image
        token would be trained on, which a chat template without correct `{% generation %}` markers causes.

        Example:
            >>> trainer.check_labels(train_dataset[0])          # doctest: +SKIP
            {'tokens': 212, 'trained': 48, 'image_tokens': 16}
        """
        batch = self.data_collator([dict(example)])
        input_ids, labels = batch["input_ids"][0], batch["labels"][0]
        trained = labels != _IGNORE_INDEX
        image_ids = _image_token_ids(self.processing_class, self.model)
        is_image = (
            torch.isin(input_ids, torch.tensor(sorted(image_ids))) if image_ids else torch.zeros_like(trained)
        )
        counts = {
            "tokens": int(batch["attention_mask"][0].sum()),
            "trained": int(trained.sum()),
            "image_tokens": int(is_image.sum()),
        }
        if self.args.assistant_only_loss:
            if counts["trained"] == 0:
                raise ValueError(
                    "no token of the first training row is trained on: the chat template's {% generation %} "
                    "markers enclose nothing, or max_length cuts off every answer"
                )
            if bool((trained & is_image).any()):
                raise ValueError(
                    "image tokens would be trained on: the chat template puts the image inside "
                    "{% generation %} ... {% endgeneration %}; only the assistant's text belongs there"
                )
        return counts

    # ------------------------------------------------------------------ saving
    def card_metrics(self) -> dict[str, Any]:
        """The latest training summary and evaluation metrics from the log history, for the model card.

        Example:
            >>> trainer.card_metrics()["train_loss"]          # doctest: +SKIP
            1.73
        """
        metrics: dict[str, Any] = {}
        for entry in self.state.log_history:
            if "train_loss" in entry:
                metrics.update({key: entry[key] for key in _SUMMARY_KEYS if key in entry})
            metrics.update({key: value for key, value in entry.items() if key.startswith("eval_")})
        metrics["global_step"] = self.state.global_step
        return metrics

    def _write_card(self, folder: str | None) -> None:
        from accelerate.utils import is_peft_model

        card = tuning_model_card(
            repo_id=self.args.hub_model_id,
            base_model=self.base_model_id,
            adapter=is_peft_model(self.model),
            sources=self.data_sources,
            recipe=self.args.recipe(),
            metrics=self.card_metrics(),
        )
        folder = folder or self.args.output_dir or "."
        os.makedirs(folder, exist_ok=True)
        card.save(os.path.join(folder, "README.md"))

    def create_model_card(  # type: ignore[override]  # TRL's signature, as SFTTrainer has it
        self,
        model_name: str | None = None,
        dataset_name: str | None = None,
        tags: str | list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """Write the BioMed-VITAL model card (data, recipe, metrics) to `output_dir`; called by save and push.

        Example:
            >>> trainer.create_model_card()          # doctest: +SKIP
        """
        if self.is_world_process_zero():
            self._write_card(self.args.output_dir)

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        """Save the model (or the adapter), the processor and the model card to `output_dir`.

        Example:
            >>> trainer.save_model("llava-vital")          # doctest: +SKIP
        """
        clear_call_truncation(self.processing_class)  # training's last call must not become the saved default
        super().save_model(output_dir, _internal_call=_internal_call)
        if self.is_world_process_zero():
            self._write_card(output_dir)
