"""``annotation_agreement``: how far clinicians agree, and whether the side an answer is shown on sways them.

Agreement is measured on pairwise records of items that several annotators judged. Choices are
compared by *which candidate* was preferred, not by side, since each annotator may see the two
answers in a different order. Two annotators give Cohen's kappa, three or more Fleiss' kappa (on
the items every one of them judged). The position-bias rate is the share of decisive choices
(A or B) that went to the answer shown as A (left), over records whose order was randomised (the
app writes ``swapped``); without bias it is near 0.5, and a binomial test says how surprising the
observed share is.

Example:
    >>> records = [
    ...     {"item_id": "i1", "candidate_id_a": "c1", "candidate_id_b": "c2", "choice": "A", "annotator": "r1"},
    ...     {"item_id": "i1", "candidate_id_a": "c2", "candidate_id_b": "c1", "choice": "B", "annotator": "r2"},
    ...     {"item_id": "i2", "candidate_id_a": "c3", "candidate_id_b": "c4", "choice": "tie", "annotator": "r1"},
    ...     {"item_id": "i2", "candidate_id_a": "c3", "candidate_id_b": "c4", "choice": "B", "annotator": "r2"},
    ... ]
    >>> report = annotation_agreement(records)
    >>> report.statistic, report.items, report.observed_agreement
    ('cohen', 2, 0.5)
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["AgreementReport", "annotation_agreement", "cohen_kappa", "fleiss_kappa"]

_LABELS = ("first", "second", "tie", "both_bad")


@dataclass
class AgreementReport:
    """Agreement between annotators and their position bias (see the module docstring)."""

    annotators: list[str]
    items: int  # items compared (judged by both annotators, or by every annotator for Fleiss)
    statistic: str | None  # "cohen", "fleiss", or None with fewer than two annotators
    kappa: float | None
    observed_agreement: float | None
    left_rate: float | None  # share of decisive choices for the answer shown as A
    decisive: int
    left_p_value: float | None
    left_rate_by_annotator: dict[str, float | None] = field(default_factory=dict)
    judgements_by_annotator: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain values (for JSON).

        Example:
            >>> annotation_agreement([]).to_dict()["items"]
            0
        """
        return asdict(self)

    def __str__(self) -> str:
        def number(value: float | None, digits: int = 3) -> str:
            return (
                "n/a"
                if value is None or (isinstance(value, float) and math.isnan(value))
                else f"{value:.{digits}f}"
            )

        name = {"cohen": "Cohen's kappa", "fleiss": "Fleiss' kappa"}.get(self.statistic or "", "kappa")
        lines = [
            f"annotators: {', '.join(self.annotators) or 'none'} "
            f"({', '.join(f'{a}: {n}' for a, n in self.judgements_by_annotator.items())} judgements)",
            f"{name}: {number(self.kappa)} on {self.items} shared item(s); observed agreement "
            f"{number(self.observed_agreement)}",
            f"position bias: {number(self.left_rate)} of {self.decisive} decisive choices went to the answer "
            f"shown as A (0.5 = none; binomial p = {number(self.left_p_value)})",
        ]
        for annotator, rate in self.left_rate_by_annotator.items():
            lines.append(f"  {annotator}: {number(rate)} shown-as-A rate")
        return "\n".join(lines)


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float:
    """Cohen's kappa of two raters' labels on the same items (1.0 when both always agree on one label).

    Example:
        >>> cohen_kappa(["a", "b", "a", "b"], ["a", "b", "b", "b"])
        0.5
    """
    if len(first) != len(second) or not first:
        raise ValueError("cohen_kappa needs two equally long, non-empty label lists")
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    counts_first, counts_second = Counter(first), Counter(second)
    expected = sum(counts_first[label] * counts_second[label] for label in counts_first) / (n * n)
    if expected >= 1.0:  # both raters used one and the same label throughout: full agreement
        return 1.0
    return (observed - expected) / (1.0 - expected)


