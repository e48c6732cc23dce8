"""Shared data for the selection tests: preference pairs and candidates built from the real fixtures.

Texts come from the 58 clinician demonstrations released with BioMed-VITAL. Their PMC images are not
available offline, so each record is paired with a real image of the same domain from the fixtures (the
figure and candidate rows carry `image_is_stand_in=True`). Degraded answers, made by
`degraded_answer_pairs`, are the only constructed text: another figure's real answer, a truncated real
answer, or a fixed non-answer sentence.
"""

from __future__ import annotations

import pytest
from datasets import Dataset, Features, Image, List, Value

from biomed_vital.preferences import degraded_answer_pairs
from tests.fixture_data import demonstration_figures, domain_of, record_context


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from intra-op threads; on a shared 2-core machine extra threads only wait."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def make_pairs(stand_in_images):
    """Builder: `make_pairs(records, seed, kinds=..., source=..., flip=...)` -> preference Dataset.

    Other-figure answers come only from `records`, so a split by figure leaks no answer.
    """

    def build(records, seed=0, **kwargs):
        return degraded_answer_pairs(demonstration_figures(records, stand_in_images), seed=seed, **kwargs)

    return build


@pytest.fixture(scope="session")
def small_pairs(demonstrations, make_pairs) -> Dataset:
    """About 60 pairs from 6 records, half clinician, half judge."""
    pairs = make_pairs(demonstrations[:6], seed=0, kinds=("truncated", "non_answer"))
    assert len(pairs) > 40
    sources = ["clinician" if i % 2 else "judge" for i in range(len(pairs))]
    return pairs.remove_columns("source").add_column("source", sources)


@pytest.fixture(scope="session")
def held_out_pairs(demonstrations, make_pairs) -> Dataset:
    """Pairs of the same kinds as `small_pairs` from six other records: figures the trainer never sees."""
    pairs = make_pairs(demonstrations[6:12], seed=1, kinds=("truncated", "non_answer"))
    sources = ["clinician" if i % 2 else "judge" for i in range(len(pairs))]
    return pairs.remove_columns("source").add_column("source", sources)


@pytest.fixture(scope="session")
def candidates(demonstrations, stand_in_images) -> Dataset:
    """A candidates Dataset (the generator's columns) from the demonstrations, 2 modalities, 1 error row."""
    rows = []
    for index, record in enumerate(demonstrations[:12]):
        caption, mentions = record_context(record)
        messages = [
            {"role": "user" if turn["from"] == "human" else "assistant", "content": turn["value"]}
            for turn in record["conversations"]
        ]
        domain = domain_of(record["domain"])
        rows.append(
            {
                "id": str(record["id"]),
                "candidate_id": f"cand-{index}",
                "image": stand_in_images.get(domain, stand_in_images["other"]),
                "caption": caption,
                "mentions": mentions,
                "messages": messages,
                "modality": "ct_scan" if domain == "ct_scan" else "other",
                "status": "error" if index == 3 else "ok",
                "error": "timeout" if index == 3 else "",
            }
        )
    features = Features(
        {
            "id": Value("string"),
            "candidate_id": Value("string"),
            "image": Image(),
            "caption": Value("string"),
            "mentions": List(Value("string")),
            "messages": List({"role": Value("string"), "content": Value("string")}),
            "modality": Value("string"),
            "status": Value("string"),
            "error": Value("string"),
        }
    )
    return Dataset.from_list(rows, features=features)
