"""``biomed-vital run``: the whole pipeline from one YAML config, resumable stage by stage.

Every stage's config dataclass is a section of the config file and of the command line
(``generate: {n_candidates: 2}`` or ``--generate.n_candidates 2``); where requests go
(``--model``, ``--base_url``, limits, cache, budget) is shared by the stages that call a model.

Example:
    $ biomed-vital run --config run.yaml --dry_run
    $ biomed-vital run --config run.yaml --until select
    $ biomed-vital run --config run.yaml                      # goes on from select
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from biomed_vital.cli.parser import CommandParser

__all__ = ["SECTIONS", "build_parser", "main", "pipeline_from_args"]

#: (section, module, dataclass): the stages' configs, in the pipeline's order
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("sample", "biomed_vital.sampling.sampler_config", "SamplerConfig"),
    ("clinicians", "biomed_vital.pipeline.config", "ClinicianConfig"),
    ("generate", "biomed_vital.generation.generator_config", "GeneratorConfig"),
    ("judge", "biomed_vital.generation.judge_config", "JudgeConfig"),
    ("preferences", "biomed_vital.preferences.build_config", "PreferenceBuildConfig"),
    ("train_selector", "biomed_vital.selection.training_config", "SelectorTrainingConfig"),
    ("select", "biomed_vital.selection.scoring_config", "SelectionConfig"),
    ("tune", "biomed_vital.tuning.config", "VisualInstructionConfig"),
    ("evaluate", "biomed_vital.pipeline.config", "EvaluateStageConfig"),
)


def build_parser(prog: str = "biomed-vital run", description: str | None = None) -> CommandParser:
    """The parser of ``biomed-vital run``: the run's own options, the endpoint, and one section per stage."""
    import importlib

    from biomed_vital.engine.backends import BackendConfig
    from biomed_vital.engine.config import EngineConfig
    from biomed_vital.pipeline.config import PipelineConfig

    sections: list[Any] = [PipelineConfig, BackendConfig, EngineConfig]
    for section, module, name in SECTIONS:
        sections.append((getattr(importlib.import_module(module), name), section))
    return CommandParser(
        sections,
        prog=prog,
        description=description
        or "Run the BioMed-VITAL pipeline (sample, annotate, generate, judge, preferences, train_selector, "
        "select, tune, evaluate) from one config; a rerun goes on from the last finished stage.",
    )


def pipeline_from_args(parsed: Sequence[Any], *, show_progress: bool = True) -> Any:
    """The :class:`~biomed_vital.pipeline.Pipeline` that parsed options describe."""
    import datasets

    from biomed_vital.pipeline import Pipeline

    datasets.disable_progress_bars()  # the stages show their own progress; Arrow's map/filter bars are noise here
    if not (show_progress and parsed[2].show_progress):
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights" and "Writing model shards"
    pipeline_config, backend, engine, *stage_configs = parsed
    sections = {"backend": backend, "engine": engine}
    sections.update(
        {section: config for (section, _, _), config in zip(SECTIONS, stage_configs, strict=True)}
    )
    return Pipeline(pipeline_config, sections, show_progress=show_progress and engine.show_progress)


def run_and_report(pipeline: Any) -> int:
    """Run ``pipeline``; a stage that waits for people is not an error (rc 0, with what to do next)."""
    from biomed_vital.pipeline import PipelineStopped

    try:
        pipeline.run()
    except PipelineStopped as stopped:
        print(f"\nstopped: {stopped}")
        return 0
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``biomed-vital run``."""
    return run_and_report(pipeline_from_args(build_parser().parse(argv)))
