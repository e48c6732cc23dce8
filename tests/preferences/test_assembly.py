"""The table both builders write: one text layout for both sources, images memory-mapped next to the rows."""

from __future__ import annotations

from biomed_vital.preferences import PreferenceDataset, preference_build_stats
from tests.preferences.helpers import figure_of, pairwise_record, with_judge_scores, with_turn_scores


def test_clinician_and_judge_texts_share_one_layout(candidate_rows):
    from datasets import Dataset, Image

    # single-turn candidates: the judge's whole-conversation text is the clinician's one-question text
    rows = [{**row, "messages": row["messages"][:2]} for row in candidate_rows[:8]]
    single_turn = Dataset.from_list(rows).cast_column("image", Image())
    judged = with_judge_scores(
        single_turn, [9.0 if r["candidate_id"].endswith("orig") else 1.0 for r in rows]
    )
    judge_pairs = PreferenceDataset.from_judge_scores(judged, min_gap=5, pairs_per_item=1, seed=0)
    figure_id, question, orig, swap = figure_of(rows, 0)
    record = {"candidate_id_a": orig["candidate_id"], "candidate_id_b": swap["candidate_id"], "choice": "A"}
    clinician = PreferenceDataset.from_clinician_annotations([record], single_turn)[0]
    judge = next(
        p for p in judge_pairs if p["pair_kind"] == "judge_same_figure" and p["figure_id"] == figure_id
    )
    assert clinician["chosen_text"] == judge["chosen_text"]
    assert clinician["rejected_text"] == judge["rejected_text"]
    assert clinician["chosen_text"].startswith(f"Caption: {orig['caption']}\nMention: ")


def test_turn_judge_pairs_and_clinician_pairs_share_one_layout(candidates, candidate_rows):
    judged = with_turn_scores(candidates, candidate_rows)
    judge_pairs = PreferenceDataset.from_judge_scores(judged, min_gap=3, pairs_per_item=1, seed=0)
    record = pairwise_record(candidate_rows, 3, "A", turn=2)
    clinician = PreferenceDataset.from_clinician_annotations([record], candidates)[0]
    match = judge_pairs.filter(
        lambda kind, question, figure: (
            kind == "judge_same_question" and question == record["question"] and figure == record["figure_id"]
        ),
        input_columns=["pair_kind", "question", "figure_id"],
    )
    assert len(match) == 1
    assert match[0]["chosen_text"] == clinician["chosen_text"]
    assert match[0]["rejected_text"] == clinician["rejected_text"]


def test_pairs_from_disk_are_memory_mapped_and_survive_a_round_trip(tmp_path, candidates, candidate_rows):
    from datasets import load_from_disk

    candidates.save_to_disk(tmp_path / "candidates")
    on_disk = load_from_disk(tmp_path / "candidates")
    records = [pairwise_record(candidate_rows, 0, "A"), pairwise_record(candidate_rows, 1, "tie")]
    pairs = PreferenceDataset.from_clinician_annotations(records, on_disk)
    assert pairs.cache_files and pairs.cache_files[0]["filename"].startswith(str(tmp_path / "candidates"))
    pairs.save_to_disk(tmp_path / "pairs")
    reloaded = load_from_disk(tmp_path / "pairs")
    assert preference_build_stats(reloaded)["clinician"]["ties"] == 1
    assert reloaded[0]["chosen_image"].size == pairs[0]["chosen_image"].size
