"""``python -m biomed_vital.testing.standin``: the same command as ``biomed-vital serve-standin``.

:class:`~biomed_vital.testing.standin.server.StandInServer` starts its subprocess mode with it.

Example:
    $ python -m biomed_vital.testing.standin --port 8000 --rpm 600 --fault rate_limit=0.2
"""

from __future__ import annotations

import sys

from biomed_vital.cli.commands.serve_standin import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m biomed_vital.testing.standin"))
