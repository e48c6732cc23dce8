"""The simulated annotator: a stated rule, every record marked simulated."""

from __future__ import annotations

import json

from datasets import Dataset
from PIL import Image

from biomed_vital.annotation import SIMULATED_ANNOTATOR, simulate_annotations

# Synthetic protocol strings (not medical statements): only the word overlap with the caption matters.
CAPTION = "(synthetic caption) alpha bravo charlie delta"


def _two_answer_candidates(answer_a: str, answer_b: str) -> Dataset:
    question = {"role": "user", "content": "(synthetic question)"}
    return Dataset.from_dict(
        {
            "id": ["fig-1", "fig-1"],
            "candidate_id": ["fig-1-A", "fig-1-B"],
            "pair_id": ["fig-1-p0", "fig-1-p0"],
            "answer_variant": ["A", "B"],
            "status": ["ok", "ok"],
            "image": [Image.new("RGB", (8, 8))] * 2,  # a blank synthetic image: the item needs one
            "caption": [CAPTION, CAPTION],
            "mentions": [["(synthetic mention) echo"], ["(synthetic mention) echo"]],
            "messages": [
                [question, {"role": "assistant", "content": answer_a}],
                [question, {"role": "assistant", "content": answer_b}],
            ],
        }
    )


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_answer_sharing_more_words_with_the_caption_is_preferred_either_way(tmp_path):
    for answer_a, answer_b, expected in [
        ("alpha bravo charlie words", "unrelated words only", "fig-1-A"),
        ("unrelated words only", "bravo delta echo", "fig-1-B"),
        ("alpha only", "bravo only", "tie"),
    ]:
        out = tmp_path / f"{expected}.jsonl"
        assert simulate_annotations(_two_answer_candidates(answer_a, answer_b), out) == 1
        records = _records(out)
        (pairwise,) = [r for r in records if r["kind"] == "pairwise"]
        # the app shows the answers in a random order; the record names the candidates as shown
        shown = {"A": pairwise["candidate_id_a"], "B": pairwise["candidate_id_b"], "tie": "tie"}
        assert shown[pairwise["choice"]] == expected, records
        assert all(r["simulated"] is True and r["annotator"] == SIMULATED_ANNOTATOR for r in records)
