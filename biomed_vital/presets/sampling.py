"""The ``biomed-vital`` preset's sampling settings (``SamplerConfig``).

They are defined with the sampler, in :data:`biomed_vital.sampling.sampler_config.SAMPLER_PRESETS`
(``SamplerConfig.from_preset`` and ``biomed-vital sample --preset`` read them there); this module only lists
them in the registry, so that ``get_preset("biomed-vital")`` covers every stage.
"""

from __future__ import annotations

from typing import Any

from biomed_vital.sampling.sampler_config import SAMPLER_PRESETS

__all__ = ["BIOMED_VITAL", "BIOMED_VITAL_SWEEPS"]

BIOMED_VITAL: dict[str, dict[str, Any]] = {"SamplerConfig": SAMPLER_PRESETS["biomed-vital"]}

BIOMED_VITAL_SWEEPS: dict[str, tuple[Any, ...]] = {}
