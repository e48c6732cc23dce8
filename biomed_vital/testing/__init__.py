"""The offline test kit: an OpenAI-compatible stand-in server, a fake Hub, tiny models.

Used by the tests, the demo and the benchmarks; nothing in it touches the network. Names are
loaded lazily so that importing the kit does not import torch.

Example:
    >>> from biomed_vital.testing import StandInServer
    >>> with StandInServer() as server:                       # doctest: +SKIP
    ...     print(server.base_url)
    http://127.0.0.1:54321/v1
"""

from __future__ import annotations

from biomed_vital._lazy import attach

_LAZY_ATTRIBUTES: dict[str, str] = {
    "StandInServer": "biomed_vital.testing.server",
    "FaultConfig": "biomed_vital.testing.server",
    "LatencyModel": "biomed_vital.testing.server",
    "FakeHub": "biomed_vital.testing.fake_hub",
    "build_tiny_tokenizer": "biomed_vital.testing.tiny_models",
    "tiny_llava": "biomed_vital.testing.tiny_models",
    "tiny_selector": "biomed_vital.testing.tiny_models",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY_ATTRIBUTES)
