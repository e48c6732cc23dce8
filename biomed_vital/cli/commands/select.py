"""``biomed-vital select``: score saved candidates with a selector and keep the best.

Example:
    $ biomed-vital select candidates/ --model selector/ --top-fraction 0.2 --per-modality --out selected/
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from biomed_vital.cli.parser import CommandParser
from biomed_vital.selection.scoring_config import SelectionConfig

__all__ = ["SelectArguments", "build_parser", "main"]


@dataclass
class SelectArguments:
    """Which candidates, which selector, and where the kept rows and the report go."""

    candidates: str = field(
        metadata={
            "positional": True,
            "help": "candidates: a save_to_disk folder, a JSON/Parquet file or a Hub id",
        }
    )
    model: str | None = field(default=None, metadata={"help": "The selector (a saved folder or a Hub id)."})
    out: str | None = field(
        default=None, metadata={"help": "Folder for the result: OUT/data (the kept rows) and OUT/report."}
    )
    report: str | None = field(
        default=None, metadata={"help": "Folder for the selection report (default: OUT/report)."}
    )


def build_parser() -> CommandParser:
    """The parser of ``biomed-vital select``."""
    return CommandParser(
        [SelectArguments, SelectionConfig],
        prog="biomed-vital select",
        description="Keep the best candidates according to a selector.",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``biomed-vital select``."""
    parser = build_parser()
    arguments, config = parser.parse(argv)
    if not arguments.model:
        parser.error("--model is required: a saved selector folder or Hub id")
    if not arguments.out:
        parser.error("--out is required: the folder for the kept rows and the report")

    from biomed_vital.schema import load_stage
    from biomed_vital.selection import select

    out = Path(arguments.out)
    candidates = load_stage(arguments.candidates)
    selected = select(
        candidates, arguments.model, config=config, output_dir=arguments.report or out / "report"
    )
    selected.save_to_disk(str(out / "data"))
    print(f"kept {len(selected)} of {len(candidates)} candidates; saved to {out / 'data'}")
    return 0
