"""The stand-in's files and batches endpoints, and its cap on requests in flight, through the openai SDK."""

from __future__ import annotations

import json
import time

import openai
import pytest
from openai import OpenAI

from biomed_vital.testing import StandInServer
from biomed_vital.testing.standin import StandInConfig
from tests.testing.standin.helpers import API_KEY, post_json, user_messages

URL = "/v1/chat/completions"


def request_lines(n: int, *, url: str = URL, model: str = "gpt-4o") -> bytes:
    lines = [
        {
            "custom_id": f"request-{i}",
            "method": "POST",
            "url": url,
            "body": {"model": model, "messages": user_messages(), "max_tokens": 200, "seed": i},
        }
        for i in range(n)
    ]
    return "\n".join(json.dumps(line) for line in lines).encode() + b"\n"


def submit(client: OpenAI, data: bytes, **options):
    uploaded = client.files.create(file=("requests.jsonl", data, "application/jsonl"), purpose="batch")
    return client.batches.create(input_file_id=uploaded.id, endpoint=URL, completion_window="24h", **options)


def wait_until_done(client: OpenAI, batch_id: str, timeout: float = 30.0) -> tuple[object, list[str]]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = client.batches.retrieve(batch_id)
        if not seen or seen[-1] != batch.status:
            seen.append(batch.status)
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            return batch, seen
        time.sleep(0.02)
    raise AssertionError(f"batch {batch_id} did not end within {timeout} s; states seen {seen}")


def lines_of(client: OpenAI, file_id: str | None) -> list[dict]:
    if file_id is None:
        return []
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines()]


@pytest.fixture()
def batch_client():
    config = StandInConfig(batch_validating_seconds=0.2, batch_seconds=0.4, seed=1)
    with (
        StandInServer(config) as server,
        OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client,
    ):
        yield server, client


def test_a_batch_goes_validating_in_progress_completed_and_answers_each_request(batch_client) -> None:
    server, client = batch_client
    batch = submit(client, request_lines(12), metadata={"run": "synthetic-test"})
    assert batch.status == "validating" and batch.metadata == {"run": "synthetic-test"}
    done, seen = wait_until_done(client, batch.id)
    assert seen == ["validating", "in_progress", "completed"]
    assert done.request_counts.total == done.request_counts.completed == 12 and done.error_file_id is None
    outputs = lines_of(client, done.output_file_id)
    assert sorted(line["custom_id"] for line in outputs) == sorted(f"request-{i}" for i in range(12))
    body = outputs[0]["response"]["body"]
    assert outputs[0]["response"]["status_code"] == 200 and body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"].startswith("User:")
    log = [e for e in server.request_log() if e["path"] == f"/v1/batches/{batch.id}"]
    assert len(log) == 12 and {e["status"] for e in log} == {200}


def test_injected_faults_fail_single_requests_into_the_error_file() -> None:
    config = StandInConfig(batch_seconds=0.1, fault=["server_error=0.3", "rate_limit=0.2"], seed=2)
    with StandInServer(config) as server, OpenAI(base_url=server.base_url, api_key=API_KEY) as client:
        done, _ = wait_until_done(client, submit(client, request_lines(40)).id)
        errors = lines_of(client, done.error_file_id)
        outputs = lines_of(client, done.output_file_id)
    assert done.status == "completed" and len(outputs) + len(errors) == 40
    assert {line["response"]["status_code"] for line in errors} == {429, 500}
    assert done.request_counts.failed == len(errors) > 0


def test_a_bad_line_fails_the_whole_batch_and_names_the_line(batch_client) -> None:
    _, client = batch_client
    data = request_lines(3) + request_lines(1)  # request-0 twice
    done, seen = wait_until_done(client, submit(client, data).id)
    assert seen[-1] == "failed" and done.output_file_id is None
    (problem,) = done.errors.data
    assert problem.code == "duplicate_custom_id" and problem.line == 4
    done, _ = wait_until_done(client, submit(client, request_lines(2, url="/v1/embeddings")).id)
    assert done.status == "failed" and done.errors.data[0].code == "invalid_url"


