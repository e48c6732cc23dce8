"""How long `biomed-vital demo` (every stage, offline) takes on this machine, and its peak memory.

Command (from the repository root; about 3 minutes on 2 cores; writes benchmarks/results/demo.{json,md})::

    .venv/bin/python benchmarks/bench_demo.py

The demo runs in a child process, as `make demo` runs it, in a fresh output folder; the peak memory is the
summed RSS of this process and every child, sampled every 20 ms while it runs. A second run in the same
folder measures a resumed run with every stage already finished. Per-stage times come from the run's own
`summary.json`. The target is the whole first run in under 5 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_sampling import TreeMemorySampler

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "benchmarks" / "results"
COMMAND = ".venv/bin/python benchmarks/bench_demo.py"
TARGET_SECONDS = 300


def run_demo(output_dir: Path) -> dict:
    # without an API key the demo runs against the offline stand-in, which is what is measured here
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY")}
    env.update(HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1", PYTHONPATH=str(REPO_ROOT))
    command = [
        sys.executable,
        "-m",
        "biomed_vital.cli",
        "demo",
        "--output_dir",
        str(output_dir),
        "--no_show_progress",
    ]
    started = time.perf_counter()
    with TreeMemorySampler() as memory:
        finished = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(f"the demo failed (rc {finished.returncode}):\n{finished.stderr[-3000:]}")
    summary = json.loads((output_dir / "summary.json").read_text())
    return {
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(memory.peak / 2**20, 1),
        "stages": summary["seconds"],
    }


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as folder:
        first = run_demo(Path(folder) / "demo")
        resumed = run_demo(Path(folder) / "demo")
    load_after = [round(x, 2) for x in os.getloadavg()]
    result = {
        "command": COMMAND,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_before": load_before,
        "load_after": load_after,
        "first_run": first,
        "resumed_run": resumed,
        "target_seconds": TARGET_SECONDS,
        "meets_target": first["seconds"] < TARGET_SECONDS,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "demo.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# The demo: every stage, offline",
        "",
        f"Command: `{COMMAND}`  ",
        f"Machine: {result['machine']}; {result['date']}.  ",
        f"Load average before {load_before}, after {load_after}.",
        "",
        "| run | wall time (s) | peak RSS of the process tree (MiB) |",
        "|---|---:|---:|",
        f"| first run, fresh folder | {first['seconds']} | {first['peak_rss_mib']} |",
        f"| second run, every stage finished | {resumed['seconds']} | {resumed['peak_rss_mib']} |",
        "",
        f"Target: the first run in under {TARGET_SECONDS} s: {'met' if result['meets_target'] else 'missed'}.",
        "",
        "Seconds per stage in the first run (from the run's summary.json):",
        "",
        "| stage | seconds |",
        "|---|---:|",
        *(f"| {stage} | {seconds} |" for stage, seconds in first["stages"].items()),
    ]
    (RESULTS / "demo.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
