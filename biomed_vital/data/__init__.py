"""The data layer: figures from LLaVA-Med / BioMed-VITAL / image folders / the Hub, safe images, conversions.

Names are loaded lazily so that ``import biomed_vital.data`` stays cheap; ``datasets`` is imported
only by the functions that build Datasets.

Example:
    >>> from biomed_vital.data import load_demo_figures, summarize_figures
    >>> figures = load_demo_figures()                   # doctest: +SKIP
    >>> print(summarize_figures(figures))               # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from biomed_vital._lazy import attach

_LAZY_ATTRIBUTES: dict[str, str] = {
    "load_figures": "biomed_vital.data.figures",
    "figure_features": "biomed_vital.data.figures",
    "FigureLoadError": "biomed_vital.data.figures",
    "FIGURE_COLUMNS": "biomed_vital.data.figures",
    "error_cause": "biomed_vital.data.figures",
    "load_demo_figures": "biomed_vital.data.demo",
    "load_image": "biomed_vital.data.images",
    "check_image": "biomed_vital.data.images",
    "resolve_image_path": "biomed_vital.data.images",
    "image_to_data_url": "biomed_vital.data.images",
    "image_fingerprint": "biomed_vital.data.images",
    "to_rgb": "biomed_vital.data.images",
    "ImageLoadError": "biomed_vital.data.images",
    "DEFAULT_MAX_IMAGE_PIXELS": "biomed_vital.data.images",
    "modality_from_domain": "biomed_vital.data.modality",
    "normalize_domain": "biomed_vital.data.modality",
    "domain_for_modality": "biomed_vital.data.modality",
    "MODALITIES": "biomed_vital.data.modality",
    "DOMAIN_KEYS": "biomed_vital.data.modality",
    "conversations_to_messages": "biomed_vital.data.conversations",
    "messages_to_conversations": "biomed_vital.data.conversations",
    "strip_image_token": "biomed_vital.data.conversations",
    "IMAGE_TOKEN": "biomed_vital.data.conversations",
    "to_llava_json": "biomed_vital.data.export",
    "summarize_figures": "biomed_vital.data.summary",
    "load_stage": "biomed_vital.data.stages",
    "plot_figure_summary": "biomed_vital.data.summary",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY_ATTRIBUTES)

if TYPE_CHECKING:
    from biomed_vital.data.conversations import (  # noqa: F401
        IMAGE_TOKEN,
        conversations_to_messages,
        messages_to_conversations,
        strip_image_token,
    )
    from biomed_vital.data.demo import load_demo_figures  # noqa: F401
    from biomed_vital.data.export import to_llava_json  # noqa: F401
    from biomed_vital.data.figures import (  # noqa: F401
        FIGURE_COLUMNS,
        FigureLoadError,
        error_cause,
        figure_features,
        load_figures,
    )
    from biomed_vital.data.images import (  # noqa: F401
        DEFAULT_MAX_IMAGE_PIXELS,
        ImageLoadError,
        check_image,
        image_to_data_url,
        load_image,
        resolve_image_path,
        to_rgb,
    )
    from biomed_vital.data.modality import (  # noqa: F401
        DOMAIN_KEYS,
        MODALITIES,
        domain_for_modality,
        modality_from_domain,
        normalize_domain,
    )
    from biomed_vital.data.summary import plot_figure_summary, summarize_figures  # noqa: F401
