"""An offline, OpenAI-compatible stand-in server for tests, the demo and benchmarks.

The real ``openai`` SDK talks to it over real HTTP on 127.0.0.1. It speaks the chat-completions
wire format (no streaming), sends OpenAI's ``x-ratelimit-*`` headers, enforces requests- and
tokens-per-minute limits over a sliding 60 s window (429 with ``Retry-After``), sleeps a
configurable latency, injects faults (429, 500, 503, hangs, dropped connections, malformed and
truncated content) and records every request. Everything that varies (fault, latency, reply)
is derived from a hash of ``(seed, request body, attempt)``, so results do not depend on the
order in which concurrent requests arrive, and a retry of the same body can succeed.

It serves with aiohttp on an asyncio loop, either in a background thread of the calling
process or as a separate process (so a benchmark's client does not share the server's GIL).

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

Command line (prints the base URL, serves until interrupted)::

    python -m biomed_vital.testing.server --port 8000 --rpm 600 --tpm 200000 \\
        --latency-median 0.2 --latency-p99 2.0 --fault rate_limit=0.2 --fault server_error=0.05
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import os
import signal
import subprocess as _subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from statistics import NormalDist
from typing import Any

from biomed_vital.engine.tokens import (
    estimate_message_tokens,
    estimate_request_tokens,
    estimate_text_tokens,
)
from biomed_vital.testing import replies

WINDOW_SECONDS = 60.0
DEFAULT_MODELS = ("gpt-4o", "gpt-4-vision-preview", "gpt-4o-mini", "standin")
FAULT_KINDS = ("rate_limit", "server_error", "unavailable", "timeout", "disconnect", "malformed", "truncated")
# Status logged for a request whose client went away before the answer (nginx's convention).
CLIENT_CLOSED = 499
_Z99 = NormalDist().inv_cdf(0.99)  # 2.326...


def _unit_interval(*parts: object) -> float:
    """A uniform number in [0, 1) derived from ``parts`` (stable across processes and runs)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def request_key(body: Mapping[str, Any]) -> str:
    """The sha256 of a request body's canonical JSON (sorted keys, no whitespace).

    Example:
        >>> request_key({"b": 1, "a": [1, 2]}) == request_key({"a": [1, 2], "b": 1})
        True
    """
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def format_duration(seconds: float) -> str:
    """Format a duration the way OpenAI's ``x-ratelimit-reset-*`` headers do.

    Example:
        >>> format_duration(0.12), format_duration(1), format_duration(1.5), format_duration(360)
        ('120ms', '1s', '1.5s', '6m0s')
    """
    seconds = max(0.0, seconds)
    if seconds < 1.0:
        return f"{math.ceil(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60.0)
    rest_text = f"{rest:.3f}".rstrip("0").rstrip(".")
    if minutes >= 1:
        return f"{int(minutes)}m{rest_text}s"
    return f"{rest_text}s"


@dataclass
class LatencyModel:
    """How long the stand-in takes to answer.

    ``median`` seconds, fixed when ``p99`` is None, otherwise log-normal with that median and
    99th percentile (``sigma = ln(p99 / median) / 2.326``); plus ``per_completion_token`` seconds
    per completion token. Samples are a function of ``(seed, request key, attempt)``.

    Example:
        >>> model = LatencyModel(median=0.2, p99=2.0)
        >>> round(model.sigma, 3)
        0.99
        >>> model.sample("some-request-key", attempt=1) == model.sample("some-request-key", attempt=1)
        True
    """

    median: float = 0.0
    p99: float | None = None
    per_completion_token: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.median < 0 or self.per_completion_token < 0:
            raise ValueError(
                f"LatencyModel: median ({self.median}) and per_completion_token "
                f"({self.per_completion_token}) must be >= 0 seconds"
            )
        if self.p99 is not None and (self.median <= 0 or self.p99 < self.median):
            raise ValueError(
                f"LatencyModel: a log-normal latency needs 0 < median <= p99, got median={self.median}, "
                f"p99={self.p99}; pass p99=None for a fixed latency"
            )

    @classmethod
    def fixed(cls, seconds: float, per_completion_token: float = 0.0) -> LatencyModel:
        """Always ``seconds`` (plus the per-token delay)."""
        return cls(median=seconds, per_completion_token=per_completion_token)

    @classmethod
    def lognormal(
        cls, median: float, p99: float, per_completion_token: float = 0.0, seed: int = 0
    ) -> LatencyModel:
        """Log-normal latency with the given median and 99th percentile."""
        return cls(median=median, p99=p99, per_completion_token=per_completion_token, seed=seed)

    @property
    def sigma(self) -> float:
        """The log-normal shape parameter (0 for a fixed latency)."""
        if self.p99 is None or self.median <= 0:
            return 0.0
        return math.log(self.p99 / self.median) / _Z99

    def sample(self, key: str, attempt: int = 1, completion_tokens: int = 0) -> float:
        """The latency in seconds for one attempt of one request body."""
        base = self.median
        if self.sigma > 0:
            u = min(max(_unit_interval(self.seed, "latency", key, attempt), 1e-12), 1 - 1e-12)
            base = self.median * math.exp(self.sigma * NormalDist().inv_cdf(u))
        return base + self.per_completion_token * completion_tokens


