"""``biomed-vital tune``: tune a vision-language model on selected data, with LLaVA-Med's two stages.

Every ``VisualInstructionConfig`` (``trl.SFTConfig``) option is a flag. The data is one or more sources: a saved
stage (``biomed-vital select --out OUT`` writes ``OUT/data``), a LLaVA / LLaVA-Med / BioMed-VITAL JSON file
or a Hub dataset id, mixed with ``--ratios``. The model (or the adapter), the processor and a model card with
the data, the recipe and the metrics are saved to ``--output-dir``.

Example:
    $ biomed-vital tune selected/data --mix llava_med_instruct_60k.json --image-root images/ \\
        --model llava-hf/llava-1.5-7b-hf --method lora --output-dir llava-vital
    $ accelerate launch --config_file examples/accelerate/deepspeed_zero3.yaml -m biomed_vital.cli tune ...
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from biomed_vital.cli.parser import CommandParser
from biomed_vital.tuning.config import VisualInstructionConfig

__all__ = ["TuneArguments", "build_parser", "main"]


@dataclass
class TuneArguments:
    """The model to tune and the data to tune it on."""

    data: str = field(
        metadata={
            "positional": True,
            "help": "training data: a saved stage (selected, judged, candidates, figures), a LLaVA-format "
            "JSON/JSONL file or a Hub dataset id",
        }
    )
    model: str | None = field(
        default=None, metadata={"help": "The model to tune: a Hub id or a local folder (image-text-to-text)."}
    )
    mix: list[str] | None = field(
        default=None, metadata={"help": "More data sources to mix in (same kinds as DATA)."}
    )
    ratios: list[float] | None = field(
        default=None,
        metadata={
            "help": "One ratio per source (DATA first, then --mix): 1 uses every row, 0.5 a random half, "
            "2 every row twice."
        },
    )
    image_root: str | None = field(
        default=None, metadata={"help": "Folder the image paths of JSON sources resolve against."}
    )
    selector: str | None = field(
        default=None,
        metadata={"help": "The selection model that chose DATA (recorded in the model card)."},
    )
    eval_data: str | None = field(default=None, metadata={"help": "Held-out data to evaluate the loss on."})
    merge: bool = field(
        default=False,
        metadata={
            "help": "After LoRA / QLoRA training, also save the adapter merged into its base (OUTPUT_DIR/merged)."
        },
    )


def build_parser() -> CommandParser:
    """The parser of ``biomed-vital tune``."""
    return CommandParser(
        [TuneArguments, VisualInstructionConfig],
        prog="biomed-vital tune",
        description="Tune a vision-language model on visual instruction data (LLaVA-Med recipe).",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``biomed-vital tune``.

    Example:
        >>> main(["selected/data", "--model", "tiny-llava/", "--output-dir", "run/"])  # doctest: +SKIP
        0
    """
    parser = build_parser()
    arguments, config = parser.parse(argv)
    if not arguments.model:
        parser.error("--model is required: a Hub id or a folder of an image-text-to-text model")
    if not config.output_dir:
        parser.error("--output-dir is required: the folder the tuned model is saved to")
    sources = [arguments.data, *(arguments.mix or [])]
    if arguments.ratios is not None and len(arguments.ratios) != len(sources):
        parser.error(
            f"--ratios needs one value per source ({len(sources)}: DATA and --mix), got {len(arguments.ratios)}"
        )

    from biomed_vital.tuning import (
        VisualInstructionTrainer,
        load_training_data,
        merge_adapter,
        mix_training_data,
    )
    from biomed_vital.tuning.stages import check_model_source

    check_model_source(arguments.model)  # a typo fails now, not after the data is read
    loaded = [
        load_training_data(
            source,
            image_root=arguments.image_root,
            stage=config.stage,
            selector=arguments.selector if position == 0 else None,
        )
        for position, source in enumerate(sources)
    ]
    train = (
        loaded[0]
        if len(loaded) == 1 and arguments.ratios is None
        else mix_training_data(loaded, arguments.ratios, seed=config.seed)
    )
    evaluation = (
        load_training_data(arguments.eval_data, image_root=arguments.image_root, stage=config.stage)
        if arguments.eval_data
        else None
    )
    trainer = VisualInstructionTrainer(arguments.model, config, train_dataset=train, eval_dataset=evaluation)
    trainer.train()
    output = Path(config.output_dir)
    trainer.save_model(str(output))
    metrics = trainer.card_metrics()
    if evaluation is not None:
        metrics.update(trainer.evaluate())
    (output / "train_metrics.json").write_text(json.dumps(metrics, indent=2))
    if config.push_to_hub:
        trainer.push_to_hub()
    if arguments.merge:
        if config.method == "full":
            parser.error(
                "--merge applies to --method lora or qlora (a full run already saved the whole model)"
            )
        merged = merge_adapter(output, output / "merged", base_model=arguments.model)
        print(f"saved the merged model to {merged}")
    print(f"trained on {len(train)} conversations; saved the {config.method} model to {output}")
    return 0
