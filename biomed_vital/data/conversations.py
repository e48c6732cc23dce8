"""LLaVA ``conversations`` and TRL ``messages``: one format to the other and back.

LLaVA / LLaVA-Med write a conversation as ``[{"from": "human"|"gpt", "value": ...}]`` with the
literal ``<image>`` token in the first human turn. TRL's conversational format is
``[{"role": "user"|"assistant", "content": ...}]`` and TRL inserts the image placeholder itself,
so the literal is removed on the way in and put back (as ``"<image>\\n" + text``) on the way out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

IMAGE_TOKEN = "<image>"

_ROLE_OF_SPEAKER = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "system": "system",
}
_SPEAKER_OF_ROLE = {"user": "human", "assistant": "gpt", "system": "system"}

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