@dataclass
class FaultConfig:
    """Probabilities of injected faults (each in [0, 1], together at most 1).

    * ``rate_limit``: 429 with ``Retry-After: retry_after`` (independent of the real limiter);
    * ``server_error``: 500; ``unavailable``: 503;
    * ``timeout``: hang ``hang_seconds`` before answering (the client's timeout fires first);
    * ``disconnect``: close the connection without a response;
    * ``malformed``: 200 whose content ignores the requested format;
    * ``truncated``: 200 with the content cut mid-sentence and ``finish_reason="length"``.

    The fault of a request is a function of ``(seed, request key, attempt)``.

    Example:
        >>> faults = FaultConfig(server_error=0.5, seed=1)
        >>> faults.choose("key", 1) == faults.choose("key", 1)
        True
        >>> FaultConfig.from_pairs(["rate_limit=0.2", "truncated=0.1"]).rate_limit
        0.2
    """

    rate_limit: float = 0.0
    server_error: float = 0.0
    unavailable: float = 0.0
    timeout: float = 0.0
    disconnect: float = 0.0
    malformed: float = 0.0
    truncated: float = 0.0
    hang_seconds: float = 30.0
    retry_after: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        for kind in FAULT_KINDS:
            probability = getattr(self, kind)
            if not 0.0 <= probability <= 1.0:
                raise ValueError(
                    f"FaultConfig.{kind}={probability} is not a probability; use a value in [0, 1]"
                )
        total = sum(getattr(self, kind) for kind in FAULT_KINDS)
        if total > 1.0 + 1e-9:
            raise ValueError(f"FaultConfig probabilities add up to {total:.3f} > 1; lower some of them")
        if self.hang_seconds < 0 or self.retry_after < 0:
            raise ValueError("FaultConfig.hang_seconds and retry_after must be >= 0 seconds")

    @classmethod
    def from_pairs(cls, pairs: Sequence[str], **kwargs: Any) -> FaultConfig:
        """Build from ``["kind=probability", ...]`` as given on the command line."""
        values: dict[str, Any] = {}
        allowed = {f.name for f in fields(cls)} - {"seed"}
        for pair in pairs:
            name, sep, value = pair.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in allowed:
                raise ValueError(
                    f"bad fault {pair!r}: expected NAME=VALUE with NAME one of {', '.join(sorted(allowed))}"
                )
            try:
                values[name] = float(value)
            except ValueError:
                raise ValueError(f"bad fault {pair!r}: {value!r} is not a number") from None
        return cls(**values, **kwargs)

    def choose(self, key: str, attempt: int) -> str | None:
        """The fault for this attempt of this request body, or None."""
        u = _unit_interval(self.seed, "fault", key, attempt)
        cumulative = 0.0
        for kind in FAULT_KINDS:
            cumulative += getattr(self, kind)
            if u < cumulative:
                return kind
        return None


@dataclass
class _Decision:
    admitted: bool
    kind: str | None = None  # "requests" or "tokens" when refused
    retry_after: float = 0.0
    too_large: bool = False


