"""The stand-in server's HTTP routes (aiohttp): chat completions, models, the files and batches endpoints
(:mod:`~biomed_vital.testing.standin.batches`), and the log/stats/reset endpoints.

A chat-completions request goes through small steps, in this order: the API key (401), the JSON body
(400), the body's checks (400), the injected fault, the rate limiter (429), then the reply. Every
request is logged on arrival; the log never holds the Authorization header.

Example:
    >>> from biomed_vital.testing.standin.config import StandInConfig
    >>> from biomed_vital.testing.standin.state import ServerState
    >>> app = build_app(ServerState(StandInConfig()))
    >>> [path for path in sorted({route.resource.canonical for route in app.router.routes()}) if "chat" in path]
    ['/v1/chat/completions']
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Mapping
from typing import Any, NoReturn

from aiohttp import web

from biomed_vital.engine.tokens import estimate_message_tokens, estimate_request_tokens, estimate_text_tokens
from biomed_vital.testing.standin.batches import BatchService
from biomed_vital.testing.standin.capacity import capacity_middlewares
from biomed_vital.testing.standin.hashing import reply_seed_key, stable_int
from biomed_vital.testing.standin.limiter import LimitDecision, format_duration, retry_after_headers
from biomed_vital.testing.standin.replies import (
    build_reply,
    fit_to_budget,
    malformed_reply,
    reply_mode,
    truncate_mid_sentence,
)
from biomed_vital.testing.standin.state import CLIENT_CLOSED, ServerState, log_stats
from biomed_vital.testing.standin.validation import BadRequest, error_body, validate_body

__all__ = ["StandInRoutes", "build_app"]

# The largest request body accepted: a prompt with several high-resolution images as data URLs.
MAX_BODY_BYTES = 256 * 1024 * 1024
_INJECTED_ERRORS = {
    "server_error": (500, "The server had an error while processing your request. (injected fault)"),
    "unavailable": (503, "The engine is currently overloaded, please try again later. (injected fault)"),
}


def build_app(state: ServerState) -> web.Application:
    """The aiohttp application of one stand-in server over ``state``."""
    routes = StandInRoutes(state)
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=capacity_middlewares(state.config))
    app.router.add_post("/v1/chat/completions", routes.chat_completions)
    app.router.add_get("/v1/models", routes.list_models)
    BatchService(state, routes).register(app)
    app.router.add_get("/_standin/log", routes.get_log)
    app.router.add_get("/_standin/stats", routes.get_stats)
    app.router.add_post("/_standin/reset", routes.reset)
    app.router.add_route("*", "/{tail:.*}", routes.not_found)
    return app


class StandInRoutes:
    """The request handlers of one stand-in server; they share its :class:`ServerState`."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def json_response(
        self, payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> web.Response:
        """A JSON response with the limiter's ``x-ratelimit-*`` headers, unless they are turned off (and ``headers``)."""
        limits = self.state.limiter.headers() if self.state.config.rate_limit_headers else {}
        all_headers = {**limits, **(headers or {})}
        return web.json_response(payload, status=status, headers=all_headers)

    async def sleep_unless_stopping(self, seconds: float) -> None:
        """Sleep ``seconds`` without blocking other requests; wake at once when the server stops."""
        if seconds <= 0:
            return
        assert self.state.stopping is not None
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.state.stopping.wait(), timeout=seconds)

    # ------------------------------------------------------------------ POST /v1/chat/completions
    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        """Answer one chat-completions request and complete its log entry."""
        entry = self.state.log_arrival(request.path)
        try:
            response = await self.answer(request, entry)
            response.headers["x-request-id"] = f"req_standin_{entry['seq']}"
            entry["status"] = response.status
            return response
        except asyncio.CancelledError:
            # A dropped connection (injected) has no status; otherwise the client gave up first.
            entry["status"] = None if entry["fault"] == "disconnect" else CLIENT_CLOSED
            raise
        finally:
            entry["finish"] = time.monotonic()

    async def answer(self, request: web.Request, entry: dict[str, Any]) -> web.StreamResponse:
        """The response to one request, filling in its log ``entry`` on the way."""
        if not _has_bearer_key(request):
            return self.json_response(
                error_body(
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
            return self.json_response(
                error_body(f"The request body is not valid JSON: {error}", "invalid_request_error"),
                status=400,
            )
        if isinstance(body, dict):
            entry["model"] = body.get("model") if isinstance(body.get("model"), str) else None
            entry["seed"] = body.get("seed")
        try:
            validate_body(body)
        except BadRequest as error:
            return self.json_response(
                error_body(str(error), "invalid_request_error", None, error.param), status=400
            )

        key = reply_seed_key(body)
        attempt = self.state.next_attempt(key)
        entry.update(
            request_key=key,
            attempt=attempt,
            mode=reply_mode(body),
            prompt_tokens=estimate_message_tokens(body["messages"]),
        )
        fault = entry["fault"] = self.state.faults.choose(key, attempt)
        if fault == "rate_limit":
            return self._injected_rate_limit(body)
        decision = self.state.limiter.admit(estimate_request_tokens(body))
        if not decision.admitted:
            return self._limited(body, decision)
        if fault == "timeout":  # hang, then answer normally (the client has given up by then)
            await self.sleep_unless_stopping(self.state.faults.hang_seconds)
        elif fault in ("disconnect", *_INJECTED_ERRORS):
            await self.sleep_unless_stopping(self.state.latency.sample(key, attempt))
            if fault == "disconnect":
                _drop_connection(request)
            status, message = _INJECTED_ERRORS[fault]
            return self.json_response(error_body(message, "server_error", None), status=status)
        return await self._completion(body, entry)

    async def _completion(self, body: dict[str, Any], entry: dict[str, Any]) -> web.Response:
        payload = self.completion_payload(body, entry)
        await self.sleep_unless_stopping(
            self.state.latency.sample(entry["request_key"], entry["attempt"], entry["completion_tokens"])
        )
        return self.json_response(payload)

    def completion_payload(self, body: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
        """The ``chat.completion`` a validated request gets (content broken as the entry's fault says);
        fills in the entry's ``completion_tokens``. Shared by chat completions and batch requests."""
        key, attempt = entry["request_key"], entry["attempt"]
        choices = []
        completion_tokens = 0
        budget = body.get("max_completion_tokens") or body.get("max_tokens")
        for index in range(body.get("n") or 1):
            content, finish = self._reply(
                body, entry, stable_int(self.state.config.seed, "reply", key, index)
            )
            content, cut = fit_to_budget(content, budget)
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
        prompt_tokens = entry["prompt_tokens"]
        return {
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

    @staticmethod
    def _reply(body: dict[str, Any], entry: dict[str, Any], variant: int) -> tuple[str, str]:
        """One choice's content and finish reason, broken as the request's fault says."""
        if entry["fault"] == "malformed":
            return malformed_reply(entry["mode"]), "stop"
        content = build_reply(body, entry["mode"], variant)
        if entry["fault"] == "truncated":
            return truncate_mid_sentence(content), "length"
        return content, "stop"

    def _injected_rate_limit(self, body: Mapping[str, Any]) -> web.Response:
        wait = self.state.faults.retry_after
        return self.json_response(
            error_body(
                f"Rate limit reached for {body['model']} on the offline stand-in server on requests per "
                f"min (RPM). Please try again in {format_duration(wait)}. (injected fault)",
                "requests",
                "rate_limit_exceeded",
            ),
            status=429,
            headers=retry_after_headers(wait),
        )

    def _limited(self, body: Mapping[str, Any], decision: LimitDecision) -> web.Response:
        config = self.state.config
        count, tokens = self.state.limiter.usage()
        requested = estimate_request_tokens(body)
        if decision.kind == "requests":
            detail = f"requests per min (RPM): Limit {config.rpm}, Used {count}, Requested 1."
        else:
            detail = f"tokens per min (TPM): Limit {config.tpm}, Used {tokens}, Requested {requested}."
        wait = decision.retry_after
        headers = retry_after_headers(wait)
        if decision.too_large:
            message = (
                f"Request too large for {body['model']} on the offline stand-in server on {detail} "
                "Lower max_tokens or send a smaller prompt."
            )
            headers["x-should-retry"] = "false"  # waiting cannot help; tell the SDK not to retry
        elif not config.rate_limit_headers:  # a proxy that enforces a limit without saying what it is
            message = (
                f"Too many requests for {body['model']} on the offline stand-in server. "
                f"Please try again in {format_duration(wait)}."
            )
        else:
            message = (
                f"Rate limit reached for {body['model']} on the offline stand-in server on {detail} "
                f"Please try again in {format_duration(wait)}."
            )
        return self.json_response(
            error_body(message, decision.kind or "requests", "rate_limit_exceeded"), 429, headers
        )

    # ------------------------------------------------------------------ the other endpoints
    async def list_models(self, request: web.Request) -> web.Response:
        """``GET /v1/models``: the configured model ids."""
        data = [
            {"id": m, "object": "model", "created": 0, "owned_by": "offline-standin"}
            for m in self.state.config.models
        ]
        return self.json_response({"object": "list", "data": data})

    async def get_log(self, request: web.Request) -> web.Response:
        """``GET /_standin/log``: the request log."""
        return web.json_response({"requests": self.state.log})

    async def get_stats(self, request: web.Request) -> web.Response:
        """``GET /_standin/stats``: counts over the request log."""
        return web.json_response(log_stats(self.state.log))

    async def reset(self, request: web.Request) -> web.Response:
        """``POST /_standin/reset``: clear the log, the attempt counters and the rate-limit window."""
        self.state.reset()
        return web.json_response({"reset": True})

    async def not_found(self, request: web.Request) -> web.Response:
        """Any other URL: an OpenAI-style 404 that says what is served."""
        return self.json_response(
            error_body(
                f"Unknown request URL: {request.method} {request.path}. The offline stand-in serves "
                "POST /v1/chat/completions, GET /v1/models, and the /v1/files and /v1/batches endpoints.",
                "invalid_request_error",
                "unknown_url",
            ),
            status=404,
        )


def _has_bearer_key(request: web.Request) -> bool:
    scheme, _, api_key = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(api_key.strip())


def _drop_connection(request: web.Request) -> NoReturn:
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise asyncio.CancelledError  # aiohttp then writes nothing on the aborted connection
