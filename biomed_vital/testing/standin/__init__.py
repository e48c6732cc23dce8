"""The offline OpenAI-compatible stand-in server, one concept per module.

* :mod:`~biomed_vital.testing.standin.config`: :class:`StandInConfig`, :class:`LatencyModel`, :class:`FaultConfig`;
* :mod:`~biomed_vital.testing.standin.limiter`: the requests/tokens-per-minute window and OpenAI's headers;
* :mod:`~biomed_vital.testing.standin.validation`: request checks and OpenAI-style error bodies;
* :mod:`~biomed_vital.testing.standin.prompt`, :mod:`~biomed_vital.testing.standin.vocabulary` and
  :mod:`~biomed_vital.testing.standin.replies`: reading a request and writing its canned reply;
* :mod:`~biomed_vital.testing.standin.hashing`: what makes every reply, fault and latency reproducible;
* :mod:`~biomed_vital.testing.standin.state`, :mod:`~biomed_vital.testing.standin.app` and
  :mod:`~biomed_vital.testing.standin.runner`: the request log, the HTTP routes and serving them;
* :mod:`~biomed_vital.testing.standin.server`: :class:`StandInServer`, in a thread or its own process.

``python -m biomed_vital.testing.standin`` is ``biomed-vital serve-standin``.

Example:
    >>> from biomed_vital.testing.standin import StandInConfig, StandInServer
    >>> with StandInServer(StandInConfig(rpm=600)) as server:   # doctest: +SKIP
    ...     print(server.base_url)
    http://127.0.0.1:54321/v1
"""

from __future__ import annotations

from biomed_vital._lazy import attach

_LAZY_ATTRIBUTES: dict[str, str] = {
    "StandInServer": "biomed_vital.testing.standin.server",
    "StandInConfig": "biomed_vital.testing.standin.config",
    "FaultConfig": "biomed_vital.testing.standin.config",
    "LatencyModel": "biomed_vital.testing.standin.config",
    "DEFAULT_MODELS": "biomed_vital.testing.standin.config",
    "FAULT_KINDS": "biomed_vital.testing.standin.config",
    "SlidingWindowLimiter": "biomed_vital.testing.standin.limiter",
    "format_duration": "biomed_vital.testing.standin.limiter",
    "reply_seed_key": "biomed_vital.testing.standin.hashing",
    "STANDIN_MARKER": "biomed_vital.testing.standin.vocabulary",
}

__getattr__, __dir__, __all__ = attach(
    __name__,
    _LAZY_ATTRIBUTES,
    # names of the old module biomed_vital.testing.server, reached through its deprecated path
    deprecated={
        "request_key": "biomed_vital.testing.standin.hashing:reply_seed_key",
        "main": "biomed_vital.cli.commands.serve_standin:main",
        "build_arg_parser": "biomed_vital.cli.commands.serve_standin:build_parser",
    },
)
