"""``biomed-vital judge``: score a saved candidates Dataset and save the judged Dataset.

Example:
    $ biomed-vital judge runs/candidates --out runs/judged --model gpt-4o
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from biomed_vital.cli.parser import CommandParser, exit_status_of_task
from biomed_vital.engine.backends import BackendConfig
from biomed_vital.engine.config import EngineConfig
from biomed_vital.generation.judge_config import JudgeConfig

__all__ = ["JudgeArguments", "build_parser", "main"]


@dataclass
class JudgeArguments:
    """Which candidates, and where the judged Dataset goes."""

    candidates: str = field(
        metadata={
            "positional": True,
            "help": "candidates: a save_to_disk folder, a JSON/Parquet file or a Hub id",
        }
    )
    out: str | None = field(default=None, metadata={"help": "Folder for the judged Dataset (save_to_disk)."})
    dry_run: bool = field(
        default=False, metadata={"help": "Print the projected requests and cost; send nothing."}
    )


def build_parser() -> CommandParser:
    """The parser of ``biomed-vital judge``."""
    return CommandParser(
        [JudgeArguments, JudgeConfig, BackendConfig, EngineConfig],
        prog="biomed-vital judge",
        description="Score candidates 0-10 with a judge model.",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``biomed-vital judge``."""
    parser = build_parser()
    arguments, judge_config, backend, engine_config = parser.parse(argv)
    if not (arguments.out or arguments.dry_run):
        parser.error("--out is required (or --dry-run to only print the projected cost)")

    from biomed_vital.generation import GPT4VJudge
    from biomed_vital.schema import load_stage

    candidates = load_stage(arguments.candidates)
    judge = GPT4VJudge(config=judge_config, backend=backend, engine_config=engine_config)
    print(f"projected: {judge.estimate_cost(candidates)}")
    if arguments.dry_run:
        return 0
    judged = judge.score(candidates)
    judged.save_to_disk(arguments.out)
    print(f"saved {len(judged)} judged candidates to {arguments.out}")
    return exit_status_of_task(judge, "judge")
