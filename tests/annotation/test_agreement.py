"""annotation_agreement: kappas checked against hand-worked values, side-independent labels, position bias."""

from __future__ import annotations

import pytest

from biomed_vital.annotation import annotation_agreement
from biomed_vital.annotation.agreement import cohen_kappa, fleiss_kappa


def record(
    item: str, annotator: str, winner: str | None, *, swapped: bool = False, choice: str | None = None
):
    """A pairwise record on item ``item`` (candidates ``<item>-A``/``<item>-B``) where ``winner`` won."""
    a, b = (f"{item}-B", f"{item}-A") if swapped else (f"{item}-A", f"{item}-B")
    if choice is None:  # the side on which the winning candidate was shown
        choice = "A" if a.endswith(f"-{winner}") else "B"
    return {
        "item_id": item,
        "candidate_id_a": a,
        "candidate_id_b": b,
        "choice": choice,
        "annotator": annotator,
        "swapped": swapped,
    }


def test_cohen_kappa_matches_a_hand_worked_example() -> None:
    # 10 items; agreement on 7; rater 1 says yes 5 times, rater 2 says yes 6 times
    first = ["y"] * 5 + ["n"] * 5
    second = ["y", "y", "y", "y", "n", "y", "y", "n", "n", "n"]
    # p_o = 0.7, p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = 0.2 / 0.5
    assert cohen_kappa(first, second) == pytest.approx(0.4)
    assert cohen_kappa(["a", "a"], ["a", "a"]) == 1.0


def test_fleiss_kappa_matches_the_textbook_example() -> None:
    # Fleiss (1971) as worked on Wikipedia: 10 items, 14 raters, 5 categories, kappa = 0.210
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    ratings = [[str(category) for category, count in enumerate(row) for _ in range(count)] for row in table]
    assert fleiss_kappa(ratings) == pytest.approx(0.20993, abs=1e-4)


def test_two_annotators_agree_on_the_winner_even_when_they_saw_different_orders() -> None:
    records = [
        record("i1", "r1", "A"),
        record("i1", "r2", "A", swapped=True),  # r2 saw the order reversed and picked the same candidate
        record("i2", "r1", "B"),
        record("i2", "r2", "B", swapped=True),
        record("i3", "r1", None, choice="tie"),
        record("i3", "r2", "A"),
        record("i4", "r1", "A"),  # only r1 judged i4
    ]
    report = annotation_agreement(records)
    assert report.statistic == "cohen" and report.annotators == ["r1", "r2"]
    assert report.items == 3
    assert report.observed_agreement == pytest.approx(2 / 3)
    labels_r1, labels_r2 = ["first", "second", "tie"], ["first", "second", "first"]
    assert report.kappa == pytest.approx(cohen_kappa(labels_r1, labels_r2))
    assert report.judgements_by_annotator == {"r1": 4, "r2": 3}


def test_three_annotators_give_fleiss_kappa_on_the_items_all_judged() -> None:
    records = [record(f"i{n}", r, "A") for n in range(3) for r in ("r1", "r2", "r3")]
    records += [record("i3", "r1", "B"), record("i3", "r2", "B"), record("i3", "r3", "A")]
    report = annotation_agreement(records)
    assert report.statistic == "fleiss" and report.items == 4
    assert report.kappa == pytest.approx(fleiss_kappa([["first"] * 3] * 3 + [["second", "second", "first"]]))


def test_position_bias_is_the_share_of_decisive_choices_for_the_answer_shown_as_a() -> None:
    records = [record(f"i{n}", "r1", None, choice="A", swapped=n % 2 == 0) for n in range(8)]
    records += [record(f"i{n}", "r1", None, choice="B") for n in range(8, 10)]
    records += [record("i10", "r1", None, choice="tie")]
    report = annotation_agreement(records)
    assert report.decisive == 10
    assert report.left_rate == pytest.approx(0.8)
    assert report.left_rate_by_annotator == {"r1": pytest.approx(0.8)}
    assert 0 < report.left_p_value < 0.2
    assert report.kappa is None and report.statistic is None
    text = str(report)
    assert "0.800 of 10 decisive choices" in text


def test_records_without_a_randomised_order_do_not_count_for_position_bias() -> None:
    plain = {"item_id": "i1", "candidate_id_a": "x", "candidate_id_b": "y", "choice": "A", "annotator": "r1"}
    report = annotation_agreement([plain])
    assert report.left_rate is None and report.decisive == 0
    assert cohen_kappa(["a", "a"], ["a", "b"]) == 0.0  # agreement no better than chance
    assert cohen_kappa(["a", "a"], ["b", "b"]) == 0.0
