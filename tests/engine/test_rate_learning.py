"""Learning a request rate from 429s that carry no x-ratelimit-* headers (AIMD), on a simulated clock."""

from __future__ import annotations

import pytest

from biomed_vital.engine.limits import RateLimiter
from biomed_vital.engine.rate_learning import DECREASE, INCREASE, RateLearner


def engaged(rate_per_second: float = 10.0, admitted: int = 100) -> RateLearner:
    """A learner that saw ``admitted`` requests in 10 s, then a spent quota with 0 s left to wait."""
    learner = RateLearner(max_concurrency=8)
    for index in range(admitted):
        learner.on_admitted(now=index * 10.0 / admitted)
    for index in range(8):
        learner.on_refused(now=10.0 + index * 0.001, retry_after=admitted / rate_per_second - 10.0)
    return learner


def test_passing_429s_never_engage_it() -> None:
    learner = RateLearner(max_concurrency=64)
    now = 0.0
    for index in range(5000):  # one refusal in five, spread among admitted requests
        now += 0.005
        if index % 5 == 4:
            assert learner.on_refused(now, retry_after=1.0) is None
        else:
            learner.on_admitted(now)
    assert learner.rate is None and learner.floods == 0


def test_a_spent_quota_gives_its_rate_and_a_pause() -> None:
    learner = RateLearner(max_concurrency=64)
    for index in range(600):  # a 60 s window of 600 requests, spent in a 3 s burst
        learner.on_admitted(now=index * 0.005)
    pauses = [learner.on_refused(now=3.0 + index * 0.001, retry_after=57.0) for index in range(8)]
    assert pauses == [None] * 7 + [57.0]
    assert learner.rate == pytest.approx(10.0, rel=0.01)  # 600 / (3 s + 57 s)


def test_too_few_admitted_requests_pause_without_a_guess() -> None:
    learner = RateLearner(max_concurrency=4)
    learner.on_admitted(now=0.0)
    assert [learner.on_refused(now=1.0, retry_after=30.0) for _ in range(4)][-1] == 30.0
    assert learner.rate is None


def test_a_refusal_decreases_the_rate_once_per_change() -> None:
    learner = engaged(10.0)
    before = learner.rate
    learner.on_refused(now=20.0, retry_after=0.1, sent_at=19.9)
    assert learner.rate == pytest.approx(before * DECREASE)
    # sent before that decrease: the same excess seen late, no second decrease
    learner.on_refused(now=20.1, retry_after=0.1, sent_at=19.95)
    assert learner.rate == pytest.approx(before * DECREASE)
    learner.on_refused(now=21.0, retry_after=0.1, sent_at=20.5)
    assert learner.rate == pytest.approx(before * DECREASE**2)


def test_the_rate_grows_additively_only_while_it_holds_the_client_back() -> None:
    learner = engaged(10.0)
    start = learner.rate
    learner.on_admitted(now=20.0)
    learner.on_admitted(now=30.0)  # not paced: the client had less work than the rate allowed
    assert learner.rate == pytest.approx(start)
    for second in range(31, 41):
        learner.note_paced(now=second - 0.5)
        learner.on_admitted(now=float(second))
    assert learner.rate == pytest.approx(start + 10 * INCREASE * start)


def test_the_limiter_keeps_to_the_learnt_rate_and_says_where_it_came_from() -> None:
    learner = engaged(10.0)
    limiter = RateLimiter(learner=learner)  # a later run of the same engine starts paced
    assert limiter.effective_rpm == pytest.approx(600.0, rel=0.01) and limiter.rpm_source == "429s"
    assert RateLimiter(rpm=300, learner=learner).rpm_source == "given"  # a lower given limit wins
    assert RateLimiter(rpm=300, learner=learner).effective_rpm == 300
    fresh = RateLimiter()
    assert fresh.effective_rpm is None and fresh.rpm_source == ""
