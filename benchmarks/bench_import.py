"""Cold import time of ``biomed_vital`` next to the libraries it wraps.

Each import runs in a fresh interpreter, repeated, and the median is reported; the ratio to
``import torch`` is the number to compare across machines.

Command:
    .venv/bin/python benchmarks/bench_import.py --repeats 7
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
TARGETS = ["biomed_vital", "biomed_vital.testing", "torch", "transformers", "trl", "datasets"]


def cold_import_seconds(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    for module in TARGETS:  # warm the file-system cache once, so every module is measured alike
        cold_import_seconds(module)
    medians = {m: statistics.median(cold_import_seconds(m) for _ in range(args.repeats)) for m in TARGETS}
    lines = ["| import | median s | ratio to torch |", "|---|---|---|"]
    lines += [f"| `{m}` | {s:.3f} | {s / medians['torch']:.3f} |" for m, s in medians.items()]
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    (RESULTS / "import.md").write_text(
        f"Measured {stamp}, {args.repeats} cold interpreters each.\n\n{table}\n"
    )
    (RESULTS / "import.json").write_text(json.dumps(medians, indent=2))


if __name__ == "__main__":
    main()
