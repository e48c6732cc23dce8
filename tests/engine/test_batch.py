"""Batch mode over real HTTP: the engine against the stand-in's files and batches endpoints, with the openai SDK."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from biomed_vital.engine import BackendConfig, ChatRequest, PriceTable, RequestEngine, ResponseCache
from biomed_vital.engine.batch_files import (
    OPENAI_BATCH_URL,
    BatchFileWriter,
    batch_line,
    parse_answer_line,
    read_batch_answers,
)
from biomed_vital.engine.batch_ledger import BatchLedger
from biomed_vital.engine.batch_offline import import_batch_answers
from biomed_vital.testing import StandInServer
from biomed_vital.testing.standin import StandInConfig
from tests.conftest import REPO_ROOT
from tests.generation.helpers import requests_sent_after_success


def text_requests(n: int, *, max_tokens: int = 300, start: int = 0) -> list[ChatRequest]:
    """Requests of equal size (the caption number has a fixed width), with synthetic stand-in text."""
    return [
        ChatRequest(
            {
                "messages": [
                    {"role": "user", "content": f"Caption: Synthetic test caption {i:04d} (stand-in)."}
                ],
                "max_tokens": max_tokens,
                "seed": i,
            },
            f"r{i}",
        )
        for i in range(start, start + n)
    ]


def batch_engine(server: StandInServer, cache_dir: Path, **options) -> RequestEngine:
    options.setdefault("show_progress", False)
    options.setdefault("batch_poll_interval", 0.05)
    options.setdefault("backoff_base", 0.02)
    options.setdefault("backoff_max", 0.2)
    backend = BackendConfig(model="gpt-4o", base_url=server.base_url, api_key="sk-local-test", timeout=10.0)
    return RequestEngine(backend, cache_dir=str(cache_dir), batch=True, **options)


def batch_entries(log: list[dict]) -> list[dict]:
    return [entry for entry in log if entry["path"].startswith("/v1/batches/")]


def test_batch_mode_answers_every_request_through_batches_at_batch_prices(tmp_path) -> None:
    with StandInServer(StandInConfig(batch_seconds=0.2)) as server:
        engine = batch_engine(server, tmp_path / "cache", batch_max_requests=25)
        results = engine.run_sync(text_requests(60))
        log = server.request_log()
        # the answers are in the cache: a rerun sends nothing
        again = batch_engine(server, tmp_path / "cache").run_sync(text_requests(60))
        assert len(server.request_log()) == len(log) and all(r.cached for r in again)
    assert [r.request_id for r in results] == [f"r{i}" for i in range(60)]
    assert all(r.ok and r.finish_reason == "stop" for r in results)
    assert not any(entry["path"] == "/v1/chat/completions" for entry in log)  # nothing went synchronously
    assert len(batch_entries(log)) == 60 and requests_sent_after_success(log) == []
    report = engine.last_batch_report
    assert report.submitted_batches == 3 and report.submitted_requests == 60 and report.collected_batches == 3
    summary = engine.last_summary
    table = PriceTable.default()
    sync_cost = table.cost("gpt-4o", summary.prompt_tokens, summary.completion_tokens)
    assert summary.cost_usd == pytest.approx(sync_cost / 2)
    assert summary.batch_answered == 60 and summary.batch_saved_usd == pytest.approx(sync_cost / 2)
    assert "answered through the Batch API" in str(summary)


def test_batch_replies_are_the_replies_of_synchronous_mode(tmp_path) -> None:
    requests = text_requests(12)
    with StandInServer(StandInConfig(seed=4)) as server:
        sync_results = RequestEngine(
            BackendConfig("gpt-4o", base_url=server.base_url, api_key="sk-x"),
            cache_dir=str(tmp_path / "sync"),
            show_progress=False,
        ).run_sync(requests)
    with StandInServer(StandInConfig(seed=4, batch_seconds=0.1)) as server:
        batch_results = batch_engine(server, tmp_path / "batch").run_sync(requests)
    assert [r.content for r in batch_results] == [r.content for r in sync_results]
    assert [r.key for r in batch_results] == [r.key for r in sync_results]


def test_a_rejected_batch_answer_is_asked_again_synchronously_and_repeats_share_one_answer(tmp_path) -> None:
    def reject(result) -> str:  # a task's check that takes no reply
        return "synthetic rejection"

    requests = text_requests(6) + text_requests(2)  # the last two repeat r0 and r1
    with StandInServer(StandInConfig(batch_seconds=0.1)) as server:
        engine = batch_engine(server, tmp_path / "cache")
        results = engine.run_sync(requests, unusable_reason=reject, retry_unusable=2)
        log = server.request_log()
        keeping = batch_engine(server, tmp_path / "other")
        kept = keeping.run_sync(text_requests(6), unusable_reason=reject, retry_unusable=0)
        kept_log = server.request_log()[len(log) :]
        rerun = batch_engine(server, tmp_path / "cache").run_sync(requests, keep_unusable=True)
    assert [r.request_id for r in results] == [f"r{i}" for i in range(6)] + ["r0", "r1"]
    assert all(r.ok for r in results)
    assert len(batch_entries(log)) == 6  # the repeats went in no batch
    # asked twice more in all: once synchronously after the batch, then once more at once
    assert sum(entry["path"] == "/v1/chat/completions" for entry in log) == 12
    summary = engine.last_summary
    assert summary.unusable_asked_again == 12 and summary.unusable_kept == 6 and summary.duplicates == 2
    assert summary.batch_answered == 6
    assert all(r.cached for r in rerun)  # the last replies were stored
    # without asking again, a rejected batch answer is the final reply
    assert len(kept) == 6 and all(r.ok for r in kept)
    assert not any(entry["path"] == "/v1/chat/completions" for entry in kept_log)
    assert keeping.last_summary.unusable_kept == 6 and keeping.last_summary.unusable_asked_again == 0


def test_partial_failures_are_resubmitted_and_nothing_answered_is_sent_twice(tmp_path) -> None:
    config = StandInConfig(batch_seconds=0.1, fault=["server_error=0.25", "rate_limit=0.1"], seed=2)
    with StandInServer(config) as server:
        engine = batch_engine(server, tmp_path / "cache", max_retries=10)
        results = engine.run_sync(text_requests(40))
        log = server.request_log()
    assert all(r.ok for r in results)
    statuses = Counter(entry["status"] for entry in batch_entries(log))
    assert statuses[200] == 40 and statuses[500] + statuses[429] > 0
    assert requests_sent_after_success(log) == []
    assert engine.last_batch_report.resubmitted == statuses[500] + statuses[429]
    assert engine.last_batch_report.submitted_batches >= 2


def test_failed_requests_go_synchronously_when_asked(tmp_path) -> None:
    with StandInServer(StandInConfig(batch_seconds=0.1, fault=["server_error=0.3"], seed=5)) as server:
        engine = batch_engine(server, tmp_path / "cache", batch_on_failure="sync", max_retries=10)
        results = engine.run_sync(text_requests(30))
        log = server.request_log()
    failed_in_batch = {e["request_key"] for e in batch_entries(log) if e["status"] == 500}
    sent_sync = {e["request_key"] for e in log if e["path"] == "/v1/chat/completions"}
    assert all(r.ok for r in results)
    assert failed_in_batch and failed_in_batch == sent_sync
    assert engine.last_batch_report.submitted_batches == 1  # none resubmitted as a batch
    assert engine.last_batch_report.sent_synchronously == len(failed_in_batch)
    assert requests_sent_after_success(log) == []
    answered_in_batch = [r for r in results if r.cost_usd is not None]
    assert len(answered_in_batch) == 30


def test_an_expired_batch_keeps_its_answers_and_only_the_rest_is_sent_again(tmp_path) -> None:
    config = StandInConfig(batch_seconds=1.0, batch_expire_seconds=0.3)
    requests = text_requests(40)
    with StandInServer(config) as server:
        first = batch_engine(server, tmp_path / "cache", max_retries=0).run_sync(requests)
        answered = {r.key for r in first if r.ok}
        expired = [r for r in first if not r.ok]
        assert answered and expired
        assert all("batch_expired" in r.error for r in expired)
        server_batches = server.request_log()
        assert len(batch_entries(server_batches)) == len(answered)
        # a rerun sends only what expired (the ledger knows; the cache holds the answers)
        with StandInServer(StandInConfig(batch_seconds=0.1)) as other:
            second = batch_engine(other, tmp_path / "cache").run_sync(requests)
            resent = {e["request_key"] for e in batch_entries(other.request_log())}
    assert all(r.ok for r in second)
    assert len(resent) == len(expired)
    assert {r.key for r in second if r.cached} == answered


def test_without_waiting_rows_in_flight_say_so_and_a_rerun_collects_a_cancelled_batch(tmp_path) -> None:
    from openai import OpenAI

    requests = text_requests(30)
    with StandInServer(StandInConfig(batch_seconds=2.0)) as server:
        engine = batch_engine(server, tmp_path / "cache", batch_wait=False)
        first = engine.run_sync(requests)
        assert all(r.error_type == "batch_pending" for r in first)
        assert "run again to collect it" in first[0].error
        client = OpenAI(base_url=server.base_url, api_key="sk-x")
        (batch,) = list(client.batches.list())
        time.sleep(0.6)
        client.batches.cancel(batch.id)
        second = batch_engine(server, tmp_path / "cache", max_retries=3).run_sync(requests)
        log = server.request_log()
        batches = list(client.batches.list())
    assert all(r.ok for r in second)
    assert batches[-1].status == "cancelled" and 0 < batches[-1].request_counts.completed < 30
    assert requests_sent_after_success(log) == []
    assert Counter(e["status"] for e in batch_entries(log))[200] == 30


def test_the_budget_cap_counts_batch_prices(tmp_path) -> None:
    requests = text_requests(20)
    with StandInServer(StandInConfig(batch_seconds=0.1)) as server:
        probe = batch_engine(server, tmp_path / "probe")
        per_request_sync = probe.estimate(requests[:1]).cost_usd * 2
        # enough for 5 requests at synchronous prices, 10 at batch prices
        engine = batch_engine(server, tmp_path / "cache", budget_usd=per_request_sync * 5.01)
        results = engine.run_sync(requests)
    assert Counter(r.status for r in results)["ok"] == 10
    assert all(r.error == "budget cap reached" for r in results[10:])
    assert engine.last_summary.budget_stopped


def test_estimates_use_batch_prices_and_show_the_synchronous_ones(tmp_path) -> None:
    engine = RequestEngine(BackendConfig("gpt-4o"), batch=True, cache_dir=str(tmp_path))
    estimate = engine.estimate(text_requests(10))
    assert estimate.batch and estimate.cost_usd == pytest.approx(estimate.sync_cost_usd / 2)
    assert "at batch prices" in str(estimate)


def test_azure_openai_batches_use_its_paths(tmp_path) -> None:
    with StandInServer(StandInConfig(batch_seconds=0.1)) as server:
        backend = BackendConfig(
            "gpt-4o-batch-deployment",
            azure_endpoint=server.url,
            api_version="2024-10-21",
            api_key="azure-key-x",
        )
        engine = RequestEngine(
            backend, cache_dir=str(tmp_path), batch=True, batch_poll_interval=0.05, show_progress=False
        )
        results = engine.run_sync(text_requests(8))
        log = server.request_log()
    assert all(r.ok for r in results)
    assert {e["model"] for e in batch_entries(log)} == {"gpt-4o-batch-deployment"}


def test_a_batch_created_just_before_a_crash_is_found_again(tmp_path) -> None:
    from openai import OpenAI

    requests = text_requests(10)
    with StandInServer(StandInConfig(batch_seconds=0.1)) as server:
        engine = batch_engine(server, tmp_path / "cache")
        keys = [engine.key_of(r) for r in requests]
        # the state a kill between "batches.create" and recording its id leaves: a ledger entry "submitting"
        ledger = BatchLedger(engine.cache)
        ledger.add_job("job-created", server.base_url, "gpt-4o", keys[:5])
        ledger.add_job("job-never-created", server.base_url, "gpt-4o", keys[5:])
        ledger.close()
        lines = b"".join(
            batch_line(k, engine.body_of(r), OPENAI_BATCH_URL)
            for k, r in zip(keys[:5], requests[:5], strict=True)
        )
        client = OpenAI(base_url=server.base_url, api_key="sk-x")
        uploaded = client.files.create(file=("r.jsonl", lines, "application/jsonl"), purpose="batch")
        client.batches.create(
            input_file_id=uploaded.id,
            endpoint=OPENAI_BATCH_URL,
            completion_window="24h",
            metadata={"biomed_vital_job": "job-created"},
        )
        results = engine.run_sync(requests)
        log = server.request_log()
    assert all(r.ok for r in results)
    assert requests_sent_after_success(log) == [] and len(batch_entries(log)) == 10
    assert engine.last_batch_report.submitted_requests == 5  # the other five came from the found batch


_KILLED_CHILD = """
import sys
from biomed_vital.engine import BackendConfig, ChatRequest, RequestEngine
requests = [ChatRequest({"messages": [{"role": "user", "content": f"Caption: Synthetic test caption {i:04d} (stand-in)."}],
                         "max_tokens": 300, "seed": i}, f"r{i}") for i in range(60)]
