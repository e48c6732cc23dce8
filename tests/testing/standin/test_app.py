"""The HTTP routes: models, injected faults, latency, the request log and a burst, over real HTTP."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request

import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from biomed_vital.testing import FaultConfig, LatencyModel, StandInServer
from tests.testing.standin.helpers import (
    API_KEY,
    judge_messages,
    post_json,
    user_messages,
)


def test_models_endpoint_lists_models(client):
    assert "gpt-4o" in [model.id for model in client.models.list()]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("rate_limit", openai.RateLimitError),
        ("server_error", openai.InternalServerError),
        ("unavailable", openai.InternalServerError),
        ("disconnect", openai.APIConnectionError),
    ],
)
def test_error_faults_surface_as_sdk_exceptions(kind, expected):
    with (
        StandInServer(faults=FaultConfig(**{kind: 1.0})) as server,
        OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client,
    ):
        with pytest.raises(expected) as caught:
            client.chat.completions.create(model="m", messages=user_messages())
        if kind == "rate_limit":
            assert caught.value.response.headers["retry-after"] == "1"
        if kind == "unavailable":
            assert caught.value.status_code == 503
        assert [entry["fault"] for entry in server.request_log()] == [kind]


def test_timeout_fault_hangs_past_the_client_timeout():
    with (
        StandInServer(faults=FaultConfig(timeout=1.0, hang_seconds=600)) as server,
        OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=0.5) as client,
        pytest.raises(openai.APITimeoutError),
    ):
        client.chat.completions.create(model="m", messages=user_messages())
    assert server.request_log()[0]["fault"] == "timeout"


def test_malformed_fault_breaks_the_requested_format(client):
    with (
        StandInServer(faults=FaultConfig(malformed=1.0)) as server,
        OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as faulty,
    ):
        generation = (
            faulty.chat.completions.create(model="m", messages=user_messages()).choices[0].message.content
        )
        assert "User:" not in generation and "Assistant:" not in generation
        judged = faulty.chat.completions.create(model="m", messages=judge_messages("alpha")).choices[0]
        assert not re.search(r"\d", judged.message.content)
        as_json = faulty.chat.completions.create(
            model="m", messages=judge_messages("alpha"), response_format={"type": "json_object"}
        )
        with pytest.raises(json.JSONDecodeError):
            json.loads(as_json.choices[0].message.content)


def test_truncated_fault_cuts_mid_sentence_with_finish_reason_length(client):
    full = client.chat.completions.create(model="m", messages=user_messages()).choices[0].message.content
    with (
        StandInServer(seed=3, faults=FaultConfig(truncated=1.0)) as server,
        OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as faulty,
    ):
        choice = faulty.chat.completions.create(model="m", messages=user_messages()).choices[0]
    assert choice.finish_reason == "length"
    assert full.startswith(choice.message.content) and len(choice.message.content) < len(full)
    assert not choice.message.content.endswith((".", ")"))


def test_faults_depend_on_body_and_attempt_not_on_arrival_order():
    faults = FaultConfig(server_error=0.5, seed=5)
    bodies = [{"model": "m", "messages": user_messages(f"body {index}")} for index in range(12)]

    def run(order):
        with StandInServer(faults=faults) as server:
            for index in order:
                for _ in range(2):  # each body twice: attempt 1 and attempt 2
                    post_json(
                        server.base_url + "/chat/completions", bodies[index], {"Authorization": "Bearer k"}
                    )
            return {(e["request_key"], e["attempt"]): e["status"] for e in server.request_log()}

    forward = run(range(12))
    backward = run(reversed(range(12)))
    assert forward == backward
    assert set(forward.values()) == {200, 500}
    # some body fails on its first attempt and succeeds on the retry
    keys = {key for key, _ in forward}
    assert any(forward[(key, 1)] == 500 and forward[(key, 2)] == 200 for key in keys)


def test_latency_is_applied_without_blocking_other_requests():
    async def go(base_url):
        async with AsyncOpenAI(base_url=base_url, api_key=API_KEY, max_retries=0) as client:
            await asyncio.gather(
                *[
                    client.chat.completions.create(model="m", messages=user_messages(str(i)))
                    for i in range(20)
                ]
            )

    with StandInServer(latency=LatencyModel.fixed(0.3)) as server:
        asyncio.run(go(server.base_url))
        log = server.request_log()
    assert all(entry["finish"] - entry["arrival"] >= 0.29 for entry in log)
    # the sleeps overlap on the event loop: several requests are in flight at once
    events = sorted([(e["arrival"], 1) for e in log] + [(e["finish"], -1) for e in log])
    in_flight = peak = 0
    for _, change in events:
        in_flight += change
        peak = max(peak, in_flight)
    assert peak > 1


def test_request_log_records_every_request_and_never_the_key(server, client):
    server.reset()
    client.chat.completions.create(model="gpt-4o", messages=user_messages(), seed=42)
    client.chat.completions.create(model="gpt-4o", messages=user_messages(), seed=42)
    client.chat.completions.create(model="gpt-4o", messages=judge_messages("alpha"))
    post_json(
        server.base_url + "/chat/completions", {"model": "m", "messages": user_messages()}
    )  # no key: 401
    log = server.request_log()
    assert [entry["seq"] for entry in log] == [1, 2, 3, 4]
    assert [entry["status"] for entry in log] == [200, 200, 200, 401]
    assert [entry["attempt"] for entry in log[:3]] == [1, 2, 1]
    assert log[0]["request_key"] == log[1]["request_key"] != log[2]["request_key"]
    assert [entry["mode"] for entry in log[:3]] == ["generation", "generation", "judge"]
    assert log[0]["seed"] == 42 and log[0]["model"] == "gpt-4o" and log[0]["fault"] is None
    assert all(entry["finish"] >= entry["arrival"] for entry in log)
    assert log[0]["prompt_tokens"] > 0 and log[0]["completion_tokens"] > 0
    dumped = json.dumps(log)
    assert API_KEY not in dumped and "Bearer" not in dumped and "authorization" not in dumped.lower()
    with urllib.request.urlopen(server.url + "/_standin/log") as response:
        assert API_KEY not in response.read().decode()


def test_burst_of_500_concurrent_requests_has_no_connection_errors(server):
    async def burst():
        async with AsyncOpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client:
            calls = [
                client.chat.completions.create(
                    model="m", messages=user_messages(f"burst {index}"), max_tokens=8
                )
                for index in range(500)
            ]
            return await asyncio.gather(*calls, return_exceptions=True)

    server.reset()
    results = asyncio.run(burst())
    errors = [result for result in results if isinstance(result, Exception)]
    assert errors == []
    assert server.stats()["by_status"] == {"200": 500}
