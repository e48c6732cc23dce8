"""The offline test kit: an OpenAI-compatible stand-in server, a fake Hub, tiny models.

Used by the tests, the demo and the benchmarks; nothing in it touches the network. Names are
loaded lazily so that importing the kit does not import torch. The stand-in server lives in
:mod:`biomed_vital.testing.standin`, the fake Hub in :mod:`biomed_vital.testing.fake_hub`.

Example:
    >>> from biomed_vital.testing import StandInServer
    >>> with StandInServer() as server:                       # doctest: +SKIP
    ...     print(server.base_url)
    http://127.0.0.1:54321/v1
"""

from __future__ import annotations

from biomed_vital._lazy import attach

_LAZY_ATTRIBUTES: dict[str, str] = {
    # the stand-in server's public names, as its package exports them
    "StandInServer": "biomed_vital.testing.standin",
    "StandInConfig": "biomed_vital.testing.standin",
    "FaultConfig": "biomed_vital.testing.standin",
    "LatencyModel": "biomed_vital.testing.standin",
    "FakeHub": "biomed_vital.testing.fake_hub.hub",
    "build_tiny_tokenizer": "biomed_vital.testing.tiny_models",
    "tiny_llava": "biomed_vital.testing.tiny_models",
    "tiny_selector": "biomed_vital.testing.tiny_models",
    "tiny_image_encoder": "biomed_vital.testing.tiny_models",
    "tiny_text_encoder": "biomed_vital.testing.tiny_models",
    "tiny_idefics3": "biomed_vital.testing.tiny_models",
    "tiny_original_llava": "biomed_vital.testing.tiny_models",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY_ATTRIBUTES, {"standin", "fake_hub", "tiny_models"})
