"""``biomed-vital serve-standin``: serve the offline OpenAI-compatible stand-in server until interrupted.

The first line printed is the base URL. ``python -m biomed_vital.testing.standin`` runs this same
command (the stand-in's subprocess mode starts it that way).

Example:
    $ biomed-vital serve-standin --port 8000 --rpm 600 --tpm 200000 \\
        --latency-median 0.2 --latency-p99 2.0 --fault rate_limit=0.2 --fault server_error=0.05
    http://127.0.0.1:8000/v1
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from biomed_vital.cli.parser import CommandParser
from biomed_vital.testing.standin.config import LOCALHOST, StandInConfig

__all__ = ["ServeStandInArguments", "build_parser", "main"]


@dataclass
class ServeStandInArguments:
    """Where the stand-in server listens."""

    host: str = field(default=LOCALHOST, metadata={"help": "Address to listen on."})
    port: int = field(default=8000, metadata={"help": "TCP port; 0 picks a free one."})


def build_parser(prog: str = "biomed-vital serve-standin") -> CommandParser:
    """The parser of ``biomed-vital serve-standin`` (``prog`` names the command in help and errors)."""
    return CommandParser(
        [ServeStandInArguments, StandInConfig],
        prog=prog,
        description="Serve the offline OpenAI-compatible stand-in server until Ctrl+C; the first line printed "
        "is its base URL (replies are canned, never medical advice).",
    )


def main(argv: Sequence[str] | None = None, *, prog: str = "biomed-vital serve-standin") -> int:
    """Run the stand-in server until interrupted; returns the exit status.

    Example:
        >>> main(["--port", "0", "--rpm", "600", "--fault", "server_error=0.05"])   # doctest: +SKIP
        http://127.0.0.1:41235/v1
    """
    arguments, config = build_parser(prog).parse(argv)
    from biomed_vital.testing.standin.runner import serve_forever

    try:
        serve_forever(config, arguments.host, arguments.port)
    except OSError as error:
        print(f"cannot serve on {arguments.host}:{arguments.port}: {error}", file=sys.stderr)
        return 1
    return 0
