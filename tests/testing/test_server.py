"""The stand-in server, driven by the real openai SDK over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from PIL import Image

from biomed_vital.engine.tokens import estimate_message_tokens, estimate_text_tokens
from biomed_vital.testing import FaultConfig, LatencyModel, StandInServer
from biomed_vital.testing.replies import STANDIN_MARKER
from biomed_vital.testing.server import SlidingWindowLimiter, format_duration, main

# Synthetic stand-in text for protocol tests (not medical content).
CAPTION = "Synthetic test caption: alpha beta gamma panel. Second synthetic sentence about delta."
USER_PROMPT = f"Caption: {CAPTION}\nMentions:\n- The synthetic delta panel is referenced here.\n"
API_KEY = "sk-offline-secret-7f3a9c"


def _user(text: str = USER_PROMPT) -> list[dict]:
    return [{"role": "user", "content": text}]


def _judge_messages(answer: str) -> list[dict]:
    return [
        {"role": "system", "content": "Rate the answer and give a score from 0 to 10."},
        {"role": "user", "content": f"{USER_PROMPT}Question: What is in the panel?\nAnswer: {answer}"},
    ]


def _png_data_url(size: tuple[int, int] = (64, 48)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (120, 40, 200)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture(scope="module")
def server():
    with StandInServer(seed=3) as running:
        yield running


@pytest.fixture()
def client(server):
    with OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as sdk_client:
        yield sdk_client


def _post(url: str, body: dict, headers: dict | None = None) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


# ---------------------------------------------------------------------- wire format
def test_generation_reply_has_usage_five_exchanges_and_quotes_the_caption(server, client):
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=_user(), max_tokens=800)
    assert raw.headers["x-request-id"] == f"req_standin_{server.request_log()[-1]['seq']}"
    completion = raw.parse()
    content = completion.choices[0].message.content
    assert completion.object == "chat.completion"
    assert completion.model == "gpt-4o"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.role == "assistant"
    lines = content.splitlines()
    assert [line.split(":")[0] for line in lines] == ["User", "Assistant"] * 5
    assert all(STANDIN_MARKER in line for line in lines if line.startswith("Assistant:"))
    assert "Second synthetic sentence about delta." in content
    assert completion.usage.prompt_tokens == estimate_message_tokens(_user())
    assert completion.usage.completion_tokens == estimate_text_tokens(content)
    assert (
        completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_image_parts_are_accepted_and_counted_as_prompt_tokens(client):
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": USER_PROMPT},
                {"type": "image_url", "image_url": {"url": _png_data_url(), "detail": "high"}},
            ],
        }
    ]
    completion = client.chat.completions.create(model="gpt-4o", messages=messages)
    assert completion.usage.prompt_tokens == estimate_message_tokens(messages)
    assert completion.usage.prompt_tokens > estimate_message_tokens(_user()) + 100
    assert "alpha beta gamma panel" in completion.choices[0].message.content


def test_two_answer_format_when_the_system_prompt_asks_for_answer_a_and_b(client):
    messages = [{"role": "system", "content": "For each question write Answer A: and Answer B:"}, *_user()]
    content = client.chat.completions.create(model="gpt-4o", messages=messages).choices[0].message.content
    assert [line.split(":")[0] for line in content.splitlines()] == ["User", "Answer A", "Answer B"] * 5
    for question_index in range(5):
        _, answer_a, answer_b = content.splitlines()[3 * question_index : 3 * question_index + 3]
        assert answer_a[len("Answer A:") :] != answer_b[len("Answer B:") :]


def test_judge_text_reply_scores_grounded_answers_above_generic_ones(client):
    def score(answer: str) -> float:
        content = client.chat.completions.create(model="gpt-4o", messages=_judge_messages(answer))
        text = content.choices[0].message.content
        match = re.match(r"Score: ([0-9.]+)/10\nRationale: .+", text)
        assert match, text
        return float(match.group(1))

    grounded = score("The alpha beta gamma panel and the delta panel.")
    generic = score("Nothing specific could be determined here.")
    assert 0 <= generic < grounded <= 10
    assert grounded >= 7 and generic <= 3


def test_judge_json_schema_reply_parses(client):
    schema = {
        "name": "verdict",
        "schema": {
            "type": "object",
            "properties": {"score": {"type": "number"}, "rationale": {"type": "string"}},
            "required": ["score", "rationale"],
        },
    }
    messages = [{"role": "user", "content": f"{USER_PROMPT}Answer: alpha beta gamma"}]
    completion = client.chat.completions.create(
        model="gpt-4o", messages=messages, response_format={"type": "json_schema", "json_schema": schema}
    )
    verdict = json.loads(completion.choices[0].message.content)
    assert set(verdict) == {"score", "rationale"}
    assert 0 <= verdict["score"] <= 10


def test_same_body_gives_the_same_reply_and_n_gives_distinct_choices(client):
    body = {"model": "gpt-4o", "messages": _user(), "seed": 11, "temperature": 0.7}
    first = client.chat.completions.create(**body).choices[0].message.content
    second = client.chat.completions.create(**body).choices[0].message.content
    assert first == second
    several = client.chat.completions.create(**body, n=4)
    assert [c.index for c in several.choices] == [0, 1, 2, 3]
    assert len({c.message.content for c in several.choices}) > 1


def test_max_tokens_cuts_the_reply_with_finish_reason_length(client):
    completion = client.chat.completions.create(model="gpt-4o", messages=_user(), max_tokens=10)
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.completion_tokens <= 10


def test_models_endpoint_lists_models(client):
    assert "gpt-4o" in [model.id for model in client.models.list()]


def test_stream_is_refused_with_an_openai_style_400(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=_user(), stream=True)
    assert caught.value.status_code == 400
    assert "stream" in caught.value.body["message"]


def test_missing_or_malformed_authorization_is_401(server):
    body = {"model": "gpt-4o", "messages": _user()}
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Token abc"}):
        status, _, payload = _post(server.base_url + "/chat/completions", body, headers)
        assert status == 401
        assert set(payload["error"]) >= {"message", "type", "code"}
    status, _, _ = _post(server.base_url + "/chat/completions", body, {"Authorization": "Bearer anything"})
    assert status == 200


def test_invalid_bodies_get_clear_400_errors(server):
    headers = {"Authorization": "Bearer k"}
    status, _, payload = _post(server.base_url + "/chat/completions", {"model": "m", "messages": []}, headers)
    assert status == 400 and "messages" in payload["error"]["message"]
    bad_part = {"model": "m", "messages": [{"role": "user", "content": [{"type": "audio"}]}]}
    status, _, payload = _post(server.base_url + "/chat/completions", bad_part, headers)
    assert status == 400 and "audio" in payload["error"]["message"]


# ---------------------------------------------------------------------- rate limits
def test_rpm_window_answers_429_with_retry_after_and_headers():
    with (
        StandInServer(rpm=3, tpm=100_000) as server,
        OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client,
    ):
        remaining = []
        for index in range(3):
            raw = client.chat.completions.with_raw_response.create(
                model="m", messages=_user(f"request {index}")
            )
            remaining.append(int(raw.headers["x-ratelimit-remaining-requests"]))
            assert raw.headers["x-ratelimit-limit-requests"] == "3"
            assert raw.headers["x-ratelimit-limit-tokens"] == "100000"
            assert re.fullmatch(r"(\d+m)?[\d.]+(ms|s)", raw.headers["x-ratelimit-reset-requests"])
        assert remaining == [2, 1, 0]
        with pytest.raises(openai.RateLimitError) as caught:
            client.chat.completions.create(model="m", messages=_user("one too many"))
        error = caught.value
        assert 0 < int(error.response.headers["retry-after"]) <= 60
        assert int(error.response.headers["retry-after-ms"]) <= 60_000
        assert error.body["type"] == "requests" and error.body["code"] == "rate_limit_exceeded"
        assert "RPM" in error.body["message"]
        statuses = [entry["status"] for entry in server.request_log()]
        assert statuses == [200, 200, 200, 429]
        # the refused request did not consume the window
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="m", messages=_user("still limited"))
        assert server.stats()["by_status"] == {"200": 3, "429": 2}


def test_tpm_window_counts_prompt_plus_max_tokens():
    with (
        StandInServer(tpm=200) as server,
        OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client,
    ):
        client.chat.completions.create(model="m", messages=_user("short"), max_tokens=150)
        with pytest.raises(openai.RateLimitError) as caught:
            client.chat.completions.create(model="m", messages=_user("short"), max_tokens=150)
        assert caught.value.body["type"] == "tokens"
        with pytest.raises(openai.RateLimitError) as too_large:
            client.chat.completions.create(model="m", messages=_user("short"), max_tokens=5000)
        assert too_large.value.response.headers["x-should-retry"] == "false"


def test_sliding_window_frees_capacity_as_entries_age():
    limiter = SlidingWindowLimiter(rpm=2, tpm=None)
    assert limiter.admit(1, now=0.0).admitted and limiter.admit(1, now=10.0).admitted
    refused = limiter.admit(1, now=20.0)
    assert not refused.admitted and refused.retry_after == pytest.approx(40.0)
    assert limiter.admit(1, now=60.5).admitted


def test_openai_duration_format():
    assert [format_duration(s) for s in (0.02, 0.5, 1.0, 8.64, 60.0, 360.0)] == [
        "20ms",
        "500ms",
        "1s",
        "8.64s",
        "1m0s",
        "6m0s",
    ]


# ---------------------------------------------------------------------- faults
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
            client.chat.completions.create(model="m", messages=_user())
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
        client.chat.completions.create(model="m", messages=_user())
    assert server.request_log()[0]["fault"] == "timeout"


def test_stop_releases_requests_that_are_still_hanging():
    server = StandInServer(faults=FaultConfig(timeout=1.0, hang_seconds=600)).start()
    outcome: list[str] = []

    def call() -> None:
        with OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=600) as client:
            try:
                outcome.append(
                    client.chat.completions.create(model="m", messages=_user()).choices[0].finish_reason
                )
            except openai.APIError as error:
                outcome.append(type(error).__name__)

    caller = threading.Thread(target=call)
    caller.start()
    for _ in range(1000):  # wait until the request is hanging on the server
        if server.request_log():
            break
        time.sleep(0.01)
    server.stop()  # must not wait out the 600 s hang
    caller.join(timeout=120)
    assert not caller.is_alive()
    assert len(outcome) == 1


def test_malformed_fault_breaks_the_requested_format(client):
    with (
        StandInServer(faults=FaultConfig(malformed=1.0)) as server,
        OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as faulty,
    ):
        generation = faulty.chat.completions.create(model="m", messages=_user()).choices[0].message.content
        assert "User:" not in generation and "Assistant:" not in generation
        judged = faulty.chat.completions.create(model="m", messages=_judge_messages("alpha")).choices[0]
        assert not re.search(r"\d", judged.message.content)
        as_json = faulty.chat.completions.create(
            model="m", messages=_judge_messages("alpha"), response_format={"type": "json_object"}
        )
        with pytest.raises(json.JSONDecodeError):
            json.loads(as_json.choices[0].message.content)


def test_truncated_fault_cuts_mid_sentence_with_finish_reason_length(client):
    full = client.chat.completions.create(model="m", messages=_user()).choices[0].message.content
    with (
        StandInServer(seed=3, faults=FaultConfig(truncated=1.0)) as server,
        OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as faulty,
    ):
        choice = faulty.chat.completions.create(model="m", messages=_user()).choices[0]
    assert choice.finish_reason == "length"
    assert full.startswith(choice.message.content) and len(choice.message.content) < len(full)
    assert not choice.message.content.endswith((".", ")"))


def test_faults_depend_on_body_and_attempt_not_on_arrival_order():
    faults = FaultConfig(server_error=0.5, seed=5)
    bodies = [{"model": "m", "messages": _user(f"body {index}")} for index in range(12)]

    def run(order):
        with StandInServer(faults=faults) as server:
            for index in order:
                for _ in range(2):  # each body twice: attempt 1 and attempt 2
                    _post(server.base_url + "/chat/completions", bodies[index], {"Authorization": "Bearer k"})
            return {(e["request_key"], e["attempt"]): e["status"] for e in server.request_log()}

    forward = run(range(12))
    backward = run(reversed(range(12)))
    assert forward == backward
    assert set(forward.values()) == {200, 500}
    # some body fails on its first attempt and succeeds on the retry
    keys = {key for key, _ in forward}
    assert any(forward[(key, 1)] == 500 and forward[(key, 2)] == 200 for key in keys)


def test_fault_config_validates_probabilities():
    with pytest.raises(ValueError, match="add up"):
        FaultConfig(server_error=0.7, rate_limit=0.6)
    with pytest.raises(ValueError, match="not a probability"):
        FaultConfig(timeout=1.5)
    with pytest.raises(ValueError, match="NAME=VALUE"):
        FaultConfig.from_pairs(["explode=0.1"])


def test_latency_model_lognormal_matches_median_and_p99():
    model = LatencyModel.lognormal(median=0.2, p99=2.0, seed=1)
    samples = sorted(model.sample(f"key-{index}") for index in range(4000))
    assert samples[2000] == pytest.approx(0.2, rel=0.1)
    assert samples[3960] == pytest.approx(2.0, rel=0.25)
    assert LatencyModel.fixed(0.05, per_completion_token=0.01).sample(
        "k", 1, completion_tokens=10
    ) == pytest.approx(0.15)
    with pytest.raises(ValueError, match="median"):
        LatencyModel(median=1.0, p99=0.5)


def test_latency_is_applied_without_blocking_other_requests():
    async def go(base_url):
        async with AsyncOpenAI(base_url=base_url, api_key=API_KEY, max_retries=0) as client:
            await asyncio.gather(
                *[client.chat.completions.create(model="m", messages=_user(str(i))) for i in range(20)]
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


# ---------------------------------------------------------------------- request log
def test_request_log_records_every_request_and_never_the_key(server, client):
    server.reset()
    client.chat.completions.create(model="gpt-4o", messages=_user(), seed=42)
    client.chat.completions.create(model="gpt-4o", messages=_user(), seed=42)
    client.chat.completions.create(model="gpt-4o", messages=_judge_messages("alpha"))
    _post(server.base_url + "/chat/completions", {"model": "m", "messages": _user()})  # no key: 401
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
                client.chat.completions.create(model="m", messages=_user(f"burst {index}"), max_tokens=8)
                for index in range(500)
            ]
            return await asyncio.gather(*calls, return_exceptions=True)

    server.reset()
    results = asyncio.run(burst())
    errors = [result for result in results if isinstance(result, Exception)]
    assert errors == []
    assert server.stats()["by_status"] == {"200": 500}


# ---------------------------------------------------------------------- lifecycle
def test_stop_leaves_no_threads_and_a_server_can_start_twice():
    before = {thread.ident for thread in threading.enumerate()}
    for _ in range(2):
        server = StandInServer()
        server.start()
        with OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client:
            client.chat.completions.create(model="m", messages=_user())
        server.stop()
        server.stop()  # idempotent
        assert not server.running
    leaked = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert leaked == []
    assert len(server.request_log()) == 1  # the log survives stop()


def test_port_in_use_gives_a_clear_error():
    with StandInServer() as first, pytest.raises(RuntimeError, match="could not listen"):
        StandInServer(port=first.port).start()


def test_subprocess_mode_serves_logs_and_exits_cleanly():
    server = StandInServer.spawn(rpm=100, faults=FaultConfig(server_error=0.0), seed=3)
    with server, OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client:
        process = server._process
        completion = client.chat.completions.create(model="gpt-4o", messages=_user())
        assert completion.usage.completion_tokens > 0
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=_user("again"))
        assert raw.headers["x-ratelimit-limit-requests"] == "100"
        log = server.request_log()
        assert [entry["status"] for entry in log] == [200, 200]
        server.reset()
        assert server.request_log() == []
    assert process.poll() is not None
    with StandInServer(seed=3) as in_process, OpenAI(base_url=in_process.base_url, api_key="k") as local:
        same = local.chat.completions.create(model="gpt-4o", messages=_user())
    assert same.choices[0].message.content == completion.choices[0].message.content


def test_command_line_prints_the_base_url_and_serves():
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "biomed_vital.testing.server",
            "--port",
            "0",
            "--rpm",
            "50",
            "--fault",
            "truncated=1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", url)
        with OpenAI(base_url=url, api_key=API_KEY, max_retries=0) as client:
            assert (
                client.chat.completions.create(model="m", messages=_user()).choices[0].finish_reason
                == "length"
            )
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()


def test_command_line_rejects_bad_fault_names(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--fault", "explode=0.5"])
    assert caught.value.code == 2
    assert "explode" in capsys.readouterr().err
