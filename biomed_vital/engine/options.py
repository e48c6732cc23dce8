"""Building a task's :class:`~biomed_vital.engine.RequestEngine` from keyword options: the fields of
:class:`~biomed_vital.engine.BackendConfig` and :class:`~biomed_vital.engine.EngineConfig` given side by side.

Example:
    >>> engine_from_options("gpt-4o", api_key="sk-x", base_url="http://localhost:8000/v1").backend.provider
    'openai_compatible'
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from biomed_vital.engine.backends import DEFAULT_MODEL, BackendConfig
from biomed_vital.engine.config import EngineConfig
from biomed_vital.engine.engine import RequestEngine

__all__ = ["engine_from_options"]


def engine_from_options(
    model: str | None = None,
    *,
    backend: BackendConfig | None = None,
    engine: RequestEngine | None = None,
    engine_config: EngineConfig | None = None,
    **options: Any,
) -> RequestEngine:
    """Build a task's engine from keyword options, or return the ``engine`` given.

    ``options`` may hold :class:`BackendConfig` fields (``base_url``, ``api_key``,
    ``azure_endpoint``, ``api_version``, ``timeout``, ...) and :class:`EngineConfig` fields
    (``max_concurrency``, ``rpm``, ``cache_dir``, ``budget_usd``, ...). An explicit ``engine``
    is used as it is (so a generator and a judge can share one).

    Example:
        >>> engine_from_options("gpt-4o", api_key="sk-x", max_concurrency=8).config.max_concurrency
        8
    """
    if engine is not None:
        if options or backend is not None or engine_config is not None:
            raise TypeError("pass either engine=... or backend/engine options, not both")
        return engine
    backend_fields = {f.name for f in fields(BackendConfig)}
    backend_options = {name: options.pop(name) for name in list(options) if name in backend_fields}
    if backend is None:
        backend = BackendConfig(**{"model": model or DEFAULT_MODEL, **backend_options})
    elif backend_options:
        raise TypeError(f"pass {sorted(backend_options)} inside backend=BackendConfig(...), not both")
    engine_fields = {f.name for f in fields(EngineConfig)}
    unknown = sorted(set(options) - engine_fields)
    if unknown:
        raise TypeError(
            f"unknown option(s) {unknown}: expected BackendConfig fields ({', '.join(sorted(backend_fields))}) "
            f"or EngineConfig fields ({', '.join(sorted(engine_fields))})"
        )
    return RequestEngine(backend, engine_config, **options)
