"""Mixing clinician and judge pairs into one training set, with a loss weight per source."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from biomed_vital import schema
from biomed_vital.preferences.pair_config import positive_weight
from biomed_vital.preferences.reading import column_values, require_columns
from biomed_vital.preferences.summary import merge_build_stats, preference_build_stats, with_build_stats

__all__ = ["PAPER_CLINICIAN_WEIGHTS", "clinician_weight_sweep", "mix_preferences"]

#: The clinician weights swept in the BioMed-VITAL paper for the selection-model mixture.
PAPER_CLINICIAN_WEIGHTS: tuple[float, ...] = (1.0, 10.0, 100.0, 200.0, 300.0, 400.0)


def mix_preferences(clinician: Any, judge: Any, *, clinician_weight: float | Mapping[str, float]) -> Any:
    """Concatenate clinician and judge pairs into one dataset and set ``weight`` by ``source``.

    Clinician pairs get ``clinician_weight`` and judge pairs 1.0; a mapping such as
    ``{"clinician": 100, "judge": 1}`` sets every source explicitly (each source in the data
    must then be listed). The paper swept the clinician weight over 1, 10, 100, 200, 300 and
    400 (``PAPER_CLINICIAN_WEIGHTS``; :func:`clinician_weight_sweep` builds them all); there
    is no default because the right value depends on how many clinician pairs there are.
    Either input may be ``None``. Only the ``weight`` column is rewritten: images are not copied.

    Example:
        >>> train = mix_preferences(clinician_pairs, judge_pairs, clinician_weight=100.0)  # doctest: +SKIP
        >>> sorted(set(zip(train["source"], train["weight"])))                              # doctest: +SKIP
        [('clinician', 100.0), ('judge', 1.0)]
    """
    from datasets import Value, concatenate_datasets

    if isinstance(clinician_weight, Mapping):
        weights = {str(k): positive_weight(v, f"weight of source {k!r}") for k, v in clinician_weight.items()}
    else:
        weights = {
            schema.SOURCE_CLINICIAN: positive_weight(clinician_weight, "clinician_weight"),
            schema.SOURCE_JUDGE: 1.0,
        }
    parts = [d for d in (clinician, judge) if d is not None]
    if not parts:
        raise ValueError("mix needs at least one of clinician or judge pairs")
    features = schema.preference_features()
    for name, part in ((schema.SOURCE_CLINICIAN, clinician), (schema.SOURCE_JUDGE, judge)):
        if part is not None:
            require_columns(part, list(features), f"the {name} pairs")
    stats = merge_build_stats(*(preference_build_stats(d) for d in parts))
    parts = [d.select_columns(list(features)).cast(features) if d.features != features else d for d in parts]
    mixed = concatenate_datasets(parts) if len(parts) > 1 else parts[0]
    sources = column_values(mixed, schema.SOURCE)
    unknown = sorted(set(sources) - set(weights))
    if unknown:
        raise ValueError(
            f"no weight given for source(s) {unknown}; pass a mapping with a weight for each of them"
        )
    order = mixed.column_names
    mixed = mixed.remove_columns(schema.WEIGHT).add_column(
        schema.WEIGHT, [weights[s] for s in sources], feature=Value("float64")
    )
    return with_build_stats(mixed.select_columns(order), stats)


def clinician_weight_sweep(
    clinician: Any, judge: Any, clinician_weights: Sequence[float] = PAPER_CLINICIAN_WEIGHTS
) -> dict[float, Any]:
    """Build one mixed dataset per clinician weight (the paper's sweep by default).

    Each result shares the image data of its inputs; only the ``weight`` column differs.

    Example:
        >>> sweep = clinician_weight_sweep(clinician_pairs, judge_pairs)   # doctest: +SKIP
        >>> list(sweep)                                                      # doctest: +SKIP
        [1.0, 10.0, 100.0, 200.0, 300.0, 400.0]
    """
    return {float(w): mix_preferences(clinician, judge, clinician_weight=float(w)) for w in clinician_weights}
