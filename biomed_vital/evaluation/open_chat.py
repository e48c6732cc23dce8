"""Scoring open visual chat the way LLaVA-Med does: the relative score of a model to the reference answers.

The judge replies with two scores (1-10) on its first line, the reference answer's (assistant 1) and
the model's (assistant 2), then an explanation. :func:`parse_pair_scores` reads them;
:func:`relative_scores` turns reviewed rows into LLaVA-Med's table:

* relative score = mean over questions of (model score / reference score) x 100,
* reported overall, per question ``type`` (``conversation``, ``detailed_description``) and per domain,
  where a question's domain is its first true flag in the order chest_xray, mri, histology, gross,
  ct_scan (:data:`biomed_vital.schema.DOMAIN_KEYS`); questions with no flag count only overall,
* with both raw mean scores beside it.

A reply that cannot be scored (no two scores on the first line, a score outside 0-10, a reference
score of 0, an unreadable line, a failed request) is counted and listed with its reason, never turned
into a number. Scoring a review file needs no model call.

Example:
    >>> parse_pair_scores("8 6\\nAssistant 1 is more specific.")
    (8.0, 6.0)
    >>> rows = [
    ...     {"question_id": "1", "question_type": "conversation", "domain": {"mri": True}, "review": "8 6"},
    ...     {"question_id": "2", "question_type": "conversation", "domain": {"mri": True}, "review": "no verdict"},
    ... ]
    >>> scores = relative_scores(rows)
    >>> scores.overall.relative_score, scores.overall.n, len(scores.unscorable)
    (75.0, 1, 1)
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from biomed_vital import schema
from biomed_vital.generation.parsing import ReplyParseError

__all__ = [
    "NO_DOMAIN",
    "OpenChatScores",
    "ScoreGroup",
    "UnscorableReview",
    "parse_pair_scores",
    "question_domain",
    "relative_scores",
]

#: the domain bucket of questions without any domain flag (LLaVA-Med leaves them out of the domain columns)
NO_DOMAIN = "no_domain"
QUESTION_TYPES = ("conversation", "detailed_description")

_NUMBER = r"(\d+(?:\.\d+)?)"
_OUT_OF_TEN = re.compile(r"\s*/\s*10(?:\.0+)?\b")
_LABELLED = re.compile(
    rf"assistant\s*(?P<which>[12])\s*(?:\W*\s*(?:score|rating)?\s*(?:is|of|:|=|-)?\s*)*\W*{_NUMBER}",
    re.IGNORECASE,
)
_MARKUP = re.compile(r"[*_`#>]")


def _as_score(text: str, line: str) -> float:
    value = float(text)
    if not math.isfinite(value) or not 0 <= value <= 10:
        raise ReplyParseError(f"score {text} is outside 0-10 in {line!r}")
    return value


def parse_pair_scores(reply: str | None) -> tuple[float, float]:
    """The two scores (assistant 1, assistant 2) of a judge reply, from its first non-empty line.

    Accepts ``8 6``, ``8, 6``, ``8/10 6/10``, ``**8 6**`` and labelled forms such as
    ``Assistant 1: 8, Assistant 2: 6`` (which may also span the first two lines).

    Raises:
        ReplyParseError: the first line does not hold exactly two scores in 0-10.

    Example:
        >>> parse_pair_scores("Assistant 1: 9/10, Assistant 2: 7.5/10\\nBoth are relevant.")
        (9.0, 7.5)
        >>> parse_pair_scores("Assistant 1 gave a more detailed answer.\\n8 6")
        Traceback (most recent call last):
        ...
        biomed_vital.generation.parsing.ReplyParseError: the first line holds 0 numbers, expected the two scores: 'Assistant 1 gave a more detailed answer.'
    """
    lines = [line.strip() for line in (reply or "").splitlines() if line.strip()]
    if not lines:
        raise ReplyParseError("the reply is empty")
    first = _OUT_OF_TEN.sub("", _MARKUP.sub("", lines[0]))
    labelled = {m.group("which"): m.group(2) for m in _LABELLED.finditer(first)}
    if len(labelled) < 2 and len(lines) > 1 and "1" in labelled:
        second = _OUT_OF_TEN.sub("", _MARKUP.sub("", lines[1]))
        labelled.update(
            {m.group("which"): m.group(2) for m in _LABELLED.finditer(second) if m.group("which") == "2"}
        )
    if set(labelled) == {"1", "2"}:
        return _as_score(labelled["1"], lines[0]), _as_score(labelled["2"], lines[0])
    unlabelled = re.sub(r"assistant\s*[12]", " ", first, flags=re.IGNORECASE)
    numbers = re.findall(rf"(?<![\w.]){_NUMBER}(?!\w|\.\d)", unlabelled)
    if len(numbers) != 2:
        raise ReplyParseError(
            f"the first line holds {len(numbers)} numbers, expected the two scores: {lines[0][:120]!r}"
        )
    return _as_score(numbers[0], lines[0]), _as_score(numbers[1], lines[0])


def question_domain(domain: Mapping[str, Any] | None) -> str:
    """A question's domain: its first true flag in the order chest_xray, mri, histology, gross, ct_scan.

    Example:
        >>> question_domain({"histology": True, "gross": True, "ct_scan": False})
        'histology'
        >>> question_domain({})
        'no_domain'
    """
    for key in schema.DOMAIN_KEYS:
        if domain and domain.get(key):
            return key
    return NO_DOMAIN


@dataclass
class ScoreGroup:
    """The scores of one group of questions (overall, a type or a domain)."""

    n: int = 0
    reference_mean: float | None = None
    model_mean: float | None = None
    relative_score: float | None = None

    @classmethod
    def of(cls, pairs: list[tuple[float, float]]) -> ScoreGroup:
        """Means of ``(reference, model)`` score pairs; relative score = mean(model / reference) x 100."""
        if not pairs:
            return cls()
        return cls(
            n=len(pairs),
            reference_mean=sum(r for r, _ in pairs) / len(pairs),
            model_mean=sum(m for _, m in pairs) / len(pairs),
            relative_score=100.0 * sum(m / r for r, m in pairs) / len(pairs),
        )


@dataclass
class UnscorableReview:
    """A review that gave no usable pair of scores, and why."""

    question_id: str
    reason: str
    line: int | None = None
    reply: str = ""


@dataclass
class OpenChatScores:
    """LLaVA-Med's open-chat table for one model: overall, per type, per domain, and what could not be scored.

    Example:
        >>> OpenChatScores.from_dict(relative_scores([{"question_id": "1", "review": "5 4"}]).to_dict()).overall.n
        1
    """

    overall: ScoreGroup
    by_type: dict[str, ScoreGroup] = field(default_factory=dict)
    by_domain: dict[str, ScoreGroup] = field(default_factory=dict)
    unscorable: list[UnscorableReview] = field(default_factory=list)
    n_reviews: int = 0
    model_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OpenChatScores:
        """The inverse of :meth:`to_dict`."""
        return cls(
            overall=ScoreGroup(**data["overall"]),
            by_type={k: ScoreGroup(**v) for k, v in data.get("by_type", {}).items()},
            by_domain={k: ScoreGroup(**v) for k, v in data.get("by_domain", {}).items()},
            unscorable=[UnscorableReview(**u) for u in data.get("unscorable", [])],
            n_reviews=data.get("n_reviews", 0),
            model_id=data.get("model_id", ""),
        )

    def table(self) -> list[tuple[str, ScoreGroup]]:
        """Rows in LLaVA-Med's column order: the types, the domains, then overall (empty groups left out)."""
        rows = [(name, self.by_type[name]) for name in self.by_type]
        rows += [
            (name, self.by_domain[name])
            for name in (*schema.DOMAIN_KEYS, NO_DOMAIN)
            if name in self.by_domain
        ]
        rows.append(("overall", self.overall))
        return rows

    def __str__(self) -> str:
        lines = [f"{'group':<22}{'n':>5}{'reference':>11}{'model':>8}{'relative':>10}"]
        for name, group in self.table():
            if group.n:
                lines.append(
                    f"{name:<22}{group.n:>5}{group.reference_mean:>11.2f}{group.model_mean:>8.2f}"
                    f"{group.relative_score:>9.1f}%"
                )
        lines.append(f"unscorable: {len(self.unscorable)} of {self.n_reviews} reviews")
        return "\n".join(lines)


