"""Several endpoints behind one engine: spreading, a slow and a dead endpoint, and cache keys, over real HTTP."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from biomed_vital.engine import BackendConfig, ChatRequest, EngineConfig, RequestEngine
from biomed_vital.engine.backends import EndpointError
from biomed_vital.engine.endpoints import read_endpoints
from biomed_vital.testing import LatencyModel, StandInServer
from biomed_vital.testing.standin import StandInConfig
from tests.generation.helpers import requests_sent_after_success


def text_requests(n: int) -> list[ChatRequest]:
    return [
        ChatRequest(
            {
                "messages": [{"role": "user", "content": f"Caption: Synthetic test caption {i} (stand-in)."}],
                "max_tokens": 200,
                "seed": i,
            },
            f"r{i}",
        )
        for i in range(n)
    ]


def pool_engine(servers, tmp_path, per_endpoint: dict | None = None, **options) -> RequestEngine:
    options.setdefault("show_progress", False)
    options.setdefault("backoff_base", 0.02)
    options.setdefault("backoff_max", 0.2)
    endpoints = [{"base_url": server.base_url, **(per_endpoint or {})} for server in servers]
    backend = BackendConfig("gpt-4o", base_url=servers[0].base_url, api_key="sk-local-test", timeout=5.0)
    return RequestEngine(backend, cache_dir=str(tmp_path / "cache"), endpoints=endpoints, **options)


def answered(server: StandInServer) -> int:
    return Counter(entry["status"] for entry in server.request_log())[200]


def test_requests_are_spread_over_every_endpoint(tmp_path) -> None:
    latency = LatencyModel.fixed(0.02)
    with (
        StandInServer(latency=latency) as a,
        StandInServer(latency=latency) as b,
        StandInServer(latency=latency) as c,
    ):
        engine = pool_engine([a, b, c], tmp_path, {"max_concurrency": 4})
        results = engine.run_sync(text_requests(90))
        counts = [answered(server) for server in (a, b, c)]
    assert all(r.ok for r in results)
    assert sum(counts) == 90 and min(counts) >= 20  # each endpoint takes about a third
    assert [s.ok for s in engine.last_endpoint_stats] == counts


def test_a_slow_endpoint_does_not_stall_the_others(tmp_path) -> None:
    with (
        StandInServer(latency=LatencyModel.fixed(1.5)) as slow,
        StandInServer(latency=LatencyModel.fixed(0.01)) as fast,
    ):
        engine = pool_engine([slow, fast], tmp_path, {"max_concurrency": 2})
        started = time.monotonic()
        results = engine.run_sync(text_requests(60))
        elapsed = time.monotonic() - started
        slow_count, fast_count = answered(slow), answered(fast)
    assert all(r.ok for r in results)
    # the slow one holds only its own two slots: it answers a handful while the fast one answers the rest
    assert slow_count <= 6 and fast_count >= 54
    assert elapsed < 6.0  # 30 rounds of 1.5 s if the slow endpoint held everyone up


def test_an_endpoint_that_dies_mid_run_is_taken_out_and_no_row_is_lost(tmp_path) -> None:
    latency = LatencyModel.fixed(0.05)
    servers = [StandInServer(latency=latency).start() for _ in range(3)]
    try:
        engine = pool_engine(servers, tmp_path, {"max_concurrency": 4}, max_retries=6)

        async def run_and_kill() -> list:
            task = asyncio.ensure_future(engine.run(text_requests(120)))
            while answered(servers[1]) < 8:
                await asyncio.sleep(0.01)
            await asyncio.to_thread(servers[1].stop)  # connections refused from now on
            return await task

        results = asyncio.run(run_and_kill())
        logs = [server.request_log() for server in servers]
    finally:
        for server in servers:
            server.stop()
    assert all(r.ok for r in results) and len(results) == 120
    stats = engine.last_endpoint_stats
    assert stats[1].taken_out >= 1 and stats[1].failed >= 1
    assert stats[0].ok + stats[2].ok > stats[1].ok
    # the dead server's log is taken as it stops: requests it was still answering then have no status yet
    answered_or_in_flight = sum(Counter(e["status"] for e in log)[200] for log in logs) + sum(
        e["status"] is None for e in logs[1]
    )
    assert answered_or_in_flight >= 120
    assert all(requests_sent_after_success(log) == [] for log in logs)


def test_the_cache_key_does_not_depend_on_the_endpoint(tmp_path) -> None:
    with StandInServer() as a, StandInServer() as b:
        first = pool_engine([a, b], tmp_path).run_sync(text_requests(10))
        single = RequestEngine(
            BackendConfig("gpt-4o", base_url=b.base_url, api_key="sk-x"),
            cache_dir=str(tmp_path / "cache"),
            show_progress=False,
        )
        again = single.run_sync(text_requests(10))
    assert [r.key for r in again] == [r.key for r in first]
    assert all(r.cached for r in again)


def test_each_endpoint_may_name_its_own_deployment(tmp_path) -> None:
    with StandInServer() as east, StandInServer() as west:
        backend = BackendConfig("gpt-4o", base_url=east.base_url, api_key="sk-x")
        endpoints = [
            {"base_url": east.base_url, "model": "gpt-4o-eastus"},
            {"base_url": west.base_url, "model": "gpt-4o-westus"},
        ]
        engine = RequestEngine(backend, cache_dir=str(tmp_path), endpoints=endpoints, show_progress=False)
        results = engine.run_sync(text_requests(20))
        models = {e["model"] for e in east.request_log()} | {e["model"] for e in west.request_log()}
    assert all(r.ok for r in results)
    assert models == {"gpt-4o-eastus", "gpt-4o-westus"}
    assert results[0].key == engine.key_of(text_requests(1)[0])  # keyed by the engine's model
    assert results[0].cost_usd is not None  # priced as gpt-4o


def test_each_endpoint_keeps_its_own_rate_limit(tmp_path) -> None:
    with StandInServer(StandInConfig(rpm=600)) as limited, StandInServer() as free:
        backend = BackendConfig("gpt-4o", base_url=free.base_url, api_key="sk-x")
        endpoints = [
            {"base_url": limited.base_url, "rpm": 600, "max_concurrency": 4},
            {"base_url": free.base_url, "max_concurrency": 4},
        ]
        engine = RequestEngine(backend, cache_dir=str(tmp_path), endpoints=endpoints, show_progress=False)
        results = engine.run_sync(text_requests(40))
        refused = Counter(e["status"] for e in limited.request_log())[429]
    assert all(r.ok for r in results) and refused == 0
    assert answered(free) > answered(limited)


def test_the_check_fails_only_when_no_endpoint_answers(tmp_path) -> None:
    with StandInServer() as alive:
        dead = "http://127.0.0.1:9/v1"
        backend = BackendConfig("gpt-4o", base_url=alive.base_url, api_key="sk-x")
        RequestEngine(backend, endpoints=[{"base_url": dead}, {"base_url": alive.base_url}]).check()
        with pytest.raises(EndpointError, match="no endpoint can be used"):
            RequestEngine(backend, endpoints=[{"base_url": dead}]).check()


def test_endpoint_lists_are_validated_and_read_from_files(tmp_path) -> None:
    path = tmp_path / "endpoints.yaml"
    path.write_text(
        "endpoints:\n  - base_url: http://gpu1:8000/v1\n    max_concurrency: 32\n  - base_url: http://gpu2:8000/v1\n"
    )
    config = EngineConfig(endpoints=str(path))
    assert [e["base_url"] for e in config.endpoints] == ["http://gpu1:8000/v1", "http://gpu2:8000/v1"]
    with pytest.raises(ValueError, match="keys do not belong"):
        read_endpoints([{"base_url": "http://gpu1:8000/v1", "api_key": "sk-secret"}])
    with pytest.raises(ValueError, match="unknown fields"):
        read_endpoints([{"base_url": "http://gpu1:8000/v1", "replicas": 2}])
    with pytest.raises(ValueError, match="needs a base_url or an azure_endpoint"):
        read_endpoints([{"max_concurrency": 2}])
    with pytest.raises(ValueError, match="not an http"):
        read_endpoints([{"base_url": "gpu1:8000"}])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_endpoints(str(tmp_path / "missing.yaml"))
