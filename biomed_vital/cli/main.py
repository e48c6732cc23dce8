"""The ``biomed-vital`` command: the list of commands, and the one place that turns a user's mistake into a
one-line error.

Each command lives in its own module under :mod:`biomed_vital.cli.commands`, which is imported only when
the command runs, so ``biomed-vital --help`` is instant.

Example:
    $ biomed-vital demo
    $ biomed-vital figures path/to/llava_med_instruct_fig_captions.json --image-root images/ --save-to figures/
    $ biomed-vital generate figures/ --model gpt-4o --out candidates/
    $ biomed-vital serve-standin --port 8000 --rpm 600
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

__all__ = ["COMMANDS", "main"]

# command -> (module under biomed_vital.cli.commands, one-line summary). Commands are registered here only.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "run the whole pipeline from one config, resuming from the last finished stage"),
    "demo": ("demo", "run the whole pipeline on the built-in demo figures, offline, with stand-ins"),
    "figures": ("figures", "load figures from a file, folder or Hub id and print a summary"),
    "sample": ("sample", "draw diverse figures for clinicians by clustering image and text embeddings"),
    "generate": ("generate", "generate candidate conversations for figures with a GPT-4V-class endpoint"),
    "judge": ("judge", "score candidates 0-10 with a judge model"),
    "annotate": ("annotate", "compare two candidate answers per question in the browser (clinicians)"),
    "preferences": (
        "preferences",
        "build preference pairs from clinician annotations and judge scores (build | summary)",
    ),
    "train-selector": ("train_selector", "train a selection model on preference pairs"),
    "select": ("select", "score candidates with a selection model and keep the best"),
    "tune": (
        "tune",
        "tune a vision-language model on the selected data (LLaVA-Med stages; full, LoRA, QLoRA)",
    ),
    "convert": ("convert", "convert an original LLaVA / LLaVA-Med / BioMed-VITAL checkpoint to transformers"),
    "convert-biomedclip": (
        "convert_biomedclip",
        "convert BiomedCLIP's open_clip checkpoint into a selector (the paper's starting point)",
    ),
    "evaluate": (
        "evaluate",
        "evaluate answer files: open visual chat, review files or VQA, with win rates; writes a report",
    ),
    "serve-standin": ("serve_standin", "serve the offline OpenAI-compatible stand-in server"),
    "estimate": (
        "estimate",
        "plan a generation run: requests, tokens, cost (sync and batch), wall-clock time",
    ),
    "batch": (
        "batch",
        "import offline batch answers into the request cache, or list the batches (import | status)",
    ),
}

# Mistakes a user makes (a wrong path, a bad value, a missing column) end in one line, not a traceback.
# Set BIOMED_VITAL_DEBUG=1 to see the traceback anyway.
_USER_ERRORS = (ValueError, KeyError, FileNotFoundError, NotADirectoryError, IsADirectoryError, ImportError)


def _usage() -> str:
    from biomed_vital import __version__

    width = max(len(name) for name in COMMANDS)
    lines = [
        "usage: biomed-vital [--version] COMMAND [options]",
        "",
        "Clinician-aligned biomedical visual instruction data and VLM tuning (BioMed-VITAL).",
        "",
        "commands:",
        *(f"  {name.ljust(width)}  {summary}" for name, (_, summary) in COMMANDS.items()),
        "",
        "Run 'biomed-vital COMMAND --help' for a command's options.",
        f"biomed_vital {__version__}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``biomed-vital`` command; returns the exit status.

    Example:
        >>> main(["figures", "--help"])  # doctest: +SKIP
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    if argv[0] == "--version":
        from biomed_vital import __version__

        print(f"biomed_vital {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(
            f"biomed-vital: error: unknown command {name!r}; choose from {', '.join(COMMANDS)}",
            file=sys.stderr,
        )
        return 2
    module = importlib.import_module(f"biomed_vital.cli.commands.{COMMANDS[name][0]}")
    try:
        return int(module.main(rest) or 0)
    except KeyboardInterrupt:
        return 130
    except _USER_ERRORS as error:
        if os.environ.get("BIOMED_VITAL_DEBUG"):
            raise
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"biomed-vital {name}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
