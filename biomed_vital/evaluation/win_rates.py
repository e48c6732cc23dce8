"""Win rates from pairwise verdicts judged in both orders, with a bootstrap interval and the position bias.

Each question is judged twice, once with model 1 as assistant A and once with it as assistant B
(:class:`~biomed_vital.evaluation.PairwiseJudge`). The two verdicts, read by :func:`parse_verdict`,
give the question's outcome: the model both verdicts prefer, or a tie when they say tie or disagree
(a disagreement means the judge followed the position, not the answers; its share is the
position-bias rate). The win rate of model 1 is (wins + ties / 2) / questions, with a percentile
bootstrap interval over questions. Questions whose verdicts cannot be read are counted and listed,
never guessed.

Example:
    >>> parse_verdict("Assistant A names the correct organ; B does not.\\n[[A]]")
    'A'
    >>> outcome_of("A", "B")   # model 1 was A first, then B: preferred both times
    'win'
    >>> result = win_rate(["win", "win", "tie", "loss"], seed=0)
    >>> result.win_rate, result.wins, result.ties
    (0.625, 2, 1)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from biomed_vital.generation.parsing import ReplyParseError

__all__ = ["Verdict", "WinRate", "outcome_of", "parse_verdict", "win_rate"]

Verdict = Literal["A", "B", "tie"]
Outcome = Literal["win", "loss", "tie"]

_TOKEN = r"(A|B|C|tie|draw)"
_BRACKETED = re.compile(rf"\[\[\s*{_TOKEN}\s*\]\]", re.IGNORECASE)
# "Final verdict: B"; the verdict letter must be a capital, so "the verdict is a tie" is not read as A
_NAMED = re.compile(
    r"(?i:(?:final\s+)?(?:verdict|decision|winner)\s*(?:is)?\s*[:\-=]?\s*\**\s*\[*\s*(?:assistant\s+)?)"
    r"(A|B|C|[Tt]ie|TIE|[Dd]raw)\b"
)
_LAST_LINE = re.compile(rf"^\W*(?:assistant\s+)?{_TOKEN}\W*$", re.IGNORECASE)
_SINGLE_BRACKET = re.compile(rf"\[\s*{_TOKEN}\s*\]", re.IGNORECASE)


def _verdict(token: str) -> Verdict:
    token = token.strip().lower()
    if token in ("a", "b"):
        return token.upper()  # type: ignore[return-value]
    return "tie"  # "C" (BioMed-VITAL's tie), "tie", "draw"


def parse_verdict(reply: str | None) -> Verdict:
    """The verdict of a pairwise judge reply: ``"A"``, ``"B"`` or ``"tie"``.

    Reads ``[[A]]`` / ``[[B]]`` / ``[[tie]]`` (and ``[[C]]``, which BioMed-VITAL's prompt uses for a
    tie) wherever they stand, before or after an explanation; ``Final verdict: B``; and a last line
    that is only the verdict. When several different verdicts appear, an explicit "verdict: ..."
    wins, then the last line that holds one verdict; otherwise the reply is ambiguous.

    Raises:
        ReplyParseError: no verdict, or contradicting verdicts.

    Example:
        >>> parse_verdict("[[B]]\\nAssistant B matches the ground truth.")
        'B'
        >>> parse_verdict("Both are correct and equally concise. Final verdict: [[C]]")
        'tie'
        >>> parse_verdict("Assistant A is better.")
        Traceback (most recent call last):
        ...
        biomed_vital.generation.parsing.ReplyParseError: no verdict ([[A]], [[B]] or [[tie]]) in the reply: 'Assistant A is better.'
    """
    text = (reply or "").strip()
    if not text:
        raise ReplyParseError("the reply is empty")
    named = [_verdict(m.group(1)) for m in _NAMED.finditer(text)]
    if named:
        if len(set(named)) == 1:
            return named[0]
        return named[-1]  # "my first verdict was A ... final verdict: B"
    bracketed = [_verdict(m.group(1)) for m in _BRACKETED.finditer(text)]
    if len(set(bracketed)) == 1:
        return bracketed[0]
    lines = [line for line in text.splitlines() if line.strip()]
    if bracketed:  # e.g. "[[A]] is more detailed than [[B]] ... \n[[B]]"
        for line in reversed(lines):
            found = {_verdict(m.group(1)) for m in _BRACKETED.finditer(line)}
            if len(found) == 1:
                return found.pop()
            if found:
                break
        raise ReplyParseError(f"contradicting verdicts {sorted(set(bracketed))} in the reply: {text[:160]!r}")
    last = _LAST_LINE.match(lines[-1]) or _SINGLE_BRACKET.fullmatch(lines[-1].strip(" *.`"))
    if last:
        return _verdict(last.group(1))
    raise ReplyParseError(f"no verdict ([[A]], [[B]] or [[tie]]) in the reply: {text[:160]!r}")


def outcome_of(verdict_first: Verdict, verdict_second: Verdict) -> Outcome:
    """Model 1's outcome on a question from the verdict with it as A (first) and as B (second).

    Example:
        >>> outcome_of("B", "A"), outcome_of("A", "A"), outcome_of("tie", "tie")
        ('loss', 'tie', 'tie')
    """
    first = {"A": "win", "B": "loss", "tie": "tie"}[verdict_first]
    second = {"B": "win", "A": "loss", "tie": "tie"}[verdict_second]
    return first if first == second else "tie"  # type: ignore[return-value]


@dataclass
class WinRate:
    """Model 1's win rate against model 2 over the questions both verdicts of which were read."""

    model_1: str = ""
    model_2: str = ""
    n: int = 0
    wins: int = 0
    losses: int = 0
    ties: int = 0
    win_rate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float = 0.95
    position_bias_rate: float | None = None
    first_position_rate: float | None = None
    unjudged: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)

    def __str__(self) -> str:
        if not self.n:
            return f"{self.model_1} vs {self.model_2}: no question judged ({len(self.unjudged)} unjudged)"
        return (
            f"{self.model_1} vs {self.model_2}: win rate {100 * (self.win_rate or 0):.1f}% "
            f"[{100 * (self.ci_low or 0):.1f}, {100 * (self.ci_high or 0):.1f}] over {self.n} questions "
            f"({self.wins} wins, {self.ties} ties, {self.losses} losses); position bias "
            f"{100 * (self.position_bias_rate or 0):.1f}%; {len(self.unjudged)} unjudged"
        )


