"""Records and judged rows built from the real demonstrations, shared by the preference tests."""

from __future__ import annotations

from biomed_vital.data import qa_pairs


def figure_of(candidate_rows, position):
    """(figure id, first question, orig row, swap row) of the position-th demonstrated figure."""
    orig, swap = candidate_rows[2 * position], candidate_rows[2 * position + 1]
    return orig["id"], qa_pairs(orig["messages"])[0][0], orig, swap


def pairwise_record(candidate_rows, position, choice, annotator="rad-1", turn=0):
    figure_id, _, orig, swap = figure_of(candidate_rows, position)
    question = qa_pairs(orig["messages"])[turn][0]
    return {
        "figure_id": figure_id,
        "question": question,
        "candidate_id_a": orig["candidate_id"],
        "candidate_id_b": swap["candidate_id"],
        "choice": choice,
        "annotator": annotator,
        "timestamp": "2026-11-20T10:00:00Z",
    }


def with_judge_scores(candidates, scores, statuses=None):
    statuses = statuses or ["ok"] * len(scores)
    return candidates.add_column("judge_score", scores).add_column("judge_status", statuses)


def with_turn_scores(candidates, candidate_rows):
    """Per-turn judge scores: each turn of the demonstration 8, of the mismatched copy 2."""
    turn_scores = []
    for index, row in enumerate(candidate_rows):
        n_turns = len(qa_pairs(row["messages"]))
        scores = [8.0 if row["candidate_id"].endswith("orig") else 2.0] * n_turns
        if index == 0:
            scores = scores[:-1]  # does not match the turns: skipped, counted
        if index == 2:
            scores[0] = None  # one failed turn: that turn is skipped
        turn_scores.append(scores)
    judged = with_judge_scores(candidates, [5.0] * len(candidate_rows))
    return judged.add_column("judge_turn_scores", turn_scores)
