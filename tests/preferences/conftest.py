"""Candidates and judged rows built from the 58 real clinician demonstrations.

The demonstrations' PMC images are not available offline, so each figure gets a *stand-in*
image of the same domain from the fixture images (marked by ``image_is_stand_in``). A second,
worse candidate per figure keeps the figure's questions but takes the answers from the next
demonstration: real clinician-selected text, deliberately mismatched, never invented.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from biomed_vital.preferences import PreferenceDataset
from tests.preferences.helpers import pairwise_record, with_judge_scores

STAND_IN_IMAGE_BY_DOMAIN = {
    "ct_scan": "pydicom_ct_small",
    "mri": "pydicom_mr_small",
    "chest_xray": "pydicomdata_cr_chest_rg1",
    "histology": "skimage_ihc",
    "gross": "itk_visiblewoman_head",
}


def _to_messages(turns):
    role = {"human": "user", "gpt": "assistant"}
    return [{"role": role[t["from"]], "content": t["value"].replace("<image>", "").strip()} for t in turns]


@pytest.fixture(scope="session")
def candidate_rows(demonstrations, fixtures_dir: Path) -> list[dict]:
    """Two candidates per demonstrated figure: ``<fig>/orig`` (the demonstration) and ``<fig>/swap``."""
    rows = []
    for position, record in enumerate(demonstrations):
        domain = next((k for k, v in record["domain"].items() if v), "ct_scan")
        image = str(fixtures_dir / "images" / f"{STAND_IN_IMAGE_BY_DOMAIN[domain]}.png")
        figure_id = f"{record['pair_id']}#{record['id']}"
        mentions = [m["tokens"] for m in record.get("in_text_mention") or []]
        original = _to_messages(record["conversations"])
        donor = _to_messages(demonstrations[(position + 1) % len(demonstrations)]["conversations"])
        donor_answers = [m["content"] for m in donor if m["role"] == "assistant"]
        swapped, answer_index = [], 0
        for message in original:
            if message["role"] == "assistant":
                message = {"role": "assistant", "content": donor_answers[answer_index % len(donor_answers)]}
                answer_index += 1
            swapped.append(message)
        for kind, messages in (("orig", original), ("swap", swapped)):
            rows.append(
                {
                    "id": figure_id,
                    "candidate_id": f"{figure_id}/{kind}",
                    "image": image,
                    "image_is_stand_in": True,
                    "caption": record["fig_caption"],
                    "mentions": mentions,
                    "modality": domain,
                    "messages": messages,
                    "status": "ok",
                }
            )
    return rows


@pytest.fixture()
def candidates(candidate_rows):
    from datasets import Dataset, Image

    return Dataset.from_list(candidate_rows).cast_column("image", Image())


@pytest.fixture()
def clinician_and_judge(candidates, candidate_rows):
    records = [pairwise_record(candidate_rows, i, "A", annotator=f"rad-{i % 3}") for i in range(0, 40, 2)]
    clinician = PreferenceDataset.from_clinician_annotations(records, candidates)
    scores = [7.0 + (i % 3) if i % 2 == 0 else 1.0 + (i % 4) for i in range(len(candidates))]
    judge = PreferenceDataset.from_judge_scores(
        with_judge_scores(candidates, scores), min_gap=2, pairs_per_item=2, seed=0
    )
    return clinician, judge
