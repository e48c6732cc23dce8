"""``biomed-vital convert``: convert an original LLaVA / LLaVA-Med / BioMed-VITAL checkpoint to transformers.

The result loads with ``LlavaForConditionalGeneration.from_pretrained`` / ``AutoProcessor.from_pretrained``
and computes what the original code computed (see :mod:`biomed_vital.tuning.convert`).

Example:
    $ biomed-vital convert llava-med-v1.5-mistral-7b --output-dir llava-med-v1.5-hf \\
        --vision-tower openai/clip-vit-large-patch14-336
    $ biomed-vital convert llava-med-7b-pretrain --language-model lmsys/vicuna-7b-v1.5 --output-dir stage1-hf
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from biomed_vital.cli.parser import CommandParser

__all__ = ["ConvertArguments", "build_parser", "main"]


@dataclass
class ConvertArguments:
    """The original checkpoint and where the converted one goes."""

    checkpoint: str = field(
        metadata={
            "positional": True,
            "help": "the original checkpoint: a folder (single or sharded .bin / safetensors with config.json), "
            "a weight file, or a projector-only run (mm_projector.bin or mm_projector/checkpoint-*.bin)",
        }
    )
    output_dir: str | None = field(
        default=None, metadata={"help": "Folder for the converted model and processor."}
    )
    language_model: str | None = field(
        default=None,
        metadata={"help": "Base language model (folder or Hub id) of a projector-only checkpoint."},
    )
    vision_tower: str | None = field(
        default=None,
        metadata={"help": "CLIP vision model (folder or Hub id); default: the checkpoint's mm_vision_tower."},
    )
    chat_template: str = field(
        default="auto",
        metadata={
            "help": "auto (mistral_instruct for Mistral, else vicuna_v1), vicuna_v1, mistral_instruct, a .jinja "
            "file, or none to keep the tokenizer's."
        },
    )
    dtype: str | None = field(
        default=None,
        metadata={
            "help": "float16, bfloat16 or float32; default: as the checkpoint stores the language model."
        },
    )
    max_shard_size: str = field(default="5GB", metadata={"help": "Largest safetensors shard."})


def build_parser() -> CommandParser:
    """The parser of ``biomed-vital convert``."""
    return CommandParser(
        [ConvertArguments],
        prog="biomed-vital convert",
        description="Convert an original-layout LLaVA checkpoint to the transformers Llava layout.",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``biomed-vital convert``.

    Example:
        >>> main(["original/", "--output-dir", "converted/"])  # doctest: +SKIP
        0
    """
    parser = build_parser()
    (arguments,) = parser.parse(argv)
    if not arguments.output_dir:
        parser.error("--output-dir is required: the folder for the converted model")
    if arguments.dtype not in (None, "float16", "bfloat16", "float32"):
        parser.error(f"--dtype {arguments.dtype}: use float16, bfloat16 or float32")

    from biomed_vital.tuning import convert_llava_checkpoint

    output = convert_llava_checkpoint(
        arguments.checkpoint,
        arguments.output_dir,
        language_model=arguments.language_model,
        vision_tower=arguments.vision_tower,
        chat_template=arguments.chat_template,
        dtype=arguments.dtype,
        max_shard_size=arguments.max_shard_size,
    )
    print(f"converted {arguments.checkpoint} to {output}")
    return 0