engine = RequestEngine(BackendConfig("gpt-4o", base_url=sys.argv[1], api_key="sk-x"), cache_dir=sys.argv[2],
                       batch=True, batch_max_requests=20, batch_poll_interval=0.05, show_progress=False)
engine.run_sync(requests)
print("finished before the kill", flush=True)
"""


@pytest.mark.slow
def test_kill_9_while_polling_then_a_rerun_collects_without_resubmitting(tmp_path) -> None:
    from openai import OpenAI

    cache_dir = tmp_path / "cache"
    with StandInServer(StandInConfig(batch_seconds=3.0)) as server:
        client = OpenAI(base_url=server.base_url, api_key="sk-x")
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        child = subprocess.Popen(
            [sys.executable, "-c", _KILLED_CHILD, server.base_url, str(cache_dir)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # all three batches submitted, and polled at least once
            batches = list(client.batches.list())
            if len(batches) == 3 and all(b.status == "in_progress" for b in batches):
                break
            time.sleep(0.05)
        time.sleep(0.3)
        assert child.poll() is None, child.communicate()
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert len(list(client.batches.list())) == 3
        ledger = BatchLedger(ResponseCache(cache_dir))
        assert sorted(job.batch_id for job in ledger.jobs()) == sorted(b.id for b in batches)
        ledger.close()
        engine = batch_engine(server, cache_dir, batch_max_requests=20)
        results = engine.run_sync(text_requests(60))
        log = server.request_log()
        after = list(client.batches.list())
    assert all(r.ok for r in results)
    assert len(after) == 3  # nothing was submitted again
    assert (
        engine.last_batch_report.submitted_requests == 0 and engine.last_batch_report.collected_batches == 3
    )
    assert len(batch_entries(log)) == 60 and requests_sent_after_success(log) == []


def test_export_for_vllm_run_batch_and_import_the_answers(tmp_path) -> None:
    from openai import OpenAI

    requests = text_requests(15)
    with StandInServer(StandInConfig(batch_seconds=0.1)) as server:
        backend = BackendConfig("gpt-4o", base_url=server.base_url, api_key="sk-x")
        exporter = RequestEngine(
            backend,
            cache_dir=str(tmp_path / "cache"),
            batch_export=str(tmp_path / "batch"),
            batch_max_requests=10,
            show_progress=False,
        )
        exported = exporter.run_sync(requests)
        assert all(r.error_type == "exported" for r in exported) and server.request_log() == []
        files = sorted((tmp_path / "batch").glob("requests-*.jsonl"))
        assert [len(f.read_text().splitlines()) for f in files] == [10, 5]
        first = json.loads(files[0].read_text().splitlines()[0])
        assert first["url"] == "/v1/chat/completions" and first["custom_id"] == exported[0].key
        # what vLLM's run-batch does on a GPU machine, here answered by the stand-in's batch endpoint
        client = OpenAI(base_url=server.base_url, api_key="sk-x")
        for number, path in enumerate(files):
            uploaded = client.files.create(file=path.open("rb"), purpose="batch")
            batch = client.batches.create(
                input_file_id=uploaded.id, endpoint=OPENAI_BATCH_URL, completion_window="24h"
            )
            while batch.status != "completed":
                time.sleep(0.05)
                batch = client.batches.retrieve(batch.id)
            (tmp_path / "batch" / f"answers-{number:05d}.jsonl").write_bytes(
                client.files.content(batch.output_file_id).read()
            )
        sent = len(server.request_log())
        summary = import_batch_answers([tmp_path / "batch"], cache_dir=tmp_path / "cache")
        assert summary.stored == 15 and summary.failed == 0
        results = RequestEngine(backend, cache_dir=str(tmp_path / "cache"), show_progress=False).run_sync(
            requests
        )
        assert len(server.request_log()) == sent
    assert all(r.ok and r.cached for r in results)


def test_batch_files_split_by_requests_and_by_bytes(tmp_path) -> None:
    line = batch_line(
        "k", {"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 80}]}, OPENAI_BATCH_URL
    )
    writer = BatchFileWriter(tmp_path / "by-count", max_requests=4, max_bytes=10**9)
    for i in range(10):
        writer.add(f"k{i}", "gpt-4o", line)
    assert [len(f.keys) for f in writer.close()] == [4, 4, 2]
    writer = BatchFileWriter(tmp_path / "by-bytes", max_requests=1000, max_bytes=3 * len(line))
    for i in range(10):
        writer.add(f"k{i}", "gpt-4o", line)
    written = writer.close()
    assert [len(f.keys) for f in written] == [3, 3, 3, 1]
    assert all(f.path.stat().st_size == f.n_bytes <= 3 * len(line) for f in written)
    writer = BatchFileWriter(tmp_path / "by-model")
    writer.add("a", "gpt-4o", line)
    writer.add("b", "gpt-4o-mini", line)
    assert sorted(f.model for f in writer.close()) == ["gpt-4o", "gpt-4o-mini"]
    with pytest.raises(ValueError, match="more than the batch file limit"):
        BatchFileWriter(tmp_path / "small", max_bytes=10).add("k", "gpt-4o", line)


def test_answer_lines_of_openai_azure_and_vllm_are_read(tmp_path) -> None:
    completion = {
        "id": "c",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    }
    openai_style = {
        "id": "b1",
        "custom_id": "k1",
        "response": {"status_code": 200, "body": completion},
        "error": None,
    }
    vllm_short = {"id": "b2", "custom_id": "k2", "response": completion, "error": None}
    expired = {
        "id": "b3",
        "custom_id": "k3",
        "response": None,
        "error": {"code": "batch_expired", "message": "late"},
    }
    refused = {
        "custom_id": "k4",
        "response": {"status_code": 400, "body": {"error": {"message": "bad image"}}},
    }
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in (openai_style, vllm_short, expired, refused)) + "\n")
    answers = list(read_batch_answers(path))
    assert [a.ok for a in answers] == [True, True, False, False]
    assert [a.retryable for a in answers[2:]] == [True, False]
    assert answers[3].error == "HTTP 400: bad image"
    path.write_text("not json\n")
    with pytest.raises(ValueError, match=r"answers.jsonl:1: not a JSON line"):
        list(read_batch_answers(path))
    with pytest.raises(ValueError, match="needs a string custom_id"):
        parse_answer_line('{"response": {}}')
