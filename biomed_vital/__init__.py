"""biomed_vital: clinician-aligned biomedical visual instruction data (BioMed-VITAL).

The public API is loaded lazily so that ``import biomed_vital`` stays fast and does not
import torch, transformers or trl. Each public name is resolved from its module the first
time it is used::

    >>> import biomed_vital
    >>> figures = biomed_vital.load_demo_figures()   # imports biomed_vital.data only now

Packages, one per concern: :mod:`~biomed_vital.schema` (the data contract between stages),
:mod:`~biomed_vital.data`, :mod:`~biomed_vital.sampling`, :mod:`~biomed_vital.engine` (every model call),
:mod:`~biomed_vital.generation`, :mod:`~biomed_vital.annotation`, :mod:`~biomed_vital.preferences`,
:mod:`~biomed_vital.selection`, :mod:`~biomed_vital.tuning`, :mod:`~biomed_vital.evaluation`, :mod:`~biomed_vital.hub`,
:mod:`~biomed_vital.cli`
and :mod:`~biomed_vital.testing`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from biomed_vital._lazy import attach

__version__ = "0.1.0.dev0"

# public name -> module that defines it
_LAZY_ATTRIBUTES: dict[str, str] = {
    # the data contract
    "load_stage": "biomed_vital.schema",
    "MODALITIES": "biomed_vital.schema",
    # 1. data
    "load_figures": "biomed_vital.data",
    "FigureLoadingConfig": "biomed_vital.data",
    "load_demo_figures": "biomed_vital.data",
    "load_image": "biomed_vital.data",
    "image_to_data_url": "biomed_vital.data",
    "modality_from_domain": "biomed_vital.data",
    "conversations_to_messages": "biomed_vital.data",
    "messages_to_conversations": "biomed_vital.data",
    "qa_pairs": "biomed_vital.data",
    "format_selector_text": "biomed_vital.data",
    "format_selector_conversation": "biomed_vital.data",
    "to_llava_json": "biomed_vital.data",
    "write_html_report": "biomed_vital.data",
    "summarize_figures": "biomed_vital.data",
    "plot_figure_summary": "biomed_vital.data",
    "FigureLoadError": "biomed_vital.data",
    "ImageLoadError": "biomed_vital.data",
    # 1. sampling figures for clinicians, and the demonstrations they approve
    "DemonstrationSampler": "biomed_vital.sampling",
    "SamplerConfig": "biomed_vital.sampling",
    "DemonstrationPool": "biomed_vital.sampling",
    "select_demonstrations": "biomed_vital.sampling",
    # every model call goes through one request engine
    "RequestEngine": "biomed_vital.engine",
    "EngineConfig": "biomed_vital.engine",
    "BackendConfig": "biomed_vital.engine",
    "PriceTable": "biomed_vital.engine",
    "estimate_cost": "biomed_vital.engine",
    "merge_shards": "biomed_vital.engine",
    "ChatRequest": "biomed_vital.engine",
    # 2-3. generation and judging
    "GPT4VGenerator": "biomed_vital.generation",
    "GeneratorConfig": "biomed_vital.generation",
    "GPT4VJudge": "biomed_vital.generation",
    "JudgeConfig": "biomed_vital.generation",
    "ModelTask": "biomed_vital.generation",
    # 3. preferences
    "PreferenceDataset": "biomed_vital.preferences",
    "ClinicianPairConfig": "biomed_vital.preferences",
    "JudgePairConfig": "biomed_vital.preferences",
    "PreferenceBuildConfig": "biomed_vital.preferences",
    "build_preferences": "biomed_vital.preferences",
    "mix_preferences": "biomed_vital.preferences",
    "deduplicate_preferences": "biomed_vital.preferences",
    "clinician_weight_sweep": "biomed_vital.preferences",
    "read_annotations": "biomed_vital.preferences",
    "append_annotations": "biomed_vital.preferences",
    "AnnotationError": "biomed_vital.preferences",
    "summarize_preferences": "biomed_vital.preferences",
    "train_test_split_by_figure": "biomed_vital.preferences",
    "degraded_answer_pairs": "biomed_vital.preferences",
    # 3. the clinician annotation app
    "annotation_app": "biomed_vital.annotation",
    "annotation_agreement": "biomed_vital.annotation",
    # 4-5. selection
    "SelectorConfig": "biomed_vital.selection",
    "SelectorModel": "biomed_vital.selection",
    "SelectorProcessor": "biomed_vital.selection",
    "SelectorTrainingConfig": "biomed_vital.selection",
    "SelectorTrainer": "biomed_vital.selection",
    "SelectionConfig": "biomed_vital.selection",
    "compute_features": "biomed_vital.selection",
    "select": "biomed_vital.selection",
    # 6. tuning
    "VisualInstructionConfig": "biomed_vital.tuning",
    "VisualInstructionTrainer": "biomed_vital.tuning",
    "load_training_data": "biomed_vital.tuning",
    "mix_training_data": "biomed_vital.tuning",
    "convert_llava_checkpoint": "biomed_vital.tuning",
    "merge_adapter": "biomed_vital.tuning",
    "generate_answers": "biomed_vital.tuning",
    # 6. evaluation
    "evaluate": "biomed_vital.evaluation",
    "EvaluationConfig": "biomed_vital.evaluation",
    "EvaluationReport": "biomed_vital.evaluation",
    "OpenChatJudge": "biomed_vital.evaluation",
    "OpenChatJudgeConfig": "biomed_vital.evaluation",
    "PairwiseJudge": "biomed_vital.evaluation",
    "PairwiseJudgeConfig": "biomed_vital.evaluation",
    "QuestionAnswerer": "biomed_vital.evaluation",
    "AnswerConfig": "biomed_vital.evaluation",
    "regenerate_references": "biomed_vital.evaluation",
    "read_questions": "biomed_vital.evaluation",
    "read_answers": "biomed_vital.evaluation",
    "read_reviews": "biomed_vital.evaluation",
    "write_answers": "biomed_vital.evaluation",
    "write_reviews": "biomed_vital.evaluation",
    "join_answers": "biomed_vital.evaluation",
    "relative_scores": "biomed_vital.evaluation",
    "pair_answers": "biomed_vital.evaluation",
    "pairwise_win_rate": "biomed_vital.evaluation",
    "load_vqa": "biomed_vital.evaluation",
    "score_vqa": "biomed_vital.evaluation",
    "metric_path": "biomed_vital.evaluation",
    # the Hub
    "push_dataset_to_hub": "biomed_vital.hub",
    "dataset_card": "biomed_vital.hub",
    "model_card": "biomed_vital.hub",
}

_LAZY_SUBMODULES = {
    "schema",
    "data",
    "sampling",
    "engine",
    "generation",
    "annotation",
    "preferences",
    "selection",
    "tuning",
    "evaluation",
    "hub",
    "cli",
    "testing",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY_ATTRIBUTES, _LAZY_SUBMODULES)
__all__ = [*__all__, "__version__"]

if TYPE_CHECKING:  # static type checkers and IDEs see the real objects
    from biomed_vital.annotation import annotation_agreement, annotation_app
    from biomed_vital.data import (
        FigureLoadError,
        FigureLoadingConfig,
        ImageLoadError,
        conversations_to_messages,
        format_selector_conversation,
        format_selector_text,
        image_to_data_url,
        load_demo_figures,
        load_figures,
        load_image,
        messages_to_conversations,
        modality_from_domain,
        plot_figure_summary,
        qa_pairs,
        summarize_figures,
        to_llava_json,
        write_html_report,
    )
    from biomed_vital.engine import (
        BackendConfig,
        ChatRequest,
        EngineConfig,
        PriceTable,
        RequestEngine,
        estimate_cost,
        merge_shards,
    )
    from biomed_vital.evaluation import (
        AnswerConfig,
        EvaluationConfig,
        EvaluationReport,
        OpenChatJudge,
        OpenChatJudgeConfig,
        PairwiseJudge,
        PairwiseJudgeConfig,
        QuestionAnswerer,
        evaluate,
        join_answers,
        load_vqa,
        metric_path,
        pair_answers,
        pairwise_win_rate,
        read_answers,
        read_questions,
        read_reviews,
        regenerate_references,
        relative_scores,
        score_vqa,
        write_answers,
        write_reviews,
    )
    from biomed_vital.generation import GeneratorConfig, GPT4VGenerator, GPT4VJudge, JudgeConfig, ModelTask
    from biomed_vital.hub import dataset_card, model_card, push_dataset_to_hub
    from biomed_vital.preferences import (
        AnnotationError,
        ClinicianPairConfig,
        JudgePairConfig,
        PreferenceBuildConfig,
        PreferenceDataset,
        append_annotations,
        build_preferences,
        clinician_weight_sweep,
        deduplicate_preferences,
        degraded_answer_pairs,
        mix_preferences,
        read_annotations,
        summarize_preferences,
        train_test_split_by_figure,
    )
    from biomed_vital.sampling import (
        DemonstrationPool,
        DemonstrationSampler,
        SamplerConfig,
        select_demonstrations,
    )
    from biomed_vital.schema import MODALITIES, load_stage
    from biomed_vital.selection import (
        SelectionConfig,
        SelectorConfig,
        SelectorModel,
        SelectorProcessor,
        SelectorTrainer,
        SelectorTrainingConfig,
        compute_features,
        select,
    )
    from biomed_vital.tuning import (
        VisualInstructionConfig,
        VisualInstructionTrainer,
        convert_llava_checkpoint,
        generate_answers,
        load_training_data,
        merge_adapter,
        mix_training_data,
    )

# Lets transformers' Auto classes load saved selectors without trust_remote_code; imports nothing heavy.
from biomed_vital.selection.auto import install_auto_registration_hook as _install_auto_registration_hook  # noqa: E402

_install_auto_registration_hook()

# Modules that moved keep importing from their old paths for one release (listed in CHANGELOG.md).
from biomed_vital._deprecated import install_moved_module_finder as _install_moved_module_finder  # noqa: E402

_install_moved_module_finder()
