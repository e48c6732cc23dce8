from __future__ import annotations

import pytest

from biomed_vital.data import format_selector_text, qa_pairs
from biomed_vital.preferences import degraded_answer_pairs
from biomed_vital.preferences.degraded import NON_ANSWER
from biomed_vital.schema import preference_features
from tests.fixture_data import demonstration_figures


def test_pairs_follow_the_preference_contract_and_keep_real_text(demonstrations, stand_in_images):
    figures = demonstration_figures(demonstrations[:4], stand_in_images)
    pairs = degraded_answer_pairs(figures, seed=3)
    assert pairs.features == preference_features()
    turns = sum(len(qa_pairs(m)) for m in figures["messages"])
    assert len(pairs) == 3 * turns
    first = figures[0]
    question, answer = qa_pairs(first["messages"])[0]
    assert pairs[0]["chosen_text"] == format_selector_text(
        first["caption"], first["mentions"], question, answer
    )
    kinds = {row["pair_kind"]: row for row in pairs.select(range(3))}
    assert kinds["degraded:non_answer"]["rejected_text"].endswith("Answer: " + NON_ANSWER)
    truncated = kinds["degraded:truncated"]["rejected_text"].split("Answer: ")[-1]
    assert answer.startswith(truncated) and len(truncated) < len(answer)
    other = kinds["degraded:other_figure"]["rejected_text"].split("Answer: ")[-1]
    own_answers = {a for _, a in qa_pairs(first["messages"])}
    all_answers = {a for m in figures["messages"] for _, a in qa_pairs(m)}
    assert other in all_answers - own_answers


def test_flip_and_source_and_validation(demonstrations, stand_in_images):
    figures = demonstration_figures(demonstrations[:2], stand_in_images)
    normal = degraded_answer_pairs(figures, kinds=("truncated",))
    flipped = degraded_answer_pairs(figures, kinds=("truncated",), flip=True, source="clinician")
    assert flipped["chosen_text"] == normal["rejected_text"]
    assert set(flipped["source"]) == {"clinician"}
    with pytest.raises(ValueError, match="kinds"):
        degraded_answer_pairs(figures, kinds=("shuffled",))
    with pytest.raises(ValueError, match="messages"):
        degraded_answer_pairs(figures.remove_columns("messages"))
