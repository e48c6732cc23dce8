"""Shared test data built from the real fixtures: the clinician demonstrations with stand-in images.

The demonstrations' PMC images are not available offline, so each record is paired with a real image of the
same domain from the fixture images; the rows carry ``image_is_stand_in=True``.
"""

from __future__ import annotations

from datasets import Dataset, Features, Image, List, Value

from biomed_vital.data import conversations_to_messages

DOMAINS = ("chest_xray", "mri", "ct_scan", "histology", "gross")
STAND_IN_SIZE = 32  # tiny models read 32x32 images; shrinking once keeps PNG decoding out of the timings


def domain_of(flags: dict) -> str:
    """The first true LLaVA-Med domain flag, or "other"."""
    return next((name for name in DOMAINS if flags.get(name)), "other")


def record_context(record: dict) -> tuple[str, list[str]]:
    """Caption and mention texts of a demonstration record."""
    return record.get("fig_caption") or "", [m["tokens"] for m in record.get("in_text_mention") or []]


def demonstration_figures(records: list[dict], images: dict[str, str]) -> Dataset:
    """A figures Dataset (with conversations) from demonstration records, each with a stand-in image."""
    rows = []
    for record in records:
        caption, mentions = record_context(record)
        rows.append(
            {
                "id": str(record["id"]),
                "image": images.get(domain_of(record["domain"]), images["other"]),
                "caption": caption,
                "mentions": mentions,
                "messages": conversations_to_messages(record["conversations"]),
                "modality": domain_of(record["domain"]),
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