def test_expiry_puts_answered_requests_in_the_output_file_and_the_rest_in_the_error_file() -> None:
    config = StandInConfig(batch_seconds=1.0, batch_expire_seconds=0.3)
    with StandInServer(config) as server, OpenAI(base_url=server.base_url, api_key=API_KEY) as client:
        done, _ = wait_until_done(client, submit(client, request_lines(30)).id)
        outputs, errors = lines_of(client, done.output_file_id), lines_of(client, done.error_file_id)
    assert done.status == "expired" and outputs and errors and len(outputs) + len(errors) == 30
    assert {line["error"]["code"] for line in errors} == {"batch_expired"}


def test_cancel_keeps_what_was_answered(batch_client) -> None:
    _, client = batch_client
    batch = submit(client, request_lines(30))
    time.sleep(0.35)
    assert client.batches.cancel(batch.id).status == "cancelling"
    done, _ = wait_until_done(client, batch.id)
    assert done.status == "cancelled"
    errors = lines_of(client, done.error_file_id)
    assert {line["error"]["code"] for line in errors} == {"batch_cancelled"}
    assert done.request_counts.completed + len(errors) == 30


def test_list_is_newest_first_and_pages(batch_client) -> None:
    _, client = batch_client
    ids = [submit(client, request_lines(1)).id for _ in range(3)]
    page = client.batches.list(limit=2)
    assert [b.id for b in page.data] == ids[::-1][:2] and page.has_more
    assert [b.id for b in client.batches.list(limit=2)][:3] == ids[::-1]  # the SDK follows the pages


def test_files_and_batches_refuse_what_openai_refuses(batch_client) -> None:
    server, client = batch_client
    with pytest.raises(openai.BadRequestError, match="purpose 'batch'"):
        client.files.create(file=("x.jsonl", b"{}", "application/jsonl"), purpose="fine-tune")
    with pytest.raises(openai.BadRequestError, match="No file with id"):
        client.batches.create(input_file_id="file-missing", endpoint=URL, completion_window="24h")
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_missing")
    status, _, body = post_json(f"{server.base_url}/batches", {"input_file_id": "x"})  # no key
    assert status == 401 and body["error"]["code"] == "invalid_api_key"


def test_azure_paths_serve_files_and_batches() -> None:
    with StandInServer(StandInConfig(batch_seconds=0.1)) as server:
        client = openai.AzureOpenAI(azure_endpoint=server.url, api_version="2024-10-21", api_key="azure-key")
        uploaded = client.files.create(
            file=(
                "r.jsonl",
                request_lines(3, url="/chat/completions", model="my-deployment"),
                "application/jsonl",
            ),
            purpose="batch",
        )
        batch = client.batches.create(
            input_file_id=uploaded.id, endpoint="/chat/completions", completion_window="24h"
        )
        done, _ = wait_until_done(client, batch.id)
    assert done.status == "completed" and done.request_counts.completed == 3


def test_max_in_flight_caps_the_requests_answered_at_once() -> None:
    config = StandInConfig(max_in_flight=3, latency_median=0.1)
    with StandInServer(config) as server:
        import asyncio

        async def burst() -> None:
            async with openai.AsyncOpenAI(base_url=server.base_url, api_key=API_KEY) as client:
                await asyncio.gather(
                    *(
                        client.chat.completions.create(model="gpt-4o", messages=user_messages(), seed=i)
                        for i in range(12)
                    )
                )

        started = time.monotonic()
        asyncio.run(burst())
        elapsed = time.monotonic() - started
        log = server.request_log()
    peak = max(sum(1 for o in log if o["arrival"] <= e["arrival"] < o["finish"]) for e in log)
    assert peak == 3
    assert elapsed >= 0.4  # 12 requests, 3 at a time, 0.1 s each
