"""The canned, deterministic replies of the stand-in server, well-formed and broken.

The stand-in never poses as a medical model: every answer quotes the request's own caption text
verbatim and carries the marker ``(offline stand-in reply)``. What it does imitate is the *shape*
of the replies the pipeline parses, so that prompts, parsers and retries can be tested offline:

* **generation** mode: five exchanges as ``User: ...`` / ``Assistant: ...`` lines, or, when a
  system message contains ``Answer A:``, ``User:`` / ``Answer A:`` / ``Answer B:`` triples. A
  figure's candidates answer the same questions differently (seeded by the request's ``seed``):
  each quotes its own choice of the caption's sentences, and leaves none, one or two answers
  without a quote, so candidates differ and the judge scores them apart;
* **judge** mode (``response_format`` of type ``json_schema`` / ``json_object``, or a system
  message containing "score"): a 0-10 score that grows with the share of the answer's content
  words found in the caption and mentions, as JSON or as ``Score: 7/10`` + ``Rationale: ...``;
* the evaluation judges' formats (two scores for an open-chat review, ``[[A]]`` / ``[[B]]`` / ``[[tie]]``
  for a pairwise comparison): :mod:`~biomed_vital.testing.standin.evaluation_replies`;
* broken replies for injected faults: :func:`malformed_reply` and :func:`truncate_mid_sentence`.

Example:
    >>> body = {"messages": [{"role": "user", "content": "Caption: Axial CT of the chest."}]}
    >>> reply_mode(body)
    'generation'
    >>> print(generation_reply(body, variant=0).splitlines()[0])
    User: What kind of image is this?
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

from biomed_vital.engine.tokens import estimate_text_tokens
from biomed_vital.testing.standin.hashing import stable_int
from biomed_vital.testing.standin.prompt import (
    FigureContext,
    last_user_text,
    parse_figure_context,
    system_text,
    wants_json,
)
from biomed_vital.testing.standin.vocabulary import (
    MODALITY_TERMS,
    QUESTIONS,
    REGION_TERMS,
    STANDIN_MARKER,
    STOPWORDS,
)

__all__ = [
    "GENERATION",
    "JUDGE",
    "STANDIN_MARKER",
    "build_reply",
    "content_words",
    "fit_to_budget",
    "generation_reply",
    "judge_reply",
    "judge_score",
    "malformed_reply",
    "reply_mode",
    "truncate_mid_sentence",
]

GENERATION = "generation"
JUDGE = "judge"

_WORD = re.compile(r"[A-Za-z][A-Za-z\-']+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def reply_mode(body: Mapping[str, Any]) -> str:
    """``"judge"`` for structured output or a system prompt that asks for a score, else ``"generation"``.

    Example:
        >>> reply_mode({"messages": [], "response_format": {"type": "json_object"}})
        'judge'
    """
    if wants_json(body) or "score" in system_text(body).lower():
        return JUDGE
    return GENERATION


def _sentences(text: str) -> list[str]:
    flat = " ".join(text.split())
    return [s.strip() for s in _SENTENCE_END.split(flat) if s.strip()]


def _find_term(text: str, terms: Sequence[str]) -> str | None:
    lowered = text.lower()
    for term in terms:
        for match in re.finditer(re.escape(term), lowered):
            start, end = match.start(), match.end()
            # Whole-word start; short abbreviations (ct, mr, pet) must also end on a word boundary.
            if start > 0 and lowered[start - 1].isalnum():
                continue
            if len(term) <= 3 and end < len(lowered) and lowered[end].isalnum():
                continue
            # Quote the caption's own word around the match.
            while end < len(text) and (text[end].isalnum() or text[end] in "-&"):
                end += 1
            return text[start:end]
    return None


def _shorten(text: str, limit: int = 240) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + " ..."


def _quoted(text: str) -> str:
    return f'"{_shorten(text)}"'


# Exchanges a candidate may answer without quoting anything (its weaker answers); the caption exchange
# always quotes the whole caption.
_HEDGEABLE = ("modality", "region", "findings", "detail")


def _question_wording(ctx: FigureContext) -> dict[str, str]:
    """One wording of each question per figure, so a figure's candidates answer the same questions."""
    figure = stable_int("questions", ctx.caption, *ctx.mentions)
    return {
        kind: wordings[(figure >> position) % 2]
        for position, (kind, wordings) in enumerate(QUESTIONS.items())
    }


