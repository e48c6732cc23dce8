"""``biomed-vital annotate``: the clinician annotation app, in the browser, for one annotator.

Example:
    $ biomed-vital annotate --candidates runs/candidates --out runs/annotations.jsonl --annotator rad-1
    $ BIOMED_VITAL_ANNOTATION_PASSWORD=... biomed-vital annotate --candidates ... --host 0.0.0.0 ...
"""

from __future__ import annotations

from collections.abc import Sequence

from biomed_vital.annotation.app_config import AnnotationAppConfig
from biomed_vital.cli.parser import CommandParser

__all__ = ["build_parser", "main"]


def build_parser() -> CommandParser:
    """The parser of ``biomed-vital annotate``."""
    return CommandParser(
        [AnnotationAppConfig],
        prog="biomed-vital annotate",
        description="Compare two candidate answers per question in the browser; every judgement is saved at once "
        "and a restart resumes where the annotator stopped.",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``biomed-vital annotate``."""
    (config,) = build_parser().parse(argv)
    from biomed_vital.annotation.app import launch_annotation_app

    launch_annotation_app(config)
    return 0
