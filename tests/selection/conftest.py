"""Shared data for the selection tests: preference pairs and candidates built from the real fixtures.

Texts come from the 58 clinician demonstrations released with BioMed-VITAL. Their PMC images are not
available offline, so each record is paired with a real image of the same domain from the fixtures (the
figure and candidate rows carry `image_is_stand_in=True`). Degraded answers, made by
`degraded_answer_pairs`, are the only constructed text: another figure's real answer, a truncated real
answer, or a fixed non-answer sentence.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datasets import Dataset, Features, Image, List, Value
from PIL import Image as PILImage

from biomed_vital.data import conversations_to_messages
from biomed_vital.selection import degraded_answer_pairs

DOMAINS = ("chest_xray", "mri", "ct_scan", "histology", "gross")
STAND_IN_SIZE = 32  # tiny models read 32x32 images; shrinking once keeps PNG decoding out of the timings


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from intra-op threads; on a shared 2-core machine extra threads only wait."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _domain(flags: dict) -> str:
    return next((name for name in DOMAINS if flags.get(name)), "other")


@pytest.fixture(scope="session")
def demonstrations(clinician_demonstrations_path: Path) -> list[dict]:
    return [
        json.loads(line) for line in clinician_demonstrations_path.read_text().splitlines() if line.strip()
    ]


@pytest.fixture(scope="session")
def stand_in_images(fixtures_dir: Path, tmp_path_factory) -> dict[str, str]:
    """One small real image per domain (path to a downscaled PNG copy), used as stand-ins."""
    records = [json.loads(line) for line in (fixtures_dir / "images.jsonl").read_text().splitlines() if line]
    folder = tmp_path_factory.mktemp("stand_in_images")
    chosen: dict[str, str] = {}
    for record in records:
        domain = _domain(record["domain"])
        if domain in chosen:
            continue
        image = PILImage.open(fixtures_dir / record["image"]).convert("RGB")
        image = image.resize((STAND_IN_SIZE, STAND_IN_SIZE))
        path = folder / f"{record['id']}.png"
        image.save(path)
        chosen[domain] = str(path)
    chosen.setdefault("other", next(iter(chosen.values())))
    return chosen


def _record_context(record: dict) -> tuple[str, list[str]]:
    return record.get("fig_caption") or "", [m["tokens"] for m in record.get("in_text_mention") or []]


def demonstration_figures(records: list[dict], images: dict[str, str]) -> Dataset:
    """A figures Dataset (with conversations) from demonstration records, each with a stand-in image."""
    rows = []
    for record in records:
        caption, mentions = _record_context(record)
        rows.append(
            {
                "id": str(record["id"]),
                "image": images.get(_domain(record["domain"]), images["other"]),
                "caption": caption,
                "mentions": mentions,
                "messages": conversations_to_messages(record["conversations"]),
                "modality": _domain(record["domain"]),
                "image_is_stand_in": True,
            }
        )
    features = Features(
        {
            "id": Value("string"),
            "image": Image(),
            "caption": Value("string"),
            "mentions": List(Value("string")),
            "messages": List({"role": Value("string"), "content": Value("string")}),
            "modality": Value("string"),
            "image_is_stand_in": Value("bool"),
        }
    )
    return Dataset.from_list(rows, features=features)


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
def candidates(demonstrations, stand_in_images) -> Dataset:
    """A candidates Dataset (the generator's columns) from the demonstrations, 2 modalities, 1 error row."""
    rows = []
    for index, record in enumerate(demonstrations[:12]):
        caption, mentions = _record_context(record)
        messages = [
            {"role": "user" if turn["from"] == "human" else "assistant", "content": turn["value"]}
            for turn in record["conversations"]
        ]
        domain = _domain(record["domain"])
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
