"""The chat-completions wire format as the engine uses it: request bodies as SDK arguments, completions as
the answers the cache stores.

Example:
    >>> sdk_arguments({"messages": [], "top_k": 5})["extra_body"]
    {'top_k': 5}
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from typing import Any

from biomed_vital.engine.tokens import estimate_message_tokens, estimate_text_tokens

__all__ = ["EmptyResponse", "response_from_completion", "sdk_arguments", "sdk_parameters"]


class EmptyResponse(Exception):
    """A 200 response without a choice (retried like a server error)."""


def response_from_completion(completion: Any, body: Mapping[str, Any]) -> dict[str, Any]:
    """What the cache stores of a completion: content, finish reason, usage (estimated when the server
    sent none), and the models asked for and answering."""
    choices = getattr(completion, "choices", None) or []
    if not choices:
        raise EmptyResponse("the server answered without a choice")
    choice = choices[0]
    message = getattr(choice, "message", None)
    content = getattr(message, "content", None) if message is not None else None
    usage = getattr(completion, "usage", None)
    if usage is not None and getattr(usage, "prompt_tokens", None) is not None:
        usage_dict = {
            "prompt_tokens": int(usage.prompt_tokens or 0),
            "completion_tokens": int(usage.completion_tokens or 0),
        }
    else:  # some compatible servers omit usage; keep an estimate so costs are not silently zero
        usage_dict = {
            "prompt_tokens": estimate_message_tokens(body.get("messages") or []),
            "completion_tokens": estimate_text_tokens(content or ""),
            "estimated": 1,
        }
    return {
        "content": content,
        "finish_reason": getattr(choice, "finish_reason", None),
        "usage": usage_dict,
        "model": getattr(completion, "model", None),
        "request_model": body.get("model"),
    }


@functools.cache
def sdk_parameters() -> frozenset[str]:
    """The keyword arguments ``AsyncCompletions.create`` of the installed ``openai`` SDK names."""
    from openai.resources.chat.completions import AsyncCompletions

    return frozenset(inspect.signature(AsyncCompletions.create).parameters) - {"self", "extra_body"}


def sdk_arguments(body: Mapping[str, Any]) -> dict[str, Any]:
    """SDK keyword arguments for a request body; parameters the SDK does not name (``top_k``
    for vLLM, ...) travel in ``extra_body`` so they reach the server unchanged."""
    known = sdk_parameters()
    arguments = {name: value for name, value in body.items() if name in known}
    extra = {name: value for name, value in body.items() if name not in known and name != "extra_body"}
    if extra or body.get("extra_body"):
        arguments["extra_body"] = {**extra, **(body.get("extra_body") or {})}
    return arguments
