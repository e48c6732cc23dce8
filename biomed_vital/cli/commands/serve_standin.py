"""``biomed-vital serve-standin``: the offline OpenAI-compatible stand-in server.

Example:
    $ biomed-vital serve-standin --port 8000 --rpm 600
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the stand-in server until interrupted."""
    from biomed_vital.testing.server import main as serve

    return int(serve(argv, prog="biomed-vital serve-standin") or 0)
