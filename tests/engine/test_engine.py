"""The request engine over real HTTP against the stand-in server."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from biomed_vital.engine import (
    BUDGET_ERROR,
    BackendConfig,
    ChatRequest,
    PriceTable,
    RateLimiter,
    RequestEngine,
    ResponseCache,
)
from biomed_vital.engine.rate_learning import RateLearner
from biomed_vital.testing import FaultConfig, LatencyModel, StandInConfig, StandInServer
from tests.generation.helpers import requests_sent_after_success


def text_requests(n: int, *, max_tokens: int = 400) -> list[ChatRequest]:
    return [
        ChatRequest(
            {
                "messages": [
                    {"role": "user", "content": f"Caption: Synthetic test caption {i} (stand-in text)."}
                ],
                "max_tokens": max_tokens,
                "seed": i,
            },
            f"r{i}",
        )
        for i in range(n)
    ]


def engine_for(server: StandInServer, tmp_path, **options) -> RequestEngine:
    options.setdefault("show_progress", False)
    options.setdefault("backoff_base", 0.02)
    options.setdefault("backoff_max", 0.2)
    timeout = options.pop("timeout", 10.0)
    backend = BackendConfig(
        model="gpt-4o", base_url=server.base_url, api_key="sk-local-test", timeout=timeout
    )
    return RequestEngine(backend, cache_dir=str(tmp_path / "cache"), **options)


def test_results_come_back_in_order_with_usage_and_cost(server, tmp_path) -> None:
    engine = engine_for(server, tmp_path, max_concurrency=8)
    results = engine.run_sync(text_requests(20))
    assert [r.request_id for r in results] == [f"r{i}" for i in range(20)]
    assert all(r.ok and r.finish_reason == "stop" for r in results)
    assert all(r.prompt_tokens > 0 and r.completion_tokens > 0 for r in results)
    summary = engine.last_summary
    assert summary.ok == 20 and summary.n_errors == 0
    assert summary.prompt_tokens == sum(r.prompt_tokens for r in results)
    expected_cost = PriceTable.default().cost("gpt-4o", summary.prompt_tokens, summary.completion_tokens)
    assert summary.cost_usd == pytest.approx(expected_cost)
    assert "20 ok" in str(summary)


def test_a_rerun_is_served_from_the_cache_and_sends_nothing(server, tmp_path) -> None:
    first = engine_for(server, tmp_path).run_sync(text_requests(10))
    sent = len(server.request_log())
    again_engine = engine_for(server, tmp_path)
    again = again_engine.run_sync(text_requests(10))
    assert len(server.request_log()) == sent
    assert [r.content for r in again] == [r.content for r in first]
    assert all(r.cached for r in again) and again_engine.last_summary.cache_hits == 10


def test_parameters_unknown_to_the_sdk_reach_the_server(server, tmp_path) -> None:
    body = {
        "messages": [{"role": "user", "content": "Caption: Synthetic test caption."}],
        "top_k": 5,
        "seed": 3,
    }
    (result,) = engine_for(server, tmp_path).run_sync([ChatRequest(body, "vllm-style")])
    assert result.ok and server.request_log()[0]["seed"] == 3


def test_identical_requests_are_sent_once(server, tmp_path) -> None:
    request = text_requests(1)[0]
    results = engine_for(server, tmp_path, use_cache=False).run_sync([request, request, request])
    assert len(server.request_log()) == 1
    assert len({r.content for r in results}) == 1


def test_the_window_keeps_max_concurrency_requests_in_flight(tmp_path) -> None:
    with StandInServer(latency=LatencyModel.fixed(0.2), seed=0) as server:
        engine_for(server, tmp_path, max_concurrency=8, use_cache=False).run_sync(text_requests(32))
        log = server.request_log()
    # count, at each arrival, how many requests were being served
    peak = max(sum(1 for o in log if o["arrival"] <= e["arrival"] < o["finish"]) for e in log)
    assert peak == 8


def test_transient_faults_are_retried_until_success(tmp_path) -> None:
    faults = FaultConfig(server_error=0.3, unavailable=0.1, disconnect=0.1, retry_after=0.01)
    with StandInServer(faults=faults, seed=3) as server:
        results = engine_for(server, tmp_path, max_retries=8).run_sync(text_requests(40))
        log = server.request_log()
    assert all(r.ok for r in results)
    assert Counter(e["status"] for e in log)[200] == 40
    assert len(log) > 40  # faults were injected and retried
    assert requests_sent_after_success(log) == []


def test_retries_stop_at_max_retries_with_the_reason(tmp_path) -> None:
    with StandInServer(faults=FaultConfig(server_error=1.0), seed=0) as server:
        engine = engine_for(server, tmp_path, max_retries=2)
        (result,) = engine.run_sync(text_requests(1))
        assert len(server.request_log()) == 3
    assert result.status == "error" and result.http_status == 500
    assert "InternalServerError (HTTP 500)" in result.error and "3 attempts" in result.error
    assert ResponseCache(tmp_path / "cache").get_many([result.key]) == {}  # errors are not cached


def test_client_errors_are_not_retried(server, tmp_path) -> None:
    bad = ChatRequest({"messages": [], "max_tokens": 10}, "bad")  # the server rejects empty messages with 400
    good = text_requests(1)[0]
    results = engine_for(server, tmp_path, max_retries=5).run_sync([bad, good])
    assert results[0].status == "error" and results[0].http_status == 400 and results[0].attempts == 1
    assert results[1].ok  # one failing request does not touch another
    assert len(server.request_log()) == 2


def test_timeouts_are_retried(tmp_path) -> None:
    with StandInServer(faults=FaultConfig(timeout=0.5, hang_seconds=2.0), seed=1) as server:
        results = engine_for(server, tmp_path, timeout=0.3, max_retries=10).run_sync(text_requests(6))
        log = server.request_log()
    assert all(r.ok for r in results)
    assert any(e["fault"] == "timeout" for e in log)


# A limit that binds within seconds: the stand-in enforces 1,200 requests/min (20/s) over a 2 s sliding window,
# i.e. 40 requests in any 2 s, while its headers speak per minute as a provider's do. 120 requests are three
# windows' worth; a client at concurrency 16 with no latency could send them all in well under a second.
LIMIT_RPM, WINDOW_S, LOAD = 1200, 2.0, 120
# each request counts about 420 tokens (prompt + max_tokens 400): 504,000 tokens/min is 20 requests/s too
LIMIT_TPM = 420 * 1200


def run_under_limit(tmp_path, config: StandInConfig, n: int = LOAD, **options):
    """Send ``n`` requests at concurrency 16 against a stand-in with ``config``; the results, the engine's
    summary and the server's statuses and log."""
    options.setdefault("max_concurrency", 16)
    options.setdefault("use_cache", False)
    with StandInServer(config) as server:
        engine = engine_for(server, tmp_path, **options)
        results = engine.run_sync(text_requests(n))
        log = sorted(server.request_log(), key=lambda e: e["arrival"])
    return results, engine.last_summary, Counter(e["status"] for e in log), log


