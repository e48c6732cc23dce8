"""Stage 1 of BioMed-VITAL: a diverse draw of figures for clinicians, and the demonstrations they approve.

* :class:`DemonstrationSampler` (options: :class:`SamplerConfig`) embeds figures with image and text
  encoders, clusters the pool and draws figures spread over clusters and modalities, and plots the draw;
* :func:`select_demonstrations` keeps the conversations clinicians approved in the annotation app;
* :class:`DemonstrationPool` is how the generator draws those demonstrations per request.

Names are loaded lazily, so importing this package costs nothing until a name is used.

Example:
    >>> from biomed_vital.sampling import DemonstrationSampler
    >>> sampler = DemonstrationSampler(embedding="lightweight")     # doctest: +SKIP
    >>> drawn = sampler.sample(figures, k=20)                        # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from biomed_vital._lazy import attach

_LAZY_ATTRIBUTES: dict[str, str] = {
    "DemonstrationSampler": "biomed_vital.sampling.sampler",
    "SampleResult": "biomed_vital.sampling.sampler",
    "CLUSTER": "biomed_vital.sampling.sampler",
    "figure_text": "biomed_vital.sampling.sampler",
    "SamplerConfig": "biomed_vital.sampling.sampler_config",
    "SAMPLER_PRESETS": "biomed_vital.sampling.sampler_config",
    "HuggingFaceEncoders": "biomed_vital.sampling.encoders",
    "SelectorEncoders": "biomed_vital.sampling.encoders",
    "LightweightEncoders": "biomed_vital.sampling.encoders",
    "EmbeddingCache": "biomed_vital.sampling.embedding_cache",
    "default_embedding_cache_dir": "biomed_vital.sampling.embedding_cache",
    "plot_projection": "biomed_vital.sampling.plotting",
    "Demonstration": "biomed_vital.sampling.demonstrations",
    "DemonstrationPool": "biomed_vital.sampling.demonstrations",
    "DEMONSTRATION_COLUMNS": "biomed_vital.sampling.demonstrations",
    "load_demonstrations": "biomed_vital.sampling.demonstrations",
    "select_demonstrations": "biomed_vital.sampling.demonstrations",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY_ATTRIBUTES)

if TYPE_CHECKING:
    from biomed_vital.sampling.demonstrations import (
        DEMONSTRATION_COLUMNS,
        Demonstration,
        DemonstrationPool,
        load_demonstrations,
        select_demonstrations,
    )
    from biomed_vital.sampling.embedding_cache import EmbeddingCache, default_embedding_cache_dir
    from biomed_vital.sampling.encoders import HuggingFaceEncoders, LightweightEncoders, SelectorEncoders
    from biomed_vital.sampling.plotting import plot_projection
    from biomed_vital.sampling.sampler import CLUSTER, DemonstrationSampler, SampleResult, figure_text
    from biomed_vital.sampling.sampler_config import SAMPLER_PRESETS, SamplerConfig
