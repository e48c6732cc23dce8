"""VQA answer metrics: closed-question accuracy, open-question recall, exact match, token F1 and BLEU.

Every metric compares a model's free-text reply with a short ground-truth answer after the same
normalisation (:func:`normalize_answer`: lower case, punctuation removed, number words as digits,
articles dropped). The values are fractions in [0, 1]; reports show them as percentages.

* **Closed questions** (yes/no, or a choice such as "left or right"): :func:`extract_yes_no` reads
  the reply's answer with word boundaries and negations, so "not", "normal" or "nodule" never count
  as "no", and "there is no evidence of a fracture" or "the heart is not enlarged" do. A reply
  with neither a yes/no nor a negation answers nothing and is counted wrong.
* **Open questions**: recall is the share of the ground truth's tokens that appear in the reply
  (how LLaVA-Med reports open-question accuracy); exact match, token F1 and BLEU (sacrebleu's
  corpus BLEU) are the usual string metrics.

Each metric is also an ``evaluate`` module shipped with the package (:func:`metric_path`), so
``evaluate.load(metric_path("vqa_closed_accuracy"))`` works offline.

Example:
    >>> extract_yes_no("No, there is no evidence of pneumothorax.")
    'no'
    >>> extract_yes_no("The nodule is not calcified.")
    'no'
    >>> extract_yes_no("A nodule is seen in the left lobe.") is None
    True
    >>> closed_accuracy(["Yes, the lesion enhances.", "Normal study."], ["yes", "no"])
    0.5
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

__all__ = [
    "METRIC_NAMES",
    "bleu",
    "closed_accuracy",
    "closed_correct",
    "exact_match",
    "extract_yes_no",
    "metric_path",
    "normalize_answer",
    "open_recall",
    "token_f1",
    "token_recall",
]

#: the evaluate modules shipped in ``biomed_vital/evaluation/metrics/<name>/<name>.py``
METRIC_NAMES = ("vqa_closed_accuracy", "vqa_open_recall", "vqa_exact_match", "vqa_token_f1", "vqa_bleu")

_NUMBER_WORDS = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
}
_ARTICLES = frozenset({"a", "an", "the"})
# a comma inside a number ("1,000") is dropped; a period inside one ("2.5") is kept; other punctuation
# becomes a space
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3})")
_PUNCTUATION = re.compile(r"(?<!\d)\.|\.(?!\d)|[^\w\s'.]|_")
_EXPLICIT_ANSWER = re.compile(
    r"^\W*(?:(?:final\s+)?answer\s*(?:is)?\s*[:\-]?\s*)?(yes|no)\b|\banswer\s+is\s*:?\s*(yes|no)\b"
)
_YES = re.compile(r"\byes\b")
# negations that answer a yes/no question with "no"; word boundaries keep "not" out of "nodule"
_NEGATION = re.compile(
    r"\b(?:no|not|none|never|neither|nor|without|cannot|absent|absence|negative\s+for)\b|n't\b"
)

YesNo = Literal["yes", "no"]


def normalize_answer(text: str | None) -> str:
    """Lower case, punctuation removed, number words as digits, articles dropped, spaces collapsed.

    Example:
        >>> normalize_answer("The Left  Lung, two nodules.")
        'left lung 2 nodules'
        >>> normalize_answer("1,000 ml (2.5 L)")
        '1000 ml 2.5 l'
    """
    text = (text or "").lower().replace("\u2019", "'")
    words = _PUNCTUATION.sub(" ", _THOUSANDS.sub("", text)).split()
    kept = []
    for word in words:
        word = word.strip("'")
        word = _NUMBER_WORDS.get(word, word)
        if word and word not in _ARTICLES:
            kept.append(word)
    return " ".join(kept)


def extract_yes_no(reply: str | None) -> YesNo | None:
    """The yes/no answer a reply gives, or ``None`` when it gives none (or both).

    An explicit answer wins: the reply starts with "yes"/"no" or says "the answer is yes/no". Otherwise a
    standalone "yes" means yes, and a negation ("no", "not", "n't", "none", "without", "absent",
    "negative for", "no evidence of", ...) means no; words that merely contain "no" ("normal",
    "nodule", "know", "nothing") do not count. A reply with both, or with neither, is ``None``.

    Example:
        >>> [extract_yes_no(r) for r in ["Yes.", "no", "The heart isn't enlarged.", "Normal heart size."]]
        ['yes', 'no', 'no', None]
        >>> extract_yes_no("The answer is yes; there is no other lesion.")
        'yes'
    """
    text = " ".join((reply or "").lower().replace("\u2019", "'").split())
    explicit = _EXPLICIT_ANSWER.search(text)
    if explicit:
        return explicit.group(1) or explicit.group(2)  # type: ignore[return-value]
    said_yes = bool(_YES.search(text))
    negated = bool(_NEGATION.search(text))
    if said_yes and not negated:
        return "yes"
    if negated and not said_yes:
        return "no"
    return None


def closed_correct(prediction: str | None, reference: str | None) -> bool:
    """Whether a reply answers a closed question correctly.

    A yes/no reference is compared with :func:`extract_yes_no` of the reply. Any other closed answer
    (a choice such as "left", "axial", "CT") must appear in the normalised reply as whole words and
    not right after "not"/"no".

    Example:
        >>> closed_correct("There is no evidence of a fracture.", "no")
        True
        >>> closed_correct("The nodule is benign.", "no")
        False
        >>> closed_correct("It is on the left side.", "Left"), closed_correct("Not left but right.", "left")
        (True, False)
    """
    target = normalize_answer(reference)
    if target in ("yes", "no"):
        return extract_yes_no(prediction) == target
    if not target:
        return False
    reply = normalize_answer(prediction)
    for match in re.finditer(rf"(?<!\S){re.escape(target)}(?!\S)", reply):
        before = reply[: match.start()].split()
        if not before or before[-1] not in ("not", "no"):
            return True
    return False


def closed_accuracy(predictions: Sequence[str | None], references: Sequence[str | None]) -> float:
    """Share of closed questions answered correctly (:func:`closed_correct`).

    Example:
        >>> closed_accuracy(["No.", "Not sure, no nodule is visible.", "Yes"], ["no", "no", "no"])
        0.6666666666666666
    """
    _check_lengths(predictions, references)
    if not references:
        return 0.0
    return sum(closed_correct(p, r) for p, r in zip(predictions, references, strict=True)) / len(references)


def token_recall(prediction: str | None, reference: str | None) -> float:
    """Share of the reference's normalised tokens (with repeats) that appear in the reply.

    Example:
        >>> token_recall("A mass in the right upper lobe.", "right lower lobe")
        0.6666666666666666
    """
    target = normalize_answer(reference).split()
    if not target:
        return 0.0
    reply = set(normalize_answer(prediction).split())
    return sum(token in reply for token in target) / len(target)


def open_recall(predictions: Sequence[str | None], references: Sequence[str | None]) -> float:
    """Mean :func:`token_recall` over open questions (LLaVA-Med's open-question score).

    Example:
        >>> open_recall(["Right lower lobe pneumonia.", "CT scan"], ["right lower lobe", "MRI"])
        0.5
    """
    _check_lengths(predictions, references)
    if not references:
        return 0.0
    return sum(token_recall(p, r) for p, r in zip(predictions, references, strict=True)) / len(references)


def exact_match(predictions: Sequence[str | None], references: Sequence[str | None]) -> float:
    """Share of replies equal to the reference after :func:`normalize_answer`.

    Example:
        >>> exact_match(["The liver.", "liver lesion"], ["liver", "liver"])
        0.5
    """
    _check_lengths(predictions, references)
    if not references:
        return 0.0
    hits = sum(
        normalize_answer(p) == normalize_answer(r) for p, r in zip(predictions, references, strict=True)
    )
    return hits / len(references)


def _f1(prediction: str | None, reference: str | None) -> float:
    reply = Counter(normalize_answer(prediction).split())
    target = Counter(normalize_answer(reference).split())
    common = sum((reply & target).values())
    if common == 0:
        return 0.0
    precision = common / sum(reply.values())
    recall = common / sum(target.values())
    return 2 * precision * recall / (precision + recall)


def token_f1(predictions: Sequence[str | None], references: Sequence[str | None]) -> float:
    """Mean token-overlap F1 (SQuAD style: counts clipped to the reference's) after normalisation.

    Example:
        >>> token_f1(["right lower lobe mass"], ["right lower lobe"])   # P 3/4, R 3/3
        0.8571428571428571
    """
    _check_lengths(predictions, references)
    if not references:
        return 0.0
    return sum(_f1(p, r) for p, r in zip(predictions, references, strict=True)) / len(references)


def bleu(predictions: Sequence[str | None], references: Sequence[str | None]) -> float:
    """sacrebleu's corpus BLEU-4 on normalised text, as a fraction.

    sacrebleu's defaults (``13a`` tokens, exponential smoothing of zero n-gram matches) with
    ``effective_order=True``: an n-gram order that no reply is long enough to have is left out
    rather than making the score 0, because VQA answers are often one to three words long.

    Example:
        >>> round(bleu(["left lung shows consolidation"], ["right lung shows consolidation"]), 4)
        0.5946
    """
    from sacrebleu.metrics import BLEU

    _check_lengths(predictions, references)
    if not references:
        return 0.0
    hypotheses = [normalize_answer(p) for p in predictions]
    targets = [normalize_answer(r) for r in references]
    return float(BLEU(effective_order=True).corpus_score(hypotheses, [targets]).score) / 100.0


def metric_path(name: str) -> str:
    """The path of a metric's ``evaluate`` module inside the package, for ``evaluate.load`` (offline).

    Example:
        >>> import evaluate                                                   # doctest: +SKIP
        >>> evaluate.load(metric_path("vqa_closed_accuracy")).compute(
        ...     predictions=["No, it is not."], references=["no"])             # doctest: +SKIP
        {'closed_accuracy': 1.0}
    """
    if name not in METRIC_NAMES:
        raise ValueError(f"unknown metric {name!r}; choose from {', '.join(METRIC_NAMES)}")
    return str(Path(__file__).resolve().parent / "metrics" / name / f"{name}.py")


def _check_lengths(predictions: Sequence[object], references: Sequence[object]) -> None:
    if len(predictions) != len(references):
        raise ValueError(
            f"{len(predictions)} predictions but {len(references)} references; give one prediction per reference"
        )
