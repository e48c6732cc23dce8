"""``biomed-vital train-selector``: train a selection model on saved preference pairs.

Every ``SelectorTrainingConfig`` (``trl.RewardConfig``) option is a flag; the model, processor and
``eval_metrics.json`` are saved to ``--output_dir``. ``--preset biomed-vital`` trains as the paper did (and a
selector built here from ``--biomedclip`` or two encoders gets the paper's head).

A first selector starts from two encoders (``--vision-model``, ``--text-model``: Hub ids, or folders
written by ``save_pretrained``, which work offline); a later run continues from a saved one (``--model``).

Example:
    $ biomed-vital train-selector preferences/ --vision-model openai/clip-vit-base-patch16 \\
        --text-model microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext --freeze-vision \\
        --clinician-weight 100 --output-dir selector/
    $ biomed-vital train-selector preferences/train --eval preferences/test --preset biomed-vital \\
        --biomedclip microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224 --output-dir selector/
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biomed_vital.cli.parser import CommandParser
from biomed_vital.selection.training_config import SelectorTrainingConfig

__all__ = ["TrainSelectorArguments", "build_parser", "main"]


@dataclass
class TrainSelectorArguments:
    """The preference pairs, and the selector to start from: a saved one, or two encoders."""

    preferences: str = field(
        metadata={
            "positional": True,
            "help": "preference pairs: a save_to_disk folder, a JSON/Parquet file or Hub id",
        }
    )
    eval: str | None = field(default=None, metadata={"help": "Held-out preference pairs to evaluate on."})
    model: str | None = field(
        default=None, metadata={"help": "A saved selector (folder or Hub id) to continue from."}
    )
    vision_model: str | None = field(
        default=None, metadata={"help": "Vision encoder checkpoint to start from (with --text-model)."}
    )
    text_model: str | None = field(
        default=None, metadata={"help": "Text encoder checkpoint to start from (with --vision-model)."}
    )
    biomedclip: str | None = field(
        default=None,
        metadata={
            "help": "Start from BiomedCLIP's open_clip checkpoint (a folder or Hub id), as the paper did: its "
            "towers with the paper's head."
        },
    )
    freeze_vision: bool = field(
        default=False, metadata={"help": "Train without updating the vision encoder."}
    )
    freeze_text: bool = field(default=False, metadata={"help": "Train without updating the text encoder."})
    cached_features: bool = field(
        default=False, metadata={"help": "Encode once with the frozen encoders and train only the head."}
    )


def build_parser() -> CommandParser:
    """The parser of ``biomed-vital train-selector``."""
    return CommandParser(
        [TrainSelectorArguments, SelectorTrainingConfig],
        prog="biomed-vital train-selector",
        description="Train a selection model on preference pairs.",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``biomed-vital train-selector``."""
    parser = build_parser()
    arguments, config = parser.parse(argv)
    encoder_flags = {"--vision-model": arguments.vision_model, "--text-model": arguments.text_model}
    encoders = [flag for flag, value in encoder_flags.items() if value]
    starts = [flag for flag in ("--model", "--biomedclip") if getattr(arguments, flag[2:])]
    starts += [" with ".join(encoders)] if encoders else []
    if not starts:
        parser.error(
            "nothing to start from: give --model (a saved selector), --biomedclip (an open_clip checkpoint) "
            "or both --vision-model and --text-model (Hub ids, or encoder folders saved with save_pretrained "
            "to train a first selector offline)"
        )
    if len(starts) > 1:
        parser.error(f"give one start, not {' and '.join(starts)}: --model continues a saved selector")
    if len(encoders) == 1:
        missing = "--text-model" if encoders == ["--vision-model"] else "--vision-model"
        parser.error(f"{encoders[0]} needs {missing} too: a selector has an image and a text encoder")
    if not config.output_dir:
        parser.error("--output_dir is required: the folder the trained selector is saved to")

    from biomed_vital.schema import load_stage
    from biomed_vital.selection import SelectorModel, SelectorProcessor, SelectorTrainer, compute_features

    train = load_stage(arguments.preferences)
    evaluation = load_stage(arguments.eval) if arguments.eval else None
    if arguments.model:
        model = SelectorModel.from_pretrained(arguments.model)
        processor = SelectorProcessor.from_pretrained(arguments.model)
        model.set_frozen(
            vision=arguments.freeze_vision or model.config.freeze_vision,
            text=arguments.freeze_text or model.config.freeze_text,
        )
    elif arguments.biomedclip:
        model = SelectorModel.from_biomedclip(
            arguments.biomedclip, freeze_vision=arguments.freeze_vision, freeze_text=arguments.freeze_text
        )
        processor = SelectorProcessor.from_biomedclip(arguments.biomedclip)
    else:
        head = _preset_head(parser.preset)
        model = SelectorModel.from_encoders(
            arguments.vision_model,
            arguments.text_model,
            freeze_vision=arguments.freeze_vision,
            freeze_text=arguments.freeze_text,
            **head,
        )
        processor = SelectorProcessor.from_encoders(arguments.vision_model, arguments.text_model)
    if arguments.cached_features:
        if not (model.config.freeze_vision and model.config.freeze_text):
            parser.error("--cached-features needs frozen encoders: add --freeze-vision --freeze-text")
        train = compute_features(train, model, processor)
        evaluation = compute_features(evaluation, model, processor) if evaluation is not None else None

    trainer = SelectorTrainer(model, config, train_dataset=train, processing_class=processor)
    trainer.train()
    output = Path(config.output_dir)
    trainer.save_model(str(output))
    if evaluation is not None:
        metrics = trainer.evaluate(evaluation)
        (output / "eval_metrics.json").write_text(json.dumps(metrics, indent=2))
        print(json.dumps({k: v for k, v in metrics.items() if not k.endswith(("_runtime", "_per_second"))}))
    print(f"saved the selector to {output}")
    return 0


def _preset_head(preset: str | None) -> dict[str, Any]:
    """The head options (not the towers, which come from the encoders) a preset sets on ``SelectorConfig``."""
    if preset is None:
        return {}
    from biomed_vital.presets import get_preset

    try:
        values = get_preset(preset).values_for("SelectorConfig")
    except ValueError:
        return {}
    for tower in ("vision_config", "text_config", "freeze_vision", "freeze_text"):
        values.pop(tower, None)
    return values
