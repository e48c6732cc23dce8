"""The offline demo as a :class:`~biomed_vital.pipeline.Pipeline`: ``demo.yaml`` beside this module.

Example:
    >>> from biomed_vital.pipeline import demo_pipeline
    >>> summary = demo_pipeline("outputs/demo").run()                      # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["DEMO_CONFIG", "demo_pipeline"]

#: the demo's settings, the same file ``biomed-vital demo`` reads
DEMO_CONFIG = Path(__file__).with_name("demo.yaml")


def demo_pipeline(
    output_dir: str | os.PathLike[str] = "outputs/demo", *options: str, show_progress: bool = True
) -> Any:
    """The demo pipeline writing to ``output_dir``; ``options`` are command-line flags that override the demo's.

    Example:
        >>> pipeline = demo_pipeline("outputs/demo", "--until", "select")   # doctest: +SKIP
        >>> [step.stage for step in pipeline.plan()][-1]                    # doctest: +SKIP
        'select'
    """
    from biomed_vital.cli.commands.run import build_parser, pipeline_from_args

    argv = ["--config", str(DEMO_CONFIG), "--output_dir", os.fspath(output_dir), *options]
    return pipeline_from_args(build_parser(prog="demo_pipeline").parse(argv), show_progress=show_progress)