def admitted_per_second(log: list[dict]) -> float:
    admitted = [e["arrival"] for e in log if e["status"] == 200]
    return (len(admitted) - 1) / (admitted[-1] - admitted[0])


def no_pacing(monkeypatch) -> None:
    """Switch client-side pacing off: requests start at once whatever the limiter knows."""

    async def start_at_once(self, tokens: int = 0) -> None:
        return None

    monkeypatch.setattr(RateLimiter, "acquire", start_at_once)


def test_a_given_rpm_paces_the_client_within_the_servers_window(tmp_path) -> None:
    config = StandInConfig(rpm=LIMIT_RPM, window_seconds=WINDOW_S)
    results, summary, statuses, log = run_under_limit(tmp_path, config, rpm=LIMIT_RPM)
    assert all(r.ok for r in results)
    assert statuses[429] <= 0.05 * LOAD  # a busy machine's stalls may let a few through early
    assert summary.rpm == LIMIT_RPM and summary.rpm_source == "given"
    assert admitted_per_second(log) <= 1.1 * LIMIT_RPM / 60  # paced, not a burst


def test_an_rpm_only_in_the_headers_is_learnt_and_then_kept_to(tmp_path) -> None:
    config = StandInConfig(rpm=LIMIT_RPM, window_seconds=WINDOW_S)
    results, summary, statuses, log = run_under_limit(tmp_path, config)  # no rpm given
    assert all(r.ok for r in results)
    assert summary.rpm == LIMIT_RPM and summary.rpm_source == "headers"
    assert statuses[429] <= 0.05 * LOAD
    assert admitted_per_second(log) <= 1.1 * LIMIT_RPM / 60


