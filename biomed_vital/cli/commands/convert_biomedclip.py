"""``biomed-vital convert-biomedclip``: turn BiomedCLIP's open_clip checkpoint into a selector folder.

The saved folder holds a ``SelectorModel`` whose towers and projections are BiomedCLIP's, with the paper's head
(``biomed-vital`` preset), and the matching ``SelectorProcessor``; ``train-selector --model FOLDER`` fine-tunes
it as the paper did.

Example:
    $ biomed-vital convert-biomedclip microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224 --out biomedclip-selector/
    $ biomed-vital train-selector preferences/ --model biomedclip-selector/ --preset biomed-vital --output-dir selector/
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from biomed_vital.cli.parser import CommandParser
from biomed_vital.presets.selection import BIOMEDCLIP_HUB_ID

__all__ = ["ConvertBiomedCLIPArguments", "build_parser", "main"]


@dataclass
class ConvertBiomedCLIPArguments:
    """The open_clip checkpoint to convert and where the selector goes."""

    checkpoint: str = field(
        default=BIOMEDCLIP_HUB_ID,
        metadata={
            "positional": True,
            "help": "open_clip checkpoint: a folder with open_clip_config.json and its weights, or a Hub id",
        },
    )
    out: str | None = field(
        default=None, metadata={"help": "Folder to save the selector and its processor to."}
    )
    vision_num_heads: int | None = field(
        default=None,
        metadata={"help": "Attention heads of the image tower (empty: from the timm name, else width / 64)."},
    )
    text_num_heads: int | None = field(
        default=None, metadata={"help": "Attention heads of the text tower (empty: width / 64)."}
    )
    freeze_vision: bool = field(
        default=False, metadata={"help": "Save the selector with the image tower frozen."}
    )
    freeze_text: bool = field(
        default=False, metadata={"help": "Save the selector with the text tower frozen."}
    )


def build_parser() -> CommandParser:
    """The parser of ``biomed-vital convert-biomedclip``."""
    return CommandParser(
        [ConvertBiomedCLIPArguments],
        prog="biomed-vital convert-biomedclip",
        description="Convert BiomedCLIP's open_clip checkpoint into a selector (SelectorModel + SelectorProcessor).",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``biomed-vital convert-biomedclip``."""
    parser = build_parser()
    (arguments,) = parser.parse(argv)
    if not arguments.out:
        parser.error("--out is required: the folder the converted selector is saved to")

    from biomed_vital.selection.biomedclip import convert_biomedclip

    output = convert_biomedclip(
        arguments.checkpoint,
        arguments.out,
        vision_num_heads=arguments.vision_num_heads,
        text_num_heads=arguments.text_num_heads,
        freeze_vision=arguments.freeze_vision,
        freeze_text=arguments.freeze_text,
    )
    print(f"saved the selector converted from {arguments.checkpoint} to {output}")
    return 0
