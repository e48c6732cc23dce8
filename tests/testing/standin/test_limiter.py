"""Requests- and tokens-per-minute limits: the sliding window, and the 429s and headers it gives."""

from __future__ import annotations

import re

import openai
import pytest
from openai import OpenAI

from biomed_vital.testing import StandInConfig, StandInServer
from biomed_vital.testing.standin.limiter import SlidingWindowLimiter, format_duration
from tests.testing.standin.helpers import (
    API_KEY,
    user_messages,
)


def test_rpm_window_answers_429_with_retry_after_and_headers():
    with (
        StandInServer(rpm=3, tpm=100_000) as server,
        OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client,
    ):
        remaining = []
        for index in range(3):
            raw = client.chat.completions.with_raw_response.create(
                model="m", messages=user_messages(f"request {index}")
            )
            remaining.append(int(raw.headers["x-ratelimit-remaining-requests"]))
            assert raw.headers["x-ratelimit-limit-requests"] == "3"
            assert raw.headers["x-ratelimit-limit-tokens"] == "100000"
            assert re.fullmatch(r"(\d+m)?[\d.]+(ms|s)", raw.headers["x-ratelimit-reset-requests"])
        assert remaining == [2, 1, 0]
        with pytest.raises(openai.RateLimitError) as caught:
            client.chat.completions.create(model="m", messages=user_messages("one too many"))
        error = caught.value
        assert 0 < int(error.response.headers["retry-after"]) <= 60
        assert int(error.response.headers["retry-after-ms"]) <= 60_000
        assert error.body["type"] == "requests" and error.body["code"] == "rate_limit_exceeded"
        assert "RPM" in error.body["message"]
        statuses = [entry["status"] for entry in server.request_log()]
        assert statuses == [200, 200, 200, 429]
        # the refused request did not consume the window
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="m", messages=user_messages("still limited"))
        assert server.stats()["by_status"] == {"200": 3, "429": 2}


def test_tpm_window_counts_prompt_plus_max_tokens():
    with (
        StandInServer(tpm=200) as server,
        OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client,
    ):
        client.chat.completions.create(model="m", messages=user_messages("short"), max_tokens=150)
        with pytest.raises(openai.RateLimitError) as caught:
            client.chat.completions.create(model="m", messages=user_messages("short"), max_tokens=150)
        assert caught.value.body["type"] == "tokens"
        with pytest.raises(openai.RateLimitError) as too_large:
            client.chat.completions.create(model="m", messages=user_messages("short"), max_tokens=5000)
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


def test_a_short_window_keeps_the_per_minute_rate_and_per_minute_headers():
    limiter = SlidingWindowLimiter(rpm=1200, tpm=None, window=2.0)  # 40 requests in any 2 s
    assert [limiter.admit(1, now=0.01 * i).admitted for i in range(41)] == [True] * 40 + [False]
    refused = limiter.admit(1, now=0.5)
    assert refused.retry_after == pytest.approx(1.5)
    headers = limiter.headers(now=0.5)
    assert headers["x-ratelimit-limit-requests"] == "1200"  # per minute, as a provider says it
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert limiter.admit(1, now=2.0).admitted  # the first entry left the window
    assert limiter.headers(now=2.0)["x-ratelimit-remaining-requests"] == "0"
    # at 2.2 s the 21 entries of 0.00-0.20 s have left, one came at 2.0 s: 20 of 40 left, 600 per minute
    assert limiter.headers(now=2.2)["x-ratelimit-remaining-requests"] == "600"
    tokens = SlidingWindowLimiter(rpm=None, tpm=6000, window=1.0)  # 100 tokens in any 1 s
    assert tokens.admit(100, now=0.0).admitted and not tokens.admit(1, now=0.5).admitted
    assert tokens.admit(101, now=5.0).too_large  # more than a whole window can ever admit
    with pytest.raises(ValueError, match="less than one request"):
        SlidingWindowLimiter(rpm=20, tpm=None, window=1.0)


def test_without_rate_limit_headers_a_limit_is_a_bare_429_with_retry_after():
    config = StandInConfig(rpm=2, rate_limit_headers=False)
    # in its own process: the setting also reaches a server started from the command line
    with (
        StandInServer(config, subprocess=True) as server,
        OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client,
    ):
        for index in range(2):
            raw = client.chat.completions.with_raw_response.create(
                model="m", messages=user_messages(f"{index}")
            )
            assert not [name for name in raw.headers if name.lower().startswith("x-ratelimit")]
        with pytest.raises(openai.RateLimitError) as caught:
            client.chat.completions.create(model="m", messages=user_messages("one too many"))
    headers = caught.value.response.headers
    assert not [name for name in headers if name.lower().startswith("x-ratelimit")]
    assert 0 < int(headers["retry-after"]) <= 60
    assert "Limit" not in caught.value.body["message"]  # nothing says what the limit is
