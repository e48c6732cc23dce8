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
    "load_figure_source": "biomed_vital.data.figures",
    "confine_image_references": "biomed_vital.data.figures",
    "FigureLoadingConfig": "biomed_vital.data.loading_config",
    "FigureLoadError": "biomed_vital.data.figures",
    "FIGURE_COLUMNS": "biomed_vital.data.figures",
    "error_cause": "biomed_vital.data.figures",
    "load_demo_figures": "biomed_vital.data.demo",
    "load_image": "biomed_vital.data.images",
    "check_image": "biomed_vital.data.images",
    "resolve_image_path": "biomed_vital.data.images",
    "confine_image_path": "biomed_vital.data.images",
    "image_to_data_url": "biomed_vital.data.images",
    "image_fingerprint": "biomed_vital.data.images",
    "to_rgb": "biomed_vital.data.images",
    "ImageLoadError": "biomed_vital.data.images",
    "DEFAULT_MAX_IMAGE_PIXELS": "biomed_vital.data.images",
    "modality_from_domain": "biomed_vital.data.modality",
    "normalize_domain": "biomed_vital.data.modality",
    "domain_for_modality": "biomed_vital.data.modality",
    "MODALITIES": "biomed_vital.schema",
    "DOMAIN_KEYS": "biomed_vital.schema",
    "conversations_to_messages": "biomed_vital.data.conversations",
    "messages_to_conversations": "biomed_vital.data.conversations",
    "strip_image_token": "biomed_vital.data.conversations",
    "IMAGE_TOKEN": "biomed_vital.data.conversations",
    "clean_text": "biomed_vital.data.conversations",
    "message_text": "biomed_vital.data.conversations",
    "qa_pairs": "biomed_vital.data.conversations",
    "conversation_text": "biomed_vital.data.conversations",
    "format_selector_text": "biomed_vital.data.text",
    "format_selector_conversation": "biomed_vital.data.text",
    "format_selector_pairs": "biomed_vital.data.text",
    "DEFAULT_MAX_MENTIONS": "biomed_vital.data.text",
    "to_llava_json": "biomed_vital.data.export",
    "write_html_report": "biomed_vital.data.viewer",
    "summarize_figures": "biomed_vital.data.summary",
    "plot_figure_summary": "biomed_vital.data.summary",
}

# Moved for one release: the data contract lives in biomed_vital.schema.
_DEPRECATED = {"load_stage": "biomed_vital.schema", "figure_features": "biomed_vital.schema"}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY_ATTRIBUTES, deprecated=_DEPRECATED)

if TYPE_CHECKING:
    from biomed_vital.data.conversations import (
        IMAGE_TOKEN,
        clean_text,
        conversation_text,
        conversations_to_messages,
        message_text,
        messages_to_conversations,
        qa_pairs,
        strip_image_token,
    )
    from biomed_vital.data.demo import load_demo_figures
    from biomed_vital.data.export import to_llava_json
    from biomed_vital.data.figures import (
        FIGURE_COLUMNS,
        FigureLoadError,
        confine_image_references,
        error_cause,
        load_figure_source,
        load_figures,
    )
    from biomed_vital.data.images import (
        DEFAULT_MAX_IMAGE_PIXELS,
        ImageLoadError,
        check_image,
        confine_image_path,
        image_to_data_url,
        load_image,
        resolve_image_path,
        to_rgb,
    )
    from biomed_vital.data.loading_config import FigureLoadingConfig
    from biomed_vital.data.modality import (
        domain_for_modality,
        modality_from_domain,
        normalize_domain,
    )
    from biomed_vital.data.summary import plot_figure_summary, summarize_figures
    from biomed_vital.data.text import (
        DEFAULT_MAX_MENTIONS,
        format_selector_conversation,
        format_selector_pairs,
        format_selector_text,
    )
    from biomed_vital.data.viewer import write_html_report
    from biomed_vital.schema import DOMAIN_KEYS, MODALITIES
