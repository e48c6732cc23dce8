"""Run the whole pipeline from one config: plan, resume from the last finished stage, summarise.

Example:
    >>> from biomed_vital.pipeline import Pipeline, PipelineConfig
    >>> pipeline = Pipeline(PipelineConfig(output_dir="runs/vital", figures="demo"))
    >>> [step.stage for step in pipeline.plan()][:2]                     # doctest: +SKIP
    ['figures', 'sample']
    >>> summary = pipeline.run()                                          # doctest: +SKIP
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from typing import Any

from biomed_vital.pipeline.config import PipelineConfig
from biomed_vital.pipeline.context import RunContext
from biomed_vital.pipeline.stages import stage as stage_named
from biomed_vital.pipeline.state import ConfigChangedError, StageRecord, fingerprint, settings_of

__all__ = ["Pipeline", "StagePlan"]


@dataclass
class StagePlan:
    """What a run will do with one stage: ``reuse`` its finished output, ``run`` it, or ``rerun`` it (changed)."""

    stage: str
    action: str
    fingerprint: str
    settings: dict[str, Any]
    changed: list[str] = field(default_factory=list)


class Pipeline:
    """The stages of BioMed-VITAL run in order, each from the folders of those before it.

    Args:
        config: where the run lives, what it starts from and which stages run.
        sections: the stages' config dataclasses by section name (``sample``, ``generate``, ``judge``,
            ``preferences``, ``train_selector``, ``select``, ``tune``, ``clinicians``, ``evaluate``,
            ``backend``, ``engine``); those not given take their defaults.
        show_progress: progress bars for the long stages.

    Example:
        >>> from biomed_vital.generation import GeneratorConfig
        >>> pipeline = Pipeline(PipelineConfig(output_dir="runs/vital", until="judge"),
        ...                     {"generate": GeneratorConfig(n_candidates=3)})            # doctest: +SKIP
        >>> pipeline.run()["stages"]["judge"]["judged"]                                   # doctest: +SKIP
        27
    """

    def __init__(
        self, config: PipelineConfig, sections: dict[str, Any] | None = None, *, show_progress: bool = True
    ) -> None:
        self.config = config
        self.context = RunContext(config, _with_defaults(sections or {}), show_progress=show_progress)

    def _section_settings(self, name: str) -> Any:
        config, context = self.config, self.context
        if name == "figures":
            evaluation = context.evaluation
            return {
                "figures": config.figures,
                "image_root": config.image_root,
                "seed": config.seed,
                "held_out": evaluation.held_out,
                "questions": evaluation.questions,
                "evaluated": "evaluate" in config.stages(),
            }
        if name == "endpoint":
            return context.endpoint_settings()
        if name == "models":
            return {"selector_model": config.selector_model, "base_model": config.base_model}
        return context.sections[name]

    def plan(self) -> list[StagePlan]:
        """Each stage of the run with what will happen to it, in order."""
        steps, upstream, forced = [], "", False
        for name in self.config.stages():
            stage = stage_named(name)
            settings = {s: settings_of(self._section_settings(s)) for s in stage.sections}
            current = fingerprint(settings, upstream=upstream)
            record = StageRecord.read(self.context.folder(name))
            changed: list[str] = []
            if record is None:
                action = "run"
            elif record.fingerprint != current:
                action, changed = (
                    "rerun",
                    record.changed_settings(settings) or ["an earlier stage's settings"],
                )
            elif forced:  # its inputs are made again, so it is too
                action = "run"
            else:
                action = "reuse"
            forced = forced or action != "reuse"
            steps.append(StagePlan(name, action, current, settings, changed))
            upstream = current
        return steps

    def _check_changes(self, steps: list[StagePlan]) -> None:
        changed = [step for step in steps if step.action == "rerun"]
        if changed and not self.config.allow_config_change:
            first = changed[0]
            raise ConfigChangedError(
                f"{self.context.folder(first.stage)} was made with other settings ({'; '.join(first.changed[:3])}); "
                "add --allow_config_change to rerun it and every later stage, or choose another --output_dir"
            )

    def describe(self) -> str:
        """The plan as text: each stage, what happens to it, and the projected requests and spend."""
        from biomed_vital.pipeline.estimate import projected_requests

        lines = [f"plan for {self.context.root}:"]
        for step in self.plan():
            note = f" ({'; '.join(step.changed[:2])})" if step.changed else ""
            lines.append(f"  {step.stage:<15} {step.action:<6} {stage_named(step.stage).description}{note}")
        lines.extend(projected_requests(self))
        return "\n".join(lines)

    def run(self) -> dict[str, Any]:
        """Run every stage not already done with the same settings; return (and write) the run's summary.

        Raises:
            ConfigChangedError: a finished stage was made with other settings (before anything runs).
            biomed_vital.pipeline.PipelineStopped: a stage needs the user first (clinicians to annotate); the stages before it are kept.
        """
        if self.config.dry_run:
            print(self.describe())
            return {}
        steps = self.plan()
        self._check_changes(steps)
        self.context.root.mkdir(parents=True, exist_ok=True)
        summary: dict[str, Any] = {"output_dir": str(self.context.root), "stages": {}, "seconds": {}}
        try:
            for index, step in enumerate(steps, 1):
                stage = stage_named(step.stage)
                folder = self.context.folder(step.stage)
                if step.action == "reuse":
                    record = StageRecord.read(folder)
                    assert record is not None
                    summary["stages"][step.stage] = record.summary
                    print(
                        f"\n== {index}. {step.stage}: done before with the same settings, reused ({folder})",
                        flush=True,
                    )
                    continue
                print(f"\n== {index}. {step.stage}: {stage.description}", flush=True)
                if folder.exists():  # a half-done or outdated stage starts clean; the request cache stays
                    shutil.rmtree(folder)
                started = time.perf_counter()
                result = stage.run(self.context)
                StageRecord(step.stage, step.fingerprint, step.settings, _jsonable(result)).write(folder)
                summary["stages"][step.stage] = result
                summary["seconds"][step.stage] = round(time.perf_counter() - started, 1)
        finally:
            self.context.close()
        summary["stand_ins"] = dict(self.context.stand_ins)
        summary["requests"] = dict(self.context.requests)
        if self.config.push_to_hub:
            from biomed_vital.pipeline.hub import push_run

            summary["pushed"] = push_run(self, summary)
        self._write_summary(summary)
        return summary

    def _write_summary(self, summary: dict[str, Any]) -> None:
        from biomed_vital.pipeline.summary import summary_table

        (self.context.root / "summary.json").write_text(json.dumps(_jsonable(summary), indent=2) + "\n")
        table = summary_table(summary)
        (self.context.root / "summary.md").write_text(table + "\n")
        print("\n" + table, flush=True)


def _with_defaults(sections: dict[str, Any]) -> dict[str, Any]:
    """Every stage's config, the given ones as they are and the others at their defaults."""
    from biomed_vital.generation import GeneratorConfig, JudgeConfig
    from biomed_vital.preferences import PreferenceBuildConfig
    from biomed_vital.sampling import SamplerConfig
    from biomed_vital.selection import SelectionConfig

    defaults: dict[str, Any] = {
        "sample": SamplerConfig,
        "generate": GeneratorConfig,
        "judge": JudgeConfig,
        "preferences": PreferenceBuildConfig,
        "select": SelectionConfig,
    }
    filled = dict(sections)
    for name, config_class in defaults.items():
        filled.setdefault(name, config_class())
    if "train_selector" not in filled:
        from biomed_vital.selection import SelectorTrainingConfig

        filled["train_selector"] = SelectorTrainingConfig("selector", report_to="none")
    if "tune" not in filled:
        from biomed_vital.tuning import VisualInstructionConfig

        filled["tune"] = VisualInstructionConfig("tuned", report_to="none")
    return filled


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