class SlidingWindowLimiter:
    """Requests- and tokens-per-minute limits over a sliding 60 s window.

    Admitted requests consume the window; refused ones do not.

    Example:
        >>> limiter = SlidingWindowLimiter(rpm=2, tpm=None)
        >>> [limiter.admit(10, now=0.0).admitted for _ in range(3)]
        [True, True, False]
        >>> limiter.admit(10, now=0.0).retry_after
        60.0
    """

    def __init__(self, rpm: int | None, tpm: int | None, window: float = WINDOW_SECONDS) -> None:
        for name, value in (("rpm", rpm), ("tpm", tpm)):
            if value is not None and value <= 0:
                raise ValueError(f"{name}={value} must be a positive integer or None (unlimited)")
        self.rpm, self.tpm, self.window = rpm, tpm, window
        self._entries: deque[tuple[float, int]] = deque()
        self._tokens = 0

    def _prune(self, now: float) -> None:
        while self._entries and self._entries[0][0] <= now - self.window:
            self._tokens -= self._entries.popleft()[1]

    def admit(self, tokens: int, now: float | None = None) -> _Decision:
        """Admit a request of ``tokens`` (and record it) or say why not and for how long."""
        now = time.monotonic() if now is None else now
        self._prune(now)
        waits: list[tuple[float, str]] = []
        if self.rpm is not None and len(self._entries) + 1 > self.rpm:
            oldest_to_expire = self._entries[len(self._entries) - self.rpm]
            waits.append((oldest_to_expire[0] + self.window - now, "requests"))
        if self.tpm is not None:
            if tokens > self.tpm:
                return _Decision(False, "tokens", self.window, too_large=True)
            excess = self._tokens + tokens - self.tpm
            if excess > 0:
                freed = 0
                for entry_time, entry_tokens in self._entries:
                    freed += entry_tokens
                    if freed >= excess:
                        waits.append((entry_time + self.window - now, "tokens"))
                        break
        if waits:
            wait, kind = max(waits)
            return _Decision(False, kind, max(wait, 0.001))
        self._entries.append((now, tokens))
        self._tokens += tokens
        return _Decision(True)

    def usage(self, now: float | None = None) -> tuple[int, int]:
        """Requests and tokens currently counted in the window."""
        now = time.monotonic() if now is None else now
        self._prune(now)
        return len(self._entries), self._tokens

    def headers(self, now: float | None = None) -> dict[str, str]:
        """OpenAI's ``x-ratelimit-*`` headers for the configured limits.

        ``reset`` is the time until the oldest counted request leaves the window, i.e. until
        the remaining budget next grows ("0s" when nothing is counted).
        """
        now = time.monotonic() if now is None else now
        count, tokens = self.usage(now)
        reset = format_duration(self._entries[0][0] + self.window - now) if self._entries else "0s"
        headers: dict[str, str] = {}
        if self.rpm is not None:
            headers["x-ratelimit-limit-requests"] = str(self.rpm)
            headers["x-ratelimit-remaining-requests"] = str(max(0, self.rpm - count))
            headers["x-ratelimit-reset-requests"] = reset
        if self.tpm is not None:
            headers["x-ratelimit-limit-tokens"] = str(self.tpm)
            headers["x-ratelimit-remaining-tokens"] = str(max(0, self.tpm - tokens))
            headers["x-ratelimit-reset-tokens"] = reset
        return headers

    def clear(self) -> None:
        """Forget every counted request."""
        self._entries.clear()
        self._tokens = 0


@dataclass
class _ServerConfig:
    host: str = "127.0.0.1"
    port: int = 0
    rpm: int | None = None
    tpm: int | None = None
    latency: LatencyModel = field(default_factory=LatencyModel)
    faults: FaultConfig = field(default_factory=FaultConfig)
    seed: int = 0
    models: tuple[str, ...] = DEFAULT_MODELS
    backlog: int = 4096


