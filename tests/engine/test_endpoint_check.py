"""A wrong endpoint or key fails once, at once, naming the URL; a dying endpoint stops the run early."""

from __future__ import annotations

import socket
import time

import pytest

from biomed_vital.cli import main
from biomed_vital.engine import BackendConfig, ChatRequest, RequestEngine
from biomed_vital.engine.backends import EndpointError
from biomed_vital.generation import GPT4VGenerator
from biomed_vital.testing import FaultConfig, StandInServer
from tests.generation.helpers import make_figures


def _dead_url() -> str:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.mark.parametrize("url", ["not a url", "htp://localhost:8000/v1", "localhost:8000"])
def test_a_malformed_base_url_is_refused_when_the_backend_is_built(url):
    with pytest.raises(EndpointError, match="is not an http\\(s\\) URL"):
        GPT4VGenerator("gpt-4o", base_url=url)


def test_a_dead_port_fails_the_check_at_once_naming_the_url(tmp_path):
    url = _dead_url()
    generator = GPT4VGenerator("gpt-4o", base_url=url, cache_dir=str(tmp_path), max_retries=6)
    started = time.monotonic()
    with pytest.raises(EndpointError) as error:
        generator.generate(make_figures(2, size=8))
    assert url in str(error.value) and "cannot reach" in str(error.value)
    assert time.monotonic() - started < 10  # no retries: the check is one call


def test_a_missing_key_is_reported_before_anything_is_sent(monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    engine = RequestEngine(BackendConfig("gpt-4o"), cache_dir=str(tmp_path), show_progress=False)
    with pytest.raises(EndpointError, match="OPENAI_API_KEY"):
        engine.run_sync([ChatRequest({"messages": [{"role": "user", "content": "synthetic"}]}, "r0")])


def test_connection_errors_in_rows_name_the_url(tmp_path):
    url = _dead_url()
    generator = GPT4VGenerator(
        "gpt-4o",
        base_url=url,
        cache_dir=str(tmp_path),
        check_endpoint=False,
        max_retries=0,
        show_progress=False,
    )
    candidates = generator.generate(make_figures(2, size=8))
    assert set(candidates["status"][:]) == {"error"}
    assert all(url in error for error in candidates["error"][:])


def test_a_run_whose_requests_all_fail_alike_stops_early_and_says_why(tmp_path):
    with StandInServer(faults=FaultConfig(server_error=1.0), seed=0) as server:
        generator = GPT4VGenerator(
            "gpt-4o",
            base_url=server.base_url,
            cache_dir=str(tmp_path),
            max_concurrency=2,
            max_retries=1,
            backoff_base=0.01,
            stop_after_failures=4,
            show_progress=False,
        )
        candidates = generator.generate(make_figures(30, size=8))
        sent = len(server.request_log())
        base_url = server.base_url
    errors = candidates["error"][:]
    not_sent = [e for e in errors if e.startswith("not sent:")]
    assert len(candidates) == 30 and set(candidates["status"][:]) == {"error"}
    assert len(not_sent) >= 20  # 4 failures in a row (plus those already in flight), then nothing more
    assert sent <= 2 * (30 - len(not_sent))  # each started request made at most 1 + max_retries attempts
    assert base_url in not_sent[0] and "HTTP 500" in not_sent[0]
    assert "stopped early" in str(generator.engine.last_summary)


def test_the_command_exits_non_zero_when_no_row_succeeded(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-test")
    make_figures(3, size=8).save_to_disk(str(tmp_path / "figures"))
    with StandInServer(faults=FaultConfig(server_error=1.0), seed=0) as server:
        code = main(
            [
                "generate",
                str(tmp_path / "figures"),
                "--out",
                str(tmp_path / "candidates"),
                "--base-url",
                server.base_url,
                "--cache-dir",
                str(tmp_path / "cache"),
                "--max-retries",
                "0",
            ]
        )
    assert code == 1
    assert "no row succeeded" in capsys.readouterr().err
    assert (tmp_path / "candidates").is_dir()  # every row is saved, errors included


def test_a_dead_endpoint_on_the_command_line_is_one_line_with_status_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-test")
    make_figures(2, size=8).save_to_disk(str(tmp_path / "figures"))
    url = _dead_url()
    capsys.readouterr()
    code = main(["generate", str(tmp_path / "figures"), "--out", str(tmp_path / "c"), "--base-url", url])
    err = capsys.readouterr().err
    assert code == 2
    assert url in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_the_summary_says_identical_requests_were_sent_once_and_counts_earlier_spend(tmp_path):
    body = {"messages": [{"role": "user", "content": "synthetic request"}], "max_tokens": 8, "seed": 0}
    with StandInServer(seed=0) as server:
        engine = RequestEngine(
            BackendConfig("gpt-4o", base_url=server.base_url), cache_dir=str(tmp_path), show_progress=False
        )
        engine.run_sync([ChatRequest(dict(body), f"r{i}") for i in range(3)])
        first = engine.last_summary
        assert first.duplicates == 2 and first.sent == 1
        assert "2 identical to another request, sent once" in str(first)
        engine.run_sync([ChatRequest(dict(body), "again")])
        resumed = engine.last_summary
    assert resumed.cost_usd == 0.0 and resumed.cache_hits == 1
    assert resumed.total_cost_usd == pytest.approx(first.cost_usd)
    assert "with the cached answers of earlier runs" in str(resumed)
