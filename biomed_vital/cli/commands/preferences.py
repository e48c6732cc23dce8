"""``biomed-vital preferences``: build preference pairs from the command line, or summarise saved ones.

Each action has its own parser: ``build`` takes its inputs and output (:class:`BuildArguments`) and every
:class:`~biomed_vital.preferences.PreferenceBuildConfig` option; ``summary`` takes a saved folder.

Example:
    $ biomed-vital preferences build --judged judged/ --annotations annotations.jsonl \\
          --clinician-weight 100 --test-size 0.1 --output preferences/
    $ biomed-vital preferences summary preferences/
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from biomed_vital.cli.parser import CommandParser
from biomed_vital.preferences.build_config import PreferenceBuildConfig

__all__ = [
    "ACTIONS",
    "BuildArguments",
    "SummaryArguments",
    "build_parser",
    "build_parsers",
    "main",
    "summary_parser",
]

PROG = "biomed-vital preferences"


@dataclass
class BuildArguments:
    """Which judged rows and annotations, and where the pairs go."""

    judged: str | None = field(
        default=None,
        metadata={
            "help": "Judged candidates (judge pairs, and the rows the annotations name): a save_to_disk "
            "folder, a JSON/Parquet file or a Hub id."
        },
    )
    candidates: str | None = field(
        default=None, metadata={"help": "The candidates the annotations name (default: --judged)."}
    )
    annotations: str | None = field(default=None, metadata={"help": "Clinician annotation records (JSONL)."})
    output: str | None = field(
        default=None,
        metadata={"help": "Folder to save the pairs in (a DatasetDict with --test-size); empty: only print."},
    )


@dataclass
class SummaryArguments:
    """Which saved pairs to summarise."""

    path: str = field(
        metadata={
            "positional": True,
            "help": "a folder written by 'build' (or any saved preference Dataset or DatasetDict)",
        }
    )


def build_parser(prog: str = PROG) -> CommandParser:
    """The parser of ``biomed-vital preferences build``."""
    return CommandParser(
        [BuildArguments, PreferenceBuildConfig],
        prog=f"{prog} build",
        description="Build clinician and/or judge pairs, mix them, split them by figure, and save them.",
    )


def summary_parser(prog: str = PROG) -> CommandParser:
    """The parser of ``biomed-vital preferences summary``."""
    return CommandParser(
        [SummaryArguments], prog=f"{prog} summary", description="Summarise saved preference pairs."
    )


def build_parsers(prog: str = PROG) -> list[CommandParser]:
    """The parsers of every action, ``build`` first."""
    return [build_parser(prog), summary_parser(prog)]


def _build(argv: Sequence[str], prog: str) -> int:
    arguments, config = build_parser(prog).parse(argv)

    from biomed_vital.preferences import AnnotationError, build_preferences

    try:
        result = build_preferences(arguments.judged, arguments.annotations, arguments.candidates, config)
    except AnnotationError as error:
        # one line per bad record, so that a whole file can be fixed in one pass
        print(f"{prog} build: error: {error}", file=sys.stderr)
        return 2
    _print_summary(result)
    if arguments.output:
        result.save_to_disk(arguments.output)
        print(f"saved to {arguments.output}")
    return 0


def _summary(argv: Sequence[str], prog: str) -> int:
    parser = summary_parser(prog)
    (arguments,) = parser.parse(argv)

    import datasets

    from biomed_vital.schema import is_saved_dataset

    if not is_saved_dataset(arguments.path):
        parser.error(
            f"{arguments.path} is not a folder written by save_to_disk ('build --output' writes one)"
        )
    _print_summary(datasets.load_from_disk(arguments.path))
    return 0


def _print_summary(pairs: Any) -> None:
    """Print :func:`~biomed_vital.preferences.summarize_preferences` of a Dataset, or of each split."""
    import datasets

    from biomed_vital.preferences import summarize_preferences

    splits = pairs.items() if isinstance(pairs, datasets.DatasetDict) else [("", pairs)]
    for name, split in splits:
        if name:
            print(f"[{name}]")
        print(summarize_preferences(split))


#: action -> (runner, one-line summary). Actions are registered here only.
ACTIONS: dict[str, tuple[Callable[[Sequence[str], str], int], str]] = {
    "build": (_build, "build clinician and/or judge pairs, mix them, split them by figure, and save them"),
    "summary": (_summary, "summarise saved preference pairs"),
}


def _usage(prog: str) -> str:
    width = max(len(name) for name in ACTIONS)
    return "\n".join(
        [
            f"usage: {prog} {{{','.join(ACTIONS)}}} [options]",
            "",
            "Build or inspect selector preference pairs.",
            "",
            "actions:",
            *(f"  {name.ljust(width)}  {summary}" for name, (_, summary) in ACTIONS.items()),
            "",
            f"Run '{prog} ACTION --help' for an action's options.",
        ]
    )


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """Run ``biomed-vital preferences`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status.

    Example:
        >>> main(["summary", "preferences/"])      # doctest: +SKIP
        0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage(prog), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    action, rest = argv[0], argv[1:]
    if action not in ACTIONS:
        print(f"{prog}: error: unknown action {action!r}; choose from {', '.join(ACTIONS)}", file=sys.stderr)
        return 2
    return ACTIONS[action][0](rest, prog)


if __name__ == "__main__":
    raise SystemExit(main())
