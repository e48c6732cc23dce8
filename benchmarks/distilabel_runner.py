"""Run distilabel 1.5.3 on the generation benchmark's items and write what it produced as JSON.

This script runs in its own virtual environment, because distilabel pins its own dependency set and
must not change the library's environment. ``benchmarks/bench_generation.py`` starts it in a
separate process against the same stand-in server and items that it gives ``biomed_vital``; it can
also be run by hand::

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -r benchmarks/requirements-distilabel.txt
    .venv-bench/bin/python benchmarks/distilabel_runner.py \\
        --base-url http://127.0.0.1:8000/v1 --items items.jsonl --concurrency 64 --out distilabel.json

Pipeline: ``LoadDataFromDicts -> TextGeneration(llm=OpenAILLM(...))``, or ``TextGenerationWithImage``
(``image_type="url"``, the image given as a ``data:`` URL) when the items carry an image.

How concurrency is set. In distilabel 1.5.3 an ``AsyncLLM`` sends one batch at a time:
``AsyncLLM._agenerate`` creates one task per row of the batch it received and awaits
``asyncio.gather`` over all of them, so the number of requests in flight is the task's
``input_batch_size`` (while the batch's slowest request is outstanding, fewer). The loader's
``batch_size`` is set to the same value so every batch the task sees is full. Retries are those of
the ``openai`` SDK (``OpenAILLM.max_retries``, which honours ``Retry-After``), and ``timeout`` is the
SDK's per-request timeout. A request that still fails makes ``asyncio.gather`` raise, and distilabel
then fills *every* row of that batch with ``None``: those rows are counted as lost by the harness.

Input: JSON lines with ``id``, ``system`` and ``user`` (the system prompt and the user message, the
same text the other engine sends), and optionally ``image`` (a ``data:`` URL sent with the user message). Output: one JSON object with the run's wall-clock start and end
(``time.time()``, to line up with the server's request log), the settings, and one record per
input row with its ``generation`` (``None`` when distilabel gave up on the row).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True, help="OpenAI-compatible base URL, ending in /v1")
    parser.add_argument("--api-key", default="sk-bench-local")
    parser.add_argument("--model", default="gpt-4-vision-preview")
    parser.add_argument("--items", required=True, type=Path, help="JSON lines with id, system, user")
    parser.add_argument("--out", required=True, type=Path, help="where to write the JSON result")
    parser.add_argument("--concurrency", type=int, default=64, help="TextGeneration input_batch_size")
    parser.add_argument("--replicas", type=int, default=1, help="processes running the TextGeneration step")
    parser.add_argument("--max-retries", type=int, default=6, help="OpenAILLM max_retries (SDK retries)")
    parser.add_argument("--timeout", type=int, default=120, help="OpenAILLM timeout, seconds per request")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--work-dir", type=Path, default=None, help="distilabel cache dir (default: temp)")
    return parser.parse_args(argv)


def _read_items(path: Path) -> list[dict[str, str]]:
    items = []
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            record = json.loads(line)
            missing = {"id", "system", "user"} - set(record)
            if missing:
                raise SystemExit(
                    f"{path}:{line_number}: item lacks {sorted(missing)}; expected id, system, user"
                )
            items.append(record)
    if not items:
        raise SystemExit(f"{path} holds no items")
    return items


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Build and run the distilabel pipeline; return the JSON-ready result."""
    import distilabel
    from distilabel.models import OpenAILLM
    from distilabel.pipeline import Pipeline
    from distilabel.steps import LoadDataFromDicts, StepResources
    from distilabel.steps.tasks import TextGeneration, TextGenerationWithImage

    items = _read_items(args.items)
    systems = {item["system"] for item in items}
    if len(systems) != 1:
        raise SystemExit("all items must share one system prompt (TextGeneration takes a single one)")
    with_images = all(item.get("image") for item in items)
    if not with_images and any(item.get("image") for item in items):
        raise SystemExit("either every item carries an image or none does")
    rows = [{"row_id": item["id"], "instruction": item["user"]} for item in items]
    if with_images:
        for row, item in zip(rows, items, strict=True):
            row["image"] = item["image"]
    task_class = TextGenerationWithImage if with_images else TextGeneration
    task_options = {"image_type": "url"} if with_images else {}

    with tempfile.TemporaryDirectory(prefix="distilabel-bench-") as scratch:
        cache_dir = args.work_dir or Path(scratch)
        with Pipeline(name="biomed-vital-generation-bench", cache_dir=cache_dir) as pipeline:
            loader = LoadDataFromDicts(data=rows, batch_size=args.concurrency)
            generate = task_class(
                **task_options,
                llm=OpenAILLM(
                    model=args.model,
                    base_url=args.base_url,
                    api_key=args.api_key,
                    max_retries=args.max_retries,
                    timeout=args.timeout,
                    generation_kwargs={
                        "max_new_tokens": args.max_new_tokens,
                        "temperature": args.temperature,
                    },
                ),
                system_prompt=next(iter(systems)),
                input_batch_size=args.concurrency,
                resources=StepResources(replicas=args.replicas),
                add_raw_output=False,
                add_raw_input=False,
            )
            loader >> generate

        started = time.time()
        distiset = pipeline.run(use_cache=False)
        finished = time.time()

    produced: dict[str, Any] = {}
    for split in distiset["default"].values():
        for record in split:
            produced[record["row_id"]] = record.get("generation")
    records = [{"id": item["id"], "generation": produced.get(item["id"])} for item in items]
    return {
        "engine": f"distilabel {distilabel.__version__}",
        "task": task_class.__name__,
        "started": started,
        "finished": finished,
        "settings": {
            "input_batch_size": args.concurrency,
            "replicas": args.replicas,
            "max_retries": args.max_retries,
            "timeout": args.timeout,
            "max_new_tokens": args.max_new_tokens,
            "temperature": args.temperature,
        },
        "rows_in": len(items),
        "rows_out": len(produced),
        "records": records,
    }


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    os.environ.setdefault("DISTILABEL_LOG_LEVEL", "WARNING")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    result = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result), encoding="utf-8")
    print(
        f"distilabel: {result['rows_out']}/{result['rows_in']} rows in "
        f"{result['finished'] - result['started']:.1f} s -> {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
