"""Splitting pairs by figure."""

from __future__ import annotations

import pytest

from biomed_vital.preferences import mix_preferences, preference_build_stats, train_test_split_by_figure


def test_split_by_figure_is_disjoint_and_holds_out_clinician_pairs(clinician_and_judge):
    mixed = mix_preferences(*clinician_and_judge, clinician_weight=100)
    splits = train_test_split_by_figure(mixed, test_size=0.2, seed=3)

    def figures(split):
        return set(split["chosen_figure_id"]) | set(split["rejected_figure_id"])

    assert not figures(splits["train"]) & figures(splits["test"])
    assert "clinician" in splits["test"]["source"] and "clinician" in splits["train"]["source"]
    dropped = preference_build_stats(splits["test"])["split"]["pairs_dropped_across_splits"]
    assert len(splits["train"]) + len(splits["test"]) + dropped == len(mixed)
    again = train_test_split_by_figure(mixed, test_size=0.2, seed=3)
    assert again["test"]["chosen_text"] == splits["test"]["chosen_text"]
    with pytest.raises(ValueError, match="test_size"):
        train_test_split_by_figure(mixed, test_size=1.5)


def _pairs(links: list[tuple[str, str]], kind: str = "judge_score_levels"):
    """Judge pairs between the given figures (texts are synthetic; only the figure columns matter here)."""
    from datasets import Dataset

    return Dataset.from_dict(
        {
            "chosen_text": [f"synthetic chosen {i}" for i in range(len(links))],
            "figure_id": [chosen for chosen, _ in links],
            "rejected_figure_id": [rejected for _, rejected in links],
            "source": ["judge"] * len(links),
            "pair_kind": [
                kind if chosen != rejected else "judge_same_question" for chosen, rejected in links
            ],
        }
    )


def test_pairs_across_figures_are_kept_by_splitting_whole_groups_of_linked_figures(caplog):
    # 40 figures, each with two same-figure pairs, and pairs across score levels linking them two by two:
    # a split of figures at random drops about 2 p (1 - p) of the cross pairs; whole groups drop none.
    figures = [f"fig{i:02d}" for i in range(40)]
    links = [(f, f) for f in figures for _ in range(2)]
    links += [(figures[i], figures[i + 1]) for i in range(0, 40, 2)] * 2
    pairs = _pairs(links)

    splits = train_test_split_by_figure(pairs, test_size=0.3, seed=1)

    def figures_of(split):
        return set(split["figure_id"]) | set(split["rejected_figure_id"])

    assert len(splits["train"]) + len(splits["test"]) == len(pairs)  # nothing lost
    assert not figures_of(splits["train"]) & figures_of(splits["test"])
    assert len(figures_of(splits["test"])) == 12  # 30 % of 40 figures, in whole groups
    assert preference_build_stats(splits["test"])["split"]["pairs_dropped_across_splits"] == 0
    assert "dropped" not in caplog.text


def test_a_group_too_large_to_keep_whole_is_cut_and_the_loss_explained(caplog):
    figures = [f"fig{i:02d}" for i in range(10)]
    chain = [(figures[i], figures[i + 1]) for i in range(9)]  # every figure linked to the next: one group
    pairs = _pairs(chain + [(f, f) for f in figures])

    splits = train_test_split_by_figure(pairs, test_size=0.3, seed=0)

    dropped = preference_build_stats(splits["test"])["split"]["pairs_dropped_across_splits"]
    assert dropped > 0 and len(splits["train"]) + len(splits["test"]) + dropped == len(pairs)
    assert len(set(splits["test"]["figure_id"])) == 3
    message = caplog.records[-1].getMessage()
    assert message.startswith(f"{dropped} of {len(pairs)} pairs dropped (judge_score_levels: {dropped})")
    assert "link 10 of the 10 figures into one group" in message
    assert "build the pairs per split" in message
