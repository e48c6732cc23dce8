"""The one text layout the selection model reads: figure context, question and answer.

Clinician pairs, judge pairs and the candidates scored by ``select()`` all go through
:func:`format_selector_text`, so the selector sees the same context (caption, in-text mentions,
question) at training and at selection time. Keeping a single function is deliberate: encoding
one source without its caption and the other with it teaches the model to tell the sources
apart instead of judging the answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from biomed_vital.data.conversations import clean_text, qa_pairs

__all__ = [
    "DEFAULT_MAX_MENTIONS",
    "format_selector_conversation",
    "format_selector_pairs",
    "format_selector_text",
]

DEFAULT_MAX_MENTIONS = 3


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


def format_selector_pairs(
    caption: str | None,
    mentions: Sequence[str] | None,
    messages: Sequence[Mapping[str, Any]] | None,
    *,
    max_mentions: int = DEFAULT_MAX_MENTIONS,
) -> list[str]:
    """One selector text per question/answer pair of a conversation, in order (none without an answer).

    Each text is exactly ``format_selector_text(caption, mentions, question, answer)`` for that pair; the
    figure context is laid out once for all of them, which is what makes scoring large pools cheap.

    Example:
        >>> messages = [{"role": "user", "content": "What modality?"}, {"role": "assistant", "content": "CT."},
        ...             {"role": "user", "content": "Which organ?"}, {"role": "assistant", "content": "Liver."}]
        >>> texts = format_selector_pairs("Abdominal CT.", [], messages)
        >>> texts[1] == format_selector_text("Abdominal CT.", [], "Which organ?", "Liver.")
        True
    """
    header = _header(caption, mentions, max_mentions)
    # qa_pairs returns cleaned text, and cleaning is idempotent, so the pairs are used as they are
    return [f"{header}\n{_turn(question, answer)}" for question, answer in qa_pairs(messages)]


def _header(caption: str | None, mentions: Sequence[str] | str | None, max_mentions: int) -> str:
    if max_mentions < 0:
        raise ValueError(f"max_mentions must be >= 0, got {max_mentions}")
    if isinstance(mentions, str):
        # a bare string would otherwise be split into characters
        mentions = [mentions]
    kept_mentions = [m for m in (clean_text(x) for x in (mentions or [])) if m][:max_mentions]
    return "\n".join([f"Caption: {clean_text(caption)}".rstrip(), *(f"Mention: {m}" for m in kept_mentions)])


def _turn(question: str, answer: str) -> str:
    return f"Question: {question}".rstrip() + "\n" + f"Answer: {answer}".rstrip()


def _layout(
    caption: str | None,
    mentions: Sequence[str] | str | None,
    turns: Sequence[tuple[str, str]],
    max_mentions: int,
) -> str:
    header = _header(caption, mentions, max_mentions)
    lines = [_turn(clean_text(question), clean_text(answer)) for question, answer in turns or [("", "")]]
    return "\n".join([header, *lines])