def test_without_pacing_the_same_load_draws_many_429s(tmp_path, monkeypatch) -> None:
    # the proof that the two tests above can fail: the same load, unpaced, runs into the window
    no_pacing(monkeypatch)
    config = StandInConfig(rpm=LIMIT_RPM, window_seconds=WINDOW_S)
    _, summary, statuses, _ = run_under_limit(tmp_path, config, rpm=LIMIT_RPM, max_retries=20)
    assert statuses[429] >= LOAD // 2
    assert summary.rate_limited == statuses[429]


def test_a_given_tpm_paces_the_client_within_the_servers_window(tmp_path) -> None:
    config = StandInConfig(tpm=LIMIT_TPM, window_seconds=WINDOW_S)
    results, summary, statuses, log = run_under_limit(tmp_path, config, tpm=LIMIT_TPM)
    assert all(r.ok for r in results)
    assert statuses[429] <= 0.05 * LOAD
    assert admitted_per_second(log) <= 1.1 * LIMIT_TPM / 420 / 60


def test_a_tpm_only_in_the_headers_is_learnt_and_then_kept_to(tmp_path) -> None:
    config = StandInConfig(tpm=LIMIT_TPM, window_seconds=WINDOW_S)
    results, summary, statuses, log = run_under_limit(tmp_path, config)
    assert all(r.ok for r in results)
    assert statuses[429] <= 0.05 * LOAD
    assert admitted_per_second(log) <= 1.1 * LIMIT_TPM / 420 / 60


def test_without_pacing_the_same_token_load_draws_many_429s(tmp_path, monkeypatch) -> None:
    no_pacing(monkeypatch)
    config = StandInConfig(tpm=LIMIT_TPM, window_seconds=WINDOW_S)
    _, _, statuses, _ = run_under_limit(tmp_path, config, tpm=LIMIT_TPM, max_retries=20)
    assert statuses[429] >= LOAD // 2


# A limit nobody told the client: no x-ratelimit-* headers, only 429 + Retry-After.
HIDDEN_LOAD = 240  # six windows' worth


def test_a_limit_without_headers_is_learnt_from_the_429s(tmp_path) -> None:
    config = StandInConfig(rpm=LIMIT_RPM, window_seconds=WINDOW_S, rate_limit_headers=False)
    results, summary, statuses, log = run_under_limit(tmp_path, config, n=HIDDEN_LOAD)
    assert all(r.ok for r in results)
    assert summary.rpm_source == "429s"
    assert 0.7 * LIMIT_RPM <= summary.rpm <= 1.3 * LIMIT_RPM
    # the first burst spends the window and draws the refusals that teach the rate; after that pause
    # the client keeps to the rate: few refusals, and close to the limit
    learnt_at = next(e["arrival"] for e in log if e["status"] == 429) + WINDOW_S
    later = [e for e in log if e["arrival"] > learnt_at]
    assert sum(e["status"] == 429 for e in later) <= 0.1 * len(later)
    assert admitted_per_second(later) >= 0.8 * LIMIT_RPM / 60
    assert statuses[429] <= 0.2 * HIDDEN_LOAD


def test_without_learning_a_limit_without_headers_draws_many_429s(tmp_path, monkeypatch) -> None:
    # the proof that the test above can fail: a learner that never engages leaves each refused
    # request to wait its own Retry-After while the others run into the spent window
    monkeypatch.setattr(RateLearner, "on_refused", lambda self, now, retry_after, sent_at=None: None)
    config = StandInConfig(rpm=LIMIT_RPM, window_seconds=WINDOW_S, rate_limit_headers=False)
    results, summary, statuses, log = run_under_limit(tmp_path, config, n=HIDDEN_LOAD, max_retries=20)
    assert summary.rpm_source == ""
    learnt_at = next(e["arrival"] for e in log if e["status"] == 429) + WINDOW_S
    later = [e for e in log if e["arrival"] > learnt_at]
    assert sum(e["status"] == 429 for e in later) > 0.1 * len(later)


def test_a_request_the_server_can_never_accept_is_not_retried(tmp_path) -> None:
    # 800 tokens of max_tokens alone exceed the server's 500 tokens per minute: 429 with x-should-retry: false
    with StandInServer(tpm=500, seed=0) as server:
        engine = engine_for(server, tmp_path, max_retries=5)
        (result,) = engine.run_sync(text_requests(1, max_tokens=800))
        assert len(server.request_log()) == 1
    assert result.status == "error" and result.http_status == 429 and "Request too large" in result.error


