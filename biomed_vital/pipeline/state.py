"""Which stages of a run are done, and with which settings: the ``stage.json`` written last in each stage folder.

A stage folder counts as done only when its ``stage.json`` exists; the file is written after every output of
the stage is complete (atomically: a temporary file renamed), so a run killed in the middle of a stage leaves
no marker and the stage runs again (the request cache keeps what was already answered). The marker holds a
fingerprint of the stage's settings *and* of the stages before it, so a changed setting makes its stage and
every later one out of date.

Example:
    >>> len(fingerprint({"generate": {"n_candidates": 2}}, upstream=""))
    64
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["MARKER", "ConfigChangedError", "StageRecord", "fingerprint", "settings_of"]

MARKER = "stage.json"

# Settings that change where or how visibly a stage runs but not what it produces.
_NOT_IN_FINGERPRINT = frozenset(
    {
        "output_dir",
        "logging_dir",
        "show_progress",
        "disable_tqdm",
        "cache_dir",
        "report_to",
        "logging_steps",
        "max_concurrency",
        "push_to_hub",
        "hub_model_id",
        "hub_token",
        "api_key",
        "dry_run",
        "allow_config_change",
        "until",
        "public",
    }
)


class ConfigChangedError(ValueError):
    """A stage's saved output was made with other settings than the run's."""


def settings_of(config: Any) -> dict[str, Any]:
    """The settings of a config dataclass (or a mapping) that decide a stage's output, as JSON-ready values.

    Example:
        >>> from biomed_vital.generation import GeneratorConfig
        >>> settings_of(GeneratorConfig(n_candidates=3))["n_candidates"]
        3
    """
    if not dataclasses.is_dataclass(config):
        return {str(k): _plain(v) for k, v in dict(config).items() if k not in _NOT_IN_FINGERPRINT}
    return {
        f.name: _plain(getattr(config, f.name))
        for f in dataclasses.fields(config)
        if f.init and f.name not in _NOT_IN_FINGERPRINT and not f.metadata.get("secret")
    }


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if hasattr(value, "value"):  # enums (TrainingArguments' strategies)
        return _plain(value.value)
    return str(value)


def fingerprint(settings: Any, *, upstream: str) -> str:
    """A stable hash of a stage's settings and the fingerprint of the stage before it."""
    text = json.dumps({"settings": settings, "upstream": upstream}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class StageRecord:
    """The marker of a finished stage: its name, fingerprint, settings, summary and when it finished."""

    stage: str
    fingerprint: str
    settings: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    finished_at: float = 0.0

    @classmethod
    def read(cls, folder: str | os.PathLike[str]) -> StageRecord | None:
        """The marker in ``folder``, or None when the stage has not finished there."""
        path = Path(folder) / MARKER
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
            return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"{path} is not a stage marker ({error}); delete it to run the stage again"
            ) from error

    def write(self, folder: str | os.PathLike[str]) -> None:
        """Write the marker last, atomically, so a half-written stage never looks finished."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.finished_at = self.finished_at or time.time()
        temporary = folder / f".{MARKER}.tmp"
        temporary.write_text(json.dumps(dataclasses.asdict(self), indent=2, default=str) + "\n")
        os.replace(temporary, folder / MARKER)

    def changed_settings(self, settings: dict[str, Any]) -> list[str]:
        """``Config.field`` names whose value differs between this marker and ``settings``."""
        changed = []
        for name in sorted(set(self.settings) | set(settings)):
            before, now = self.settings.get(name, {}), settings.get(name, {})
            if not isinstance(before, dict) or not isinstance(now, dict):
                if before != now:
                    changed.append(name)
                continue
            for key in sorted(set(before) | set(now)):
                if before.get(key) != now.get(key):
                    changed.append(f"{name}.{key}: {before.get(key)!r} -> {now.get(key)!r}")
        return changed
