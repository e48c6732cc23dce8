"""The ``biomed-vital`` command line: ``main.py`` lists the commands, ``commands/`` holds one module each.

Every command's options come from config dataclasses parsed by :class:`~biomed_vital.cli.parser.CommandParser`
(``transformers.HfArgumentParser`` with ``--config file.yaml``), so ``biomed-vital <command> --help`` shows each
option with its help and default, and a default is defined once, in its dataclass.

Example:
    $ biomed-vital --help
    $ biomed-vital generate figures/ --model gpt-4o --out candidates/ --config generate.yaml
"""

from __future__ import annotations

from biomed_vital.cli.main import COMMANDS, main

__all__ = ["COMMANDS", "main"]
