"""``biomed-vital batch``: the answers of offline batch inference into the cache, and the batches in flight.

``import`` stores the answer files of vLLM's ``run-batch`` (or files downloaded from OpenAI / Azure OpenAI)
in the request cache, keyed by ``custom_id``; the run that exported the requests (``--batch-export``) then
finds every answer there. ``status`` lists the batches the cache's ledger knows, with their state.

Example:
    $ biomed-vital batch import runs/batch/ --cache-dir runs/cache
    $ biomed-vital batch status --cache-dir runs/cache
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from biomed_vital.cli.parser import CommandParser

__all__ = [
    "ACTIONS",
    "ImportArguments",
    "StatusArguments",
    "build_parser",
    "build_parsers",
    "main",
    "status_parser",
]

PROG = "biomed-vital batch"
_CACHE_HELP = (
    "The request cache folder of the run (default: $BIOMED_VITAL_CACHE, $HF_HOME/biomed_vital or ~/.cache)."
)


@dataclass
class ImportArguments:
    """Which answer files go into which cache."""

    answers: str = field(
        metadata={
            "positional": True,
            "help": "an answer file (vLLM run-batch output, or an OpenAI / Azure output file), or a folder of them",
        }
    )
    cache_dir: str | None = field(default=None, metadata={"help": _CACHE_HELP})
    model: str | None = field(
        default=None,
        metadata={"help": "Price the answers as this model (default: the model of the run that reads them)."},
    )


@dataclass
class StatusArguments:
    """Which cache's batches to list."""

    cache_dir: str | None = field(default=None, metadata={"help": _CACHE_HELP})


def build_parser(prog: str = PROG) -> CommandParser:
    """The parser of ``biomed-vital batch import``."""
    return CommandParser(
        [ImportArguments],
        prog=f"{prog} import",
        description="Store batch answer files (vLLM run-batch, OpenAI, Azure OpenAI) in the request cache.",
    )


def status_parser(prog: str = PROG) -> CommandParser:
    """The parser of ``biomed-vital batch status``."""
    return CommandParser(
        [StatusArguments],
        prog=f"{prog} status",
        description="List the batches recorded in the request cache.",
    )


def build_parsers(prog: str = PROG) -> list[CommandParser]:
    """The parsers of every action, ``import`` first."""
    return [build_parser(prog), status_parser(prog)]


def _import(argv: Sequence[str], prog: str) -> int:
    (arguments,) = build_parser(prog).parse(argv)

    from biomed_vital.engine.batch_offline import import_batch_answers

    summary = import_batch_answers([arguments.answers], cache_dir=arguments.cache_dir, model=arguments.model)
    print(summary)
    return 0 if summary.stored or summary.already_stored or not summary.failed else 1


def _status(argv: Sequence[str], prog: str) -> int:
    (arguments,) = status_parser(prog).parse(argv)

    from biomed_vital.engine.batch_ledger import BatchLedger
    from biomed_vital.engine.cache import ResponseCache

    with ResponseCache(arguments.cache_dir) as cache:
        ledger = BatchLedger(cache)
        jobs = ledger.jobs()
        ledger.close()
    if not jobs:
        print(f"no batches recorded in {cache.path}")
        return 0
    for job in jobs:
        state = f"{job.state} ({job.final_state})" if job.final_state else job.state
        done = f"{job.completed + job.failed:,}/{job.n_requests:,}"
        note = f"  {job.note}" if job.note else ""
        print(
            f"{job.batch_id or '(not submitted)':<32} {state:<24} {done:>15}  {job.model}  {job.endpoint}{note}"
        )
    states = Counter(job.state for job in jobs)
    print(", ".join(f"{count} {state}" for state, count in sorted(states.items())))
    return 0


#: action -> (runner, one-line summary). Actions are registered here only.
ACTIONS: dict[str, tuple[Callable[[Sequence[str], str], int], str]] = {
    "import": (_import, "store batch answer files (vLLM run-batch, OpenAI, Azure) in the request cache"),
    "status": (_status, "list the batches recorded in the request cache and their state"),
}


def _usage(prog: str) -> str:
    width = max(len(name) for name in ACTIONS)
    return "\n".join(
        [
            f"usage: {prog} {{{','.join(ACTIONS)}}} [options]",
            "",
            "Import offline batch answers into the request cache, or list the batches.",
            "",
            "actions:",
            *(f"  {name.ljust(width)}  {summary}" for name, (_, summary) in ACTIONS.items()),
            "",
            f"Run '{prog} ACTION --help' for an action's options.",
        ]
    )


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """Run ``biomed-vital batch`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status.

    Example:
        >>> main(["status", "--cache-dir", "runs/cache"])      # doctest: +SKIP
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