def win_rate(
    outcomes: Sequence[Outcome],
    *,
    position_biased: Sequence[bool] | None = None,
    first_position_picks: tuple[int, int] | None = None,
    n_bootstrap: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    model_1: str = "",
    model_2: str = "",
    unjudged: Sequence[dict[str, Any]] = (),
) -> WinRate:
    """Win rate (wins + ties / 2) / n with a percentile bootstrap interval over questions.

    Args:
        outcomes: model 1's outcome per question (:func:`outcome_of`).
        position_biased: per question, whether the two orders picked the same position (A twice or
            B twice); its mean is the position-bias rate.
        first_position_picks: ``(verdicts for assistant A, verdicts for A or B)`` over every read verdict.
        n_bootstrap, confidence, seed: the bootstrap (resampling questions with replacement).

    Example:
        >>> r = win_rate(["win"] * 8 + ["loss"] * 2, seed=1)
        >>> r.win_rate, r.ci_low <= 0.8 <= r.ci_high
        (0.8, True)
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    values = [{"win": 1.0, "tie": 0.5, "loss": 0.0}[o] for o in outcomes]
    result = WinRate(
        model_1=model_1,
        model_2=model_2,
        n=len(values),
        wins=sum(o == "win" for o in outcomes),
        losses=sum(o == "loss" for o in outcomes),
        ties=sum(o == "tie" for o in outcomes),
        confidence=confidence,
        unjudged=list(unjudged),
    )
    if position_biased:
        result.position_bias_rate = sum(position_biased) / len(position_biased)
    if first_position_picks and first_position_picks[1]:
        result.first_position_rate = first_position_picks[0] / first_position_picks[1]
    if not values:
        return result
    import numpy as np

    result.win_rate = sum(values) / len(values)
    rng = np.random.default_rng(seed)
    scores = np.asarray(values)
    means = []
    for start in range(0, n_bootstrap, 256):  # chunks keep memory flat for large question sets
        size = min(256, n_bootstrap - start)
        means.append(scores[rng.integers(0, len(scores), size=(size, len(scores)))].mean(axis=1))
    tail = (1 - confidence) / 2
    low, high = np.quantile(np.concatenate(means), [tail, 1 - tail])
    result.ci_low, result.ci_high = float(low), float(high)
    return result
