"""`SelectorTrainingConfig` and `SelectorTrainer`: train a `SelectorModel` on preference pairs with TRL.

`SelectorTrainer` is a real subclass of `trl.RewardTrainer`: logging, the metrics dict, checkpoints, the model
card and `accelerate` (single CPU, one GPU or `accelerate launch` on many) all come from TRL. What it adds:

* images: `chosen_image` / `rejected_image` columns are decoded by the dataloader workers and preprocessed in
  the collator; or cached encoder features (`compute_features`) replace images and/or texts;
* per-pair `weight` (clinician pairs weigh more) and an optional `clinician_weight` override;
* the `logistic` and `hinge` losses on the model's scores, weighted per pair and reduced as
  `loss_reduction` says (`biomed_vital.selection.losses`);
* evaluation metrics: pairwise accuracy on judge pairs, alignment with clinicians, ROC-AUC of score
  differences, and the rank / MAP of clinician-preferred answers (`biomed_vital.selection.metrics`).
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import torch
from datasets import Dataset, IterableDataset

from biomed_vital import schema
from biomed_vital.notices import bitsandbytes_kernel_notice_silenced
from biomed_vital.selection.embeddings import (
    CHOSEN_IMAGE_FEATURES,
    CHOSEN_TEXT_FEATURES,
    PREFERENCE_IMAGE_COLUMNS,
    PREFERENCE_TEXT_COLUMNS,
    REJECTED_IMAGE_FEATURES,
    REJECTED_TEXT_FEATURES,
)
from biomed_vital.selection.losses import pairwise_preference_loss
from biomed_vital.selection.metrics import preference_metrics
from biomed_vital.selection.training_config import SelectorTrainingConfig
from biomed_vital.tokenizer_state import clear_call_truncation

with bitsandbytes_kernel_notice_silenced():  # trl imports peft, which imports bitsandbytes
    from trl import RewardTrainer

#: The cached-feature columns `compute_features` adds, which stand in for the images and texts.
FEATURE_COLUMNS = (*PREFERENCE_IMAGE_COLUMNS.values(), *PREFERENCE_TEXT_COLUMNS.values())
_SOURCE_CODES = {schema.SOURCE_JUDGE: 0, schema.SOURCE_CLINICIAN: 1}
_PAIR_INFO_KEYS = ("pair_source", "pair_group", "pair_chosen_key", "pair_rejected_key")
# The token ids of each side, added by `SelectorTrainer` when it tokenizes the texts.
_CHOSEN_IDS, _REJECTED_IDS = "chosen_ids", "rejected_ids"
_TOKEN_COLUMNS = (_CHOSEN_IDS, _REJECTED_IDS)


def _stable_hash(value: Any) -> int:
    """A process-independent 31-bit key (Python's hash() of str is salted per process)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        data = np.asarray(
            value, dtype=np.float32 if np.asarray(value).dtype.kind == "f" else np.int64
        ).tobytes()
    else:
        data = str(value).encode("utf-8")
    return zlib.crc32(data) & 0x7FFFFFFF


def _both_sides(examples: list[dict[str, Any]], chosen: str, rejected: str) -> torch.Tensor:
    """Cached features of every chosen side, then of every rejected side, as one float32 tensor."""
    values = [example[chosen] for example in examples] + [example[rejected] for example in examples]
    return torch.tensor(np.asarray(values, dtype=np.float32))


