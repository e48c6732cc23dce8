"""LLaVA-Med's relative-score arithmetic on a hand-checked review file, and the two-score parser."""

from __future__ import annotations

import pytest

from biomed_vital.evaluation import (
    OpenChatScores,
    parse_pair_scores,
    question_domain,
    read_reviews,
    relative_scores,
)
from biomed_vital.generation import ReplyParseError

# A corpus of judge replies as judges write them, and the scores a reader must take from each.
SCORED = [
    ("8 6\nAssistant 1 is more precise.", (8.0, 6.0)),
    ("8,6", (8.0, 6.0)),
    ("8, 6\n", (8.0, 6.0)),
    ("**8 6**\nBoth are relevant.", (8.0, 6.0)),
    ("8/10 6/10", (8.0, 6.0)),
    ("7.5 8.5", (7.5, 8.5)),
    ("Scores: 7 9\nAssistant 2 adds detail.", (7.0, 9.0)),
    ("Assistant 1: 8, Assistant 2: 6", (8.0, 6.0)),
    ("Assistant 1: 9/10; Assistant 2: 7/10", (9.0, 7.0)),
    ("Assistant 1: 8\nAssistant 2: 6\nThe first answer is complete.", (8.0, 6.0)),
    ("Assistant 1 receives a score of 8 and Assistant 2 receives a score of 5.", (8.0, 5.0)),
    ("\n\n10 10\nIdentical content.", (10.0, 10.0)),
]
UNSCORABLE = [
    ("", "empty"),
    ("Assistant 1 gave a more detailed answer.\n8 6", "holds 0 numbers"),
    ("8\nOnly one score.", "holds 1 numbers"),
    ("1 2 3", "holds 3 numbers"),
    ("9 11", "outside 0-10"),
    ("Score: 6.2/10\nRationale: one verdict only.", "holds 1 numbers"),
]


@pytest.mark.parametrize(("reply", "scores"), SCORED)
def test_pair_scores_are_read_from_real_looking_replies(reply, scores):
    assert parse_pair_scores(reply) == scores


@pytest.mark.parametrize(("reply", "reason"), UNSCORABLE)
def test_replies_without_two_scores_are_never_turned_into_numbers(reply, reason):
    with pytest.raises(ReplyParseError, match=reason):
        parse_pair_scores(reply)


def test_domain_is_the_first_true_flag_in_llava_meds_order():
    assert question_domain({"histology": True, "gross": True}) == "histology"
    assert question_domain({"ct_scan": True, "chest_xray": True}) == "chest_xray"
    assert question_domain({"gross": True, "mri": True}) == "mri"
    assert question_domain({}) == "no_domain"


def test_relative_scores_of_a_review_file_hand_checked(data_dir):
    # ratios model/reference of the scorable reviews:
    #   q0 conv chest 6/8=.75  q1 dd mri 5/10=.5  q2 conv histology(+gross) 6/6=1  q3 dd gross 4/5=.8
    #   q4 conv ct 5/4=1.25    q5 conv (no flag) 9/9=1  q7 conv mri 7/7=1 (a Python-repr line)
    # q6 puts its scores on the second line (unscorable); line 9 is cut off (unreadable)
    scores = relative_scores(read_reviews(data_dir / "llava_med_review.jsonl"))
    assert scores.n_reviews == 9
    assert scores.overall.n == 7
    assert scores.overall.relative_score == pytest.approx(100 * 6.3 / 7)  # 90.0
    assert scores.overall.reference_mean == pytest.approx(49 / 7)
    assert scores.overall.model_mean == pytest.approx(42 / 7)
    conversation = scores.by_type["conversation"]
    assert (conversation.n, conversation.relative_score) == (5, pytest.approx(100.0))
    assert conversation.reference_mean == pytest.approx(6.8) and conversation.model_mean == pytest.approx(6.6)
    detailed = scores.by_type["detailed_description"]
    assert (detailed.n, detailed.relative_score) == (2, pytest.approx(65.0))
    assert detailed.reference_mean == pytest.approx(7.5) and detailed.model_mean == pytest.approx(4.5)
    expected_domains = {
        "chest_xray": 75.0,
        "mri": 75.0,
        "histology": 100.0,
        "gross": 80.0,
        "ct_scan": 125.0,
        "no_domain": 100.0,
    }
    assert list(scores.by_domain) == list(expected_domains)  # LLaVA-Med's column order
    for domain, value in expected_domains.items():
        assert scores.by_domain[domain].relative_score == pytest.approx(value), domain
    reasons = {item.question_id or f"line {item.line}": item.reason for item in scores.unscorable}
    assert len(reasons) == 2
    assert "holds 0 numbers" in reasons["6"]
    assert any("line 9" in reason for reason in reasons.values())


def test_a_zero_reference_score_is_unscorable_not_a_division():
    scores = relative_scores([{"question_id": "1", "review": "0 5"}, {"question_id": "2", "review": "5 5"}])
    assert scores.overall.n == 1 and scores.overall.relative_score == pytest.approx(100.0)
    assert scores.unscorable[0].reason.startswith("the reference answer scored 0")


def test_rows_with_an_error_are_listed_as_unscorable():
    scores = relative_scores(
        [
            {"question_id": "1", "review": "8 8", "error": "no answer from 'm' to question_id '1'"},
            {"question_id": "2", "review": "", "review_error": "APITimeoutError: timed out"},
        ]
    )
    assert scores.overall.n == 0 and scores.overall.relative_score is None
    assert [u.reason for u in scores.unscorable] == [
        "no answer from 'm' to question_id '1'",
        "APITimeoutError: timed out",
    ]


def test_scores_round_trip_through_json_and_print_a_table(data_dir):
    scores = relative_scores(read_reviews(data_dir / "llava_med_review.jsonl"), model_id="synthetic-model")
    again = OpenChatScores.from_dict(scores.to_dict())
    assert again == scores
    table = str(scores)
    assert "overall" in table and "90.0%" in table and "unscorable: 2 of 9 reviews" in table
