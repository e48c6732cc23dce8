"""``build_preferences``: the whole preference build, as ``biomed-vital preferences build`` runs it.

Clinician pairs from annotation records, judge pairs from judged rows, the two mixed with a weight per
source, and optionally split by figure, all set by one
:class:`~biomed_vital.preferences.PreferenceBuildConfig`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from biomed_vital import schema
from biomed_vital.preferences.build_config import PreferenceBuildConfig
from biomed_vital.preferences.clinician import build_clinician_pairs
from biomed_vital.preferences.judge_pairs import build_judge_pairs
from biomed_vital.preferences.mixing import mix_preferences
from biomed_vital.preferences.pair_config import resolve_config
from biomed_vital.preferences.splits import train_test_split_by_figure

if TYPE_CHECKING:  # pragma: no cover
    import datasets

__all__ = ["build_preferences"]


def build_preferences(
    judged: Any = None,
    annotations: Any = None,
    candidates: Any = None,
    config: PreferenceBuildConfig | None = None,
    **overrides: Any,
) -> datasets.Dataset | datasets.DatasetDict:
    """Build clinician and/or judge pairs, mix them, and split them by figure when ``test_size`` is set.

    With ``pairing="score_levels"`` (the ``biomed-vital`` preset) the splits are the paper's instead: judge pairs
    are drawn within each score level's train or test items, and the first ``clinician_train_pairs`` clinician
    pairs go to ``train``, the rest to ``test``; the result is always a ``DatasetDict``.

    Clinician pairs come from ``annotations`` and the ``candidates`` they name (by default the
    ``judged`` rows); judge pairs from ``judged`` unless ``judge_pairs=False``. When both are built,
    ``clinician_weight`` is required: clinician pairs get it and judge pairs keep ``weight``. With
    ``test_size`` the result is a ``DatasetDict`` with ``train`` and ``test``
    (:func:`~biomed_vital.preferences.train_test_split_by_figure`, seeded by ``split_seed`` or
    ``seed``); otherwise one ``Dataset``.

    Args:
        judged: the judged rows: a ``Dataset``, or a path or Hub id that
            :func:`~biomed_vital.schema.load_stage` reads.
        annotations: clinician annotation records: a JSONL path, a ``Dataset`` or a list of dicts.
        candidates: the rows the annotations name, when they are not ``judged`` (a ``Dataset`` or a path).
        config: a :class:`~biomed_vital.preferences.PreferenceBuildConfig`; keyword arguments naming
            its fields override it, and ``preset="biomed-vital"`` starts from a named preset instead.

    Raises:
        ValueError: when there is nothing to build, when annotations come without the rows they name,
            or when both kinds of pair are built without ``clinician_weight``.

    Example:
        >>> splits = build_preferences(judged, "annotations.jsonl", clinician_weight=100.0,
        ...                            test_size=0.1)                      # doctest: +SKIP
        >>> sorted(splits)                                                  # doctest: +SKIP
        ['test', 'train']
    """
    config = resolve_config(PreferenceBuildConfig, config, overrides)
    judged, candidates = _loaded(judged), _loaded(candidates)
    candidates = candidates if candidates is not None else judged
    with_judge = judged is not None and config.judge_pairs
    if annotations is None and not with_judge:
        raise ValueError(
            "nothing to build: give clinician annotations and/or judged rows (with judge_pairs on)"
        )
    if annotations is not None and candidates is None:
        raise ValueError(
            "clinician annotations need the rows they name: give the candidates or the judged rows"
        )
    if annotations is not None and with_judge and config.clinician_weight is None:
        raise ValueError(
            "mixing clinician and judge pairs needs clinician_weight (the paper swept 1, 10, 100, 200, 300, 400)"
        )
    clinician = build_clinician_pairs(annotations, candidates, config) if annotations is not None else None
    judge = build_judge_pairs(judged, config) if with_judge else None
    if config.pairing == "score_levels":
        return _split_by_score_level(clinician, judge, config)
    pairs = _mixed(clinician, judge, config)
    if not config.test_size:
        return pairs
    return train_test_split_by_figure(
        pairs,
        test_size=config.split_test_size,
        seed=config.seed if config.split_seed is None else config.split_seed,
        stratify_by_source=config.stratify_by_source,
    )


def _loaded(source: Any) -> Any:
    """A path or Hub id read with :func:`~biomed_vital.schema.load_stage`; anything else as it is."""
    return schema.load_stage(source) if isinstance(source, (str, os.PathLike)) else source


def _mixed(clinician: Any, judge: Any, config: PreferenceBuildConfig) -> Any:
    """Clinician and judge pairs in one Dataset, weighted by source when ``clinician_weight`` is set."""
    if config.clinician_weight is not None:
        weights = {schema.SOURCE_CLINICIAN: config.clinician_weight, schema.SOURCE_JUDGE: config.weight}
        return mix_preferences(clinician, judge, clinician_weight=weights)
    return clinician if clinician is not None else judge


def _split_by_score_level(clinician: Any, judge: Any, config: PreferenceBuildConfig) -> Any:
    """The paper's splits: judge pairs split within each score level, the first clinician pairs to train."""
    from datasets import DatasetDict

    parts: dict[str, tuple[Any, Any]] = {}
    cut = 0
    if clinician is not None:
        cut = len(clinician)
        if config.clinician_train_pairs is not None:
            cut = min(config.clinician_train_pairs, cut)
    for name, rows in (("train", range(cut)), ("test", range(cut, len(clinician or [])))):
        # a list, not the range: datasets refuses an empty range that starts at the end (all pairs in train)
        clinician_part = clinician.select(list(rows)) if clinician is not None else None
        parts[name] = (clinician_part, judge[name] if judge is not None else None)
    return DatasetDict(
        {
            name: _mixed(clinician_part, judge_part, config)
            for name, (clinician_part, judge_part) in parts.items()
        }
    )
