"""Conversations: LLaVA ``conversations`` and TRL ``messages``, one format to the other and back, their
question-answer pairs, and their plain-text rendering.

LLaVA / LLaVA-Med write a conversation as ``[{"from": "human"|"gpt", "value": ...}]`` with the
literal ``<image>`` token in the first human turn. TRL's conversational format is
``[{"role": "user"|"assistant", "content": ...}]`` and TRL inserts the image placeholder itself,
so the literal is removed on the way in and put back (as ``"<image>\\n" + text``) on the way out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "IMAGE_TOKEN",
    "clean_text",
    "conversation_text",
    "conversations_to_messages",
    "message_text",
    "messages_to_conversations",
    "qa_pairs",
    "strip_image_token",
]

IMAGE_TOKEN = "<image>"

_USER_ROLES = frozenset({"user", "human"})
_ASSISTANT_ROLES = frozenset({"assistant", "gpt"})

_ROLE_OF_SPEAKER = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "system": "system",
}
_SPEAKER_OF_ROLE = {"user": "human", "assistant": "gpt", "system": "system"}

# LLaVA text carries a literal image placeholder; models that read the text get the image separately.
_IMAGE_PLACEHOLDER = re.compile(r"\s*" + re.escape(IMAGE_TOKEN) + r"\s*")
_WHITESPACE = re.compile(r"[ \t]+")
# Anything `clean_text` would change: the placeholder, a tab or a run of spaces, whitespace at either end or
# around a line break, and line separators other than "\n" (`str.splitlines` splits on them too).
_NEEDS_CLEANING = re.compile(
    re.escape(IMAGE_TOKEN) + r"|\t| {2}|^\s|\s\Z|\s\n|\n\s|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"
)


def clean_text(text: str | None) -> str:
    """Text without ``<image>`` placeholders, with runs of spaces collapsed and lines trimmed.

    Example:
        >>> clean_text("<image>\\n  What   is shown?  ")
        'What is shown?'
    """
    if not text:
        return ""
    text = str(text)
    if not _NEEDS_CLEANING.search(text):  # the common case; scoring large pools cleans millions of turns
        return text
    text = _IMAGE_PLACEHOLDER.sub(" ", text)
    return "\n".join(_WHITESPACE.sub(" ", line).strip() for line in text.strip().splitlines()).strip()


# The token together with the one newline that joins it to the text, on either side.
_LEADING_TOKEN = re.compile(r"^\s*<image>[ \t]*\n?")
_TRAILING_TOKEN = re.compile(r"\n?[ \t]*<image>\s*$")
_INNER_TOKEN = re.compile(r"\n?<image>\n?")


def strip_image_token(text: str) -> str:
    """Remove the ``<image>`` literal and the newline that attaches it, wherever it is.

    Example:
        >>> strip_image_token("<image>\\nWhat is shown?")
        'What is shown?'
        >>> strip_image_token("What is shown?\\n<image>")
        'What is shown?'
    """
    if IMAGE_TOKEN not in text:
        return text
    text = _LEADING_TOKEN.sub("", text, count=1)
    text = _TRAILING_TOKEN.sub("", text, count=1)
    # A token in the middle of the text separated two pieces: keep them on separate lines.
    return _INNER_TOKEN.sub(lambda match: "\n" if match.group(0).count("\n") else "", text)


def conversations_to_messages(conversations: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Convert LLaVA turns (``from``/``value``) to TRL messages (``role``/``content``).

    ``human`` becomes ``user`` and ``gpt`` becomes ``assistant``; the ``<image>`` literal is
    removed from the first human turn (TRL adds its own image placeholder).

    Example:
        >>> conversations_to_messages([{"from": "human", "value": "<image>\\nWhat modality?"},
        ...                            {"from": "gpt", "value": "A CT scan."}])
        [{'role': 'user', 'content': 'What modality?'}, {'role': 'assistant', 'content': 'A CT scan.'}]
    """
    messages: list[dict[str, str]] = []
    seen_user = False
    for index, turn in enumerate(conversations):
        if not isinstance(turn, Mapping) or "value" not in turn:
            raise ValueError(
                f"conversation turn {index} must be an object with 'from' and 'value', got {turn!r}"
            )
        speaker = str(turn.get("from", "")).strip().lower()
        role = _ROLE_OF_SPEAKER.get(speaker)
        if role is None:
            raise ValueError(
                f"conversation turn {index} has speaker {turn.get('from')!r}; expected 'human' or 'gpt' "
                "(or 'user', 'assistant', 'system')"
            )
        value = turn["value"]
        if not isinstance(value, str):
            raise ValueError(f"conversation turn {index} has a non-text 'value' ({type(value).__name__})")
        if role == "user" and not seen_user:
            value = strip_image_token(value)
            seen_user = True
        messages.append({"role": role, "content": value})
    return messages


def _content_text(content: Any, index: int) -> tuple[str, bool]:
    """Text of a message content and whether it carried an image part."""
    if isinstance(content, str):
        return content, False
    if isinstance(content, list):
        texts, has_image = [], False
        for part in content:
            kind = part.get("type") if isinstance(part, Mapping) else None
            if kind == "text":
                texts.append(str(part.get("text", "")))
            elif kind == "image":
                has_image = True
            else:
                raise ValueError(
                    f"message {index} has a content part {part!r}; expected type 'text' or 'image'"
                )
        return "\n".join(texts), has_image
    raise ValueError(
        f"message {index} has content of type {type(content).__name__}; expected text or a list of parts"
    )


def messages_to_conversations(
    messages: Iterable[Mapping[str, Any]], *, with_image: bool = True
) -> list[dict[str, str]]:
    """Convert TRL messages back to LLaVA turns, re-inserting ``"<image>\\n"`` in the first user turn.

    Content given as a list of parts (``{"type": "text"}`` / ``{"type": "image"}``) is flattened
    to its text. Set ``with_image=False`` for text-only conversations.

    Example:
        >>> messages_to_conversations([{"role": "user", "content": "What modality?"},
        ...                            {"role": "assistant", "content": "A CT scan."}])
        [{'from': 'human', 'value': '<image>\\nWhat modality?'}, {'from': 'gpt', 'value': 'A CT scan.'}]
    """
    conversations: list[dict[str, str]] = []
    image_placed = not with_image
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping) or "role" not in message:
            raise ValueError(f"message {index} must be an object with 'role' and 'content', got {message!r}")
        speaker = _SPEAKER_OF_ROLE.get(str(message["role"]))
        if speaker is None:
            raise ValueError(
                f"message {index} has role {message['role']!r}; expected 'user', 'assistant' or 'system'"
            )
        text, _ = _content_text(message.get("content", ""), index)
        if speaker == "human" and not image_placed:
            text = f"{IMAGE_TOKEN}\n{strip_image_token(text)}"
            image_placed = True
        conversations.append({"from": speaker, "value": text})
    return conversations


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
        text = clean_text(message_text(_content(message)))
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


def conversation_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """A conversation as plain text, one ``User:`` / ``Assistant:`` line per turn (system turns left out).

    Example:
        >>> print(conversation_text([{"role": "user", "content": "Which organ?"},
        ...                          {"role": "assistant", "content": "The liver."}]))
        User: Which organ?
        Assistant: The liver.
    """
    lines = []
    for message in messages:
        role = str(message.get("role", "")).lower()
        speaker = {"user": "User", "human": "User", "assistant": "Assistant", "gpt": "Assistant"}.get(role)
        if speaker is None:
            continue
        text = strip_image_token(message_text(message.get("content"))).strip()
        lines.append(f"{speaker}: {text}")
    return "\n".join(lines)