def fleiss_kappa(ratings: Sequence[Sequence[str]]) -> float:
    """Fleiss' kappa: ``ratings[i]`` holds every rater's label of item ``i`` (the same number of raters per item).

    Example:
        >>> round(fleiss_kappa([["a", "a", "a"], ["b", "b", "a"], ["b", "b", "b"]]), 3)
        0.55
    """
    if not ratings:
        raise ValueError("fleiss_kappa needs at least one item")
    raters = len(ratings[0])
    if raters < 2 or any(len(item) != raters for item in ratings):
        raise ValueError("fleiss_kappa needs the same number (>= 2) of ratings for every item")
    n_items = len(ratings)
    totals: Counter[str] = Counter()
    agreement = 0.0
    for item in ratings:
        counts = Counter(item)
        totals.update(counts)
        agreement += (sum(c * c for c in counts.values()) - raters) / (raters * (raters - 1))
    observed = agreement / n_items
    expected = sum((count / (n_items * raters)) ** 2 for count in totals.values())
    if expected >= 1.0:
        return 1.0 if observed == 1.0 else float("nan")
    return (observed - expected) / (1.0 - expected)


def _item_key(record: Mapping[str, Any]) -> tuple[Any, ...]:
    if record.get("item_id"):
        return ("item", record["item_id"])
    answers = sorted(str(record.get(f"candidate_id_{s}") or record.get(f"answer_{s}") or "") for s in "ab")
    question = " ".join(str(record.get("question") or "").split()).casefold()
    return ("pair", record.get("figure_id"), question, *answers)


def _label(record: Mapping[str, Any]) -> str:
    """The choice as which candidate won (side-independent): first / second in sorted order, tie, both_bad."""
    choice = record["choice"]
    if choice in ("tie", "both_bad"):
        return choice
    a = str(record.get("candidate_id_a") or record.get("answer_a") or "")
    b = str(record.get("candidate_id_b") or record.get("answer_b") or "")
    winner = a if choice == "A" else b
    return "first" if winner == min(a, b) else "second"


def _binomial_p(successes: int, trials: int) -> float | None:
    if trials == 0:
        return None
    from scipy.stats import binomtest

    return float(binomtest(successes, trials, 0.5).pvalue)


def annotation_agreement(records: Any) -> AgreementReport:
    """Inter-annotator agreement (Cohen's kappa for two, Fleiss' for more) and the position-bias rate.

    Args:
        records: annotation records: a JSONL path, a Dataset or a list of dicts (mark records are
            ignored; when an annotator judged an item twice, the later record counts).

    Returns:
        An :class:`AgreementReport`; ``print(report)`` gives a short summary.

    Example:
        >>> print(annotation_agreement("annotations.jsonl"))   # doctest: +SKIP
        annotators: rad-1, rad-2 (rad-1: 40, rad-2: 40 judgements)
        Cohen's kappa: 0.612 on 40 shared item(s); observed agreement 0.750
        ...
    """
    from biomed_vital.preferences.annotations import read_annotations

    pairwise = [r for r in read_annotations(records) if r["kind"] == "pairwise"]
    labels: dict[str, dict[tuple[Any, ...], str]] = defaultdict(dict)
    left: dict[str, list[bool]] = defaultdict(list)
    for record in pairwise:
        annotator = record["annotator"] or "(unnamed)"
        labels[annotator][_item_key(record)] = _label(record)
        if record.get("swapped") is not None and record["choice"] in ("A", "B"):
            left[annotator].append(record["choice"] == "A")
    annotators = sorted(labels)
    statistic: str | None = None
    kappa = observed = None
    shared: list[tuple[Any, ...]] = []
    if len(annotators) >= 2:
        shared = sorted(set.intersection(*(set(labels[a]) for a in annotators)), key=str)
        statistic = "cohen" if len(annotators) == 2 else "fleiss"
        if shared:
            rows = [[labels[a][item] for a in annotators] for item in shared]
            observed = sum(len(set(row)) == 1 for row in rows) / len(rows)
            if statistic == "cohen":
                kappa = cohen_kappa([row[0] for row in rows], [row[1] for row in rows])
            else:
                kappa = fleiss_kappa(rows)
    all_left = [choice for annotator in annotators for choice in left.get(annotator, [])]
    return AgreementReport(
        annotators=annotators,
        items=len(shared),
        statistic=statistic,
        kappa=kappa,
        observed_agreement=observed,
        left_rate=sum(all_left) / len(all_left) if all_left else None,
        decisive=len(all_left),
        left_p_value=_binomial_p(sum(all_left), len(all_left)),
        left_rate_by_annotator={
            a: (sum(left[a]) / len(left[a]) if left.get(a) else None) for a in annotators
        },
        judgements_by_annotator={a: len(labels[a]) for a in annotators},
    )