class SelectorCollator:
    """Turns preference rows into a `SelectorModel` batch: chosen sides first, then rejected sides.

    Output keys: `input_ids`, `attention_mask` (or `text_features`), `pixel_values` (or `image_features`),
    `weight` (pairs,), optional `margin`, and `pair_*` bookkeeping tensors that `SelectorTrainer` pops before
    the model runs (source, figure group and answer keys, used by the evaluation metrics).

    Example:
        >>> collator = SelectorCollator(processor, clinician_weight=10.0)   # doctest: +SKIP
        >>> batch = collator([dataset[0], dataset[1]])                      # doctest: +SKIP
    """

    def __init__(self, processor: Any, clinician_weight: float | None = None):
        self.processor = processor
        self.tokenizer = getattr(processor, "tokenizer", processor)
        self.clinician_weight = clinician_weight

    def _images(self, examples: list[dict], column: str) -> list:
        images = []
        for example in examples:
            image = example.get(column)
            if image is None:
                raise ValueError(
                    f"a preference pair ({schema.FIGURE_ID}={example.get(schema.FIGURE_ID, '?')!r}) has no "
                    f"{column}; drop pairs without images or cache features with compute_features()."
                )
            images.append(image)
        return images

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        first = examples[0]
        batch: dict[str, torch.Tensor] = {}
        if CHOSEN_TEXT_FEATURES in first:
            batch["text_features"] = _both_sides(examples, CHOSEN_TEXT_FEATURES, REJECTED_TEXT_FEATURES)
        else:
            ids = [e[_CHOSEN_IDS] for e in examples] + [e[_REJECTED_IDS] for e in examples]
            encoded = self.tokenizer.pad({"input_ids": ids}, padding=True, return_tensors="pt")
            batch["input_ids"] = encoded["input_ids"]
            batch["attention_mask"] = encoded["attention_mask"]
        if CHOSEN_IMAGE_FEATURES in first:
            batch["image_features"] = _both_sides(examples, CHOSEN_IMAGE_FEATURES, REJECTED_IMAGE_FEATURES)
        else:
            images = self._images(examples, schema.CHOSEN_IMAGE) + self._images(
                examples, schema.REJECTED_IMAGE
            )
            batch["pixel_values"] = self.processor.preprocess_images(images, return_tensors="pt")[
                "pixel_values"
            ]

        weights = []
        for example in examples:
            weight = example.get(schema.WEIGHT)
            weight = 1.0 if weight is None else float(weight)
            if self.clinician_weight is not None and example.get(schema.SOURCE) == schema.SOURCE_CLINICIAN:
                weight = float(self.clinician_weight)
            weights.append(weight)
        batch["weight"] = torch.tensor(weights, dtype=torch.float32)
        if first.get("margin") is not None:
            batch["margin"] = torch.tensor([float(e["margin"]) for e in examples], dtype=torch.float32)

        batch["pair_source"] = torch.tensor(
            [_SOURCE_CODES.get(str(e.get(schema.SOURCE)), -1) for e in examples]
        )
        # Ranking metrics compare the answers given to one question about one figure.
        batch["pair_group"] = torch.tensor(
            [
                _stable_hash(f"{e.get(schema.FIGURE_ID, '')}\x1f{e.get(schema.QUESTION) or ''}")
                for e in examples
            ]
        )
        chosen_key, rejected_key = (
            (CHOSEN_TEXT_FEATURES, REJECTED_TEXT_FEATURES)
            if CHOSEN_TEXT_FEATURES in first
            else _TOKEN_COLUMNS
        )
        batch["pair_chosen_key"] = torch.tensor([_stable_hash(e[chosen_key]) for e in examples])
        batch["pair_rejected_key"] = torch.tensor([_stable_hash(e[rejected_key]) for e in examples])
        return batch


