"""`PreferenceDataset`: clinician and judge preference pairs as a `datasets.Dataset`.

Every constructor returns a plain ``datasets.Dataset`` with the *preferences* columns of
:func:`biomed_vital.schema.preference_features`, so the result goes straight into
``SelectorTrainer``, ``save_to_disk`` or ``push_to_hub``:

=======================  ==================================================================
column                   meaning
=======================  ==================================================================
``chosen_image``         ``datasets.Image`` of the preferred item's figure
``rejected_image``       ``datasets.Image`` of the other item's figure
``chosen_text``          :func:`format_selector_text` / :func:`format_selector_conversation`
``rejected_text``        the same layout for the rejected item
``weight``               float; the per-pair loss weight (see :func:`mix_preferences`)
``source``               ``"clinician"`` or ``"judge"``
``annotator``            who judged (clinician label, or the judge model for judge pairs)
``figure_id``            the chosen item's figure (``chosen_figure_id``)
``question``             the compared question (the chosen side's, for judge turns);
                         empty for judge pairs of whole conversations
``pair_kind``            ``clinician_pairwise``, ``clinician_marks``, ``judge_same_question``
                         (per-turn judge scores), ``judge_same_figure`` (per-conversation
                         judge scores), ``judge_score_levels``
``chosen_candidate_id``  candidate ids (empty when an answer was given as text)
``rejected_candidate_id``
``chosen_score``         judge scores (null for clinician pairs)
``rejected_score``
``chosen_figure_id``     both figures; they differ only for judge pairs across score levels
``rejected_figure_id``
``votes``                how many records produced this pair (duplicates are merged)
``timestamp``            the clinician record's timestamp (empty for judge pairs)
=======================  ==================================================================

What is done with the pairs afterwards is a function of its own: :func:`mix_preferences`,
:func:`clinician_weight_sweep`, :func:`deduplicate_preferences`, :func:`train_test_split_by_figure`,
:func:`summarize_preferences` (all in :mod:`biomed_vital.preferences`), and
:func:`build_preferences` for the whole build as the command runs it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from biomed_vital._lazy import attach
from biomed_vital.preferences import dedup, mixing, splits, summary
from biomed_vital.preferences.clinician import build_clinician_pairs
from biomed_vital.preferences.clinician_config import ClinicianPairConfig
from biomed_vital.preferences.judge_pairs import build_judge_pairs
from biomed_vital.preferences.judge_pairs_config import JudgePairConfig
from biomed_vital.preferences.pair_config import resolve_config

if TYPE_CHECKING:  # pragma: no cover
    import datasets

__all__ = ["PreferenceDataset"]


def _deprecated_alias(function: Callable[..., Any], old_name: str) -> Any:
    """A static method ``PreferenceDataset.<old_name>`` that warns and calls ``function``."""
    new_name = f"biomed_vital.preferences.{function.__name__}"

    def alias(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(
            f"PreferenceDataset.{old_name} is deprecated and will be removed in the next release; "
            f"use {new_name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return function(*args, **kwargs)

    alias.__name__, alias.__qualname__ = old_name, f"PreferenceDataset.{old_name}"
    alias.__doc__ = f"Deprecated: use :func:`~{new_name}`, which takes the same arguments."
    return staticmethod(alias)


class PreferenceDataset:
    """Constructors of preference pairs; each returns a ``datasets.Dataset``.

    The class is a namespace (like ``datasets.load_dataset`` returning plain datasets): the
    results are ordinary ``Dataset`` objects with the columns listed in this module's
    docstring, ready for ``SelectorTrainer`` and ``push_to_hub``. Operations on built pairs
    are functions that take and return Datasets (:func:`mix_preferences`, ...).

    Example:
        >>> clinician = PreferenceDataset.from_clinician_annotations("annotations.jsonl", candidates)  # doctest: +SKIP
        >>> judge = PreferenceDataset.from_judge_scores(judged, min_gap=2, pairs_per_item=2, seed=0)  # doctest: +SKIP
        >>> train = mix_preferences(clinician, judge, clinician_weight=100)                           # doctest: +SKIP
        >>> print(summarize_preferences(train))                                                       # doctest: +SKIP
    """

    @classmethod
    def from_clinician_annotations(
        cls, annotations: Any, candidates: Any, config: ClinicianPairConfig | None = None, **overrides: Any
    ) -> datasets.Dataset:
        """Turn clinician judgements into preference pairs.

        Pairwise records with choice ``A``/``B`` give one pair each; ``tie`` and ``both_bad``
        give none and are counted. Accept/reject marks on answers to the same question (same
        figure, same annotator unless ``pair_marks_across_annotators``) give every
        accepted x rejected pair. Pairs with the same figure and texts are merged (``votes``
        counts them); A>B and B>A from different records are contradictions, dropped or kept
        by ``contradictions`` and counted either way. The record schema is documented in
        :mod:`biomed_vital.preferences.annotations`.

        Args:
            annotations: a JSONL path, a ``datasets.Dataset`` or a list of dicts.
            candidates: the candidates (or judged) dataset the records refer to: needs ``id``
                and, for records naming candidates, ``candidate_id`` and ``messages``;
                ``caption``, ``mentions`` and ``image`` are used when present.
            config: a :class:`~biomed_vital.preferences.ClinicianPairConfig` (``weight``,
                ``pair_marks_across_annotators``, ``contradictions``, ``max_mentions``,
                ``image_column``); keyword arguments naming its fields override it.

        Raises:
            AnnotationError: listing every bad record by index (unknown candidate or figure,
                a candidate of another figure, a question the candidate never asks, a bad
                choice value); nothing is built until all records are valid.

        Example:
            >>> pairs = PreferenceDataset.from_clinician_annotations(
            ...     [{"candidate_id_a": "c1", "candidate_id_b": "c2", "question": "What modality?",
            ...       "choice": "B", "annotator": "rad-1"}], candidates, contradictions="keep")  # doctest: +SKIP
        """
        config = resolve_config(ClinicianPairConfig, config, overrides)
        return build_clinician_pairs(annotations, candidates, config)

    @classmethod
    def from_judge_scores(
        cls, judged: Any, config: JudgePairConfig | None = None, **overrides: Any
    ) -> datasets.Dataset:
        """Sample preference pairs from judge scores (the *judged* columns).

        Rows with ``judge_score`` null or not finite, ``judge_status`` other than ``"ok"``,
        or a failed generation (``status`` other than ``"ok"``) are skipped and counted.
        Each usable item anchors up to ``pairs_per_item`` pairs with partners scored at
        least ``min_gap`` apart, the higher score being *chosen*:

        - when its group has other items that far apart, partners come from the same group
          (``pair_kind`` ``judge_same_question`` or ``judge_same_figure``): the comparison the
          judge's scale is most reliable for;
        - otherwise partners come from any figure, by picking an eligible score level
          uniformly and then an item at that level (``pair_kind="judge_score_levels"``),
          as the paper samples pairs across score levels with a minimum gap.

        A pair drawn from both ends is kept once; the same ``seed`` gives the same pairs.

        ``unit`` decides what an item is. ``"turn"`` (the default when the judged data has
        ``judge_turn_scores``, as ``GPT4VJudge(granularity="turn")`` writes): each question/answer
        turn with its own score, laid out with :func:`format_selector_text` exactly like clinician
        pairs and like ``select(score_by="qa_mean")``; the group is the question of one figure.
        Rows whose turn scores do not match their turns are skipped and counted. ``"conversation"``:
        each candidate with ``judge_score``, laid out with :func:`format_selector_conversation`
        (matching ``select(score_by="conversation")``), grouped by figure.

        Args:
            judged: a ``datasets.Dataset`` with ``id``, ``candidate_id``, ``judge_score`` and
                usually ``judge_status``, ``caption``, ``mentions``, ``messages``, ``image``.
            config: a :class:`~biomed_vital.preferences.JudgePairConfig` (``min_gap``,
                ``pairs_per_item``, ``seed``, ``unit``, ``weight``, ``max_mentions``,
                ``image_column``); keyword arguments naming its fields override it.

        Example:
            >>> pairs = PreferenceDataset.from_judge_scores(judged, min_gap=2, pairs_per_item=2, seed=0)  # doctest: +SKIP
        """
        config = resolve_config(JudgePairConfig, config, overrides)
        return build_judge_pairs(judged, config)

    # One name per operation: these forward to the functions, for one release.
    mix = _deprecated_alias(mixing.mix_preferences, "mix")
    weight_sweep = _deprecated_alias(mixing.clinician_weight_sweep, "weight_sweep")
    train_test_split_by_figure = _deprecated_alias(
        splits.train_test_split_by_figure, "train_test_split_by_figure"
    )
    deduplicate = _deprecated_alias(dedup.deduplicate_preferences, "deduplicate")
    summarize = _deprecated_alias(summary.summarize_preferences, "summarize")


# Names this module held before each operation got a module of its own; they import, with a warning, for
# one release.
__getattr__ = attach(
    __name__,
    {},
    deprecated={
        "PAPER_CLINICIAN_WEIGHTS": "biomed_vital.preferences.mixing",
        "mix_preferences": "biomed_vital.preferences.mixing",
        "clinician_weight_sweep": "biomed_vital.preferences.mixing",
        "deduplicate_preferences": "biomed_vital.preferences.dedup",
        "train_test_split_by_figure": "biomed_vital.preferences.splits",
        "summarize_preferences": "biomed_vital.preferences.summary",
        "preference_build_stats": "biomed_vital.preferences.summary",
        "preference_features": "biomed_vital.schema",
    },
)[0]
