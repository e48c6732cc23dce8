"""Tuning benchmark: `VisualInstructionTrainer` against plain `trl.SFTTrainer` on the same data, same run.

Run from the repository root::

    .venv/bin/python benchmarks/bench_tuning.py            # full run (about 8 minutes on 2 cores)
    .venv/bin/python benchmarks/bench_tuning.py --quick    # fewer steps and rounds (about 2 minutes)

Results go to ``benchmarks/results/tuning.md``, ``tuning.json`` and ``tuning.png`` (``tuning-quick.*`` with
``--quick``).

Both trainers train the tiny LLaVA of ``biomed_vital.testing`` (CLIP + Llama, 64 wide) from the same seed on
the same rows: the clinician demonstrations of the shared fixtures cut to their first two question-answer
pairs, each with a real fixture image of its modality as a stand-in (or, without the fixtures, synthetic
images and synthetic text). Both train the same weights (vision tower frozen), with assistant-only loss, the
same batch, learning rate and seed, so they compute the same losses; the difference is the subclass's own
cost. Steps per second and tokens per second come from each run's median step after warm-up steps; the two
trainers run back to back in each round (in alternating order), and the median of the per-round ratios is the
result (target: within 5 %). The time to build each trainer is reported apart. The machine's load average is recorded before and
after. CPU only: no accelerator was available, so no tokens/s per GPU or model FLOPs utilisation is reported.
This is a benchmark, not a test: nothing here asserts on speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "benchmarks" / "results"
DEFAULT_FIXTURES = Path(os.environ.get("BIOMED_VITAL_FIXTURES", REPO.parent / "shared" / "fixtures"))


METRICS = ("steps_per_second", "tokens_per_second", "steps_per_cpu_second", "tokens_per_cpu_second")


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def training_data(fixtures: Path, rows: int):
    """Training rows: real conversations with stand-in fixture images, or synthetic ones without fixtures."""
    import numpy as np
    from datasets import Dataset
    from PIL import Image

    from biomed_vital.tuning import training_rows

    demonstrations = fixtures / "clinician_demonstrations.jsonl"
    if demonstrations.is_file() and (fixtures / "images.jsonl").is_file():
        from biomed_vital.data import load_figures

        stand_ins: dict = {}
        for row in load_figures(fixtures / "images.jsonl"):
            stand_ins.setdefault(row["modality"], row["image"].resize((32, 32)))
        fallback = next(iter(stand_ins.values()))
        figures = load_figures(demonstrations).select(range(rows))
        figures = figures.map(
            lambda row: {"image": stand_ins.get(row["modality"], fallback), "messages": row["messages"][:4]}
        )
        return training_rows(figures, source="clinician demonstrations, stand-in images"), "real"
    rng = np.random.default_rng(0)
    synthetic = Dataset.from_dict(
        {
            "images": [
                [Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))] for _ in range(rows)
            ],
            "messages": [
                [
                    {"role": "user", "content": f"Synthetic question {i}: what does the picture show?"},
                    {"role": "assistant", "content": f"Synthetic answer {i}: a pattern of dots and lines."},
                ]
                for i in range(rows)
            ],
        }
    )
    return training_rows(synthetic, source="synthetic"), "synthetic"


class StepClock:
    """A TrainerCallback recording the wall time and this process's CPU time at the end of every step."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.cpu_times: list[float] = []

    def on_step_end(self, args, state, control, **kwargs):  # TrainerCallback protocol
        self.times.append(time.perf_counter())
        self.cpu_times.append(time.process_time())
        return control

    def __getattr__(self, name: str):  # every other callback event: nothing to do
        if name.startswith("on_"):
            return lambda *args, **kwargs: None
        raise AttributeError(name)