class SelectorTrainer(RewardTrainer):
    """Train a `SelectorModel` on a *preferences* dataset with TRL's `RewardTrainer` machinery.

    The dataset needs `chosen_text`, `rejected_text`, `chosen_image`, `rejected_image` (or the feature columns
    from `compute_features`), and optionally `weight`, `source` (`clinician` / `judge`), `figure_id`, `margin`.

    Example:
        >>> from biomed_vital.testing import tiny_selector
        >>> model, processor = tiny_selector()
        >>> args = SelectorTrainingConfig("run", max_steps=10, use_cpu=True, report_to="none")  # doctest: +SKIP
        >>> trainer = SelectorTrainer(model, args, train_dataset=preferences,                 # doctest: +SKIP
        ...                           processing_class=processor)
        >>> trainer.train()                                                                    # doctest: +SKIP
        >>> trainer.save_model("selector")                                                     # doctest: +SKIP
    """

    _tag_names = ["trl", "reward-trainer", "biomed-vital", "selector"]
    _name = "Selector"
    _paper = {"title": "Biomedical Visual Instruction Tuning with Clinician Preference Alignment"}

    def __init__(
        self,
        model: Any,
        args: SelectorTrainingConfig | None = None,
        data_collator: Any = None,
        train_dataset: Dataset | IterableDataset | None = None,
        eval_dataset: Any = None,
        processing_class: Any = None,
        compute_metrics: Any = None,
        callbacks: Any = None,
        optimizers: tuple = (None, None),
        **kwargs: Any,
    ):
        if args is None:
            args = SelectorTrainingConfig("selector")
        elif not isinstance(args, SelectorTrainingConfig):
            raise TypeError(
                f"SelectorTrainer needs a SelectorTrainingConfig, got {type(args).__name__}; build one with "
                "SelectorTrainingConfig(**your_reward_config.to_dict())."
            )
        if processing_class is None:
            if not isinstance(model, str):
                raise ValueError(
                    "SelectorTrainer needs the SelectorProcessor of the model as `processing_class` (images and "
                    "text are both preprocessed); load it with SelectorProcessor.from_pretrained(path)."
                )
            from biomed_vital.selection.processing import SelectorProcessor

            processing_class = SelectorProcessor.from_pretrained(model)
        if isinstance(model, str):
            from biomed_vital.selection.auto import register_auto_classes

            register_auto_classes()  # RewardTrainer loads string ids with AutoModelForSequenceClassification
        positions = getattr(
            getattr(getattr(model, "config", None), "text_config", None), "max_position_embeddings", None
        )
        if args.max_length is not None and positions is not None and args.max_length > positions:
            raise ValueError(
                f"max_length={args.max_length} tokens is more than the text tower's {positions} positions; "
                f"set max_length to {positions} or less"
            )
        processor = processing_class
        tokenizer = getattr(processor, "tokenizer", processor)
        if args.truncation_side is not None and hasattr(processor, "truncation_side"):
            processor.truncation_side = args.truncation_side  # saved with the processor, so select() agrees
        # Training tokenizes with the tokenizer directly: give it the processor's truncation side.
        tokenizer.truncation_side = (
            getattr(processor, "truncation_side", None) or args.truncation_side or "left"
        )
        if data_collator is None:
            data_collator = SelectorCollator(processor, clinician_weight=args.clinician_weight)
        self._eval_pair_records: list[dict[str, torch.Tensor]] = []
        # RewardTrainer reads pad/eos tokens from a tokenizer; a processor has none, so hand it the tokenizer.
        super().__init__(
            model=model,
            args=args,
            data_collator=data_collator,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=tokenizer,
            compute_metrics=compute_metrics,
            callbacks=callbacks,
            optimizers=optimizers,
            **kwargs,
        )
        # save_model() writes processing_class: restore the processor so the image processor is saved too.
        self.processing_class = processor

    # ------------------------------------------------------------------ data
    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        tokenizer = getattr(processing_class, "tokenizer", processing_class)
        columns = (dataset.column_names if isinstance(dataset, Dataset) else None) or list(
            next(iter(dataset)).keys()
        )
        has_text_features = set(PREFERENCE_TEXT_COLUMNS.values()) <= set(columns)
        has_image_features = set(PREFERENCE_IMAGE_COLUMNS.values()) <= set(columns)
        has_tokens = set(_TOKEN_COLUMNS) <= set(columns)
        required = [] if has_text_features or _CHOSEN_IDS in columns else list(PREFERENCE_TEXT_COLUMNS)
        required += [] if has_image_features else list(PREFERENCE_IMAGE_COLUMNS)
        missing = [name for name in required if name not in columns]
        if missing:
            raise ValueError(
                f"the {dataset_name} dataset lacks the columns {missing} (it has {columns}). Build preference "
                "data with biomed_vital.preferences.PreferenceDataset, or add cached features with "
                "compute_features()."
            )
        if has_text_features or has_tokens:
            return dataset
        max_length = args.max_length
        if max_length is None:
            processor = getattr(self, "processing_class", None)
            max_length = getattr(processor, "max_text_length", None) or min(
                int(getattr(tokenizer, "model_max_length", 512) or 512), 512
            )

        def tokenize(batch: dict[str, list]) -> dict[str, list]:
            chosen = tokenizer(batch[schema.CHOSEN_TEXT], truncation=True, max_length=max_length)["input_ids"]
            rejected = tokenizer(batch[schema.REJECTED_TEXT], truncation=True, max_length=max_length)[
                "input_ids"
            ]
            return {_CHOSEN_IDS: chosen, _REJECTED_IDS: rejected}

        map_kwargs: dict[str, Any] = {"batched": True}
        if isinstance(dataset, Dataset):
            map_kwargs.update(num_proc=args.dataset_num_proc, desc=f"Tokenizing {dataset_name} pairs")
        return dataset.map(tokenize, **map_kwargs)

    def _set_signature_columns_if_needed(self):
        # remove_unused_columns would otherwise drop the images, weights and sources.
        if self._signature_columns is None:
            self._signature_columns = [
                *_TOKEN_COLUMNS,
                schema.CHOSEN_IMAGE,
                schema.REJECTED_IMAGE,
                *FEATURE_COLUMNS,
                schema.WEIGHT,
                "margin",
                schema.SOURCE,
                schema.FIGURE_ID,
                schema.QUESTION,
            ]

    # ------------------------------------------------------------------ loss
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        mode = "train" if self.model.training else "eval"
        weight = inputs.pop("weight", None)
        margin = inputs.pop("margin", None)
        pair_info = {key: inputs.pop(key) for key in _PAIR_INFO_KEYS if key in inputs}
        model_inputs = {key: value for key, value in inputs.items() if key != "use_cache"}
        outputs = model(**model_inputs)
        rewards_chosen, rewards_rejected = torch.chunk(outputs.logits.squeeze(-1).float(), chunks=2)

        loss = pairwise_preference_loss(
            rewards_chosen,
            rewards_rejected,
            weight,
            loss_type=self.args.loss_type,
            margin=margin if margin is not None else self.args.margin,
            reduction=self.args.loss_reduction,
        )
        if self.args.center_rewards_coefficient is not None:
            loss = loss + self.args.center_rewards_coefficient * torch.mean(
                (rewards_chosen + rewards_rejected) ** 2
            )

        if mode == "train" and "attention_mask" in inputs:
            tokens = self.accelerator.gather_for_metrics(inputs["attention_mask"].sum()).sum().item()
            self._total_train_tokens += tokens // self._tp_size
        self._metrics[mode]["num_tokens"] = [self._total_train_tokens]
        with torch.no_grad():
            all_rewards = self.accelerator.gather(outputs.logits.detach().float())
            metrics = self._metrics[mode]
            metrics["min_reward"].append(all_rewards.min().item())
            metrics["mean_reward"].append(all_rewards.mean().item())
            metrics["max_reward"].append(all_rewards.max().item())
            accuracy = (rewards_chosen > rewards_rejected).float().mean()
            metrics["accuracy"].append(self.accelerator.gather_for_metrics(accuracy).mean().item())
            gap = (rewards_chosen - rewards_rejected).mean()
            metrics["margin"].append(self.accelerator.gather_for_metrics(gap).mean().item())
            if mode == "eval" and pair_info:
                record = {
                    "chosen": rewards_chosen.detach(),
                    "rejected": rewards_rejected.detach(),
                    **pair_info,
                }
                gathered = self.accelerator.gather_for_metrics(record)
                self._eval_pair_records.append({key: value.cpu() for key, value in gathered.items()})
        return (loss, outputs) if return_outputs else loss

    # ------------------------------------------------------------------ evaluation
    def evaluation_loop(
        self, dataloader, description, prediction_loss_only=None, ignore_keys=None, metric_key_prefix="eval"
    ):
        self._eval_pair_records = []
        output = super().evaluation_loop(
            dataloader,
            description,
            prediction_loss_only=prediction_loss_only,
            ignore_keys=ignore_keys,
            metric_key_prefix=metric_key_prefix,
        )
        if self._eval_pair_records:
            records = {
                key: torch.cat([r[key] for r in self._eval_pair_records]).numpy()
                for key in self._eval_pair_records[0]
            }
            names = {code: name for name, code in _SOURCE_CODES.items()}
            sources = [names.get(int(code), "other") for code in records["pair_source"]]
            pair_metrics = preference_metrics(
                records["chosen"],
                records["rejected"],
                sources,
                groups=records["pair_group"].tolist(),
                chosen_keys=records["pair_chosen_key"].tolist(),
                rejected_keys=records["pair_rejected_key"].tolist(),
            )
            renamed = {"accuracy": "pairwise_accuracy"}
            for name, value in pair_metrics.items():
                if value is not None:
                    output.metrics[f"{metric_key_prefix}_{renamed.get(name, name)}"] = value
        self._eval_pair_records = []
        return output

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
        """Evaluate as `RewardTrainer` does, add the selector metrics, and restore the model's train/eval mode.

        Example:
            >>> metrics = trainer.evaluate(held_out_pairs)             # doctest: +SKIP
            >>> metrics["eval_clinician_alignment"]                    # doctest: +SKIP
            0.83
        """
        was_training = self.model.training
        try:
            return super().evaluate(
                eval_dataset=eval_dataset, ignore_keys=ignore_keys, metric_key_prefix=metric_key_prefix
            )
        finally:
            self.model.train(was_training)

    # ------------------------------------------------------------------ saving
    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        """Save the selector and its processor, without the truncation training's last call left behind.

        Example:
            >>> trainer.save_model("selector")          # doctest: +SKIP
        """
        clear_call_truncation(self.processing_class)  # training's last call must not become the saved default
        super().save_model(output_dir, _internal_call=_internal_call)


__all__ = ["SelectorCollator", "SelectorTrainer", "SelectorTrainingConfig"]
