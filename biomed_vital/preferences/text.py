"""The one text layout the selection model reads.

Clinician pairs, judge pairs and the candidates scored by ``select()`` all go through
:func:`format_selector_text`, so the selector sees the same context (caption, in-text mentions,
question) at training and at selection time. Keeping a single function is deliberate: encoding
one source without its caption and the other with it teaches the model to tell the sources
apart instead of judging the answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "DEFAULT_MAX_MENTIONS",
    "format_selector_conversation",
    "format_selector_text",
    "message_text",
    "qa_pairs",
]

DEFAULT_MAX_MENTIONS = 3

# LLaVA text carries a literal image placeholder; the selector receives the image separately.
_IMAGE_PLACEHOLDER = re.compile(r"\s*<image>\s*")
_WHITESPACE = re.compile(r"[ \t]+")

_USER_ROLES = frozenset({"user", "human"})
_ASSISTANT_ROLES = frozenset({"assistant", "gpt"})


def _clean(text: str | None) -> str:
    if not text:
        return ""
    text = _IMAGE_PLACEHOLDER.sub(" ", str(text))
    return "\n".join(_WHITESPACE.sub(" ", line).strip() for line in text.strip().splitlines()).strip()


def format_selector_text(
    caption: str | None,
    mentions: Sequence[str] | None,
    question: str,
    answer: str,
    *,
    max_mentions: int = DEFAULT_MAX_MENTIONS,
) -> str:
    """Lay out one (figure context, question, answer) triple as the selector's input text.

    The layout is fixed: a ``Caption:`` line, up to ``max_mentions`` ``Mention:`` lines (empty
    mentions are dropped), then ``Question:`` and ``Answer:``. The literal ``<image>``
    placeholder of LLaVA text is removed, and runs of spaces are collapsed so that formatting
    noise does not change the tokens. Sections with no text are still written (with an empty
    value) so every input has the same shape.

    Args:
        caption: the figure caption (``None`` or empty when the source has none).
        mentions: in-text mentions of the figure, most relevant first.
        question: the user turn.
        answer: the assistant turn being judged.
        max_mentions: how many mentions to keep; the text encoder truncates anyway, and
            keeping the answer inside its window matters more than a fourth mention.

    Returns:
        The text passed to the selector's tokenizer.

    Example:
        >>> print(format_selector_text("Axial CT of the head.", ["Figure 2 shows ..."],
        ...                            "<image>\\nWhat modality is used?", "A CT scan."))
        Caption: Axial CT of the head.
        Mention: Figure 2 shows ...
        Question: What modality is used?
        Answer: A CT scan.
    """
    return _layout(caption, mentions, [(question, answer)], max_mentions)


def format_selector_conversation(
    caption: str | None,
    mentions: Sequence[str] | None,
    messages: Sequence[Mapping[str, Any]] | None,
    *,
    max_mentions: int = DEFAULT_MAX_MENTIONS,
) -> str:
    """Lay out a whole candidate conversation as the selector's input text.

    Used where a score belongs to a whole conversation (judge pairs, ``select()``). The header
    is the one of :func:`format_selector_text`, followed by one ``Question:``/``Answer:`` block
    per turn, so a single-turn conversation gives exactly ``format_selector_text``'s text.

    Example:
        >>> messages = [{"role": "user", "content": "What modality?"},
        ...             {"role": "assistant", "content": "CT."}]
        >>> format_selector_conversation("Head CT.", [], messages) == format_selector_text(
        ...     "Head CT.", [], "What modality?", "CT.")
        True
    """
    return _layout(caption, mentions, qa_pairs(messages), max_mentions)


def _layout(
    caption: str | None,
    mentions: Sequence[str] | str | None,
    turns: Sequence[tuple[str, str]],
    max_mentions: int,
) -> str:
    if max_mentions < 0:
        raise ValueError(f"max_mentions must be >= 0, got {max_mentions}")
    if isinstance(mentions, str):
        # a bare string would otherwise be split into characters
        mentions = [mentions]
    kept_mentions = [m for m in (_clean(x) for x in (mentions or [])) if m][:max_mentions]
    lines = [f"Caption: {_clean(caption)}".rstrip()]
    lines.extend(f"Mention: {mention}" for mention in kept_mentions)
    for question, answer in turns or [("", "")]:
        lines.append(f"Question: {_clean(question)}".rstrip())
        lines.append(f"Answer: {_clean(answer)}".rstrip())
    return "\n".join(lines)


def message_text(content: Any) -> str:
    """Return the text of one message ``content`` (a string or a list of typed parts).

    TRL's conversational vision format stores content as
    ``[{"type": "image"}, {"type": "text", "text": "..."}]``; plain chat stores a string.

    Example:
        >>> message_text([{"type": "image"}, {"type": "text", "text": "What is shown?"}])
        'What is shown?'
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        return str(content.get("text") or "")
    parts = [str(part.get("text") or "") for part in content if isinstance(part, Mapping)]
    return "\n".join(p for p in parts if p)


def _role(message: Mapping[str, Any]) -> str:
    role = message.get("role", message.get("from"))
    return str(role or "").lower()


def _content(message: Mapping[str, Any]) -> Any:
    return message["content"] if "content" in message else message.get("value")


def qa_pairs(messages: Sequence[Mapping[str, Any]] | None) -> list[tuple[str, str]]:
    """Split a conversation into (question, answer) pairs, in order.

    Accepts TRL messages (``role``/``content``) and LLaVA turns (``from``/``value``).
    System turns are ignored; consecutive user turns are joined (the answer addresses both);
    an assistant turn with no preceding question is paired with an empty question, and a
    trailing unanswered question is dropped. ``<image>`` placeholders are removed.

    Example:
        >>> qa_pairs([{"role": "user", "content": "<image>\\nWhat modality?"},
        ...           {"role": "assistant", "content": "CT."}])
        [('What modality?', 'CT.')]
    """
    pairs: list[tuple[str, str]] = []
    pending_question: list[str] = []
    for index, message in enumerate(messages or []):
        if not isinstance(message, Mapping):
            raise TypeError(
                f"message {index} is a {type(message).__name__}, expected a mapping with "
                "'role'/'content' (TRL) or 'from'/'value' (LLaVA)"
            )
        role = _role(message)
        text = _clean(message_text(_content(message)))
        if role in _USER_ROLES:
            if text:
                pending_question.append(text)
        elif role in _ASSISTANT_ROLES:
            pairs.append(("\n".join(pending_question), text))
            pending_question = []
        elif role == "system":
            continue
        else:
            raise ValueError(
                f"message {index} has role {role!r}; expected user/assistant (or LLaVA human/gpt) or system"
            )
    return pairs
