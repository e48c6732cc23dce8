"""``biomed-vital generate``: candidate conversations for a figures file or saved Dataset.

The API key is read from the environment only (``OPENAI_API_KEY`` / ``AZURE_OPENAI_API_KEY``): a key on
the command line would end up in shell history and process lists.

Example:
    $ biomed-vital generate figures.jsonl --out runs/candidates --model gpt-4o \\
        --demonstrations clinician_demonstrations.jsonl --n-candidates 2 --budget-usd 20 --dry-run
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from biomed_vital.cli.parser import CommandParser, exit_status_of_task
from biomed_vital.data.loading_config import FigureLoadingConfig
from biomed_vital.engine.backends import BackendConfig
from biomed_vital.engine.config import EngineConfig
from biomed_vital.generation.generator_config import GeneratorConfig

__all__ = ["GenerateArguments", "build_parser", "main"]


@dataclass
class GenerateArguments:
    """Which figures, where the candidates go, and which shard of the pool this process runs."""

    figures: str = field(
        metadata={
            "positional": True,
            "help": "figures: a file or folder load_figures reads, a save_to_disk folder or a Hub id",
        }
    )
    out: str | None = field(
        default=None, metadata={"help": "Folder for the candidates Dataset (save_to_disk)."}
    )
    num_shards: int = field(default=1, metadata={"help": "Split the figures into this many shards (by id)."})
    shard_index: int = field(default=0, metadata={"help": "The shard this process generates (0-based)."})
    dry_run: bool = field(
        default=False, metadata={"help": "Print the projected requests and cost; send nothing."}
    )


def build_parser() -> CommandParser:
    """The parser of ``biomed-vital generate``."""
    return CommandParser(
        [GenerateArguments, GeneratorConfig, BackendConfig, EngineConfig, FigureLoadingConfig],
        prog="biomed-vital generate",
        description="Generate candidate conversations for figures with a GPT-4V-class endpoint.",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``biomed-vital generate``."""
    parser = build_parser()
    arguments, generator_config, backend, engine_config, loading = parser.parse(argv)
    if not (arguments.out or arguments.dry_run):
        parser.error("--out is required (or --dry-run to only print the projected cost)")

    from biomed_vital.data import load_figure_source
    from biomed_vital.generation import GPT4VGenerator

    figures = load_figure_source(arguments.figures, config=loading)
    generator = GPT4VGenerator(config=generator_config, backend=backend, engine_config=engine_config)
    shard = {"num_shards": arguments.num_shards, "shard_index": arguments.shard_index}
    print(f"projected: {generator.estimate_cost(figures, **shard)}")
    if arguments.dry_run:
        return 0
    candidates = generator.generate(figures, **shard)
    candidates.save_to_disk(arguments.out)
    print(f"saved {len(candidates)} candidates to {arguments.out}")
    return exit_status_of_task(generator, "generate")