def _hedged_exchanges(ctx: FigureContext, variant: int, seed: Any) -> set[str]:
    """Which exchanges this candidate answers without quoting: none, one or two, chosen by the request.

    The count follows the request's ``seed`` (the generator sends ``seed + candidate index``), offset
    per figure, so consecutive candidates of a figure always differ in how many answers are grounded,
    and their judge scores differ; which exchanges are hedged follows the request's hash.
    """
    base = seed if isinstance(seed, int) and not isinstance(seed, bool) else variant
    count = (base + stable_int("hedged", ctx.caption)) % 3
    return set(random.Random(variant).sample(_HEDGEABLE, count))


def _answers(ctx: FigureContext, variant: int, hedged: set[str]) -> list[tuple[str, str]]:
    """The five exchanges: every answer quotes the caption or mentions, except the ``hedged`` ones."""
    caption = ctx.caption or "(no caption was given)"
    sentences = _sentences(caption) or [caption]
    rng = random.Random(variant)
    questions = _question_wording(ctx)
    modality = _find_term(caption, MODALITY_TERMS)
    region = _find_term(caption, REGION_TERMS)
    answers: dict[str, str] = {}
    if modality:
        answers["modality"] = f"The caption names it: {_quoted(modality)}. {STANDIN_MARKER}"
    else:
        answers["modality"] = (
            f"The caption does not name a modality; it reads {_quoted(sentences[0])}. {STANDIN_MARKER}"
        )
    if region:
        answers["region"] = f"The caption refers to {_quoted(region)}. {STANDIN_MARKER}"
    else:
        answers["region"] = (
            f"The caption does not name a region; it reads {_quoted(rng.choice(sentences))}. {STANDIN_MARKER}"
        )
    answers["findings"] = f"The caption states {_quoted(rng.choice(sentences))}. {STANDIN_MARKER}"
    answers["caption"] = f"The caption reads {_quoted(' '.join(sentences))}. {STANDIN_MARKER}"
    if ctx.mentions:
        detail = rng.choice(ctx.mentions)
        answers["detail"] = f"The text mentioning the figure says {_quoted(detail)}. {STANDIN_MARKER}"
    else:
        answers["detail"] = f"The caption ends with {_quoted(sentences[-1])}. {STANDIN_MARKER}"
    return [
        (questions[kind], _ungrounded_answer() if kind in hedged else answers[kind]) for kind in QUESTIONS
    ]


def _ungrounded_answer() -> str:
    # Deliberately quotes nothing, so the stand-in judge rates it below the grounded answer.
    return f"No details are available for that question in this offline stand-in. {STANDIN_MARKER}"


def generation_reply(body: Mapping[str, Any], variant: int = 0) -> str:
    """Five question/answer exchanges grounded in the request's caption, different for each candidate.

    A figure's candidates answer the same five questions (one wording per figure); each candidate
    quotes its own choice of caption sentences and mentions, and answers none, one or two of the
    questions without quoting anything (how many follows the request's ``seed``, which the generator
    sets to ``seed + candidate index``, so two candidates of a figure never read alike and the judge
    scores them apart). ``variant`` (derived from the request hash and choice index) picks the rest.
    With ``Answer A:`` in a system message every exchange has two answers, A grounded in the caption
    and B not, in an order that depends on ``variant``. Only the request's own caption and mentions are
    ever quoted.

    Example:
        >>> body = {"messages": [{"role": "user", "content": "Caption: Chest radiograph."}]}
        >>> generation_reply(body).count("Assistant:")
        5
        >>> generation_reply({**body, "seed": 0}) != generation_reply({**body, "seed": 1})
        True
    """
    ctx = parse_figure_context(last_user_text(body))
    lines: list[str] = []
    if "Answer A:" in system_text(body):
        for position, (question, grounded) in enumerate(_answers(ctx, variant, hedged=set())):
            ungrounded = _ungrounded_answer()
            first, second = (
                (grounded, ungrounded) if (variant + position) % 2 == 0 else (ungrounded, grounded)
            )
            lines += [f"User: {question}", f"Answer A: {first}", f"Answer B: {second}"]
    else:
        hedged = _hedged_exchanges(ctx, variant, body.get("seed"))
        for question, answer in _answers(ctx, variant, hedged):
            lines += [f"User: {question}", f"Assistant: {answer}"]
    return "\n".join(lines)


