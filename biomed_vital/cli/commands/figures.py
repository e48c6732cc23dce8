"""``biomed-vital figures``: load figures from any supported source, print a summary, optionally save them.

Example:
    $ biomed-vital figures llava_med_instruct_fig_captions.json --image-root images/ --save-to figures/
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from biomed_vital.cli.parser import CommandParser
from biomed_vital.data.loading_config import FigureLoadingConfig

__all__ = ["FiguresArguments", "build_parser", "main"]


@dataclass
class FiguresArguments:
    """What to load and where to save it."""

    source: str = field(
        metadata={
            "positional": True,
            "help": "LLaVA-Med / BioMed-VITAL JSON or JSONL, an image folder, a saved Dataset or a Hub id",
        }
    )
    save_to: str | None = field(default=None, metadata={"help": "Save the figures Dataset to this folder."})


def build_parser() -> CommandParser:
    """The parser of ``biomed-vital figures``."""
    return CommandParser(
        [FiguresArguments, FigureLoadingConfig],
        prog="biomed-vital figures",
        description="Load figures from a file, folder or Hub id and print a summary.",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``biomed-vital figures``.

    Example:
        >>> main(["captions.json", "--image-root", "images/", "--save-to", "figures/"])  # doctest: +SKIP
        0
    """
    arguments, loading = build_parser().parse(argv)
    from biomed_vital.data import load_figures, summarize_figures

    figures = load_figures(arguments.source, config=loading)
    print(summarize_figures(figures))
    if arguments.save_to:
        figures.save_to_disk(arguments.save_to)
        print(f"saved {len(figures)} figures to {arguments.save_to}")
    return 0
