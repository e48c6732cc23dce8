"""What the stand-in server reads from a chat request: its system text, its last user text and the
figure context (caption, mentions, question, answer) in it.

Example:
    >>> body = {"messages": [{"role": "user", "content": "Caption: Axial CT of the chest."}]}
    >>> parse_figure_context(last_user_text(body)).caption
    'Axial CT of the chest.'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FigureContext", "last_user_text", "parse_figure_context", "system_text", "wants_json"]

# A "Label:" line starts a new field of the figure context. Labels are one to three words of
# letters, the first at least three letters long, so caption text such as "Figure 2: ..." or
# "A: axial view" stays part of the caption.
_LABEL_LINE = re.compile(r"^\s*([A-Z][A-Za-z]{2,}(?: [A-Za-z]+){0,2})\s*:\s?(.*)$")


@dataclass
class FigureContext:
    """The figure context a client put in its last user message."""

    caption: str = ""
    mentions: list[str] = field(default_factory=list)
    question: str = ""
    answer: str = ""


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        texts = [str(part.get("text", "")) for part in content if isinstance(part, Mapping)]
        return "\n".join(text for text in texts if text)
    return ""


def system_text(body: Mapping[str, Any]) -> str:
    """All system (and developer) message text of a request, joined by newlines.

    Example:
        >>> system_text({"messages": [{"role": "system", "content": "Give a score."}]})
        'Give a score.'
    """
    messages = body.get("messages") or []
    return "\n".join(
        _text_of(m.get("content"))
        for m in messages
        if isinstance(m, Mapping) and m.get("role") in ("system", "developer")
    )


def last_user_text(body: Mapping[str, Any]) -> str:
    """The text parts of the last user message (image parts are skipped).

    Example:
        >>> last_user_text({"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]})
        'Hi'
    """
    for message in reversed(body.get("messages") or []):
        if isinstance(message, Mapping) and message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def wants_json(body: Mapping[str, Any]) -> bool:
    """Whether the request asked for a JSON reply through ``response_format``.

    Example:
        >>> wants_json({"response_format": {"type": "json_object"}})
        True
    """
    response_format = body.get("response_format")
    return isinstance(response_format, Mapping) and response_format.get("type") in (
        "json_schema",
        "json_object",
    )


def parse_figure_context(text: str) -> FigureContext:
    """Read ``Caption:``, ``Mentions:``, ``Question:`` and ``Answer:`` fields from a user prompt.

    A field runs from its label to the next ``Label:`` line. Without a ``Caption:`` line the
    whole text is taken as the caption.

    Example:
        >>> ctx = parse_figure_context("Caption: Axial CT.\\nMentions:\\n- see panel A\\nQuestion: Which view?")
        >>> ctx.caption, ctx.mentions, ctx.question
        ('Axial CT.', ['see panel A'], 'Which view?')
    """
    fields: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        match = _LABEL_LINE.match(line)
        if match:
            current = match.group(1).strip().lower()
            fields.setdefault(current, [])
            if match.group(2).strip():
                fields[current].append(match.group(2).strip())
        elif current is not None:
            fields[current].append(line.strip())
    if "caption" not in fields:
        return FigureContext(caption=text.strip())
    mentions = []
    for line in fields.get("mentions", []):
        cleaned = line.lstrip("-*• ").strip()
        if cleaned:
            mentions.append(cleaned)
    return FigureContext(
        caption="\n".join(fields["caption"]).strip(),
        mentions=mentions,
        question="\n".join(fields.get("question", [])).strip(),
        answer="\n".join(fields.get("answer", [])).strip(),
    )
