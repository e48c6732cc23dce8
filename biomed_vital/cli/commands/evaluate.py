"""``biomed-vital evaluate``: evaluate one or more models' answer files and write a report folder.

Example:
    $ biomed-vital evaluate --questions llava_med_eval_qa50_qa.jsonl \\
          --answers answers/ours.jsonl answers/llava-med.jsonl --model gpt-4o --out report/
    $ biomed-vital evaluate --reviews llava-med-review.jsonl --out report/      # no model call
    $ biomed-vital evaluate --vqa Slake1.0/ --vqa-split test \\
          --answers slake/ours.jsonl slake/llava-med.jsonl --out report-slake/
"""

from __future__ import annotations

from collections.abc import Sequence

from biomed_vital.cli.parser import CommandParser
from biomed_vital.engine.backends import BackendConfig
from biomed_vital.engine.config import EngineConfig
from biomed_vital.evaluation.evaluation_config import EvaluationConfig

__all__ = ["build_parser", "main"]


def build_parser() -> CommandParser:
    """The parser of ``biomed-vital evaluate``."""
    return CommandParser(
        [EvaluationConfig, BackendConfig, EngineConfig],
        prog="biomed-vital evaluate",
        description=(
            "Evaluate models on open visual chat (LLaVA-Med's relative score), from review files, or on a VQA "
            "benchmark, with win rates between every pair of models; --model is the judge."
        ),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``biomed-vital evaluate``."""
    parser = build_parser()
    config, backend, engine_config = parser.parse(argv)
    if not (config.out or config.dry_run):
        parser.error("--out is required (or --dry-run to only print the projected cost)")

    from biomed_vital.evaluation import evaluate

    report = evaluate(config, backend=backend, engine_config=engine_config)
    if config.dry_run:
        return 0
    print(report.markdown())
    print(f"report written to {config.out}: {', '.join(report.files)}")
    return 0