def content_words(text: str) -> list[str]:
    """Lower-cased content words of ``text`` (stopwords and the stand-in marker removed)."""
    return [w for w in (m.group(0).lower().strip("-'") for m in _WORD.finditer(text)) if w not in STOPWORDS]


def judge_score(ctx: FigureContext, variant: int = 0) -> tuple[float, int, int]:
    """Score an answer by how much of it is found in the caption and mentions.

    Returns ``(score, grounded_words, content_words)``. The share of grounded content words is
    mapped onto 1..9, then a deterministic offset in [-0.5, 0.5] (from ``variant``) is added, so
    grounded answers score high and generic ones low, and ties are rare.

    Example:
        >>> judge_score(FigureContext(caption="Axial CT of the chest.", answer="Axial CT of the chest."))[0] > 8
        True
    """
    words = content_words(ctx.answer)
    reference = set(content_words(ctx.caption + "\n" + "\n".join(ctx.mentions)))
    grounded = sum(1 for word in words if word in reference)
    share = grounded / len(words) if words else 0.0
    offset = ((variant % 1001) / 1000.0) - 0.5
    score = min(10.0, max(0.0, 1.0 + 8.0 * share + offset))
    return round(score, 1), grounded, len(words)


def judge_reply(body: Mapping[str, Any], variant: int = 0) -> str:
    """A judge verdict on the ``Answer:`` of the request, as JSON or ``Score:``/``Rationale:`` text.

    Example:
        >>> body = {"messages": [{"role": "system", "content": "Give a score."},
        ...                      {"role": "user", "content": "Caption: Chest radiograph.\\nAnswer: A radiograph."}]}
        >>> judge_reply(body).splitlines()[0].startswith("Score: ")
        True
    """
    ctx = parse_figure_context(last_user_text(body))
    score, grounded, total = judge_score(ctx, variant)
    rationale = (
        f"Offline stand-in judgement: {grounded} of {total} content words of the answer appear in the "
        f"caption or mentions. {STANDIN_MARKER}"
    )
    if wants_json(body):
        return json.dumps({"score": score, "rationale": rationale})
    return f"Score: {score:g}/10\nRationale: {rationale}"


def malformed_reply(mode: str) -> str:
    """Prose that ignores the requested format: no speaker tags, no score, not JSON."""
    if mode == JUDGE:
        return f"The offline stand-in could not rate this answer and gives no verdict. {STANDIN_MARKER}"
    return (
        "This offline stand-in reply ignores the requested conversation format and contains no "
        f"questions or answers. {STANDIN_MARKER}"
    )


def truncate_mid_sentence(text: str, fraction: float = 0.6) -> str:
    """Cut ``text`` inside a sentence, at a word boundary near ``fraction`` of its length.

    Example:
        >>> truncate_mid_sentence("One two three four five six.", 0.5)
        'One two three'
    """
    limit = max(1, int(len(text) * fraction))
    cut = text[:limit]
    if limit < len(text) and not text[limit].isspace() and " " in cut:
        cut = cut.rsplit(" ", 1)[0]  # the cut fell inside a word: drop its partial end
    return cut.rstrip(" .!?,;:")


def build_reply(body: Mapping[str, Any], mode: str, variant: int) -> str:
    """The well-formed reply for ``mode`` (see :func:`generation_reply`, :func:`judge_reply` and, for the
    evaluation judges' review and comparison formats, :mod:`~biomed_vital.testing.standin.evaluation_replies`)."""
    if mode != JUDGE:
        return generation_reply(body, variant)
    # imported here: the evaluation replies build on this module's judge_score
    from biomed_vital.testing.standin.evaluation_replies import evaluation_reply

    return evaluation_reply(body, variant) or judge_reply(body, variant)


def fit_to_budget(content: str, budget: int | None) -> tuple[str, bool]:
    """Cut ``content`` to ``budget`` completion tokens (``max_tokens``); returns ``(content, was_cut)``.

    Example:
        >>> fit_to_budget("one two three four five six seven eight", 2)
        ('one two', True)
    """
    if not budget or estimate_text_tokens(content) <= budget:
        return content, False
    cut = content.encode("utf-8")[: budget * 4].decode("utf-8", "ignore")
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut, True
