"""Reading model replies: conversations with speaker tags, and judge scores.

Models do not keep to the requested format exactly. The conversation parser accepts the
speaker tags they actually write (``User:``, ``**User:**``, ``### Assistant``, ``Human:`` /
``GPT:``, ``Q:`` / ``A:``, ``Question 1:`` / ``Answer 1:``, numbered turns), keeps multi-line
answers and lists, and then insists on a well-formed result: user first, strict alternation,
no empty turn, at least ``min_rounds`` exchanges. Anything else raises
:class:`ReplyParseError` with the reason; a half conversation is never returned.

The judge parser reads a 0-10 score from JSON (structured output) or from prose ("8",
"Score: 8/10", "**Score**: 8.5", "a score of 7 out of 10"). A reply without a readable score,
or with one outside 0-10, raises :class:`ReplyParseError`; it is never turned into a number.
:func:`parse_first_line_score` reads the score the way BioMed-VITAL's scripts did: the first whole
number on the first line (with the same refusal of replies that have none).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ReplyParseError",
    "JudgeVerdict",
    "parse_conversation",
    "parse_first_line_score",
    "parse_judge_reply",
    "parse_two_answer_conversation",
]

DEFAULT_MIN_ROUNDS = 3

_MARKUP = r"(?:\*\*|__|\*|_)?"
_SPEAKER_LINE = re.compile(
    rf"""^\s*
    (?:[-+>]\s+|\*\s+)?                         # a list bullet or a quote
    (?:\(?\d{{1,3}}[.)]\s*)?                    # a numbered turn: "1." "2)"
    (?P<header>\#{{1,6}}\s*)?                   # a markdown header
    {_MARKUP}\s*
    (?P<tag>user|human|question|assistant|gpt|answer|response|q|a)
    (?:\s+(?P<variant>[ab])(?![a-z]))?          # "Answer A" / "Answer B"
    (?:\s*\#?\s*(?P<number>\d{{1,3}}))?         # "Question 1", "Q1"
    \s*{_MARKUP}\s*
    (?P<sep>:|(?=\s*$))                         # a colon, or nothing else on the line
    \s*{_MARKUP}
    \s*(?P<rest>.*?)\s*$
    """,
    re.IGNORECASE | re.VERBOSE,
)
_RULE_LINE = re.compile(r"^\s*(?:[-*_]\s*){3,}$")
_IMAGE_PLACEHOLDER = re.compile(r"\s*<image>\s*")
_USER_TAGS = {"user", "human", "question", "q"}
_ASSISTANT_TAGS = {"assistant", "gpt", "answer", "response", "a"}


class ReplyParseError(ValueError):
    """A reply that does not hold what was asked for (the message says what is wrong)."""


@dataclass(frozen=True)
class _Turn:
    role: str  # "user", "assistant", "answer_a", "answer_b"
    content: str


def _speaker(line: str) -> tuple[str, str] | None:
    match = _SPEAKER_LINE.match(line)
    if not match:
        return None
    tag = match.group("tag").lower()
    bare_line = not match.group("rest") and match.group("sep") != ":"
    if bare_line:
        # "Assistant" alone on a line is a tag only when marked up as a header or in bold.
        if not (match.group("header") or line.strip().startswith(("*", "_"))):
            return None
        if len(tag) == 1:
            return None
    variant = (match.group("variant") or "").lower()
    if tag in _USER_TAGS:
        if variant:
            return None
        return "user", match.group("rest")
    if variant:
        return f"answer_{variant}", match.group("rest")
    return "assistant", match.group("rest")


def _turns(text: str) -> list[_Turn]:
    if not text or not text.strip():
        raise ReplyParseError("the reply is empty")
    turns: list[tuple[str, list[str]]] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if _RULE_LINE.match(line):
            continue
        speaker = _speaker(line)
        if speaker is not None:
            turns.append((speaker[0], [speaker[1]] if speaker[1] else []))
        elif turns:
            turns[-1][1].append(line.rstrip())
        # text before the first speaker tag ("Here is the conversation:") is not part of it
    if not turns:
        raise ReplyParseError(
            "no speaker tags found (expected lines starting with 'User:' and 'Assistant:'); "
            f"the reply starts with {text.strip()[:80]!r}"
        )
    result = []
    for role, lines in turns:
        content = _IMAGE_PLACEHOLDER.sub(" ", "\n".join(lines)).strip()
        result.append(_Turn(role, re.sub(r"\n{3,}", "\n\n", content)))
    return result


def _check_rounds(n_rounds: int, min_rounds: int) -> None:
    if n_rounds < min_rounds:
        raise ReplyParseError(
            f"only {n_rounds} question-answer exchange(s); at least {min_rounds} are required"
        )


def parse_conversation(text: str, *, min_rounds: int = DEFAULT_MIN_ROUNDS) -> list[dict[str, str]]:
    """Parse a generated conversation into TRL messages (``[{"role", "content"}, ...]``).

    Raises:
        ReplyParseError: no speaker tags, a turn out of order (the user must speak first and
            the speakers must alternate), an empty turn, an unanswered last question, or fewer
            than ``min_rounds`` exchanges.

    Example:
        >>> text = "**User:** What modality is this?\\n**Assistant:** A CT scan.\\n" \\
        ...        "User: Which organ?\\nAssistant: The brain.\\n- left hemisphere\\n"
        >>> parse_conversation(text, min_rounds=2)[-1]["content"]
        'The brain.\\n- left hemisphere'
    """
    turns = _turns(text)
    if any(turn.role.startswith("answer_") for turn in turns):
        raise ReplyParseError(
            "the reply has 'Answer A:'/'Answer B:' turns; parse it with parse_two_answer_conversation"
        )
    messages: list[dict[str, str]] = []
    for index, turn in enumerate(turns):
        expected = "user" if index % 2 == 0 else "assistant"
        if turn.role != expected:
            raise ReplyParseError(
                f"turn {index + 1} is by the {turn.role} but the {expected} should speak "
                "(the user asks first and the speakers alternate)"
            )
        if not turn.content:
            raise ReplyParseError(f"turn {index + 1} ({turn.role}) is empty")
        messages.append({"role": turn.role, "content": turn.content})
    if messages[-1]["role"] != "assistant":
        raise ReplyParseError("the last question has no answer")
    _check_rounds(len(messages) // 2, min_rounds)
    return messages


def parse_two_answer_conversation(
    text: str, *, min_rounds: int = DEFAULT_MIN_ROUNDS
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Parse ``User:`` / ``Answer A:`` / ``Answer B:`` triples into two conversations.

    Both conversations share the questions; the first holds the A answers, the second the B
    answers.

    Example:
        >>> a, b = parse_two_answer_conversation(
        ...     "User: Which organ?\\nAnswer A: The liver.\\nAnswer B: The kidney.", min_rounds=1)
        >>> a[1]["content"], b[1]["content"]
        ('The liver.', 'The kidney.')
    """
    turns = _turns(text)
    cycle = ("user", "answer_a", "answer_b")
    first: list[dict[str, str]] = []
    second: list[dict[str, str]] = []
    for index, turn in enumerate(turns):
        expected = cycle[index % 3]
        if turn.role != expected:
            names = {"user": "a question ('User:')", "answer_a": "'Answer A:'", "answer_b": "'Answer B:'"}
            raise ReplyParseError(
                f"turn {index + 1} should be {names[expected]} but is {names.get(turn.role, turn.role)}"
            )
        if not turn.content:
            raise ReplyParseError(f"turn {index + 1} ({turn.role}) is empty")
        if turn.role == "user":
            first.append({"role": "user", "content": turn.content})
            second.append({"role": "user", "content": turn.content})
        elif turn.role == "answer_a":
            first.append({"role": "assistant", "content": turn.content})
        else:
            second.append({"role": "assistant", "content": turn.content})
    if len(turns) % 3 != 0:
        raise ReplyParseError("the last question does not have both answers")
    _check_rounds(len(first) // 2, min_rounds)
    return first, second


@dataclass(frozen=True)
class JudgeVerdict:
    """A judge's score (0-10) and its rationale."""

    score: float
    rationale: str


_NUMBER = r"(-?\d+(?:\.\d+)?)"
_OUT_OF = r"(?:\s*(?:/|out\s+of)\s*(\d+(?:\.\d+)?))?"
_SCORE_PATTERNS = [
    re.compile(rf"\bscore\b[^0-9\n\-]{{0,25}}?{_NUMBER}{_OUT_OF}", re.IGNORECASE),
    re.compile(rf"\brating\b[^0-9\n\-]{{0,25}}?{_NUMBER}{_OUT_OF}", re.IGNORECASE),
    re.compile(rf"{_NUMBER}\s*(?:/|out\s+of)\s*(\d+(?:\.\d+)?)", re.IGNORECASE),
    re.compile(
        rf"\b(?:give|rate|assign)s?\s+(?:it|this(?:\s+answer)?|the\s+answer)?\s*(?:an?\s+)?{_NUMBER}{_OUT_OF}",
        re.IGNORECASE,
    ),
    re.compile(rf"^[\s*_#]*{_NUMBER}{_OUT_OF}[\s*_.]*$", re.MULTILINE),
]
_RATIONALE = re.compile(
    r"^[\s*_#]*(?:rationale|reason(?:ing)?|explanation|justification)[\s*_]*:[\s*_]*",
    re.IGNORECASE | re.MULTILINE,
)
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def _check_score(value: Any, denominator: str | None, reply: str) -> float:
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise ReplyParseError(f"the judge's score {value!r} is not a number") from None
    if denominator is not None and float(denominator) != 10:
        raise ReplyParseError(
            f"the judge scored out of {denominator}, not out of 10: {reply.strip()[:120]!r}"
        )
    if math.isnan(score) or not 0.0 <= score <= 10.0:
        raise ReplyParseError(f"the judge's score {value} is outside 0-10")
    return score


def _from_json(text: str) -> JudgeVerdict | None:
    match = _JSON_OBJECT.search(text)
    if not match:
        return None
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    lowered = {str(k).lower(): v for k, v in data.items()}
    if "score" not in lowered:
        return None
    rationale = next(
        (lowered[k] for k in ("rationale", "reason", "explanation", "justification") if k in lowered), ""
    )
    return JudgeVerdict(_check_score(lowered["score"], None, text), str(rationale or "").strip())


def parse_judge_reply(text: str | None) -> JudgeVerdict:
    """Read the judge's 0-10 score and rationale from its reply (JSON or prose).

    Raises:
        ReplyParseError: no score can be read, it is out of 0-10, or it is out of another
            maximum (``8/100``).

    Example:
        >>> parse_judge_reply('{"score": 8, "rationale": "Accurate and grounded."}').score
        8.0
        >>> parse_judge_reply("**Score**: 7.5/10\\nRationale: Mostly correct.")
        JudgeVerdict(score=7.5, rationale='Mostly correct.')
        >>> parse_judge_reply("I would give this answer a score of 6 out of 10.").score
        6.0
    """
    if text is None or not text.strip():
        raise ReplyParseError("the judge's reply is empty")
    verdict = _from_json(text)
    if verdict is not None:
        return verdict
    for pattern in _SCORE_PATTERNS:
        match = pattern.search(text)
        if match:
            score = _check_score(match.group(1), match.group(2), text)
            rationale_match = _RATIONALE.search(text)
            if rationale_match:
                rationale = text[rationale_match.end() :].strip()
            else:
                rationale = (text[: match.start()] + text[match.end() :]).strip(" \n*_#.:")
            return JudgeVerdict(score, rationale)
    raise ReplyParseError(f"no 0-10 score found in the judge's reply {text.strip()[:120]!r}")


_WHOLE_NUMBER = re.compile(r"\d+")


def parse_first_line_score(text: str | None) -> JudgeVerdict:
    """Read the judge's score as BioMed-VITAL's scripts did: the first whole number on the first line.

    Leading blank lines are skipped; the rest of the reply is the rationale. ``"7.5"`` reads as 7, as in
    the scripts. Unlike the scripts, a first line without a number, or a number above 10, is an error rather
    than a score of 0 or 5.

    Raises:
        ReplyParseError: the reply is empty, its first line holds no whole number, or the number is above 10.

    Example:
        >>> parse_first_line_score("8\\nClear and grounded in the image.")
        JudgeVerdict(score=8.0, rationale='Clear and grounded in the image.')
        >>> parse_first_line_score("**Score: 7/10**").score
        7.0
    """
    if text is None or not text.strip():
        raise ReplyParseError("the judge's reply is empty")
    first, _, rest = text.strip().partition("\n")
    match = _WHOLE_NUMBER.search(first)
    if match is None:
        raise ReplyParseError(
            f"no whole number on the first line of the judge's reply {first.strip()[:120]!r}"
        )
    score = int(match.group(0))
    if score > 10:
        raise ReplyParseError(f"the judge's score {score} on the first line is outside 0-10")
    return JudgeVerdict(float(score), rest.strip())
