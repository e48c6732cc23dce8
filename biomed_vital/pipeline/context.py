"""What every stage of a run sees: the run's settings by section, its folders, one request engine, and a log.

Example:
    >>> from biomed_vital.pipeline import PipelineConfig
    >>> context = RunContext(PipelineConfig(output_dir="runs/vital"))
    >>> context.path("judge", "judged").as_posix()
    'runs/vital/judge/judged'
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any

from biomed_vital.pipeline.config import ClinicianConfig, EvaluateStageConfig, PipelineConfig

__all__ = ["PipelineStopped", "RunContext"]

STAND_IN_KEY = "sk-offline-stand-in"  # the stand-in accepts any key; a real one comes from the environment


class PipelineStopped(Exception):
    """A stage cannot go on without the user (for example, clinicians still have to annotate); nothing is lost."""


class RunContext:
    """The run's settings (``sections``), folders, shared request engine and what ran against stand-ins."""

    def __init__(
        self,
        pipeline: PipelineConfig,
        sections: dict[str, Any] | None = None,
        *,
        show_progress: bool = True,
    ) -> None:
        from biomed_vital.engine.backends import BackendConfig
        from biomed_vital.engine.config import EngineConfig

        self.pipeline = pipeline
        self.sections: dict[str, Any] = dict(sections or {})
        self.sections.setdefault("clinicians", ClinicianConfig())
        self.sections.setdefault("evaluate", EvaluateStageConfig())
        self.sections.setdefault("backend", BackendConfig())
        self.sections.setdefault("engine", EngineConfig())
        self.show_progress = show_progress
        self.root = Path(pipeline.output_dir)
        #: what runs against a stand-in instead of the real thing: {"endpoint": "...", "clinicians": ...}
        self.stand_ins: dict[str, str] = self._stand_ins()
        #: request counts and spend per stage that called a model
        self.requests: dict[str, dict[str, Any]] = {}
        self._engine: Any = None
        self._exit = contextlib.ExitStack()

    def _stand_ins(self) -> dict[str, str]:
        from biomed_vital.pipeline.config import STAND_IN

        stand_ins = {}
        if self.pipeline.uses_stand_in(self.sections["backend"].base_url):
            stand_ins["endpoint"] = "the offline stand-in server (its replies quote the figure's caption)"
        if self.clinicians.source == "simulated":
            stand_ins["clinicians"] = (
                "simulated: a rule prefers the answer sharing more words with the caption"
            )
        if self.pipeline.selector_model == STAND_IN:
            stand_ins["selector"] = "a tiny random selector built from a config (no pretrained encoders)"
        if self.pipeline.base_model == STAND_IN:
            stand_ins["base model"] = "a tiny random LLaVA built from a config (its answers are noise)"
        return stand_ins

    @property
    def clinicians(self) -> ClinicianConfig:
        return self.sections["clinicians"]

    @property
    def evaluation(self) -> EvaluateStageConfig:
        return self.sections["evaluate"]

    @property
    def cache_dir(self) -> Path:
        """The request cache (and the embedding cache under it), shared by every stage and every rerun."""
        return Path(self.sections["engine"].cache_dir or self.root / "cache")

    def folder(self, stage: str) -> Path:
        return self.root / stage

    def path(self, stage: str, name: str) -> Path:
        """``<output_dir>/<stage>/<name>``, the parent folder created."""
        path = self.folder(stage) / name
        if not self.pipeline.dry_run:
            path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def load(self, stage: str, name: str) -> Any:
        """A Dataset (or DatasetDict) an earlier stage saved."""
        from biomed_vital.schema import load_stage

        path = self.folder(stage) / name
        if not path.exists():
            raise FileNotFoundError(
                f"{path} is missing: run the {stage} stage first (biomed-vital run --until {stage})"
            )
        return load_stage(str(path))

    def log(self, message: str) -> None:
        print(f"   {message}", flush=True)

    def endpoint_settings(self) -> dict[str, Any]:
        """The settings of where requests go that decide what comes back (part of the stages' fingerprints)."""
        backend = self.sections["backend"]
        if self.pipeline.uses_stand_in(backend.base_url):
            return {"stand_in": True, "model": backend.model, "seed": self.pipeline.seed}
        return {"model": backend.model, "provider": backend.provider, "base_url": backend.base_url}

    def engine(self) -> Any:
        """The run's one request engine (cache, limits and budget shared by every stage); started on first use."""
        if self._engine is not None:
            return self._engine
        from biomed_vital.engine import engine_from_options

        backend = self.sections["backend"]
        engine_config = dataclasses.replace(
            self.sections["engine"],
            cache_dir=str(self.cache_dir),
            show_progress=self.show_progress,
            # a dry run only prices requests: it must not create the cache (or anything else)
            use_cache=self.sections["engine"].use_cache and not self.pipeline.dry_run,
        )
        if self.pipeline.uses_stand_in(backend.base_url):
            from biomed_vital.testing import StandInServer

            server = self._exit.enter_context(StandInServer(seed=self.pipeline.seed))
            backend = dataclasses.replace(backend, base_url=server.base_url, api_key=STAND_IN_KEY)
        self._engine = engine_from_options(backend.model, backend=backend, engine_config=engine_config)
        return self._engine

    def record_requests(self, stage: str, task: Any) -> None:
        """Keep the request counts and spend of ``task``'s last run for the summary and the cards."""
        summary = getattr(task, "last_summary", None) or {}
        engine = summary.get("engine") or {}
        cost, cached = engine.get("cost_usd"), engine.get("cached_cost_usd")
        self.requests[stage] = {
            "requests": engine.get("n_requests", 0),
            "sent": engine.get("sent", 0),
            "from_cache": engine.get("cache_hits", 0),
            "cost_usd": cost,
            "total_cost_usd": None if cost is None or cached is None else cost + cached,
        }

    def close(self) -> None:
        """Stop the stand-in server, if one was started."""
        self._exit.close()
        self._engine = None
