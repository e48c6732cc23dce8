"""Pairwise verdict parsing on a corpus of replies, both-order bookkeeping, the bootstrap interval and position bias."""

from __future__ import annotations

import pytest

from biomed_vital.evaluation import outcome_of, parse_verdict, win_rate
from biomed_vital.generation import ReplyParseError

VERDICTS = [
    ("[[A]]", "A"),
    ("[[B]]\nAssistant B matches the ground truth; A names the wrong lobe.", "B"),  # verdict first
    ("Assistant A names the correct organ but misses the side. Assistant B is right on both.\n\n[[B]]", "B"),
    ("Both answers agree with the ground truth.\nFinal verdict: [[tie]]", "tie"),
    ("Equally good. [[C]]", "tie"),  # BioMed-VITAL's prompt calls a tie [[C]]
    ("**[[A]]**", "A"),
    ("[[ a ]] is my choice.", "A"),
    ("Comparing [[A]] and [[B]]: A is closer to the ground truth.\n[[A]]", "A"),
    ("Assistant A says left; the ground truth is right.\nFinal verdict: Assistant B", "B"),
    ("The final verdict is a tie: [[tie]]", "tie"),  # "a tie" must not be read as assistant A
    ("My first thought was [[A]], but on reflection the final verdict: [[B]]", "B"),
    ("Assistant B is more complete.\nB", "B"),
    ("Neither is better.\n[tie]", "tie"),
    ("Verdict - draw", "tie"),
]
UNPARSEABLE = [
    ("", "empty"),
    ("Assistant A is better.", "no verdict"),
    ("[[A]] is more detailed than [[B]]", "contradicting verdicts"),
    ("Score: 7/10\nRationale: one score only.", "no verdict"),
]


@pytest.mark.parametrize(("reply", "verdict"), VERDICTS)
def test_verdicts_are_read_from_real_looking_replies(reply, verdict):
    assert parse_verdict(reply) == verdict


@pytest.mark.parametrize(("reply", "reason"), UNPARSEABLE)
def test_replies_without_one_verdict_are_never_guessed(reply, reason):
    with pytest.raises(ReplyParseError, match=reason):
        parse_verdict(reply)


@pytest.mark.parametrize(
    ("first", "second", "outcome"),
    [
        ("A", "B", "win"),  # model 1 preferred as A and as B
        ("B", "A", "loss"),
        ("tie", "tie", "tie"),
        ("A", "A", "tie"),  # the judge picked position A both times: no preference between the models
        ("B", "B", "tie"),
        ("A", "tie", "tie"),
        ("tie", "B", "tie"),
    ],
)
def test_both_orders_give_one_outcome(first, second, outcome):
    assert outcome_of(first, second) == outcome


def test_win_rate_counts_ties_as_half_and_reports_position_bias():
    result = win_rate(
        ["win", "win", "win", "tie", "loss"],
        position_biased=[False, False, False, True, False],
        first_position_picks=(6, 10),
        model_1="ours",
        model_2="baseline",
    )
    assert (result.wins, result.ties, result.losses, result.n) == (3, 1, 1, 5)
    assert result.win_rate == pytest.approx(3.5 / 5)
    assert result.position_bias_rate == pytest.approx(0.2)
    assert result.first_position_rate == pytest.approx(0.6)
    assert result.ci_low <= result.win_rate <= result.ci_high
    assert "ours vs baseline: win rate 70.0%" in str(result)


def test_bootstrap_interval_is_reproducible_narrows_with_more_questions_and_is_degenerate_when_unanimous():
    small = win_rate(["win", "loss"] * 10, seed=3)
    again = win_rate(["win", "loss"] * 10, seed=3)
    large = win_rate(["win", "loss"] * 500, seed=3)
    assert (small.ci_low, small.ci_high) == (again.ci_low, again.ci_high)
    assert small.win_rate == large.win_rate == pytest.approx(0.5)
    assert (large.ci_high - large.ci_low) < (small.ci_high - small.ci_low)
    # the normal approximation of a 95 % interval for p = 0.5, n = 1000 is +-0.031
    assert large.ci_high - large.ci_low == pytest.approx(2 * 1.96 * (0.25 / 1000) ** 0.5, rel=0.15)
    unanimous = win_rate(["win"] * 12)
    assert (unanimous.ci_low, unanimous.win_rate, unanimous.ci_high) == (1.0, 1.0, 1.0)


def test_no_judged_question_gives_no_rate():
    result = win_rate([], unjudged=[{"question_id": "1", "reason": "unparseable verdict"}])
    assert result.win_rate is None and result.n == 0 and len(result.unjudged) == 1
    with pytest.raises(ValueError, match="confidence"):
        win_rate(["win"], confidence=1.5)
