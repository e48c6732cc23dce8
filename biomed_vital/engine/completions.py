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
from typing import TYPE_CHECKING, Any

from biomed_vital.engine.requests import ChatResult
from biomed_vital.engine.tokens import estimate_message_tokens, estimate_text_tokens

if TYPE_CHECKING:
    from biomed_vital.engine.pricing import PriceTable

__all__ = [
    "EmptyResponse",
    "response_from_completion",
    "result_from_response",
    "sdk_arguments",
    "sdk_parameters",
]


class EmptyResponse(Exception):
    """A 200 response without a choice (retried like a server error)."""


def response_from_completion(completion: Any, body: Mapping[str, Any]) -> dict[str, Any]:
    """What the cache stores of a completion (an SDK object, or the parsed JSON of a batch answer):
    content, finish reason, usage (estimated when the server sent none), and the models asked for and
    answering."""
    choices = _field(completion, "choices") or []
    if not choices:
        raise EmptyResponse("the server answered without a choice")
    choice = choices[0]
    message = _field(choice, "message")
    content = _field(message, "content") if message is not None else None
    usage = _field(completion, "usage")
    if usage is not None and _field(usage, "prompt_tokens") is not None:
        usage_dict = {
            "prompt_tokens": int(_field(usage, "prompt_tokens") or 0),
            "completion_tokens": int(_field(usage, "completion_tokens") or 0),
        }
    else:  # some compatible servers omit usage; keep an estimate so costs are not silently zero
        usage_dict = {
            "prompt_tokens": estimate_message_tokens(body.get("messages") or []),
            "completion_tokens": estimate_text_tokens(content or ""),
            "estimated": 1,
        }
    return {
        "content": content,
        "finish_reason": _field(choice, "finish_reason"),
        "usage": usage_dict,
        "model": _field(completion, "model"),
        "request_model": body.get("model"),
    }


def result_from_response(
    request_id: str,
    key: str,
    response: Mapping[str, Any],
    prices: PriceTable,
    default_model: str,
    cached: bool = False,
) -> ChatResult:
    """The :class:`~biomed_vital.engine.requests.ChatResult` of a stored answer, priced with ``prices``
    (at batch prices when it came through the Batch API) for the model it asked for (else ``default_model``).

    Example:
        >>> from biomed_vital.engine.pricing import PriceTable
        >>> answer = {"content": "Hi", "usage": {"prompt_tokens": 1000, "completion_tokens": 0}}
        >>> result_from_response("r0", "k0", answer, PriceTable.default(), "gpt-4o").prompt_tokens
        1000
    """
    usage = response.get("usage") or {}
    prompt_tokens = int(usage.get("prompt_tokens") or 0)
    completion_tokens = int(usage.get("completion_tokens") or 0)
    model = str(response.get("request_model") or default_model)
    return ChatResult(
        request_id,
        key,
        "ok",
        content=response.get("content"),
        finish_reason=response.get("finish_reason"),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=prices.cost(model, prompt_tokens, completion_tokens, batch=bool(response.get("batch"))),
        cached=cached,
    )


def _field(value: Any, name: str) -> Any:
    """``value.name`` of an SDK object, or ``value[name]`` of parsed JSON (a batch output line)."""
    return value.get(name) if isinstance(value, Mapping) else getattr(value, name, None)


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
