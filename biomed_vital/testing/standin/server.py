"""An offline, OpenAI-compatible stand-in server for tests, the demo and benchmarks.

The real ``openai`` SDK talks to it over real HTTP on 127.0.0.1. It speaks the chat-completions
wire format (no streaming), sends OpenAI's ``x-ratelimit-*`` headers, enforces requests- and
tokens-per-minute limits over a sliding 60 s window (429 with ``Retry-After``), sleeps a
configurable latency, injects faults (429, 500, 503, hangs, dropped connections, malformed and
truncated content) and records every request. Everything that varies (fault, latency, reply)
is derived from a hash of ``(seed, request body, attempt)``, so results do not depend on the
order in which concurrent requests arrive, and a retry of the same body can succeed.

:class:`StandInServer` serves with aiohttp on an asyncio loop, either in a background thread of the
calling process or as a separate process (``python -m biomed_vital.testing.standin``), so that a
benchmark's client does not share the server's GIL.

Example:
    >>> from openai import OpenAI
    >>> from biomed_vital.testing import StandInServer, FaultConfig
    >>> with StandInServer(rpm=600, faults=FaultConfig(server_error=0.1)) as server:   # doctest: +SKIP
    ...     client = OpenAI(base_url=server.base_url, api_key="sk-local")
    ...     reply = client.chat.completions.create(
    ...         model="gpt-4o", messages=[{"role": "user", "content": "Caption: Chest radiograph."}]
    ...     )
    ...     print(reply.choices[0].message.content.splitlines()[0])
    User: What kind of image is this?
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess as _subprocess
import sys
import threading
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import biomed_vital
from biomed_vital.testing.standin.config import (
    DEFAULT_MODELS,
    LOCALHOST,
    FaultConfig,
    LatencyModel,
    StandInConfig,
)
from biomed_vital.testing.standin.state import log_stats

if TYPE_CHECKING:
    from biomed_vital.testing.standin.runner import StandInRunner

__all__ = ["StandInServer"]


class StandInServer:
    """An OpenAI-compatible chat-completions server on 127.0.0.1 (offline stand-in).

    Args:
        config: a :class:`StandInConfig` with every behaviour setting; or give them one by one:
        rpm, tpm: requests / tokens per minute (None = unlimited), sliding 60 s window.
        latency: a :class:`LatencyModel` (default: answer at once).
        faults: a :class:`FaultConfig` (default: no faults).
        seed: varies faults, latencies and reply wording; the same seed gives the same results.
        models: the ids listed by ``GET /v1/models`` (any model id is accepted in requests).
        host, port: where to listen; port 0 picks a free one (see :attr:`base_url`).
        subprocess: serve from a separate Python process instead of a background thread.
        startup_timeout: seconds to wait for the server to listen.

    Example:
        >>> with StandInServer(rpm=60) as server:                    # doctest: +SKIP
        ...     server.base_url
        'http://127.0.0.1:40123/v1'
        >>> server = StandInServer.spawn(latency=LatencyModel.fixed(0.05)).start()   # doctest: +SKIP
        >>> server.stop()                                             # doctest: +SKIP
        >>> StandInServer(StandInConfig(rpm=60, fault=["truncated=0.1"]))
        StandInServer(stopped, thread, rpm=60, tpm=None)
    """

    def __init__(
        self,
        config: StandInConfig | None = None,
        *,
        host: str = LOCALHOST,
        port: int = 0,
        rpm: int | None = None,
        tpm: int | None = None,
        latency: LatencyModel | None = None,
        faults: FaultConfig | None = None,
        seed: int = 0,
        models: Sequence[str] = DEFAULT_MODELS,
        subprocess: bool = False,
        startup_timeout: float = 30.0,
    ) -> None:
        settings = {"rpm": rpm, "tpm": tpm, "latency": latency, "faults": faults, "seed": seed or None}
        if config is None:
            config = StandInConfig.from_parts(
                latency=latency, faults=faults, rpm=rpm, tpm=tpm, seed=seed, models=list(models)
            )
        elif any(value is not None for value in settings.values()) or tuple(models) != DEFAULT_MODELS:
            given = [name for name, value in settings.items() if value is not None]
            raise ValueError(
                f"StandInServer: got a config and {', '.join(given) or 'models'}; put every setting in the config"
            )
        self.config = config
        self.host, self.requested_port = host, port
        self.subprocess = subprocess
        self.startup_timeout = startup_timeout
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: StandInRunner | None = None
        self._process: _subprocess.Popen[str] | None = None
        self._final_log: list[dict[str, Any]] | None = None

    @classmethod
    def spawn(cls, **kwargs: Any) -> StandInServer:
        """A server that runs in its own process (call :meth:`start`, or use ``with``)."""
        return cls(subprocess=True, **kwargs)

    # ------------------------------------------------------------------ addresses
    @property
    def port(self) -> int:
        """The TCP port the server listens on (after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("StandInServer is not running; call start() or use it as a context manager")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (the root, without ``/v1``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The ``base_url`` for ``OpenAI(...)``: ``http://127.0.0.1:PORT/v1``."""
        return f"{self.url}/v1"

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._port is not None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> StandInServer:
        """Start serving; returns ``self``. In-process startup takes well under a second."""
        if self.running:
            raise RuntimeError(f"StandInServer is already running at {self.base_url}")
        self._final_log = None
        if self.subprocess:
            self._start_process()
        else:
            self._start_thread()
        return self

    def stop(self) -> None:
        """Stop serving and release the thread or process (idempotent).

        The request log stays readable through :meth:`request_log` after stopping.
        """
        if not self.running:
            return
        try:
            self._final_log = self.request_log()
        except Exception:  # a crashed subprocess has no log to give; stopping must still succeed
            self._final_log = None
        if self.subprocess:
            self._stop_process()
        else:
            self._stop_thread()
        self._port = None

    def __enter__(self) -> StandInServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __del__(self) -> None:  # a forgotten server must not keep a process alive
        # No module globals here: at interpreter exit they may already be None (contextlib.suppress was).
        try:
            process = self._process
            if process is not None and process.poll() is None:
                process.kill()
        except Exception:  # noqa: S110  # nothing to report from a finaliser
            pass

    def _start_thread(self) -> None:
        # imported here: aiohttp is only needed by a server that runs in this process
        from biomed_vital.testing.standin.runner import StandInRunner

        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()
        server = StandInRunner(self.config, self.host, self.requested_port)

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._port = loop.run_until_complete(server.start())
            except BaseException as error:  # reported to start() in the calling thread
                failure.append(error)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(server.stop())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
                loop.close()

        thread = threading.Thread(target=run, name="biomed-vital-standin-server", daemon=True)
        thread.start()
        if not ready.wait(self.startup_timeout):
            raise RuntimeError(f"StandInServer did not start within {self.startup_timeout} s")
        if failure:
            thread.join()
            raise RuntimeError(
                f"StandInServer could not listen on {self.host}:{self.requested_port}: {failure[0]}"
            ) from failure[0]
        self._thread, self._loop, self._server = thread, loop, server

    def _stop_thread(self) -> None:
        assert self._loop is not None and self._thread is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._thread = self._loop = self._server = None

    def _command_line(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "biomed_vital.testing.standin",
            "--host",
            self.host,
            "--port",
            str(self.requested_port),
            *self.config.to_flags(),
        ]

    def _start_process(self) -> None:
        env = dict(os.environ)
        # the child imports this very copy of biomed_vital, installed or not
        package_root = str(Path(biomed_vital.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        process = _subprocess.Popen(
            self._command_line(), stdout=_subprocess.PIPE, stderr=_subprocess.DEVNULL, text=True, env=env
        )
        line: list[str] = []
        reader = threading.Thread(
            target=lambda: line.append(process.stdout.readline() if process.stdout else "")
        )
        reader.start()
        reader.join(self.startup_timeout)
        url = line[0].strip() if line else ""
        if not url.startswith("http://"):
            process.kill()
            process.wait()
            raise RuntimeError(
                f"the stand-in server process did not print its URL within {self.startup_timeout} s "
                f"(exit code {process.poll()}); run `{' '.join(self._command_line())}` to see its error"
            )
        self._process = process
        self._port = int(url.rsplit(":", 1)[1].split("/", 1)[0])

    def _stop_process(self) -> None:
        assert self._process is not None
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except _subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._process = None

    # ------------------------------------------------------------------ inspection
    def _call(self, method: str, path: str) -> Any:
        if self._server is not None and self._loop is not None:
            state = self._server.state

            async def local() -> Any:
                if path == "/_standin/reset":
                    state.reset()
                    return {"reset": True}
                return {"requests": [dict(e) for e in state.log]}

            return asyncio.run_coroutine_threadsafe(local(), self._loop).result(timeout=30)
        request = urllib.request.Request(
            self.url + path, method=method, data=b"" if method == "POST" else None
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def request_log(self) -> list[dict[str, Any]]:
        """Every request so far, in arrival order, as dicts.

        Keys: ``seq``, ``arrival``/``finish`` (``time.monotonic()``), ``path``, ``request_key``
        (sha256 of the canonical body), ``attempt`` (1 for the first time a body is seen),
        ``model``, ``mode`` (generation/judge), ``fault`` (or None), ``status`` (499 when the
        client closed the connection first; None while in flight and for a dropped connection),
        ``prompt_tokens``, ``completion_tokens``, ``seed``. The ``x-request-id`` response header
        is ``req_standin_<seq>``.
        Never the Authorization header or any key.
        """
        if not self.running:
            if self._final_log is None:
                raise RuntimeError("StandInServer was never started, so it has no request log")
            return [dict(e) for e in self._final_log]
        log = self._call("GET", "/_standin/log")["requests"]
        return sorted(log, key=lambda e: e["seq"])

    def stats(self) -> dict[str, Any]:
        """Counts over the request log: total, by HTTP status, by fault, by mode, and token sums.

        Example:
            >>> server.stats()["by_status"]                     # doctest: +SKIP
            {'200': 40, '429': 3}
        """
        return log_stats(self.request_log())

    def reset(self) -> None:
        """Clear the request log, the attempt counters and the rate-limit window."""
        if not self.running:
            raise RuntimeError("StandInServer is not running; nothing to reset")
        self._call("POST", "/_standin/reset")

    def __repr__(self) -> str:
        where = self.base_url if self.running else "stopped"
        mode = "subprocess" if self.subprocess else "thread"
        return f"StandInServer({where}, {mode}, rpm={self.config.rpm}, tpm={self.config.tpm})"
