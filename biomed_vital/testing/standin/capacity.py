"""A cap on the chat completions the stand-in answers at once, like a model server's batch slots.

With ``StandInConfig(max_in_flight=N)`` at most N chat-completion requests are answered at a time; the
others wait in arrival order. With a fixed latency L the server then answers at most N / L requests per
second however many a client sends, so a benchmark's bottleneck is the endpoint and not the client.

Example:
    >>> from biomed_vital.testing.standin.config import StandInConfig
    >>> len(capacity_middlewares(StandInConfig(max_in_flight=4))), capacity_middlewares(StandInConfig())
    (1, [])
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from biomed_vital.testing.standin.config import StandInConfig

__all__ = ["capacity_middlewares"]

CAPPED_PATHS = frozenset({"/v1/chat/completions"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def capacity_middlewares(config: StandInConfig) -> list[Callable[..., Awaitable[web.StreamResponse]]]:
    """The aiohttp middlewares that enforce ``config.max_in_flight`` (none when it is ``None``)."""
    if config.max_in_flight is None:
        return []
    limit = config.max_in_flight
    slots: list[asyncio.Semaphore] = []  # made on first use, on the server's own event loop

    @web.middleware
    async def cap_in_flight(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in CAPPED_PATHS:
            return await handler(request)
        if not slots:
            slots.append(asyncio.Semaphore(limit))
        async with slots[0]:
            return await handler(request)

    return [cap_in_flight]
