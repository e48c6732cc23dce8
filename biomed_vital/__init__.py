"""biomed_vital: clinician-aligned biomedical visual instruction data and VLM tuning.

The public API is loaded lazily so that ``import biomed_vital`` stays fast and does not
import torch, transformers or trl. Each public name is resolved from its module the first
time it is used::

    >>> import biomed_vital
    >>> figures = biomed_vital.load_demo_figures()   # imports biomed_vital.data only now
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from biomed_vital._lazy import attach

__version__ = "0.1.0.dev0"

# public name -> module that defines it
_LAZY_ATTRIBUTES: dict[str, str] = {
    # 1. data
    "load_figures": "biomed_vital.data",
    "load_demo_figures": "biomed_vital.data",
    "load_image": "biomed_vital.data",
    "image_to_data_url": "biomed_vital.data",
    "modality_from_domain": "biomed_vital.data",
    "conversations_to_messages": "biomed_vital.data",
    "messages_to_conversations": "biomed_vital.data",
    "to_llava_json": "biomed_vital.data",
    "summarize_figures": "biomed_vital.data",
    "plot_figure_summary": "biomed_vital.data",
    "MODALITIES": "biomed_vital.data",
    "FigureLoadError": "biomed_vital.data",
    "ImageLoadError": "biomed_vital.data",
    # 2-3. generation and judging, on one request engine
    "GPT4VGenerator": "biomed_vital.generation",
    "GPT4VJudge": "biomed_vital.generation",
    "RequestEngine": "biomed_vital.generation",
    "EngineConfig": "biomed_vital.generation",
    "BackendConfig": "biomed_vital.generation",
    "PriceTable": "biomed_vital.generation",
    "estimate_cost": "biomed_vital.generation",
    "merge_shards": "biomed_vital.generation",
    "ChatRequest": "biomed_vital.generation",
    # 3. preferences
    "PreferenceDataset": "biomed_vital.preferences",
    "format_selector_text": "biomed_vital.preferences",
    "format_selector_conversation": "biomed_vital.preferences",
    "qa_pairs": "biomed_vital.preferences",
    "mix_preferences": "biomed_vital.preferences",
    "clinician_weight_sweep": "biomed_vital.preferences",
    "read_annotations": "biomed_vital.preferences",
    "append_annotations": "biomed_vital.preferences",
    "AnnotationError": "biomed_vital.preferences",
    "summarize_preferences": "biomed_vital.preferences",
    "train_test_split_by_figure": "biomed_vital.preferences",
    # 4-5. selection
    "SelectorConfig": "biomed_vital.selection",
    "SelectorModel": "biomed_vital.selection",
    "SelectorProcessor": "biomed_vital.selection",
    "SelectorTrainingConfig": "biomed_vital.selection",
    "SelectorTrainer": "biomed_vital.selection",
    "compute_features": "biomed_vital.selection",
    "select": "biomed_vital.selection",
    "degraded_answer_pairs": "biomed_vital.selection",
    # the Hub
    "push_dataset_to_hub": "biomed_vital.hub",
    "dataset_card": "biomed_vital.hub",
    "model_card": "biomed_vital.hub",
}

_LAZY_SUBMODULES = {
    "data",
    "generation",
    "preferences",
    "selection",
    "tuning",
    "evaluation",
    "testing",
    "hub",
    "cli",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY_ATTRIBUTES, _LAZY_SUBMODULES)
__all__ = [*__all__, "__version__"]

if TYPE_CHECKING:  # static type checkers and IDEs see the real objects
    from biomed_vital.data import (  # noqa: F401
        MODALITIES,
        FigureLoadError,
        ImageLoadError,
        conversations_to_messages,
        image_to_data_url,
        load_demo_figures,
        load_figures,
        load_image,
        messages_to_conversations,
        modality_from_domain,
        plot_figure_summary,
        summarize_figures,
        to_llava_json,
    )
    from biomed_vital.generation import (  # noqa: F401
        BackendConfig,
        ChatRequest,
        EngineConfig,
        GPT4VGenerator,
        GPT4VJudge,
        PriceTable,
        RequestEngine,
        estimate_cost,
        merge_shards,
    )
    from biomed_vital.hub import dataset_card, model_card, push_dataset_to_hub  # noqa: F401
    from biomed_vital.preferences import (  # noqa: F401
        AnnotationError,
        PreferenceDataset,
        append_annotations,
        clinician_weight_sweep,
        format_selector_conversation,
        format_selector_text,
        mix_preferences,
        qa_pairs,
        read_annotations,
        summarize_preferences,
        train_test_split_by_figure,
    )
    from biomed_vital.selection import (  # noqa: F401
        SelectorConfig,
        SelectorModel,
        SelectorProcessor,
        SelectorTrainer,
        SelectorTrainingConfig,
        compute_features,
        degraded_answer_pairs,
        select,
    )

# Lets transformers' Auto classes load saved selectors without trust_remote_code; imports nothing heavy.
from biomed_vital.selection._auto_registration import (  # noqa: E402
    install_auto_registration_hook as _install_auto_registration_hook,
)

_install_auto_registration_hook()
