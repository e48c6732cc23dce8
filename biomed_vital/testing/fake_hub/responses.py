"""The fake Hub's HTTP answers: JSON, the Hub's 404s with ``X-Error-Code``, and file content with byte ranges.

Example:
    >>> not_found("EntryNotFound", "no such file").headers["x-error-code"]
    'EntryNotFound'
"""

from __future__ import annotations

import re
from typing import Any

import httpx2

__all__ = ["content_response", "json_response", "not_found"]


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> httpx2.Response:
    """A JSON response."""
    return httpx2.Response(status, json=payload, headers=headers or {})


def not_found(code: str, message: str) -> httpx2.Response:
    """A 404 with ``X-Error-Code`` (``RepoNotFound``, ``EntryNotFound``, ``RevisionNotFound``), as the Hub sends it,
    so that ``huggingface_hub`` raises its usual error."""
    return json_response(404, {"error": message}, {"x-error-code": code})


def content_response(request: Any, content: bytes, headers: dict[str, str]) -> httpx2.Response:
    """A file's bytes (or a ``Range`` of them, 206), or only its headers for a HEAD request."""
    status = 200
    byte_range = request.headers.get("range", "")
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", byte_range.strip())
    if match and (match.group(1) or match.group(2)):
        if match.group(1):
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else len(content) - 1
        else:  # a suffix range: the last N bytes
            start, end = max(0, len(content) - int(match.group(2))), len(content) - 1
        end = min(end, len(content) - 1)
        headers = {**headers, "content-range": f"bytes {start}-{end}/{len(content)}"}
        content, status = content[start : end + 1], 206
    headers = {**headers, "content-length": str(len(content))}
    if request.method == "HEAD":
        return httpx2.Response(status, headers=headers)
    return httpx2.Response(status, content=content, headers=headers)
