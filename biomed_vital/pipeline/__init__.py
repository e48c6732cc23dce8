"""The whole BioMed-VITAL pipeline from one config: sample, annotate, generate, judge, preferences, train the
selector, select, tune, evaluate; each stage in its own folder of the run, resumable, with a dry run.

Example:
    >>> from biomed_vital.pipeline import Pipeline, PipelineConfig
    >>> summary = Pipeline(PipelineConfig(output_dir="runs/vital", figures="figures.jsonl")).run()  # doctest: +SKIP

On the command line: ``biomed-vital run --config run.yaml`` (``biomed-vital run --help`` lists every option).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from biomed_vital._lazy import attach

_LAZY_ATTRIBUTES: dict[str, str] = {
    "Pipeline": "biomed_vital.pipeline.runner",
    "StagePlan": "biomed_vital.pipeline.runner",
    "PipelineConfig": "biomed_vital.pipeline.config",
    "ClinicianConfig": "biomed_vital.pipeline.config",
    "EvaluateStageConfig": "biomed_vital.pipeline.config",
    "PipelineStopped": "biomed_vital.pipeline.context",
    "RunContext": "biomed_vital.pipeline.context",
    "ConfigChangedError": "biomed_vital.pipeline.state",
    "StageRecord": "biomed_vital.pipeline.state",
    "STAGES": "biomed_vital.pipeline.stages",
    "STAGE_NAMES": "biomed_vital.pipeline.stages",
    "demo_pipeline": "biomed_vital.pipeline.demo",
    "push_run": "biomed_vital.pipeline.hub",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY_ATTRIBUTES)

if TYPE_CHECKING:
    from biomed_vital.pipeline.config import ClinicianConfig, EvaluateStageConfig, PipelineConfig
    from biomed_vital.pipeline.context import PipelineStopped, RunContext
    from biomed_vital.pipeline.demo import demo_pipeline
    from biomed_vital.pipeline.hub import push_run
    from biomed_vital.pipeline.runner import Pipeline, StagePlan
    from biomed_vital.pipeline.stages import STAGE_NAMES, STAGES
    from biomed_vital.pipeline.state import ConfigChangedError, StageRecord
