"""``biomed-vital demo``: the whole pipeline on the built-in demo figures, offline, in a few minutes.

It is ``biomed-vital run --config <the demo config>``: the stand-in server answers generation and judging,
a rule stands in for clinicians, and tiny random models stand in for the selector's encoders and the model
to tune. Every option of ``run`` works here and overrides the demo's: ``--base_url``/``--model`` (or
``OPENAI_API_KEY`` set) send generation and judging to a real model, ``--selector_model`` and
``--base_model`` take real models. The summary at the end says which parts ran against stand-ins.

Example:
    $ biomed-vital demo --output_dir outputs/demo
    $ biomed-vital demo --dry_run
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from biomed_vital.cli.commands.run import build_parser as build_run_parser
from biomed_vital.cli.commands.run import pipeline_from_args, run_and_report
from biomed_vital.cli.parser import CommandParser

__all__ = ["build_parser", "main"]


def build_parser() -> CommandParser:
    """The parser of ``biomed-vital demo``: ``run``'s, started from the demo config."""
    return build_run_parser(
        prog="biomed-vital demo",
        description="Run the whole pipeline on the built-in demo figures, offline, with stand-ins.",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``biomed-vital demo``."""
    from biomed_vital.pipeline.demo import DEMO_CONFIG

    # The demo never needs the Hub; keep it from trying (and from sending telemetry).
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    parsed = build_parser().parse(["--config", str(DEMO_CONFIG), *(argv or [])])
    return run_and_report(pipeline_from_args(parsed))
