"""``biomed-vital demo``: every stage offline on the built-in demo figures.

Example:
    $ biomed-vital demo --output-dir outputs/demo
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from biomed_vital.cli.parser import CommandParser

__all__ = ["DemoArguments", "build_parser", "main"]


@dataclass
class DemoArguments:
    """Where the demo writes, and how it reports."""

    output_dir: str = field(default="outputs/demo", metadata={"help": "Where every stage's output is saved."})
    seed: int = field(
        default=0, metadata={"help": "Seed of the stand-in server, the pairs and the selector."}
    )
    no_progress: bool = field(default=False, metadata={"help": "No progress bars (for logs)."})


def build_parser() -> CommandParser:
    """The parser of ``biomed-vital demo``."""
    return CommandParser(
        [DemoArguments],
        prog="biomed-vital demo",
        description="Run the pipeline on the built-in demo figures, offline.",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``biomed-vital demo``."""
    (arguments,) = build_parser().parse(argv)
    # The demo never needs the Hub; keep it from trying (and from sending telemetry).
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from biomed_vital.demo import run_demo

    run_demo(arguments.output_dir, seed=arguments.seed, show_progress=not arguments.no_progress)
    return 0
