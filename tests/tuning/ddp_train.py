"""Run by `accelerate launch` in the distributed test: train on saved rows, save this rank's parameters.

accelerate launch --config_file examples/accelerate/ddp.yaml --num_processes 2 tests/tuning/ddp_train.py ROWS OUT
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from datasets import load_from_disk

from biomed_vital.testing import tiny_llava
from biomed_vital.tuning import VisualInstructionConfig, VisualInstructionTrainer


def train(rows_dir: str, output_dir: str, **overrides) -> VisualInstructionTrainer:
    torch.set_num_threads(1)
    model, processor = tiny_llava(seed=0)
    settings = dict(
        max_steps=3,
        per_device_train_batch_size=2,
        global_batch_size=4,
        learning_rate=1e-3,
        warmup_steps=0,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        logging_steps=1,
        disable_tqdm=True,
        seed=0,
        data_seed=0,
    )
    settings.update(overrides)
    args = VisualInstructionConfig(output_dir, **settings)
    trainer = VisualInstructionTrainer(
        model, args, train_dataset=load_from_disk(rows_dir), processing_class=processor
    )
    trainer.train()
    return trainer


if __name__ == "__main__":
    rows, out = sys.argv[1], sys.argv[2]
    trainer = train(rows, out)
    rank = trainer.accelerator.process_index
    state = {name: parameter.detach().cpu() for name, parameter in trainer.model.named_parameters()}
    record = {
        "world_size": trainer.accelerator.num_processes,
        "accumulation": trainer.args.gradient_accumulation_steps,
    }
    torch.save({"parameters": state, **record}, Path(out) / f"rank{rank}.pt")