def run_once(kind: str, data, steps: int, warmup: int, batch: int, out: Path) -> dict[str, Any]:
    import torch
    from trl import SFTConfig, SFTTrainer

    from biomed_vital.testing import tiny_llava
    from biomed_vital.tuning import VisualInstructionConfig, VisualInstructionTrainer

    model, processor = tiny_llava(seed=0)
    common = dict(
        max_steps=warmup + steps,
        per_device_train_batch_size=batch,
        learning_rate=1e-3,
        warmup_steps=0,
        lr_scheduler_type="cosine",
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        bf16=False,
        disable_tqdm=True,
        seed=0,
        max_length=2048,
        assistant_only_loss=True,
        dataloader_num_workers=0,
    )
    clock = StepClock()
    started = time.perf_counter()
    if kind == "SFTTrainer":
        for parameter in model.model.vision_tower.parameters():  # the same trainable weights as the other run
            parameter.requires_grad_(False)
        args = SFTConfig(str(out / kind), gradient_checkpointing=False, **common)
        trainer: Any = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=processor)
    else:
        args = VisualInstructionConfig(
            str(out / kind), gradient_checkpointing=False, global_batch_size=0, method="full", **common
        )
        trainer = VisualInstructionTrainer(model, args, train_dataset=data, processing_class=processor)
    built = time.perf_counter()
    from transformers import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # the per-step log lines are not part of what is measured
    trainer.add_callback(clock)
    torch.manual_seed(0)
    trainer.train()
    logs = [entry for entry in trainer.state.log_history if "loss" in entry]
    tokens = [entry["num_tokens"] for entry in logs]

    # per-step durations and tokens after the warm-up; medians resist bursts of load from other processes
    def per_step(values: list[float]) -> list[float]:
        return [b - a for a, b in zip(values[warmup - 1 : -1], values[warmup:], strict=True)]

    durations, cpu_durations, step_tokens = per_step(clock.times), per_step(clock.cpu_times), per_step(tokens)
    return {
        "steps_per_second": 1.0 / statistics.median(durations),
        "tokens_per_second": statistics.median(t / d for t, d in zip(step_tokens, durations, strict=True)),
        "steps_per_cpu_second": 1.0 / statistics.median(cpu_durations),
        "tokens_per_cpu_second": statistics.median(
            t / d for t, d in zip(step_tokens, cpu_durations, strict=True)
        ),
        "construction_seconds": built - started,
        "losses": [entry["loss"] for entry in logs],
        "tokens": tokens[-1],
    }