def test_limits_are_learned_from_headers() -> None:
    limiter = RateLimiter()
    limiter.update_from_headers({"x-ratelimit-limit-requests": "600", "x-ratelimit-limit-tokens": "90000"})
    assert limiter.rpm == 600 and limiter.tpm == 90000
    configured = RateLimiter(rpm=1000, tpm=50_000)
    configured.update_from_headers({"x-ratelimit-limit-requests": "600", "x-ratelimit-limit-tokens": "90000"})
    assert (
        configured.rpm == 600 and configured.tpm == 50_000
    )  # a lower server limit wins, a higher one does not


def test_a_pause_holds_every_request() -> None:
    limiter = RateLimiter(rpm=60_000)

    async def scenario() -> float:
        limiter.pause(0.3)
        started = time.monotonic()
        await asyncio.gather(limiter.acquire(10), limiter.acquire(10))
        return time.monotonic() - started

    assert asyncio.run(scenario()) >= 0.25  # a lower bound only: a busy machine just waits longer


def test_budget_cap_stops_starting_requests_and_a_rerun_resumes(server, tmp_path) -> None:
    requests = text_requests(30, max_tokens=500)
    one_request = PriceTable.default().cost("gpt-4o", 30, 500)
    engine = engine_for(server, tmp_path, max_concurrency=1, budget_usd=one_request * 5)
    results = engine.run_sync(requests)
    stopped = [r for r in results if r.status == "error"]
    assert stopped and all(r.error == BUDGET_ERROR for r in stopped)
    assert engine.last_summary.budget_stopped
    assert engine.last_summary.cost_usd <= one_request * 5
    done = 30 - len(stopped)
    assert len(server.request_log()) == done

    rerun = engine_for(server, tmp_path, max_concurrency=4, budget_usd=100.0)
    assert all(r.ok for r in rerun.run_sync(requests))
    assert len(server.request_log()) == 30  # only the unfinished requests were sent


def test_a_budget_needs_a_price(server, tmp_path) -> None:
    backend = BackendConfig(model="my-local-model", base_url=server.base_url)
    engine = RequestEngine(backend, budget_usd=1.0, cache_dir=str(tmp_path), show_progress=False)
    with pytest.raises(ValueError, match="no price for model"):
        engine.run_sync(text_requests(1))
    free = PriceTable.default().set("my-local-model", 0.0, 0.0)
    engine = RequestEngine(
        backend, budget_usd=1.0, price_table=free, cache_dir=str(tmp_path), show_progress=False
    )
    assert engine.run_sync(text_requests(1))[0].ok


def test_dry_run_estimate_sends_nothing_and_skips_cached(server, tmp_path) -> None:
    engine = engine_for(server, tmp_path)
    estimate = engine.estimate(text_requests(10, max_tokens=1000))
    assert estimate.n_requests == 10 and estimate.completion_tokens == 10_000
    assert estimate.cost_usd == pytest.approx(
        PriceTable.default().cost("gpt-4o", estimate.prompt_tokens, 10_000)
    )
    assert server.request_log() == []
    engine.run_sync(text_requests(4, max_tokens=1000))
    assert engine.estimate(text_requests(10, max_tokens=1000)).n_requests == 6


def test_run_sync_works_inside_a_running_event_loop(server, tmp_path) -> None:
    engine = engine_for(server, tmp_path)

    async def notebook_cell():
        return engine.run_sync(text_requests(3))

    assert all(r.ok for r in asyncio.run(notebook_cell()))


def test_the_cache_is_shared_safely_by_two_engines(server, tmp_path) -> None:
    requests = text_requests(20)

    async def both():
        first, second = engine_for(server, tmp_path), engine_for(server, tmp_path)
        return await asyncio.gather(first.run(requests[:15]), second.run(requests[5:]))

    first, second = asyncio.run(both())
    assert all(r.ok for r in first + second)
    assert len(ResponseCache(tmp_path / "cache")) == 20


def test_a_429_pauses_everyone_only_when_the_budget_is_spent() -> None:
    limiter = RateLimiter(rpm=60_000)
    # headers with budget left: only the refused request waits
    assert not limiter.on_rate_limited({"x-ratelimit-remaining-requests": "5"}, 1.0, tokens=100)
    assert limiter.paused_for == 0.0
    assert not limiter.on_rate_limited({"x-ratelimit-remaining-tokens": "5000"}, 1.0, tokens=100)
    assert limiter.paused_for == 0.0
    # headers that show the window spent: everyone waits
    assert limiter.on_rate_limited({"X-RateLimit-Remaining-Requests": "0"}, 1.0, tokens=100)
    assert limiter.paused_for > 0.5
    tokens_spent = RateLimiter()
    assert tokens_spent.on_rate_limited({"x-ratelimit-remaining-tokens": "50"}, 1.0, tokens=100)
    assert tokens_spent.paused_for > 0.5


