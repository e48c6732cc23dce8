"""The sample-and-annotate example runs offline end to end, with the browser step simulated."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample_and_annotate.py"


@pytest.mark.slow
def test_the_example_samples_generates_annotates_and_keeps_demonstrations_and_pairs(tmp_path) -> None:
    pytest.importorskip("skimage", reason="the demo figures need the [demo] extra")
    from datasets import load_from_disk

    spec = importlib.util.spec_from_file_location("sample_and_annotate", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--out", str(tmp_path), "--simulate-annotator", "--k", "6", "--n-clusters", "4"]) == 0
    assert (tmp_path / "sampling.png").stat().st_size > 0
    candidates = load_from_disk(str(tmp_path / "candidates"))
    assert len(candidates) == 2 * 6 and set(candidates["answer_variant"]) == {"A", "B"}
    records = [json.loads(line) for line in (tmp_path / "annotations.jsonl").read_text().splitlines()]
    assert records and all(
        r["simulated"] is True and r["annotator"] == "simulated-annotator" for r in records
    )
    demonstrations = load_from_disk(str(tmp_path / "demonstrations"))
    assert len(demonstrations) >= 1 and {"messages", "modality", "image"} <= set(demonstrations.column_names)
    assert len(set(demonstrations["modality"])) == len(demonstrations)  # one per modality
    pairs = load_from_disk(str(tmp_path / "clinician_pairs"))
    assert len(pairs) > 0 and set(pairs["source"]) == {"clinician"}
