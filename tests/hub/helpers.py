"""Helpers shared by the hub tests: stand-in secrets, a stand-in candidates Dataset, YAML front matter.

The stand-in rows are synthetic protocol data, labelled as such; no medical content.
"""

from __future__ import annotations

import yaml
from datasets import Dataset

SECRET = "sk-proj-9f8e7d6c5b4a3210aa"
HF_SECRET = "hf_AbCdEfGhIjKlMnOpQrSt"


def front_matter(text: str) -> dict:
    """The YAML header of a card file, parsed."""
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def stand_in_candidates() -> Dataset:
    """Four synthetic candidate rows: two generators, two prompt hashes, one failed request, two judge scores."""
    return Dataset.from_dict(
        {
            "id": ["fig-1", "fig-1", "fig-2", "fig-3"],
            "caption": ["(synthetic stand-in caption)"] * 4,
            "modality": ["ct_scan", "ct_scan", "mri", "histology"],
            "candidate_id": ["c1", "c2", "c3", "c4"],
            "messages": [[{"role": "user", "content": "(stand-in question)"}]] * 4,
            "generator": ["gpt-4o", "gpt-4o", "gpt-4o", "gpt-4o-mini"],
            "prompt_sha": ["a1b2c3", "a1b2c3", "a1b2c3", "d4e5f6"],
            "status": ["ok", "ok", "error", "ok"],
            "error": ["", "", "RateLimitError after 6 attempts", ""],
            "judge_score": [8.5, None, None, 3.0],
        }
    )
