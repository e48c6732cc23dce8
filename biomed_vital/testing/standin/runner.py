"""Serving the stand-in's aiohttp application on an event loop: start and stop it on the current loop, or
serve until a signal (the command line).

Example:
    >>> serve_forever(StandInConfig(rpm=600), port=0)   # doctest: +SKIP
    http://127.0.0.1:41235/v1
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from aiohttp import web

from biomed_vital.testing.standin.app import build_app
from biomed_vital.testing.standin.config import LOCALHOST, StandInConfig
from biomed_vital.testing.standin.state import ServerState

__all__ = ["LISTEN_BACKLOG", "StandInRunner", "serve_forever"]

# Room for a benchmark's burst of connections before any is accepted.
LISTEN_BACKLOG = 4096


class StandInRunner:
    """The aiohttp runner of one stand-in server, started and stopped on the current event loop."""

    def __init__(self, config: StandInConfig, host: str = LOCALHOST, port: int = 0) -> None:
        self.state = ServerState(config)
        self.host, self.requested_port = host, port
        self.runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> int:
        """Listen on ``host:port``; returns the port (a free one when ``port`` is 0)."""
        self.state.stopping = asyncio.Event()
        # handler_cancellation: a hanging handler ends when its client gives up.
        self.runner = web.AppRunner(
            build_app(self.state), access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.requested_port, backlog=LISTEN_BACKLOG)
        await site.start()
        self.port = int(self.runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        """Wake sleeping requests and close every connection."""
        if self.state.stopping is not None:
            self.state.stopping.set()
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


async def _serve_until_signalled(config: StandInConfig, host: str, port: int) -> None:
    server = StandInRunner(config, host, port)
    port = await server.start()
    print(f"http://{host}:{port}/v1", flush=True)
    print(
        f"offline stand-in server on http://{host}:{port}/v1 (rpm={config.rpm}, tpm={config.tpm}); "
        "Ctrl+C to stop",
        file=sys.stderr,
        flush=True,
    )
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, done.set)
    try:
        await done.wait()
    finally:
        await server.stop()


def serve_forever(config: StandInConfig, host: str = LOCALHOST, port: int = 0) -> None:
    """Serve until Ctrl+C or SIGTERM; prints the base URL on the first line of stdout.

    Raises ``OSError`` when it cannot listen on ``host:port``.

    Example:
        >>> serve_forever(StandInConfig(rpm=600), port=0)   # doctest: +SKIP
        http://127.0.0.1:41235/v1
    """
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_until_signalled(config, host, port))