def write_results(result: dict[str, Any], stem: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(result, indent=2))
    medians = result["medians"]
    lines = [
        "# Tuning: VisualInstructionTrainer vs plain trl.SFTTrainer",
        "",
        f"Command: `{result['command']}`",
        "",
        f"Machine: {result['machine']['platform']}, {result['machine']['cpus']} CPUs, torch threads "
        f"{result['machine']['torch_threads']}; no accelerator (CPU only, so no tokens/s per GPU or MFU).",
        f"Load average before {result['load_before']}, after {result['load_after']}.",
        f"Data: {result['data']['rows']} {result['data']['kind']} rows, batch {result['settings']['batch']}, "
        f"{result['settings']['steps']} measured steps after {result['settings']['warmup']} warm-up steps, "
        f"{result['settings']['rounds']} alternating rounds.",
        "",
        "| trainer | steps/s | tokens/s | steps per CPU-s | tokens per CPU-s | building the trainer (s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind in ("SFTTrainer", "VisualInstructionTrainer"):
        m = medians[kind]
        lines.append(
            f"| {kind} | {m['steps_per_second']:.3f} | {m['tokens_per_second']:.0f} | "
            f"{m['steps_per_cpu_second']:.3f} | {m['tokens_per_cpu_second']:.0f} | {m['construction_seconds']:.2f} |"
        )
    ratios = result["ratios"]
    by_round = ", ".join(f"{ratio:.3f}" for ratio in result["paired_ratios"]["steps_per_second"])
    by_round_cpu = ", ".join(f"{ratio:.3f}" for ratio in result["paired_ratios"]["steps_per_cpu_second"])
    lines += [
        "",
        "Per run, from the median step after warm-up (wall clock, and this process's CPU time, which other "
        "processes on a shared machine do not inflate); medians over rounds.",
        "",
        "VisualInstructionTrainer / SFTTrainer, median of the ratios within each round (target: within 5 %, "
        ">= 0.95):",
        "",
        "| | steps/s | tokens/s | steps per CPU-s | tokens per CPU-s |",
        "|---|---:|---:|---:|---:|",
        f"| ratio | **{ratios['steps_per_second']:.3f}** | **{ratios['tokens_per_second']:.3f}** | "
        f"**{ratios['steps_per_cpu_second']:.3f}** | **{ratios['tokens_per_cpu_second']:.3f}** |",
        "",
        f"Ratios by round, steps/s: {by_round}; steps per CPU-s: {by_round_cpu}.",
        f"Both computed the same losses: largest difference {result['max_loss_difference']:.2e}.",
        "",
    ]
    (RESULTS_DIR / f"{stem}.md").write_text("\n".join(lines))

    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for axis, metric, title in zip(
        axes, ("steps_per_second", "steps_per_cpu_second"), ("steps / s (wall)", "steps / CPU-s"), strict=True
    ):
        for position, kind in enumerate(("SFTTrainer", "VisualInstructionTrainer")):
            values = [r[metric] for r in result["rounds"][kind]]
            axis.bar(position, statistics.median(values), color=("tab:gray", "tab:blue")[position], alpha=0.7)
            axis.scatter([position] * len(values), values, color="black", s=12, zorder=3)
        axis.set_xticks([0, 1], ["SFTTrainer", "VisualInstruction-\nTrainer"])
        axis.set_title(f"{title} (median, rounds as dots)")
    figure.suptitle(
        f"Tiny LLaVA on CPU; VisualInstructionTrainer / SFTTrainer: {result['ratios']['steps_per_second']:.3f} "
        f"(wall), {result['ratios']['steps_per_cpu_second']:.3f} (CPU)"
    )
    figure.tight_layout()
    figure.savefig(RESULTS_DIR / f"{stem}.png", dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and rounds")
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    arguments = parser.parse_args()
    import torch

    torch.set_num_threads(1)  # both runs alike; a shared 2-core machine gains nothing from more
    steps, warmup, rounds, batch, rows = (10, 3, 3, 4, 24) if arguments.quick else (20, 3, 9, 4, 48)
    load_before = load_average()
    data, kind = training_data(arguments.fixtures, rows)
    results: dict[str, list[dict[str, Any]]] = {"SFTTrainer": [], "VisualInstructionTrainer": []}
    with tempfile.TemporaryDirectory() as scratch:
        for index in range(rounds):
            order = ("SFTTrainer", "VisualInstructionTrainer")
            for trainer_kind in order if index % 2 == 0 else order[::-1]:
                results[trainer_kind].append(
                    run_once(trainer_kind, data, steps, warmup, batch, Path(scratch))
                )
                print(
                    trainer_kind, f"{results[trainer_kind][-1]['steps_per_second']:.3f} steps/s", flush=True
                )
    medians = {
        kind_: {
            metric: statistics.median(r[metric] for r in runs)
            for metric in (*METRICS, "construction_seconds")
        }
        for kind_, runs in results.items()
    }
    # rounds run the two trainers back to back, so their ratio within a round shares the machine's load
    paired = {
        metric: [
            ours[metric] / plain[metric]
            for plain, ours in zip(results["SFTTrainer"], results["VisualInstructionTrainer"], strict=True)
        ]
        for metric in METRICS
    }
    losses = [
        abs(a - b)
        for plain, ours in zip(results["SFTTrainer"], results["VisualInstructionTrainer"], strict=True)
        for a, b in zip(plain["losses"], ours["losses"], strict=True)
    ]
    result = {
        "command": " ".join(["python benchmarks/bench_tuning.py", *sys.argv[1:]]),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "accelerator": "none",
        },
        "load_before": load_before,
        "load_after": load_average(),
        "data": {"rows": len(data), "kind": kind},
        "settings": {"steps": steps, "warmup": warmup, "rounds": rounds, "batch": batch},
        "rounds": {
            kind_: [{k: v for k, v in r.items() if k != "losses"} for r in runs]
            for kind_, runs in results.items()
        },
        "medians": medians,
        "paired_ratios": paired,
        "ratios": {metric: statistics.median(values) for metric, values in paired.items()},
        "max_loss_difference": max(losses),
    }
    write_results(result, "tuning-quick" if arguments.quick else "tuning")
    print((RESULTS_DIR / ("tuning-quick.md" if arguments.quick else "tuning.md")).read_text())


if __name__ == "__main__":
    main()