def relative_scores(reviews: Iterable[Mapping[str, Any]], *, model_id: str = "") -> OpenChatScores:
    """LLaVA-Med's relative scores of reviewed rows (``question_id``, ``question_type``, ``domain``, ``review``).

    ``reviews`` is a review Dataset (:func:`~biomed_vital.evaluation.read_reviews`, or the output of
    :class:`~biomed_vital.evaluation.OpenChatJudge`) or any rows with those keys; a row with a
    non-empty ``error`` or ``review_error`` is unscorable.

    Example:
        >>> rows = [{"question_id": "1", "question_type": "detailed_description", "domain": {"ct_scan": True},
        ...          "review": "10 5"}]
        >>> relative_scores(rows).by_domain["ct_scan"].relative_score
        50.0
    """
    pairs: list[tuple[float, float]] = []
    by_type: dict[str, list[tuple[float, float]]] = {name: [] for name in QUESTION_TYPES}
    by_domain: dict[str, list[tuple[float, float]]] = {}
    unscorable: list[UnscorableReview] = []
    n = 0
    models: set[str] = set()
    for row in reviews:
        n += 1
        question_id = str(row.get("question_id", ""))
        line = row.get("line") or None
        reply = row.get("review") or ""
        if row.get("model_id"):
            models.add(str(row["model_id"]))
        problem = row.get(schema.ERROR) or row.get("review_error")
        if problem:
            unscorable.append(UnscorableReview(question_id, str(problem), line, reply[:500]))
            continue
        try:
            reference, model = parse_pair_scores(reply)
        except ReplyParseError as error:
            unscorable.append(
                UnscorableReview(question_id, f"unparseable review: {error}", line, reply[:500])
            )
            continue
        if reference == 0:
            unscorable.append(
                UnscorableReview(question_id, "the reference answer scored 0 (no ratio)", line, reply[:500])
            )
            continue
        pairs.append((reference, model))
        by_type.setdefault(str(row.get("question_type") or "unknown"), []).append((reference, model))
        by_domain.setdefault(question_domain(row.get(schema.DOMAIN)), []).append((reference, model))
    return OpenChatScores(
        overall=ScoreGroup.of(pairs),
        by_type={name: ScoreGroup.of(values) for name, values in by_type.items() if values},
        by_domain={
            name: ScoreGroup.of(by_domain[name])
            for name in (*schema.DOMAIN_KEYS, NO_DOMAIN)
            if name in by_domain
        },
        unscorable=unscorable,
        n_reviews=n,
        model_id=model_id or (", ".join(sorted(models)) if models else ""),
    )
