"""Request checks of the stand-in server, and the OpenAI-style error body every refusal uses.

Example:
    >>> try:
    ...     validate_body({"model": "gpt-4o", "messages": []})
    ... except BadRequest as error:
    ...     error_body(str(error), "invalid_request_error", param=error.param)["error"]["param"]
    'messages'
"""

from __future__ import annotations

from typing import Any

__all__ = ["BadRequest", "error_body", "validate_body"]


def error_body(message: str, error_type: str, code: str | None = None, param: str | None = None) -> dict:
    """OpenAI's error body: ``{"error": {"message", "type", "param", "code"}}``.

    Example:
        >>> error_body("Slow down.", "requests", "rate_limit_exceeded")["error"]["code"]
        'rate_limit_exceeded'
    """
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


class BadRequest(Exception):
    """A request body the stand-in refuses with a 400; ``param`` names the offending field."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def validate_body(body: Any) -> None:
    """Raise :class:`BadRequest` unless ``body`` is a chat-completions request the stand-in serves.

    Example:
        >>> validate_body({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]})
    """
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise BadRequest("you must provide a model parameter", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty array of message objects.", "messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or "role" not in message:
            raise BadRequest(f"messages[{index}] must be an object with a 'role'.", f"messages[{index}]")
        content = message.get("content")
        if isinstance(content, list):
            for part_index, part in enumerate(content):
                kind = part.get("type") if isinstance(part, dict) else None
                if kind not in ("text", "image_url"):
                    raise BadRequest(
                        f"messages[{index}].content[{part_index}]: unsupported part type {kind!r}; "
                        "use 'text' or 'image_url'.",
                        f"messages[{index}].content[{part_index}].type",
                    )
        elif content is not None and not isinstance(content, str):
            raise BadRequest(f"messages[{index}].content must be a string or an array of parts.")
    if body.get("stream"):
        raise BadRequest(
            "The offline stand-in server does not support stream=true; send stream=false.", "stream"
        )
    n = body.get("n", 1)
    if n is not None and (not isinstance(n, int) or not 1 <= n <= 128):
        raise BadRequest(f"'n' must be an integer from 1 to 128, got {n!r}.", "n")
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is not None and (not isinstance(value, int) or value < 1):
            raise BadRequest(f"'{name}' must be a positive integer, got {value!r}.", name)
