"""``biomed-vital estimate``: what generating for N figures would take, before anything is sent.

The generator builds its real requests for a sample of figures (the built-in demo figures unless
``--sample`` names a figures file or folder); the plan scales their measured size to ``--figures`` and prints
requests, tokens, cost at synchronous and Batch API prices, and wall-clock time under the account's
``--rpm`` / ``--tpm`` (see :mod:`biomed_vital.engine.planner`). Nothing is sent and no key is needed.

Example:
    $ biomed-vital estimate --figures 100000 --model gpt-4o --rpm 10000 --tpm 2000000
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from biomed_vital.cli.parser import CommandParser
from biomed_vital.data.loading_config import FigureLoadingConfig
from biomed_vital.engine.backends import BackendConfig
from biomed_vital.engine.config import EngineConfig
from biomed_vital.generation.generator_config import GeneratorConfig

__all__ = ["EstimateArguments", "build_parser", "main"]


@dataclass
class EstimateArguments:
    """How many figures, which sample to measure, and what the account allows."""

    figures: int = field(metadata={"help": "Number of figures to plan for."})
    sample: str | None = field(
        default=None,
        metadata={
            "help": "Figures whose requests are measured (a file or folder load_figures reads, or a saved "
            "Dataset); default: the built-in demo figures."
        },
    )
    latency: float | None = field(
        default=None,
        metadata={
            "help": "Expected seconds per request, for the bound set by --max-concurrency requests in flight."
        },
    )
    completion_tokens: float | None = field(
        default=None,
        metadata={"help": "Expected completion tokens per request (default: max_tokens, an upper bound)."},
    )
    batch_queue_tokens: int | None = field(
        default=None,
        metadata={
            "help": "The account's enqueued prompt-token limit for batches of this model (Batch API rounds)."
        },
    )
    json_out: str | None = field(default=None, metadata={"help": "Also write the plan as JSON to this file."})

    def __post_init__(self) -> None:
        if self.figures < 0:
            raise ValueError(f"--figures must be >= 0, got {self.figures}")


def build_parser() -> CommandParser:
    """The parser of ``biomed-vital estimate``."""
    return CommandParser(
        [EstimateArguments, GeneratorConfig, BackendConfig, EngineConfig, FigureLoadingConfig],
        prog="biomed-vital estimate",
        description="Plan a generation run: requests, tokens, cost (synchronous and Batch API) and wall-clock "
        "time for N figures, measured on sample figures. Sends nothing.",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``biomed-vital estimate``."""
    arguments, generator_config, backend, engine_config, loading = build_parser().parse(argv)

    from biomed_vital.engine.planner import RequestProfile, plan_run
    from biomed_vital.generation import GPT4VGenerator

    if arguments.sample:
        from biomed_vital.data import load_figure_source

        sample = load_figure_source(arguments.sample, config=loading)
    else:
        from biomed_vital.data import load_demo_figures

        sample = load_demo_figures()
    generator = GPT4VGenerator(config=generator_config, backend=backend, engine_config=engine_config)
    requests = generator.build_requests(sample)
    profile = RequestProfile.measure(generator.engine, requests)
    plan = plan_run(
        arguments.figures,
        profile,
        model=backend.model,
        requests_per_figure=len(requests) / max(1, len(sample)),
        price_table=generator.engine.price_table,
        rpm=engine_config.rpm,
        tpm=engine_config.tpm,
        max_concurrency=engine_config.max_concurrency,
        latency_seconds=arguments.latency,
        completion_tokens=arguments.completion_tokens,
        batch_max_requests=engine_config.batch_max_requests,
        batch_max_bytes=engine_config.batch_max_bytes,
        batch_queue_tokens=arguments.batch_queue_tokens,
    )
    print(plan)
    if arguments.json_out:
        with open(arguments.json_out, "w", encoding="utf-8") as handle:
            json.dump(plan.to_dict(), handle, indent=2)
    return 0
