"""StandInServer's lifecycle, in a thread and in its own process."""

from __future__ import annotations

import threading
import time

import openai
import pytest
from openai import OpenAI

from biomed_vital.testing import FaultConfig, StandInServer
from tests.testing.standin.helpers import (
    API_KEY,
    user_messages,
)


def test_stop_releases_requests_that_are_still_hanging():
    server = StandInServer(faults=FaultConfig(timeout=1.0, hang_seconds=600)).start()
    outcome: list[str] = []

    def call() -> None:
        with OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=600) as client:
            try:
                outcome.append(
                    client.chat.completions.create(model="m", messages=user_messages())
                    .choices[0]
                    .finish_reason
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


def test_stop_leaves_no_threads_and_a_server_can_start_twice():
    before = {thread.ident for thread in threading.enumerate()}
    for _ in range(2):
        server = StandInServer()
        server.start()
        with OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client:
            client.chat.completions.create(model="m", messages=user_messages())
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
        completion = client.chat.completions.create(model="gpt-4o", messages=user_messages())
        assert completion.usage.completion_tokens > 0
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=user_messages("again")
        )
        assert raw.headers["x-ratelimit-limit-requests"] == "100"
        log = server.request_log()
        assert [entry["status"] for entry in log] == [200, 200]
        server.reset()
        assert server.request_log() == []
    assert process.poll() is not None
    with StandInServer(seed=3) as in_process, OpenAI(base_url=in_process.base_url, api_key="k") as local:
        same = local.chat.completions.create(model="gpt-4o", messages=user_messages())
    assert same.choices[0].message.content == completion.choices[0].message.content


def test_a_forgotten_subprocess_server_is_killed_even_while_the_interpreter_tears_down(monkeypatch):
    import biomed_vital.testing.standin.server as server_module

    server = StandInServer(subprocess=True).start()
    process = server._process
    assert process is not None and process.poll() is None
    try:
        # at interpreter exit a module's globals are set to None before its leftover objects are finalised
        for name in [name for name in vars(server_module) if not name.startswith("__")]:
            monkeypatch.setattr(server_module, name, None)
        server.__del__()  # must neither raise nor leave the process running
        monkeypatch.undo()
        assert process.wait(timeout=10) is not None
    finally:
        monkeypatch.undo()
        server.stop()