def _error_body(message: str, error_type: str, code: str | None = None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


class _BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def _validate_body(body: Any) -> None:
    if not isinstance(body, dict):
        raise _BadRequest("The request body must be a JSON object.")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise _BadRequest("you must provide a model parameter", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _BadRequest("'messages' must be a non-empty array of message objects.", "messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or "role" not in message:
            raise _BadRequest(f"messages[{index}] must be an object with a 'role'.", f"messages[{index}]")
        content = message.get("content")
        if isinstance(content, list):
            for part_index, part in enumerate(content):
                kind = part.get("type") if isinstance(part, dict) else None
                if kind not in ("text", "image_url"):
                    raise _BadRequest(
                        f"messages[{index}].content[{part_index}]: unsupported part type {kind!r}; "
                        "use 'text' or 'image_url'.",
                        f"messages[{index}].content[{part_index}].type",
                    )
        elif content is not None and not isinstance(content, str):
            raise _BadRequest(f"messages[{index}].content must be a string or an array of parts.")
    if body.get("stream"):
        raise _BadRequest(
            "The offline stand-in server does not support stream=true; send stream=false.", "stream"
        )
    n = body.get("n", 1)
    if n is not None and (not isinstance(n, int) or not 1 <= n <= 128):
        raise _BadRequest(f"'n' must be an integer from 1 to 128, got {n!r}.", "n")
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is not None and (not isinstance(value, int) or value < 1):
            raise _BadRequest(f"'{name}' must be a positive integer, got {value!r}.", name)


def _fit_budget(content: str, budget: int | None) -> tuple[str, bool]:
    """Cut ``content`` to ``budget`` completion tokens; returns (content, was_cut)."""
    if not budget or estimate_text_tokens(content) <= budget:
        return content, False
    cut = content.encode("utf-8")[: budget * 4].decode("utf-8", "ignore")
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut, True


class _ServerState:
    """Everything the request handlers share; only touched from the server's event loop."""

    def __init__(self, config: _ServerConfig) -> None:
        self.config = config
        self.limiter = SlidingWindowLimiter(config.rpm, config.tpm)
        self.log: list[dict[str, Any]] = []
        self.attempts: Counter[str] = Counter()
        self.sequence = 0
        self.stopping: asyncio.Event | None = None

    def reset(self) -> None:
        self.log.clear()
        self.attempts.clear()
        self.limiter.clear()
        self.sequence = 0


def _stats(log: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "requests": len(log),
        "by_status": dict(sorted(Counter(str(e["status"]) for e in log).items())),
        "by_fault": dict(sorted(Counter(str(e["fault"]) for e in log if e["fault"]).items())),
        "by_mode": dict(sorted(Counter(str(e["mode"]) for e in log if e["mode"]).items())),
        "prompt_tokens": sum(e["prompt_tokens"] for e in log),
        "completion_tokens": sum(e["completion_tokens"] for e in log),
    }


def _build_app(state: _ServerState) -> Any:
    from aiohttp import web

    config = state.config

    def json_response(
        payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> web.Response:
        all_headers = {**state.limiter.headers(), **(headers or {})}
        return web.json_response(payload, status=status, headers=all_headers)

    async def sleep_unless_stopping(seconds: float) -> None:
        if seconds <= 0:
            return
        assert state.stopping is not None
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(state.stopping.wait(), timeout=seconds)

    async def chat_completions(request: web.Request) -> web.StreamResponse:
        state.sequence += 1
        entry: dict[str, Any] = {
            "seq": state.sequence,
            "arrival": time.monotonic(),
            "finish": None,
            "path": request.path,
            "request_key": None,
            "attempt": None,
            "model": None,
            "mode": None,
            "fault": None,
            "status": None,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "seed": None,
        }
        state.log.append(entry)  # logged on arrival, so requests still in flight are visible
        try:
            response = await _answer(request, entry)
            response.headers["x-request-id"] = f"req_standin_{entry['seq']}"
            entry["status"] = response.status
            return response
        except asyncio.CancelledError:
            # A dropped connection (injected) has no status; otherwise the client gave up first.
            entry["status"] = None if entry["fault"] == "disconnect" else CLIENT_CLOSED
            raise
        finally:
            entry["finish"] = time.monotonic()

    async def _answer(request: web.Request, entry: dict[str, Any]) -> web.StreamResponse:
        authorization = request.headers.get("Authorization", "")
        scheme, _, api_key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not api_key.strip():
            return json_response(
                _error_body(
                    "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'; "
                    "the offline stand-in accepts any non-empty key.",
                    "invalid_request_error",
                    "invalid_api_key",
                ),
                status=401,
            )
        try:
            body = await request.json(loads=json.loads)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            return json_response(
                _error_body(f"The request body is not valid JSON: {error}", "invalid_request_error"),
                status=400,
            )
        if isinstance(body, dict):
            entry["model"] = body.get("model") if isinstance(body.get("model"), str) else None
            entry["seed"] = body.get("seed")
        try:
            _validate_body(body)
        except _BadRequest as error:
            return json_response(
                _error_body(str(error), "invalid_request_error", None, error.param), status=400
            )

        key = request_key(body)
        state.attempts[key] += 1
        attempt = state.attempts[key]
        mode = replies.reply_mode(body)
        prompt_tokens = estimate_message_tokens(body["messages"])
        entry.update(request_key=key, attempt=attempt, mode=mode, prompt_tokens=prompt_tokens)

        fault = config.faults.choose(key, attempt)
        entry["fault"] = fault
        if fault == "rate_limit":
            wait = config.faults.retry_after
            return json_response(
                _error_body(
                    f"Rate limit reached for {body['model']} on the offline stand-in server on requests per "
                    f"min (RPM). Please try again in {format_duration(wait)}. (injected fault)",
                    "requests",
                    "rate_limit_exceeded",
                ),
                status=429,
                headers={"retry-after": str(math.ceil(wait)), "retry-after-ms": str(math.ceil(wait * 1000))},
            )

        decision = state.limiter.admit(estimate_request_tokens(body))
        if not decision.admitted:
            return _limited(body, decision)

        if fault == "timeout":
            await sleep_unless_stopping(config.faults.hang_seconds)
        if fault == "disconnect":
            await sleep_unless_stopping(config.latency.sample(key, attempt))
            return _drop_connection(request)
        if fault in ("server_error", "unavailable"):
            await sleep_unless_stopping(config.latency.sample(key, attempt))
            status = 500 if fault == "server_error" else 503
            message = (
                "The server had an error while processing your request. (injected fault)"
                if status == 500
                else "The engine is currently overloaded, please try again later. (injected fault)"
            )
            return json_response(_error_body(message, "server_error", None), status=status)

        choices = []
        completion_tokens = 0
        budget = body.get("max_completion_tokens") or body.get("max_tokens")
        for index in range(body.get("n") or 1):
            variant = replies.variant_for(config.seed, "reply", key, index)
            if fault == "malformed":
                content, finish = replies.malformed_reply(mode), "stop"
            else:
                content, finish = replies.build_reply(body, mode, variant), "stop"
                if fault == "truncated":
                    content, finish = replies.truncate_mid_sentence(content), "length"
            content, cut = _fit_budget(content, budget)
            if cut:
                finish = "length"
            completion_tokens += estimate_text_tokens(content)
            choices.append(
                {
                    "index": index,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": finish,
                }
            )
        entry["completion_tokens"] = completion_tokens
        await sleep_unless_stopping(config.latency.sample(key, attempt, completion_tokens))
        payload = {
            "id": f"chatcmpl-standin-{key[:24]}-{attempt}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "system_fingerprint": "fp_offline_standin",
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return json_response(payload)

    def _limited(body: Mapping[str, Any], decision: _Decision) -> web.Response:
        count, tokens = state.limiter.usage()
        requested = estimate_request_tokens(body)
        if decision.kind == "requests":
            detail = f"requests per min (RPM): Limit {config.rpm}, Used {count}, Requested 1."
        else:
            detail = f"tokens per min (TPM): Limit {config.tpm}, Used {tokens}, Requested {requested}."
        wait = decision.retry_after
        headers = {"retry-after": str(math.ceil(wait)), "retry-after-ms": str(math.ceil(wait * 1000))}
        if decision.too_large:
            message = (
                f"Request too large for {body['model']} on the offline stand-in server on {detail} "
                "Lower max_tokens or send a smaller prompt."
            )
            headers["x-should-retry"] = "false"  # waiting cannot help; tell the SDK not to retry
        else:
            message = (
                f"Rate limit reached for {body['model']} on the offline stand-in server on {detail} "
                f"Please try again in {format_duration(wait)}."
            )
        return json_response(
            _error_body(message, decision.kind or "requests", "rate_limit_exceeded"), 429, headers
        )

    def _drop_connection(request: web.Request) -> web.StreamResponse:
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise asyncio.CancelledError  # aiohttp then writes nothing on the aborted connection

    async def list_models(request: web.Request) -> web.Response:
        data = [
            {"id": m, "object": "model", "created": 0, "owned_by": "offline-standin"} for m in config.models
        ]
        return json_response({"object": "list", "data": data})

    async def get_log(request: web.Request) -> web.Response:
        return web.json_response({"requests": state.log})

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response(_stats(state.log))

    async def reset(request: web.Request) -> web.Response:
        state.reset()
        return web.json_response({"reset": True})

    async def not_found(request: web.Request) -> web.Response:
        return json_response(
            _error_body(
                f"Unknown request URL: {request.method} {request.path}. The offline stand-in serves "
                "POST /v1/chat/completions and GET /v1/models.",
                "invalid_request_error",
                "unknown_url",
            ),
            status=404,
        )

    app = web.Application(client_max_size=256 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/_standin/log", get_log)
    app.router.add_get("/_standin/stats", get_stats)
    app.router.add_post("/_standin/reset", reset)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app


class _AsyncServer:
    """The aiohttp runner of one server, started and stopped on the current event loop."""

    def __init__(self, config: _ServerConfig) -> None:
        self.state = _ServerState(config)
        self.runner: Any = None
        self.port: int | None = None

    async def start(self) -> int:
        from aiohttp import web

        self.state.stopping = asyncio.Event()
        app = _build_app(self.state)
        # handler_cancellation: a hanging handler ends when its client gives up.
        self.runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
        await self.runner.setup()
        site = web.TCPSite(
            self.runner,
            self.state.config.host,
            self.state.config.port,
            backlog=self.state.config.backlog,
        )
        await site.start()
        self.port = int(self.runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        if self.state.stopping is not None:
            self.state.stopping.set()
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


class StandInServer:
    """An OpenAI-compatible chat-completions server on 127.0.0.1 (offline stand-in).

    Args:
        port: TCP port; 0 picks a free one (see :attr:`base_url`).
        rpm, tpm: requests / tokens per minute (None = unlimited), sliding 60 s window.
        latency: a :class:`LatencyModel` (default: answer at once).
        faults: a :class:`FaultConfig` (default: no faults).
        seed: varies faults, latencies and reply wording; the same seed gives the same results.
        models: the ids listed by ``GET /v1/models`` (any model id is accepted in requests).
        subprocess: serve from a separate Python process instead of a background thread.

    Example:
        >>> with StandInServer(rpm=60) as server:                    # doctest: +SKIP
        ...     server.base_url
        'http://127.0.0.1:40123/v1'
        >>> server = StandInServer.spawn(latency=LatencyModel.fixed(0.05)).start()   # doctest: +SKIP
        >>> server.stop()                                             # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
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
        latency = latency or LatencyModel()
        faults = faults or FaultConfig()
        # One seed governs everything; component seeds are offsets of it.
        latency = LatencyModel(latency.median, latency.p99, latency.per_completion_token, seed + latency.seed)
        faults = FaultConfig(**{**asdict(faults), "seed": seed + faults.seed})
        self.config = _ServerConfig(host, port, rpm, tpm, latency, faults, seed, tuple(models))
        SlidingWindowLimiter(rpm, tpm)  # validates the limits now rather than at start()
        self.subprocess = subprocess
        self.startup_timeout = startup_timeout
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: _AsyncServer | None = None
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
        return f"http://{self.config.host}:{self.port}"

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
        with contextlib.suppress(Exception):
            if self._process is not None and self._process.poll() is None:
                self._process.kill()

    def _start_thread(self) -> None:
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()
        server = _AsyncServer(self.config)

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
                f"StandInServer could not listen on {self.config.host}:{self.config.port}: {failure[0]}"
            ) from failure[0]
        self._thread, self._loop, self._server = thread, loop, server

    def _stop_thread(self) -> None:
        assert self._loop is not None and self._thread is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._thread = self._loop = self._server = None

    def _command_line(self) -> list[str]:
        config = self.config
        argv = [
            sys.executable,
            "-m",
            "biomed_vital.testing.server",
            "--host",
            config.host,
            "--port",
            str(config.port),
        ]
        argv += ["--seed", str(config.seed)]
        if config.rpm is not None:
            argv += ["--rpm", str(config.rpm)]
        if config.tpm is not None:
            argv += ["--tpm", str(config.tpm)]
        latency = config.latency
        argv += [
            "--latency-median",
            repr(latency.median),
            "--latency-per-token",
            repr(latency.per_completion_token),
        ]
        if latency.p99 is not None:
            argv += ["--latency-p99", repr(latency.p99)]
        argv += ["--latency-seed-offset", str(latency.seed - config.seed)]
        faults = config.faults
        for kind in FAULT_KINDS:
            if getattr(faults, kind):
                argv += ["--fault", f"{kind}={getattr(faults, kind)!r}"]
        argv += ["--hang-seconds", repr(faults.hang_seconds), "--retry-after", repr(faults.retry_after)]
        argv += ["--fault-seed-offset", str(faults.seed - config.seed)]
        for model in config.models:
            argv += ["--model", model]
        return argv

    def _start_process(self) -> None:
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])
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
        return _stats(self.request_log())

    def reset(self) -> None:
        """Clear the request log, the attempt counters and the rate-limit window."""
        if not self.running:
            raise RuntimeError("StandInServer is not running; nothing to reset")
        self._call("POST", "/_standin/reset")

    def __repr__(self) -> str:
        where = self.base_url if self.running else "stopped"
        mode = "subprocess" if self.subprocess else "thread"
        return f"StandInServer({where}, {mode}, rpm={self.config.rpm}, tpm={self.config.tpm})"


# ---------------------------------------------------------------------- command line
def build_arg_parser(prog: str = "python -m biomed_vital.testing.server") -> argparse.ArgumentParser:
    """The argument parser of ``python -m biomed_vital.testing.server`` (``prog`` names the command in help)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve the offline OpenAI-compatible stand-in server (replies are canned, never medical advice).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="TCP port; 0 picks a free one (default 8000)")
    parser.add_argument("--rpm", type=int, default=None, help="requests per minute (default: unlimited)")
    parser.add_argument("--tpm", type=int, default=None, help="tokens per minute (default: unlimited)")
    parser.add_argument("--latency-median", type=float, default=0.0, help="median latency in seconds")
    parser.add_argument(
        "--latency-p99", type=float, default=None, help="99th percentile latency (log-normal)"
    )
    parser.add_argument(
        "--latency-per-token", type=float, default=0.0, help="extra seconds per completion token"
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND=P",
        help=f"inject a fault with probability P; KIND is one of {', '.join(FAULT_KINDS)} (repeatable)",
    )
    parser.add_argument("--hang-seconds", type=float, default=30.0, help="how long a 'timeout' fault hangs")
    parser.add_argument("--retry-after", type=float, default=1.0, help="Retry-After of an injected 429")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", action="append", default=None, help="model id listed by /v1/models")
    parser.add_argument("--latency-seed-offset", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--fault-seed-offset", type=int, default=0, help=argparse.SUPPRESS)
    return parser


def _config_from_args(args: argparse.Namespace) -> _ServerConfig:
    latency = LatencyModel(
        args.latency_median, args.latency_p99, args.latency_per_token, args.seed + args.latency_seed_offset
    )
    faults = FaultConfig.from_pairs(
        args.fault,
        hang_seconds=args.hang_seconds,
        retry_after=args.retry_after,
        seed=args.seed + args.fault_seed_offset,
    )
    SlidingWindowLimiter(args.rpm, args.tpm)
    return _ServerConfig(
        args.host,
        args.port,
        args.rpm,
        args.tpm,
        latency,
        faults,
        args.seed,
        tuple(args.model or DEFAULT_MODELS),
    )


async def _serve_until_signalled(config: _ServerConfig) -> None:
    server = _AsyncServer(config)
    port = await server.start()
    print(f"http://{config.host}:{port}/v1", flush=True)
    print(
        f"offline stand-in server on http://{config.host}:{port}/v1 (rpm={config.rpm}, tpm={config.tpm}); "
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


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Run the stand-in server from the command line until interrupted; prints the base URL first.

    ``prog`` is the command name shown in ``--help`` and errors (e.g. ``biomed-vital serve-standin``).

    Example:
        >>> main(["--port", "0", "--rpm", "600", "--fault", "server_error=0.05"])   # doctest: +SKIP
        http://127.0.0.1:41235/v1
    """
    parser = build_arg_parser(prog) if prog else build_arg_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        config = _config_from_args(args)
    except ValueError as error:
        parser.error(str(error))
    try:
        asyncio.run(_serve_until_signalled(config))
    except KeyboardInterrupt:
        pass
    except OSError as error:
        print(f"cannot serve on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
