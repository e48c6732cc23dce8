"""Token estimates for chat requests, shared by the request engine and the stand-in server.

Rate limiters and cost estimates need a token count *before* a request is sent. Exact counts
need the provider's tokenizer; OpenAI's own rate limiter also works from an estimate (prompt
characters plus ``max_tokens``), so an estimate of the same kind keeps a client inside the
server's token-per-minute window. Images are counted with OpenAI's published tile rule.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
from collections.abc import Iterable, Mapping
from typing import Any

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4
LOW_DETAIL_IMAGE_TOKENS = 85
TILE_TOKENS = 170
TILE_SIZE = 512


def estimate_text_tokens(text: str) -> int:
    """Estimate the tokens of ``text`` (about 4 UTF-8 bytes per token for English prose).

    Example:
        >>> estimate_text_tokens("A right lower lobe consolidation.")
        9
    """
    if not text:
        return 0
    return math.ceil(len(text.encode("utf-8")) / CHARS_PER_TOKEN)


def estimate_image_tokens(width: int, height: int, detail: str = "auto") -> int:
    """Tokens an image costs under OpenAI's vision pricing rule.

    ``low`` detail is a flat 85 tokens. ``high`` (and ``auto``) first fits the image into
    2048 x 2048, then scales its shortest side down to 768, and charges 170 tokens per
    512-pixel tile plus 85.

    Example:
        >>> estimate_image_tokens(1024, 1024, "high")
        765
        >>> estimate_image_tokens(1024, 1024, "low")
        85
    """
    if detail == "low":
        return LOW_DETAIL_IMAGE_TOKENS
    if width <= 0 or height <= 0:
        return LOW_DETAIL_IMAGE_TOKENS
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    tiles = math.ceil(w / TILE_SIZE) * math.ceil(h / TILE_SIZE)
    return LOW_DETAIL_IMAGE_TOKENS + TILE_TOKENS * tiles


def image_size_from_data_url(url: str) -> tuple[int, int] | None:
    """Width and height of a ``data:image/...;base64,`` URL, read from the header only.

    Returns ``None`` for remote URLs or undecodable data (the caller then falls back to a
    flat estimate).
    """
    if not url.startswith("data:") or ";base64," not in url:
        return None
    try:
        raw = base64.b64decode(url.split(";base64,", 1)[1], validate=False)
    except (binascii.Error, ValueError):
        return None
    try:
        from PIL import Image

        with Image.open(io.BytesIO(raw)) as image:  # opening reads the header, not the pixels
            return image.size
    except Exception:
        return None


def _content_parts(content: Any) -> Iterable[Mapping[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [part for part in content if isinstance(part, Mapping)]
    return []


def estimate_message_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """Estimate the prompt tokens of chat ``messages`` in OpenAI's wire format.

    Text parts count by length, ``image_url`` parts by the tile rule (sizes are read from
    data URLs; a remote URL counts as one high-detail tile).

    Example:
        >>> estimate_message_tokens([{"role": "user", "content": "Describe the figure."}])
        12
    """
    total = 3  # every reply is primed with an assistant header
    for message in messages:
        total += TOKENS_PER_MESSAGE
        for part in _content_parts(message.get("content")):
            kind = part.get("type")
            if kind == "text":
                total += estimate_text_tokens(str(part.get("text", "")))
            elif kind == "image_url":
                image_url = part.get("image_url") or {}
                url = image_url.get("url", "") if isinstance(image_url, Mapping) else str(image_url)
                detail = image_url.get("detail", "auto") if isinstance(image_url, Mapping) else "auto"
                size = image_size_from_data_url(url)
                total += (
                    estimate_image_tokens(*size, detail) if size else LOW_DETAIL_IMAGE_TOKENS + TILE_TOKENS
                )
    return total


def estimate_request_tokens(body: Mapping[str, Any]) -> int:
    """Tokens a chat-completions request counts against a tokens-per-minute limit.

    Like OpenAI's limiter this is the prompt estimate plus the requested completion budget
    (``max_completion_tokens`` or ``max_tokens``, times ``n``).

    Example:
        >>> estimate_request_tokens({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 100})
        108
    """
    prompt = estimate_message_tokens(body.get("messages") or [])
    budget = body.get("max_completion_tokens") or body.get("max_tokens") or 0
    return prompt + int(budget) * int(body.get("n") or 1)
