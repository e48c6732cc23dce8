"""Run by `accelerate launch` from test_scoring_processes.py: every process runs `select()` on the same pool.

Arguments: the candidate pool (a `save_to_disk` folder), the saved selector, the output folder. Each process
writes the selection it returns (`rank<N>.json`); the main process also writes the report in `report/`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch
from datasets import load_from_disk

from biomed_vital.selection import SelectorModel, SelectorProcessor, select


def main(pool: str, selector: str, out: str) -> None:
    torch.set_num_threads(1)
    model = SelectorModel.from_pretrained(selector)
    processor = SelectorProcessor.from_pretrained(selector)
    selected = select(
        load_from_disk(pool),
        model,
        processor,
        top_fraction=0.5,
        batch_size=3,
        output_dir=Path(out) / "report",
    )
    result = {
        "world_size": int(os.environ["WORLD_SIZE"]),
        "candidate_id": list(selected["candidate_id"]),
        "selector_score": list(selected["selector_score"]),
    }
    (Path(out) / f"rank{os.environ['RANK']}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:4])