def test_a_run_of_header_less_429s_pauses_everyone() -> None:
    limiter = RateLimiter(max_concurrency=16)

    async def scenario() -> list[bool]:
        for _ in range(10):
            await limiter.acquire()
            limiter.on_admitted()
        # 429s between admitted requests concern single requests
        passing = []
        for _ in range(3):
            passing.append(limiter.on_rate_limited({}, 1.0))
            limiter.on_admitted()
        # refusal after refusal with nothing admitted: a spent quota enforced without headers
        run = [limiter.on_rate_limited({}, 1.0) for _ in range(8)]
        return passing + run

    decisions = asyncio.run(scenario())
    assert decisions == [False] * 10 + [True]
    assert limiter.paused_for > 0.5 and limiter.rpm_source == "429s"


def test_a_refused_request_waits_what_retry_after_asks_not_a_longer_backoff(tmp_path, monkeypatch) -> None:
    # the server says how long to wait; a backoff that doubles per attempt would wait 1-2 s, then 2-4 s, ...
    import sys

    import biomed_vital.engine.engine as engine_module

    retry_after = 0.2
    asked_waits: list[float] = []  # what the engine decided to wait before sending a refused request again
    original_sleep = asyncio.sleep

    async def recording_sleep(delay, *args, **kwargs):
        if sys._getframe(1).f_code.co_name == "_send":
            asked_waits.append(delay)
        return await original_sleep(delay, *args, **kwargs)

    monkeypatch.setattr(engine_module.asyncio, "sleep", recording_sleep)
    faults = FaultConfig(rate_limit=0.3, retry_after=retry_after)
    with StandInServer(latency=LatencyModel.fixed(0.05), faults=faults, seed=5) as server:
        engine = engine_for(
            server,
            tmp_path,
            max_concurrency=16,
            use_cache=False,
            max_retries=10,
            backoff_base=2.0,
            backoff_max=60.0,
        )
        results = engine.run_sync(text_requests(60))
    assert all(r.ok for r in results)
    refused = engine.last_summary.rate_limited
    # a 429 read as a spent shared budget pauses everyone instead (no wait of its own), hence <=
    assert 10 <= len(asked_waits) <= refused
    # Retry-After plus at most 20 % jitter; decided waits, not measured ones, so a busy machine cannot fail it
    assert all(retry_after <= wait <= retry_after * 1.2 for wait in asked_waits), sorted(asked_waits)[-3:]


def test_a_429_without_spent_budget_holds_only_the_refused_request(tmp_path) -> None:
    # injected 429s carry Retry-After but no x-ratelimit-* headers (no limit is configured)
    retry_after = 0.5
    faults = FaultConfig(rate_limit=0.2, retry_after=retry_after)
    with StandInServer(latency=LatencyModel.fixed(0.1), faults=faults, seed=2) as server:
        engine = engine_for(server, tmp_path, max_concurrency=32, use_cache=False, max_retries=10)
        results = engine.run_sync(text_requests(400))
        log = sorted(server.request_log(), key=lambda e: e["seq"])
    assert all(r.ok for r in results)
    refused = [e for e in log if e["status"] == 429]
    assert len(refused) > 40 and engine.last_summary.rate_limited == len(refused)
    assert requests_sent_after_success(log) == []

    # every refused request waited its Retry-After before it was sent again
    by_key: dict[str, list[dict]] = {}
    for entry in log:
        by_key.setdefault(entry["request_key"], []).append(entry)
    for entry in refused:
        attempts = by_key[entry["request_key"]]
        following = attempts[attempts.index(entry) + 1]
        assert following["arrival"] >= entry["finish"] + retry_after * 0.9

    # while a refused request waited, the others kept being sent; a pause of everyone would
    # have left the server without new arrivals for the whole Retry-After after each 429
    first_round_end = max(e["arrival"] for e in log if e["attempt"] == 1)
    early = [e for e in refused if e["finish"] + retry_after <= first_round_end]
    assert len(early) >= 10
    kept_sending = [
        sum(
            1
            for other in log
            if other["request_key"] != entry["request_key"]
            and entry["finish"] + 0.2 * retry_after < other["arrival"] < entry["finish"] + 0.8 * retry_after
        )
        for entry in early
    ]
    # a pause of everyone empties every such window; a busy machine may stall the client through
    # the odd one, so ask for most windows, not all
    assert sum(count > 0 for count in kept_sending) >= 0.8 * len(kept_sending)
