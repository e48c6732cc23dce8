"""The stand-in's files and batches endpoints: OpenAI's Batch API, offline, over real HTTP.

``POST /v1/files`` (multipart, ``purpose=batch``), ``GET /v1/files/{id}``, ``GET /v1/files/{id}/content``,
``DELETE /v1/files/{id}``; ``POST /v1/batches``, ``GET /v1/batches`` (newest first, ``limit`` / ``after``),
``GET /v1/batches/{id}``, ``POST /v1/batches/{id}/cancel``. The same routes answer under ``/openai/`` as
Azure OpenAI serves them (files and batches are not per deployment there), where the batch endpoint is
``/chat/completions``.

A batch goes ``validating`` (``batch_validating_seconds``) -> ``in_progress`` -> ``finalizing`` ->
``completed``. Validation fails the whole batch (``failed``, with ``errors`` naming the line) for a
line that is not JSON, lacks ``custom_id``, repeats one, or names another URL or method. In progress,
its requests are answered evenly over ``batch_seconds`` exactly as chat completions are (the same
replies, validation and injected faults: a 429/500/503 fault becomes that status in the error file,
malformed and truncated replies are answered with 200), and each one is logged in the request log
under the batch's path. With ``batch_expire_seconds`` a batch still running by then ends ``expired``:
the answered requests are in its output file and the rest in its error file (``batch_expired``). A
cancelled batch ends ``cancelled`` the same way (``batch_cancelled``).

Example:
    >>> from openai import OpenAI
    >>> from biomed_vital.testing import StandInServer
    >>> with StandInServer() as server:                                                  # doctest: +SKIP
    ...     client = OpenAI(base_url=server.base_url, api_key="sk-local")
    ...     uploaded = client.files.create(file=open("requests.jsonl", "rb"), purpose="batch")
    ...     batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
    ...                                   completion_window="24h")
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from biomed_vital.engine.tokens import estimate_message_tokens
from biomed_vital.testing.standin.hashing import reply_seed_key
from biomed_vital.testing.standin.replies import reply_mode
from biomed_vital.testing.standin.validation import BadRequest, error_body, validate_body

if TYPE_CHECKING:
    from biomed_vital.testing.standin.app import StandInRoutes
    from biomed_vital.testing.standin.state import ServerState

__all__ = ["BATCH_ENDPOINTS", "BatchService"]

BATCH_ENDPOINTS = ("/v1/chat/completions", "/chat/completions")
COMPLETION_WINDOW = "24h"
# injected faults as a batch reports them: the HTTP status of the failed request in the error file
_FAULT_STATUS = {
    "rate_limit": (429, "rate_limit_exceeded", "Rate limit reached (injected fault)."),
    "server_error": (500, "server_error", "The server had an error processing the request. (injected fault)"),
    "unavailable": (503, "server_error", "The engine is currently overloaded. (injected fault)"),
    "timeout": (500, "server_error", "The request timed out inside the batch. (injected fault)"),
    "disconnect": (500, "server_error", "The connection dropped inside the batch. (injected fault)"),
}
_SLICE = 64  # requests answered between two looks at the clock


@dataclass
class _StoredFile:
    id: str
    purpose: str
    filename: str
    data: bytes
    created_at: int

    def to_object(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }


@dataclass
class _Batch:
    record: dict[str, Any]
    cancel: bool = False
    task: asyncio.Task[None] | None = None
    lines: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class BatchService:
    """The files and batches of one stand-in server; :meth:`register` adds their routes to the app."""

    def __init__(self, state: ServerState, routes: StandInRoutes) -> None:
        self.state, self.routes = state, routes
        self.files: dict[str, _StoredFile] = {}
        self.batches: dict[str, _Batch] = {}
        self._ids = itertools.count(1)

    def register(self, app: web.Application) -> None:
        """Add the routes under ``/v1`` (OpenAI) and ``/openai`` (Azure OpenAI)."""
        for root in ("/v1", "/openai"):
            app.router.add_post(f"{root}/files", self.upload)
            app.router.add_get(f"{root}/files/{{file_id}}", self.file_object)
            app.router.add_get(f"{root}/files/{{file_id}}/content", self.file_content)
            app.router.add_delete(f"{root}/files/{{file_id}}", self.delete_file)
            app.router.add_post(f"{root}/batches", self.create)
            app.router.add_get(f"{root}/batches", self.list_batches)
            app.router.add_get(f"{root}/batches/{{batch_id}}", self.retrieve)
            app.router.add_post(f"{root}/batches/{{batch_id}}/cancel", self.cancel)
        app.on_cleanup.append(self._stop_tasks)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_standin_{next(self._ids):06d}"

    # ------------------------------------------------------------------ files
    async def upload(self, request: web.Request) -> web.Response:
        """``POST /v1/files``: store an uploaded file (multipart ``file`` and ``purpose``)."""
        refused = _refuse_without_key(request)
        if refused is not None:
            return refused
        form = await request.post()
        upload, purpose = form.get("file"), form.get("purpose")
        if not isinstance(upload, web.FileField):
            return _bad_request("Send the file as the multipart field 'file'.", "file")
        if purpose != "batch":
            return _bad_request(
                f"The stand-in stores files for purpose 'batch' only, got {purpose!r}.", "purpose"
            )
        stored = _StoredFile(
            self._new_id("file"), "batch", upload.filename or "upload.jsonl", upload.file.read(), _now()
        )
        self.files[stored.id] = stored
        return web.json_response(stored.to_object())

    async def file_object(self, request: web.Request) -> web.Response:
        """``GET /v1/files/{id}``."""
        stored = self.files.get(request.match_info["file_id"])
        return (
            web.json_response(stored.to_object())
            if stored
            else _not_found("file", request.match_info["file_id"])
        )

    async def file_content(self, request: web.Request) -> web.Response:
        """``GET /v1/files/{id}/content``: the file's bytes."""
        stored = self.files.get(request.match_info["file_id"])
        if stored is None:
            return _not_found("file", request.match_info["file_id"])
        return web.Response(body=stored.data, content_type="application/octet-stream")

    async def delete_file(self, request: web.Request) -> web.Response:
        """``DELETE /v1/files/{id}``."""
        file_id = request.match_info["file_id"]
        if self.files.pop(file_id, None) is None:
            return _not_found("file", file_id)
        return web.json_response({"id": file_id, "object": "file", "deleted": True})

    # ------------------------------------------------------------------ batches
    async def create(self, request: web.Request) -> web.Response:
        """``POST /v1/batches``: start a batch over an uploaded file."""
        refused = _refuse_without_key(request)
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except json.JSONDecodeError as error:
            return _bad_request(f"The request body is not valid JSON: {error}")
        if not isinstance(body, dict):
            return _bad_request("The request body must be a JSON object.")
        stored = self.files.get(str(body.get("input_file_id")))
        if stored is None or stored.purpose != "batch":
            return _bad_request(
                f"No file with id {body.get('input_file_id')!r} and purpose 'batch'.", "input_file_id"
            )
        if body.get("endpoint") not in BATCH_ENDPOINTS:
            return _bad_request(
                f"endpoint must be one of {', '.join(BATCH_ENDPOINTS)}, got {body.get('endpoint')!r}.",
                "endpoint",
            )
        if body.get("completion_window") != COMPLETION_WINDOW:
            return _bad_request(f"completion_window must be '{COMPLETION_WINDOW}'.", "completion_window")
        metadata = body.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict)
            or len(metadata) > 16
            or not all(isinstance(v, str) for v in metadata.values())
        ):
            return _bad_request("metadata must be at most 16 string values.", "metadata")
        now = _now()
        record: dict[str, Any] = {
            "id": self._new_id("batch"),
            "object": "batch",
            "endpoint": body["endpoint"],
            "errors": None,
            "input_file_id": stored.id,
            "completion_window": COMPLETION_WINDOW,
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": now,
            "in_progress_at": None,
            "expires_at": now + 24 * 3600,
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": metadata,
        }
        batch = _Batch(record)
        self.batches[record["id"]] = batch
        batch.task = asyncio.get_running_loop().create_task(self._run(batch, stored.data))
        return web.json_response(record)

    async def retrieve(self, request: web.Request) -> web.Response:
        """``GET /v1/batches/{id}``."""
        batch = self.batches.get(request.match_info["batch_id"])
        return (
            web.json_response(batch.record) if batch else _not_found("batch", request.match_info["batch_id"])
        )

    async def list_batches(self, request: web.Request) -> web.Response:
        """``GET /v1/batches``: newest first, ``limit`` (default 20) after the batch id ``after``."""
        try:
            limit = max(1, min(100, int(request.query.get("limit", "20"))))
        except ValueError:
            return _bad_request("limit must be an integer.", "limit")
        records = [batch.record for batch in reversed(self.batches.values())]
        after = request.query.get("after")
        if after:
            ids = [record["id"] for record in records]
            records = records[ids.index(after) + 1 :] if after in ids else []
        page = records[:limit]
        return web.json_response(
            {
                "object": "list",
                "data": page,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
                "has_more": len(records) > limit,
            }
        )

    async def cancel(self, request: web.Request) -> web.Response:
        """``POST /v1/batches/{id}/cancel``: stop answering; what was answered stays in the output file."""
        batch = self.batches.get(request.match_info["batch_id"])
        if batch is None:
            return _not_found("batch", request.match_info["batch_id"])
        if batch.record["status"] in ("validating", "in_progress"):
            batch.cancel = True
            batch.record.update(status="cancelling", cancelling_at=_now())
        return web.json_response(batch.record)

    # ------------------------------------------------------------------ running a batch
    async def _run(self, batch: _Batch, data: bytes) -> None:
        config, record = self.state.config, batch.record
        await self.routes.sleep_unless_stopping(config.batch_validating_seconds)
        problems = self._parse(batch, data)
        if problems:
            record.update(status="failed", failed_at=_now(), errors={"object": "list", "data": problems})
            return
        record.update(status="in_progress", in_progress_at=_now())
        record["request_counts"]["total"] = len(batch.lines)
        started = time.monotonic()
        expires = config.batch_expire_seconds
        pace = config.batch_seconds / max(1, len(batch.lines))
        outputs: list[bytes] = []
        errors: list[bytes] = []
        answered = 0
        stopped_by = ""
        # look at the clock every line of a small batch, every _SLICE lines of a large one
        step = max(1, min(_SLICE, len(batch.lines) // 100))
        for number, (custom_id, body) in enumerate(batch.lines):
            if number % step == 0:
                # keep to the pace, and let other requests (polls, chat completions) in
                await self.routes.sleep_unless_stopping(max(0.0, started + number * pace - time.monotonic()))
                await asyncio.sleep(0)
            if batch.cancel:
                stopped_by = "cancelled"
            elif expires is not None and time.monotonic() - started >= expires:
                stopped_by = "expired"
            if stopped_by:
                break
            line, ok = self._answer(record["id"], number, custom_id, body)
            (outputs if ok else errors).append(line)
            record["request_counts"]["completed" if ok else "failed"] += 1
            answered = number + 1
        await self.routes.sleep_unless_stopping(max(0.0, started + config.batch_seconds - time.monotonic()))
        if not stopped_by and batch.cancel:
            stopped_by = "cancelled"
        for number, (custom_id, _) in enumerate(batch.lines[answered:], start=answered):
            code = "batch_cancelled" if stopped_by == "cancelled" else "batch_expired"
            message = (
                "This request was cancelled with its batch."
                if stopped_by == "cancelled"
                else "This request could not be executed before the completion window expired."
            )
            errors.append(
                _line(
                    f"batch_req_{record['id']}_{number}", custom_id, None, {"code": code, "message": message}
                )
            )
            record["request_counts"]["failed"] += 1
        if not stopped_by:
            record.update(status="finalizing", finalizing_at=_now())
        output_id = self._store_output(outputs, f"{record['id']}_output.jsonl")
        error_id = self._store_output(errors, f"{record['id']}_error.jsonl")
        record.update(output_file_id=output_id, error_file_id=error_id)
        if stopped_by == "cancelled":
            record.update(status="cancelled", cancelled_at=_now())
        elif stopped_by == "expired":
            record.update(status="expired", expired_at=_now())
        else:
            record.update(status="completed", completed_at=_now())

    def _parse(self, batch: _Batch, data: bytes) -> list[dict[str, Any]]:
        problems: list[dict[str, Any]] = []
        seen: set[str] = set()
        models: set[str] = set()
        url = batch.record["endpoint"]
        for number, raw in enumerate(data.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                problems.append(
                    _problem("invalid_json_line", "This line is not parseable as valid JSON.", number)
                )
                continue
            custom_id = line.get("custom_id") if isinstance(line, dict) else None
            if not isinstance(custom_id, str) or not custom_id:
                problems.append(
                    _problem("missing_required_parameter", "Each line needs a custom_id.", number)
                )
            elif custom_id in seen:
                problems.append(
                    _problem("duplicate_custom_id", f"The custom_id {custom_id!r} is repeated.", number)
                )
            elif line.get("method") != "POST" or line.get("url") != url:
                problems.append(
                    _problem(
                        "invalid_url",
                        f"Each line must be a POST to {url}, like the batch's endpoint.",
                        number,
                    )
                )
            elif not isinstance(line.get("body"), dict):
                problems.append(
                    _problem("missing_required_parameter", "Each line needs a body object.", number)
                )
            else:
                seen.add(custom_id)
                models.add(str(line["body"].get("model")))
                batch.lines.append((custom_id, line["body"]))
        if not batch.lines and not problems:
            problems.append(_problem("empty_file", "The input file has no requests.", None))
        if len(models) > 1:
            problems.append(
                _problem("mismatched_model", f"All requests must use one model, got {sorted(models)}.", None)
            )
        return problems[:10]

    def _answer(self, batch_id: str, number: int, custom_id: str, body: dict[str, Any]) -> tuple[bytes, bool]:
        """One request of a batch, answered like a chat completion; returns its line and whether it succeeded."""
        entry = self.state.log_arrival(f"/v1/batches/{batch_id}")
        entry["model"], entry["seed"] = body.get("model"), body.get("seed")
        line_id, request_id = f"batch_req_{batch_id}_{number}", f"req_standin_{entry['seq']}"
        try:
            validate_body(body)
        except BadRequest as error:
            entry.update(status=400, finish=time.monotonic())
            failure = error_body(str(error), "invalid_request_error", None, error.param)
            return _line(
                line_id, custom_id, {"status_code": 400, "request_id": request_id, "body": failure}
            ), False
        key = reply_seed_key(body)
        attempt = self.state.next_attempt(key)
        entry.update(
            request_key=key,
            attempt=attempt,
            mode=reply_mode(body),
            prompt_tokens=estimate_message_tokens(body["messages"]),
        )
        fault = entry["fault"] = self.state.faults.choose(key, attempt)
        if fault in _FAULT_STATUS:
            status, code, message = _FAULT_STATUS[fault]
            entry.update(status=status, finish=time.monotonic())
            failure = error_body(message, "server_error" if status >= 500 else "requests", code)
            return _line(
                line_id, custom_id, {"status_code": status, "request_id": request_id, "body": failure}
            ), False
        payload = self.routes.completion_payload(body, entry)
        entry.update(status=200, finish=time.monotonic())
        return _line(
            line_id, custom_id, {"status_code": 200, "request_id": request_id, "body": payload}
        ), True

    def _store_output(self, lines: list[bytes], filename: str) -> str | None:
        if not lines:
            return None
        stored = _StoredFile(self._new_id("file"), "batch_output", filename, b"".join(lines), _now())
        self.files[stored.id] = stored
        return stored.id

    async def _stop_tasks(self, app: web.Application) -> None:
        for batch in self.batches.values():
            if batch.task is not None and not batch.task.done():
                batch.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await batch.task


def _now() -> int:
    return int(time.time())


def _line(
    line_id: str, custom_id: str, response: dict[str, Any] | None, error: dict[str, Any] | None = None
) -> bytes:
    record = {"id": line_id, "custom_id": custom_id, "response": response, "error": error}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _problem(code: str, message: str, line: int | None) -> dict[str, Any]:
    return {"code": code, "message": message, "param": None, "line": line}


def _bad_request(message: str, param: str | None = None) -> web.Response:
    return web.json_response(error_body(message, "invalid_request_error", None, param), status=400)


def _not_found(kind: str, identifier: str) -> web.Response:
    return web.json_response(
        error_body(f"No {kind} with id {identifier!r}.", "invalid_request_error", f"{kind}_not_found"),
        status=404,
    )


def _refuse_without_key(request: web.Request) -> web.Response | None:
    # OpenAI's SDK sends "Authorization: Bearer <key>", Azure OpenAI's an "api-key" header
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if (scheme.lower() == "bearer" and key.strip()) or request.headers.get("api-key", "").strip():
        return None
    return web.json_response(
        error_body("You didn't provide an API key.", "invalid_request_error", "invalid_api_key"), status=401
    )
