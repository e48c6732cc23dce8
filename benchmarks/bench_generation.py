"""Benchmarks of the generation request engine against the stand-in server, next to distilabel 1.5.3.

Full run (about 50 minutes on 2 cores; writes benchmarks/results/generation.md, .json and .png)::

    make .venv-bench/bin/python            # distilabel 1.5.3 in its own environment, once
    .venv/bin/python benchmarks/bench_generation.py

Run some cases again into the same results (e.g. one that ran while the machine was busy; the
others keep their numbers, and every case records its own load and command)::

    .venv/bin/python benchmarks/bench_generation.py --cases faults --update

Quick check of the harness (small sizes; writes generation-quick.* instead, whose numbers are not
comparable with the full run)::

    .venv/bin/python benchmarks/bench_generation.py --quick

Other flags: ``--cases latency,rate,hidden,faults,memory`` runs a subset, ``--no-distilabel`` skips
the distilabel side, ``--out-dir`` writes elsewhere, ``--from-json results/generation.json`` rewrites
the markdown and the plot from saved results.

Every server runs in its own process (``StandInServer(subprocess=True)``), so it never shares the
client's GIL; distilabel runs in a third process from ``.venv-bench``. Only 127.0.0.1 is used. All
engines of a case get the same items, the same concurrency (64), the same retries (6) and the same
server; the server's request log is cleared between engines.

Cases:

1. **latency** - 2,000 text requests, log-normal latency (median 200 ms, p99 2 s), concurrency 64.
   Two throughputs, each against its analytic ideal. *Steady state*: requests answered from the first
   request to the moment the last item is sent, over ``concurrency / mean latency`` of the latency
   model. *End to end*: all items from the first request to the last answer (the drain of the last
   64 included), against the makespan of a perfect sliding window of 64 over the very latencies the
   server drew for these items (the stand-in's latency is a function of the request, so it is known).
   The bare ``openai`` SDK behind an ``asyncio.Semaphore(64)`` runs too: the client-side floor.
2. **rate** - the server allows 600 requests/min and a token limit 1.25 times what 600 requests need,
   over a sliding 60 s window, and says so in ``x-ratelimit-*`` headers. Each engine gets
   ``600 x 3 + 64`` items, more than three windows can admit, and runs to the end; measured over
   the 180 s from its first request: requests answered 200 that arrived in them, over 3 x 600, and
   the share of 429s among the requests that arrived in them. ``RequestEngine`` runs told the limit
   and not told it (it learns it from the headers).
3. **hidden** - the same limit of 600 requests/min, enforced with a bare 429 and ``Retry-After``
   and no ``x-ratelimit-*`` header (as a proxy in front of vLLM may). Measured as in case 2;
   ``RequestEngine`` is not told the limit and learns it from the 429s; its summary's rate is reported.
4. **faults** - 400 demo figures with images, the case-1 latency, 30 % of attempts faulty: 15 % 429,
   5 % 500, 5 % malformed and 5 % truncated replies. Every row is one configuration on the same
   figures and the same request text: ``GPT4VGenerator`` with its defaults, ``GPT4VGenerator`` with
   ``retry_unusable=0``, and distilabel's ``TextGenerationWithImage`` given the generator's system
   prompt, text and image. *Rows lost*: rows without an answer; *unusable kept as valid*: rows
   returned as answers whose text is a malformed reply or a truncated conversation (fewer than the
   five whole exchanges of every well-formed stand-in reply); *usable rows/s*: rows with a usable
   conversation over the time from the first request to the last answer.
5. **memory** - ``GPT4VGenerator`` on 1,000, 10,000 and 100,000 figures with images, each size in a
   fresh process against a server without latency. The harness samples the RSS, USS and anonymous
   RSS (RSS minus file-backed pages) of that process and its children every 0.2 s with ``psutil``
   while it runs and keeps the peaks (``ru_maxrss`` is not used: Linux carries a parent's high-water
   mark over fork+exec into it).

Benchmarks are measurements, not tests: nothing here asserts speed.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import math
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "benchmarks" / "results"
DISTILABEL_PYTHON = REPO / ".venv-bench" / "bin" / "python"
DISTILABEL_RUNNER = REPO / "benchmarks" / "distilabel_runner.py"
CASES = ("latency", "rate", "hidden", "faults", "memory")

MODEL = "gpt-4o"
API_KEY = "sk-bench-local"
CONCURRENCY = 64
MAX_TOKENS = 1024  # above the longest stand-in reply (about 370 tokens), so no reply is cut by the budget
TEMPERATURE = 0.7
MAX_RETRIES = 6  # both engines: distilabel's OpenAILLM default, and the engine's default
REQUEST_TIMEOUT = 120  # seconds, both engines (distilabel's default)
LATENCY_MEDIAN, LATENCY_P99 = 0.2, 2.0
RPM = 600
FAULT_MIX = {"rate_limit": 0.15, "server_error": 0.05, "malformed": 0.05, "truncated": 0.05}
SYSTEM_PROMPT = (
    "You write a conversation about a biomedical figure for training a visual assistant. "
    "Use only what the caption states. Write five exchanges, each a line starting with 'User:' "
    "followed by a line starting with 'Assistant:'."
)
STANDIN_EXCHANGES = 5  # every well-formed stand-in generation reply has five exchanges
IMAGE_SIDE = 64  # demo images are downscaled to this longest side before they are repeated
MEMORY_SAMPLE_SECONDS = 0.2


@dataclass
class CaseSettings:
    """Sizes of one benchmark run (the full run, or the --quick one)."""

    latency_items: int = 2000
    rate_seconds: float = 180.0
    fault_items: int = 400
    memory_rows: tuple[int, ...] = (1000, 10000, 100000)


QUICK = CaseSettings(latency_items=300, rate_seconds=60.0, fault_items=100, memory_rows=(200, 1000))


# ---------------------------------------------------------------------------------------- items
def demo_captions() -> list[str]:
    """The non-empty captions of the built-in demo figures (real source text)."""
    import biomed_vital

    figures = biomed_vital.load_demo_figures()
    captions = [str(c).strip() for c in figures["caption"] if c and str(c).strip()]
    if not captions:
        raise SystemExit("load_demo_figures() returned no captions; the benchmark needs caption text")
    return captions


def build_items(n: int, captions: Sequence[str], prefix: str) -> list[dict[str, str]]:
    """``n`` items, each the system prompt plus a user message quoting one demo caption.

    The ``Item:`` line makes every request body unique, so the engine's response cache (which is
    left on, as a user would) never answers one item with another's reply.
    """
    items = []
    for index in range(n):
        caption = captions[index % len(captions)]
        item_id = f"{prefix}-{index:05d}"
        items.append({"id": item_id, "system": SYSTEM_PROMPT, "user": f"Item: {item_id}\nCaption: {caption}"})
    return items


def request_body(item: Mapping[str, str]) -> dict[str, Any]:
    """The chat body biomed_vital sends for an item (distilabel builds the same messages)."""
    return {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": item["system"]},
            {"role": "user", "content": item["user"]},
        ],
        "max_tokens": MAX_TOKENS,
        "temperature": TEMPERATURE,
    }


def reply_is_usable(text: str | None) -> bool:
    """Whether a reply is a complete, well-formed stand-in conversation.

    The stand-in's well-formed generation replies have exactly five ``User:`` lines and five
    ``Assistant:`` lines, each answer ending in the stand-in marker. Its malformed reply has no
    speaker tags, and a truncated one is cut inside a sentence, so it has fewer complete exchanges.
    """
    from biomed_vital.testing.standin import STANDIN_MARKER

    if not text or not text.strip():
        return False
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    questions = [line for line in lines if line.startswith("User:")]
    answers = [line for line in lines if line.startswith("Assistant:") and line.endswith(STANDIN_MARKER)]
    return len(questions) == STANDIN_EXCHANGES and len(answers) == STANDIN_EXCHANGES


def conversation_is_usable(messages: Sequence[Mapping[str, Any]] | None) -> bool:
    """The same check on a parsed conversation (``messages``) as :func:`reply_is_usable` on text."""
    if not messages:
        return False
    text = "\n".join(
        f"{'User' if m.get('role') == 'user' else 'Assistant'}: {m.get('content', '')}" for m in messages
    )
    return reply_is_usable(text)


def _stamped_demo_rows(n: int, side: int) -> Any:
    import io

    import biomed_vital

    demo = biomed_vital.load_demo_figures()
    originals = []
    for row in demo:
        image = row["image"].convert("RGB")
        image.thumbnail((side, side))
        originals.append((row, image))
    for index in range(n):
        row, image = originals[index % len(originals)]
        copy_number = index // len(originals)
        stamped = image.copy()
        for pixel in range(3):  # the synthetic stamp: the copy number, one byte per pixel
            stamped.putpixel((pixel, 0), ((copy_number >> (8 * pixel)) & 255, 0, 0))
        buffer = io.BytesIO()
        stamped.save(buffer, format="PNG")
        image_value = {"bytes": buffer.getvalue(), "path": None}
        yield {**row, "id": f"{row['id']}-copy{copy_number:05d}", "image": image_value}


def unique_demo_figures(n: int, cache_dir: str | Path) -> Any:
    """``n`` figure rows built from the demo figures, repeated, each copy a distinct request.

    The generator sends identical figures once (same cache key), so repeating the demo figures
    verbatim would measure its deduplication, not generation. Every copy therefore gets its own id
    and a synthetic stamp: its copy number written into the first three pixels of the image, a
    change no reader of the figure would notice (captions and all other text stay the real ones).
    Images are downscaled to ``IMAGE_SIDE`` first. The rows are written to an Arrow file under
    ``cache_dir`` and memory-mapped, like a Dataset a user loads from disk.
    """
    from datasets import Dataset

    import biomed_vital

    features = biomed_vital.load_demo_figures().features
    return Dataset.from_generator(
        _stamped_demo_rows,
        gen_kwargs={"n": n, "side": IMAGE_SIDE},
        features=features,
        cache_dir=str(cache_dir),
    )


def generator_items(figures: Any) -> list[dict[str, str]]:
    """What ``GPT4VGenerator`` sends for each figure, as distilabel items: its system prompt, its text and
    its image (a data URL)."""
    from biomed_vital.generation import GPT4VGenerator

    generator = GPT4VGenerator(MODEL, api_key=API_KEY, show_progress=False)
    items = []
    for request in generator.build_requests(figures):
        messages = request.build()["messages"]
        image_part, text_part = messages[-1]["content"]
        items.append(
            {
                "id": request.request_id,
                "system": messages[0]["content"],
                "user": text_part["text"],
                "image": image_part["image_url"]["url"],
            }
        )
    return items


# ---------------------------------------------------------------------------------------- server
def start_server(**kwargs: Any) -> Any:
    """A stand-in server in its own process (so it never competes for the client's GIL)."""
    from biomed_vital.testing import StandInServer

    return StandInServer(subprocess=True, **kwargs).start()


def latency_model() -> Any:
    from biomed_vital.testing import LatencyModel

    return LatencyModel.lognormal(LATENCY_MEDIAN, LATENCY_P99)


def analytic_mean_latency(model: Any) -> float:
    """``exp(mu + sigma^2 / 2)`` of the log-normal latency model."""
    return model.median * math.exp(model.sigma**2 / 2)


def ideal_makespan(latencies: Sequence[float], concurrency: int) -> float:
    """The makespan of a perfect sliding window: ``concurrency`` slots, each starting the next item the
    moment its previous one ends, no client cost."""
    slots = [0.0] * min(concurrency, max(1, len(latencies)))
    for latency in latencies:
        heapq.heappush(slots, heapq.heappop(slots) + latency)
    return max(slots)


def tokens_per_minute_for(items: Sequence[Mapping[str, str]], rpm: int, headroom: float = 1.25) -> int:
    """A token limit ``headroom`` times what ``rpm`` requests of these items count against it."""
    from biomed_vital.engine.tokens import estimate_request_tokens

    per_request = statistics.mean(estimate_request_tokens(request_body(item)) for item in items[:200])
    return int(per_request * rpm * headroom)


# ---------------------------------------------------------------------------------------- engines
@dataclass
class EngineRun:
    """What one engine produced on one case, plus the server's log of its requests."""

    engine: str
    case: str
    items: int
    wall_seconds: float
    records: list[dict[str, Any]]  # {"id", "answered", "usable"}
    log: list[dict[str, Any]] = field(default_factory=list)
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def run_engine(
    base_url: str,
    items: Sequence[Mapping[str, str]],
    *,
    case: str,
    rpm: int | None = None,
    tpm: int | None = None,
    label: str = "biomed_vital RequestEngine",
) -> EngineRun:
    """Send ``items`` with ``RequestEngine`` (cache on, in a fresh folder; SDK retries off)."""
    import openai  # noqa: F401  (imported before the clock starts, as the other clients' imports are)
    import tqdm.auto  # noqa: F401

    from biomed_vital.engine import ChatRequest, RequestEngine
    from biomed_vital.engine.backends import BackendConfig

    cache_dir = tempfile.mkdtemp(prefix="bench-engine-cache-")
    engine = RequestEngine(
        BackendConfig(model=MODEL, base_url=base_url, api_key=API_KEY, timeout=REQUEST_TIMEOUT),
        max_concurrency=CONCURRENCY,
        rpm=rpm,
        tpm=tpm,
        max_retries=MAX_RETRIES,
        cache_dir=cache_dir,
        show_progress=True,
    )
    requests = [ChatRequest(request_body(item), item["id"]) for item in items]
    load_before = os.getloadavg()[0]
    started, cpu_started = time.monotonic(), time.process_time()
    try:
        results = engine.run_sync(requests, desc=f"{case}: biomed_vital")
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    wall = time.monotonic() - started
    records = [
        {"id": r.request_id, "answered": r.ok, "usable": r.ok and reply_is_usable(r.content)} for r in results
    ]
    summary = engine.last_summary.to_dict() if engine.last_summary else {}
    extra = {
        "summary": summary,
        "client_cpu_s": time.process_time() - cpu_started,
        "load_1min": [load_before, os.getloadavg()[0]],
    }
    return EngineRun(label, case, len(items), wall, records, extra=extra)


def run_sdk_floor(base_url: str, items: Sequence[Mapping[str, str]], *, case: str) -> EngineRun:
    """The bare ``openai`` SDK behind an ``asyncio.Semaphore(CONCURRENCY)``: no limiter, cache, retries or
    progress bar. A reference for how close the engine gets to what the SDK alone allows on this machine."""
    import openai

    async def drive() -> list[str | None]:
        client = openai.AsyncOpenAI(
            base_url=base_url, api_key=API_KEY, max_retries=0, timeout=REQUEST_TIMEOUT
        )
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(item: Mapping[str, str]) -> str | None:
            async with gate:
                try:
                    completion = await client.chat.completions.create(**request_body(item))
                except openai.OpenAIError:
                    return None
                return completion.choices[0].message.content

        try:
            return await asyncio.gather(*(one(item) for item in items))
        finally:
            await client.close()

    load_before = os.getloadavg()[0]
    started, cpu_started = time.monotonic(), time.process_time()
    texts = asyncio.run(drive())
    wall = time.monotonic() - started
    extra = {
        "client_cpu_s": time.process_time() - cpu_started,
        "load_1min": [load_before, os.getloadavg()[0]],
    }
    records = [
        {"id": item["id"], "answered": text is not None, "usable": reply_is_usable(text)}
        for item, text in zip(items, texts, strict=True)
    ]
    return EngineRun(
        "openai SDK + Semaphore (reference)", case, len(items), wall, records, notes="no retries", extra=extra
    )


def run_distilabel(base_url: str, items: Sequence[Mapping[str, str]], *, case: str) -> EngineRun:
    """Run ``distilabel_runner.py`` in ``.venv-bench`` on the same items, to the end."""
    work = Path(tempfile.mkdtemp(prefix="bench-distilabel-"))
    items_path, out_path = work / "items.jsonl", work / "result.json"
    items_path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    command = [
        str(DISTILABEL_PYTHON),
        str(DISTILABEL_RUNNER),
        *("--base-url", base_url, "--api-key", API_KEY, "--model", MODEL),
        *("--items", str(items_path), "--out", str(out_path), "--concurrency", str(CONCURRENCY)),
        *("--max-retries", str(MAX_RETRIES), "--timeout", str(REQUEST_TIMEOUT)),
        *(
            "--max-new-tokens",
            str(MAX_TOKENS),
            "--temperature",
            str(TEMPERATURE),
            "--work-dir",
            str(work / "cache"),
        ),
    ]
    log_path = work / "distilabel.log"
    load_before = os.getloadavg()[0]
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with log_path.open("w") as log_file:
        # its own process group, so the pipeline's worker processes can be stopped together
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            process.wait(timeout=1800)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
    wall = time.monotonic() - started
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # the runner and the pipeline's worker processes, all waited for by now
    client_cpu = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    if process.returncode != 0 or not out_path.exists():
        tail = log_path.read_text(errors="replace")[-3000:]
        shutil.rmtree(work, ignore_errors=True)
        raise RuntimeError(f"distilabel runner failed on case {case!r} (exit {process.returncode}):\n{tail}")
    result = json.loads(out_path.read_text())
    shutil.rmtree(work, ignore_errors=True)
    records = [
        {"id": r["id"], "answered": r["generation"] is not None, "usable": reply_is_usable(r["generation"])}
        for r in result["records"]
    ]
    extra = {"client_cpu_s": client_cpu, "load_1min": [load_before, os.getloadavg()[0]]}
    label = f"{result['engine']} {result.get('task', 'TextGeneration')}"
    return EngineRun(
        label, case, len(items), wall, records, notes=f"input_batch_size={CONCURRENCY}", extra=extra
    )


def run_generator(base_url: str, figures: Any, *, case: str, **options: Any) -> EngineRun:
    """Generate with ``GPT4VGenerator`` (images, prompt building, reply parsing, asking again)."""
    from biomed_vital.generation import GPT4VGenerator

    cache_dir = tempfile.mkdtemp(prefix="bench-generator-cache-")
    generator = GPT4VGenerator(
        model=MODEL,
        base_url=base_url,
        api_key=API_KEY,
        max_concurrency=CONCURRENCY,
        max_retries=MAX_RETRIES,
        timeout=REQUEST_TIMEOUT,
        cache_dir=cache_dir,
        **options,
    )
    load_before = os.getloadavg()[0]
    started, cpu_started = time.monotonic(), time.process_time()
    try:
        candidates = generator.generate(figures)
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    wall = time.monotonic() - started
    records = [
        {
            "id": row["candidate_id"],
            "answered": row["status"] == "ok",
            "usable": row["status"] == "ok" and conversation_is_usable(row["messages"]),
        }
        for row in candidates.select_columns(["candidate_id", "status", "messages"])
    ]
    extra = {
        "summary": generator.engine.last_summary.to_dict() if generator.engine.last_summary else {},
        "client_cpu_s": time.process_time() - cpu_started,
        "load_1min": [load_before, os.getloadavg()[0]],
    }
    notes = ", ".join(f"{name}={value}" for name, value in options.items()) or "defaults"
    return EngineRun(
        "biomed_vital GPT4VGenerator", case, len(figures), wall, records, notes=notes, extra=extra
    )


# ---------------------------------------------------------------------------------------- analysis
def _completions(log: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [e for e in log if str(e.get("path", "/v1/chat/completions")).endswith("/chat/completions")]


def summarise(run: EngineRun) -> dict[str, Any]:
    """The numbers every case reports for one engine run (see the module docstring)."""
    log = _completions(run.log)
    if not log:
        raise RuntimeError(f"{run.engine} on case {run.case!r}: the server saw no request")
    statuses = Counter(e["status"] for e in log)
    first_arrival = min(e["arrival"] for e in log)
    last_finish = max(e["finish"] or e["arrival"] for e in log)
    makespan = last_finish - first_arrival
    usable = sum(1 for r in run.records if r["usable"])
    summary: dict[str, Any] = {
        "engine": run.engine,
        "case": run.case,
        "notes": run.notes,
        "items": run.items,
        "wall_seconds": round(run.wall_seconds, 2),
        "requests": len(log),
        "by_status": {str(k): v for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))},
        "by_fault": dict(Counter(e["fault"] for e in log if e["fault"])),
        "share_429": statuses.get(429, 0) / len(log),
        "makespan_s": makespan,
        "rows_out": len(run.records),
        "rows_lost": run.items - sum(1 for r in run.records if r["answered"]),
        "unusable_kept": sum(1 for r in run.records if r["answered"] and not r["usable"]),
        "usable_rows": usable,
        "usable_rows_per_s": usable / makespan if makespan > 0 else float("nan"),
    }
    summary.update(run.extra)
    if "client_cpu_s" in summary:
        summary["client_cpu_ms_per_request"] = 1000 * summary["client_cpu_s"] / len(log)
    return summary


def latency_numbers(run: EngineRun, server_latency: Any) -> dict[str, Any]:
    """Steady-state and end-to-end throughput of a latency-bound run, each against its analytic ideal."""
    log = _completions(run.log)
    first_arrival = min(e["arrival"] for e in log)
    last_arrival = max(e["arrival"] for e in log)
    last_finish = max(e["finish"] or e["arrival"] for e in log)
    ok_in_steady = sum(1 for e in log if e["status"] == 200 and e["finish"] and e["finish"] <= last_arrival)
    steady_rps = ok_in_steady / (last_arrival - first_arrival)
    analytic_rps = CONCURRENCY / analytic_mean_latency(server_latency)
    first_attempts = sorted((e for e in log if e["attempt"] == 1), key=lambda e: e["arrival"])
    drawn = [server_latency.sample(e["request_key"], 1) for e in first_attempts]
    ideal = ideal_makespan(drawn, CONCURRENCY)
    makespan = last_finish - first_arrival
    ok = sum(1 for e in log if e["status"] == 200)
    return {
        "steady_rps": steady_rps,
        "analytic_ideal_rps": analytic_rps,
        "steady_fraction_of_ideal": steady_rps / analytic_rps,
        "end_to_end_rps": ok / makespan,
        "ideal_makespan_s": ideal,
        "ideal_end_to_end_rps": len(drawn) / ideal,
        "end_to_end_fraction_of_ideal": ideal / makespan,
        "mean_drawn_latency_s": statistics.mean(drawn),
        "analytic_mean_latency_s": analytic_mean_latency(server_latency),
    }


def window_numbers(run: EngineRun, rpm: int, window: float) -> dict[str, Any]:
    """Admitted requests over the ``window`` seconds from the engine's first request, against the limit."""
    log = _completions(run.log)
    start = min(e["arrival"] for e in log)
    inside = [e for e in log if start <= e["arrival"] < start + window]
    ok = sum(1 for e in inside if e["status"] == 200)
    seconds = int(math.ceil(window))
    per_second = {"ok": [0] * seconds, "429": [0] * seconds}
    for e in inside:
        slot = int(e["arrival"] - start)
        if e["status"] == 200:
            per_second["ok"][slot] += 1
        elif e["status"] == 429:
            per_second["429"][slot] += 1
    return {
        "window_s": window,
        "requests_in_window": len(inside),
        "ok_in_window": ok,
        "fraction_of_limit": ok / (rpm * window / 60.0),
        "share_429_in_window": sum(1 for e in inside if e["status"] == 429) / len(inside),
        "per_second": per_second,
    }


# ---------------------------------------------------------------------------------------- cases
def case_latency(settings: CaseSettings, captions: Sequence[str], with_distilabel: bool) -> list[dict]:
    items = build_items(settings.latency_items, captions, "lat")
    server = start_server(latency=latency_model(), seed=1)
    summaries = []
    try:
        for name in ["biomed_vital", "sdk"] + (["distilabel"] if with_distilabel else []):
            server.reset()
            if name == "biomed_vital":
                run = run_engine(server.base_url, items, case="latency")
            elif name == "sdk":
                run = run_sdk_floor(server.base_url, items, case="latency")
            else:
                run = run_distilabel(server.base_url, items, case="latency")
            run.log = server.request_log()
            summary = {**summarise(run), **latency_numbers(run, server.config.latency_model())}
            summaries.append(summary)
            _print_progress(summary)
    finally:
        server.stop()
    return summaries


def _rate_case(
    case: str, settings: CaseSettings, captions: Sequence[str], with_distilabel: bool, headers: bool
) -> list[dict]:
    from biomed_vital.testing import StandInConfig

    window = settings.rate_seconds
    items = build_items(int(RPM * window / 60) + CONCURRENCY, captions, case)
    tpm = tokens_per_minute_for(items, RPM) if headers else None
    model = latency_model()
    config = StandInConfig(
        rpm=RPM,
        tpm=tpm,
        rate_limit_headers=headers,
        latency_median=model.median,
        latency_p99=model.p99,
        seed=2,
    )
    server = start_server(config=config)
    plans = ["told", "learn"] if headers else ["learn"]
    summaries = []
    try:
        for plan in plans + (["distilabel"] if with_distilabel else []):
            server.reset()
            if plan == "distilabel":
                run = run_distilabel(server.base_url, items, case=case)
            else:
                told = plan == "told"
                run = run_engine(
                    server.base_url, items, case=case, rpm=RPM if told else None, tpm=tpm if told else None
                )
                run.notes = (
                    "told the limit"
                    if told
                    else "learns it from the headers"
                    if headers
                    else "learns it from the 429s"
                )
            run.log = server.request_log()
            summary = {**summarise(run), **window_numbers(run, RPM, window)}
            summary["server_rpm"], summary["server_tpm"], summary["server_headers"] = RPM, tpm, headers
            summaries.append(summary)
            _print_progress(summary)
    finally:
        server.stop()
    return summaries


def case_rate(settings: CaseSettings, captions: Sequence[str], with_distilabel: bool) -> list[dict]:
    return _rate_case("rate", settings, captions, with_distilabel, headers=True)


def case_hidden(settings: CaseSettings, captions: Sequence[str], with_distilabel: bool) -> list[dict]:
    return _rate_case("hidden", settings, captions, with_distilabel, headers=False)


def case_faults(settings: CaseSettings, with_distilabel: bool) -> list[dict]:
    from biomed_vital.testing import FaultConfig

    server = start_server(latency=latency_model(), faults=FaultConfig(**FAULT_MIX), seed=3)
    summaries = []
    with tempfile.TemporaryDirectory(prefix="bench-figures-") as scratch:
        figures = unique_demo_figures(settings.fault_items, scratch)
        plans: list[tuple[str, dict[str, Any]]] = [("generator", {}), ("generator", {"retry_unusable": 0})]
        if with_distilabel:
            plans.append(("distilabel", {}))
        try:
            for plan, options in plans:
                server.reset()
                if plan == "distilabel":
                    run = run_distilabel(server.base_url, generator_items(figures), case="faults")
                else:
                    run = run_generator(server.base_url, figures, case="faults", **options)
                run.log = server.request_log()
                summary = summarise(run)
                summaries.append(summary)
                _print_progress(summary)
        finally:
            server.stop()
    return summaries


# ---------------------------------------------------------------------------------------- memory
class TreeSampler:
    """Samples the RSS, USS and anonymous RSS of a process and its children in a thread; keeps every sample.

    Anonymous RSS is RSS minus file-backed resident pages (``memory_info().shared``): it leaves out the
    pages of memory-mapped Datasets, which grow with what was read, not with what the process holds.
    """

    def __init__(self, pid: int, interval: float = MEMORY_SAMPLE_SECONDS) -> None:
        import psutil

        self.root = psutil.Process(pid)
        self.interval = interval
        self.samples: list[dict[str, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        import psutil

        rss = uss = anonymous = 0
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        for process in processes:
            try:
                full = process.memory_full_info()
            except psutil.Error:
                continue
            rss += full.rss
            uss += full.uss
            anonymous += full.rss - full.shared
        if rss:
            self.samples.append({"t": time.monotonic(), "rss": rss, "uss": uss, "anonymous": anonymous})

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak_mib(self, key: str, since: float = 0.0) -> float | None:
        values = [s[key] for s in self.samples if s["t"] >= since]
        return max(values) / 2**20 if values else None


def memory_worker(dataset_dir: Path, base_url: str, out: Path) -> None:
    """Generate candidates for the figures saved in ``dataset_dir`` in this fresh process; write the counts,
    the output's size and when generation started (``time.monotonic()``) as JSON."""
    from datasets import load_from_disk

    from biomed_vital.generation import GPT4VGenerator

    figures = load_from_disk(str(dataset_dir))  # memory-mapped
    cache_dir = tempfile.mkdtemp(prefix="bench-memory-cache-")
    generator = GPT4VGenerator(
        model=MODEL, base_url=base_url, api_key=API_KEY, max_concurrency=CONCURRENCY, cache_dir=cache_dir
    )
    started = time.monotonic()
    try:
        candidates = generator.generate(figures)
        ok = sum(1 for status in candidates["status"][:] if status == "ok")
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    summary = generator.engine.last_summary
    result = {
        "rows": len(figures),
        "candidates": len(candidates),
        "ok": ok,
        "requests_sent": summary.sent if summary else None,
        "input_dataset_mib": figures.data.nbytes / 2**20,
        "output_dataset_mib": candidates.data.nbytes / 2**20,
        "output_memory_mapped": bool(candidates.cache_files),
        "generation_started": started,
        "seconds": time.monotonic() - started,
    }
    out.write_text(json.dumps(result))


def case_memory(settings: CaseSettings) -> list[dict]:
    server = start_server(latency=None, seed=4)
    summaries = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-memory-") as scratch:
            largest = unique_demo_figures(max(settings.memory_rows), Path(scratch) / "hf-cache")
            for rows in settings.memory_rows:
                dataset_dir = Path(scratch) / f"figures-{rows}"
                largest.select(range(rows)).save_to_disk(str(dataset_dir))
                out = Path(scratch) / f"memory-{rows}.json"
                command = [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    *(
                        "--memory-worker",
                        str(dataset_dir),
                        "--base-url",
                        server.base_url,
                        "--worker-out",
                        str(out),
                    ),
                ]
                load_before = os.getloadavg()[0]
                process = subprocess.Popen(command, cwd=REPO)
                with TreeSampler(process.pid) as sampler:
                    process.wait(timeout=3600)
                if process.returncode != 0 or not out.exists():
                    raise RuntimeError(f"memory worker for {rows} rows failed (exit {process.returncode})")
                summary = json.loads(out.read_text())
                started = summary["generation_started"]
                before = [s for s in sampler.samples if s["t"] < started]
                summary.update(
                    {
                        "peak_rss_mib": sampler.peak_mib("rss"),
                        "peak_uss_mib": sampler.peak_mib("uss"),
                        "peak_anonymous_mib": sampler.peak_mib("anonymous"),
                        "before_generation_uss_mib": before[-1]["uss"] / 2**20 if before else None,
                        "before_generation_anonymous_mib": before[-1]["anonymous"] / 2**20
                        if before
                        else None,
                        "samples": len(sampler.samples),
                        "timeline_mib": [
                            [round(s["t"] - sampler.samples[0]["t"], 2), round(s["uss"] / 2**20, 1)]
                            for s in sampler.samples[:: max(1, len(sampler.samples) // 200)]
                        ],
                        "load_1min": [load_before, os.getloadavg()[0]],
                    }
                )
                shutil.rmtree(dataset_dir, ignore_errors=True)
                server.reset()
                summaries.append(summary)
                print(
                    f"  memory {rows:>6} rows: peak RSS {summary['peak_rss_mib']:.0f} MiB, USS "
                    f"{summary['peak_uss_mib']:.0f} MiB, anonymous {summary['peak_anonymous_mib']:.0f} MiB; "
                    f"{summary['seconds']:.1f} s",
                    flush=True,
                )
    finally:
        server.stop()
    return summaries


def _print_progress(summary: Mapping[str, Any]) -> None:
    parts = [f"  {summary['case']:<8} {summary['engine']:<40} {summary.get('notes', '')}"]
    if "fraction_of_limit" in summary:
        parts.append(f"limit {summary['fraction_of_limit']:.3f}, 429 {summary['share_429_in_window']:.1%}")
    elif "steady_fraction_of_ideal" in summary:
        parts.append(
            f"steady {summary['steady_fraction_of_ideal']:.3f}, end to end "
            f"{summary['end_to_end_fraction_of_ideal']:.3f} of ideal"
        )
    else:
        parts.append(
            f"{summary['usable_rows_per_s']:.1f} usable rows/s, lost {summary['rows_lost']}, "
            f"unusable kept {summary['unusable_kept']}"
        )
    print(" | ".join(parts), flush=True)


# ---------------------------------------------------------------------------------------- report
def _fmt(value: Any, spec: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return format(value, spec)


def _load(summary: Mapping[str, Any]) -> str:
    return " -> ".join(f"{x:.1f}" for x in summary.get("load_1min", [])) or "n/a"


def _case_header(results: Mapping[str, Any], case: str) -> list[str]:
    meta = results.get("case_environment", {}).get(case)
    if not meta:
        return []
    return [
        f"Run {meta['date']}; `{meta['command']}`; load (`uptime`) before `{meta['uptime_before']}`, after "
        f"`{meta['uptime_after']}`.",
        "",
    ]


def markdown_report(results: Mapping[str, Any]) -> str:
    """The results as markdown: one table per case, each with its command and the machine's load."""
    env = results["environment"]
    lines = [
        "# Generation request engine: benchmark results",
        "",
        f"Machine: {env['machine']} ({env['cpus']} CPUs), Python {env['python']}; the offline stand-in server in "
        "its own process (127.0.0.1). Concurrency "
        f"{CONCURRENCY} for every engine (distilabel: `input_batch_size={CONCURRENCY}`), max_retries {MAX_RETRIES}, "
        f"timeout {REQUEST_TIMEOUT} s, max_tokens {MAX_TOKENS}. *Load* is the 1-minute load average before -> "
        "after each engine's run; the machine has 2 cores and is shared with other work.",
        "",
    ]
    latency = results.get("latency", [])
    if latency:
        first = latency[0]
        lines += [
            "## 1. Latency-bound",
            "",
            *_case_header(results, "latency"),
            f"{first['items']} requests, log-normal latency (median {LATENCY_MEDIAN} s, p99 {LATENCY_P99} s; analytic "
            f"mean {first['analytic_mean_latency_s']:.3f} s, so the analytic ideal steady state is "
            f"{first['analytic_ideal_rps']:.1f} req/s). End to end: from the first request to the last answer, "
            f"drain included; the ideal is a perfect window of {CONCURRENCY} over the latencies the server drew for "
            f"these items (makespan {first['ideal_makespan_s']:.1f} s).",
            "",
            "| engine | steady req/s | steady / ideal | end-to-end req/s | makespan s | end to end / ideal | "
            "client CPU ms/request | load |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for s in latency:
            lines.append(
                f"| {s['engine']} | {s['steady_rps']:.1f} | **{s['steady_fraction_of_ideal']:.3f}** | "
                f"{s['end_to_end_rps']:.1f} | {s['makespan_s']:.1f} | **{s['end_to_end_fraction_of_ideal']:.3f}** | "
                f"{_fmt(s.get('client_cpu_ms_per_request'), '.2f')} | {_load(s)} |"
            )
        lines.append("")
    for case, title in (
        ("rate", "2. Rate-bound, limit in the headers"),
        ("hidden", "3. A limit nobody told"),
    ):
        rows = results.get(case, [])
        if not rows:
            continue
        window = rows[0]["window_s"]
        lines += [
            f"## {title}",
            "",
            *_case_header(results, case),
            f"Server limit {RPM} requests/min over a sliding 60 s window"
            + (
                f" and {rows[0]['server_tpm']:,} tokens/min, with `x-ratelimit-*` headers"
                if rows[0]["server_headers"]
                else ", with no `x-ratelimit-*` header (a bare 429 and `Retry-After`)"
            )
            + f". Each engine sends the same {rows[0]['items']} items; measured over the {window:.0f} s from its "
            f"first request.",
            "",
            "| engine | notes | requests in window | fraction of the limit | 429 share in window | "
            "rate in the summary | rows lost | wall s | load |",
            "|---|---|---:|---:|---:|---|---:|---:|---|",
        ]
        for s in rows:
            run_summary = s.get("summary") or {}
            rate = (
                f"{run_summary['rpm']:.0f}/min ({run_summary['rpm_source']})"
                if run_summary.get("rpm")
                else "n/a"
            )
            lines.append(
                f"| {s['engine']} | {s['notes']} | {s['requests_in_window']} | **{s['fraction_of_limit']:.3f}** | "
                f"**{s['share_429_in_window']:.1%}** | {rate} | {s['rows_lost']} | {s['wall_seconds']:.0f} | {_load(s)} |"
            )
        lines.append("")
    faults = results.get("faults", [])
    if faults:
        mix = ", ".join(f"{int(p * 100)} % {kind}" for kind, p in FAULT_MIX.items())
        lines += [
            "## 4. Fault mix",
            "",
            *_case_header(results, "faults"),
            f"{faults[0]['items']} demo figures with images ({IMAGE_SIDE} px), the case-1 latency, 30 % of attempts "
            f"faulty ({mix}). One configuration per row, the same figures and request text for every row.",
            "",
            "| engine | configuration | requests | 429 share | rows lost | unusable kept as valid | usable rows | "
            "usable rows/s | wall s | load |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for s in faults:
            lines.append(
                f"| {s['engine']} | {s['notes']} | {s['requests']} | {s['share_429']:.1%} | **{s['rows_lost']}** | "
                f"**{s['unusable_kept']}** | {s['usable_rows']} | **{s['usable_rows_per_s']:.1f}** | "
                f"{s['wall_seconds']:.1f} | {_load(s)} |"
            )
        lines.append("")
    memory = results.get("memory", [])
    if memory:
        lines += [
            "## 5. Memory",
            "",
            *_case_header(results, "memory"),
            f"`GPT4VGenerator` (defaults, zero-shot) on figures with images ({IMAGE_SIDE} px), each size in a fresh "
            "process, input memory-mapped from disk, server without latency. Peaks of the process tree sampled every "
            f"{MEMORY_SAMPLE_SECONDS} s with psutil; *anonymous* is RSS minus file-backed pages (the memory-mapped "
            "input and output).",
            "",
            "| rows | requests | peak RSS MiB | peak USS MiB | peak anonymous MiB | anonymous before generating MiB | "
            "input Dataset MiB | output Dataset MiB | output memory-mapped | s | load |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
        ]
        for m in memory:
            lines.append(
                f"| {m['rows']:,} | {m['requests_sent']:,} | {m['peak_rss_mib']:.0f} | {m['peak_uss_mib']:.0f} | "
                f"**{m['peak_anonymous_mib']:.0f}** | {_fmt(m.get('before_generation_anonymous_mib'), '.0f')} | "
                f"{m['input_dataset_mib']:.1f} | {m['output_dataset_mib']:.1f} | "
                f"{'yes' if m['output_memory_mapped'] else 'no'} | {m['seconds']:.1f} | {_load(m)} |"
            )
        if len(memory) >= 2:
            small, large = memory[0], memory[-1]
            per_1000 = (
                1000
                * (large["peak_anonymous_mib"] - small["peak_anonymous_mib"])
                / (large["rows"] - small["rows"])
            )
            lines += [
                "",
                f"From {small['rows']:,} to {large['rows']:,} rows the peak anonymous memory changes by "
                f"{large['peak_anonymous_mib'] - small['peak_anonymous_mib']:+.0f} MiB ({per_1000:+.2f} MiB per 1,000 "
                f"rows), peak USS by {large['peak_uss_mib'] - small['peak_uss_mib']:+.0f} MiB.",
            ]
        lines.append("")
    lines += ["Plot: `generation.png` (or `generation-quick.png` for --quick).", ""]
    return "\n".join(lines)


def plot(results: Mapping[str, Any], path: Path) -> None:
    """A PNG comparing the engines on every case."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(18, 9))

    def color(engine: str) -> str:
        if engine.startswith("openai SDK"):
            return "#7f7f7f"
        return "#ff7f0e" if engine.startswith("distilabel") else "#1f77b4"

    def label(s: Mapping[str, Any]) -> str:
        name = (
            s["engine"]
            .replace("biomed_vital ", "bv ")
            .replace("openai SDK + Semaphore (reference)", "openai SDK")
        )
        return f"{name}\n{s['notes']}" if s.get("notes") else name

    ax = axes[0][0]
    latency = results.get("latency", [])
    if latency:
        x = range(len(latency))
        ax.bar(
            [i - 0.2 for i in x], [s["steady_fraction_of_ideal"] for s in latency], 0.4, label="steady state"
        )
        ax.bar(
            [i + 0.2 for i in x],
            [s["end_to_end_fraction_of_ideal"] for s in latency],
            0.4,
            label="end to end",
        )
        ax.set_xticks(list(x), [label(s) for s in latency], fontsize=8)
        ax.axhline(0.9, color="grey", linestyle="--")
        ax.set_ylim(0, 1.1)
        ax.set_ylabel("throughput / analytic ideal")
        ax.set_title("1. latency-bound")
        ax.legend(fontsize=8)
    for ax, case, title in (
        (axes[0][1], "rate", "2. limit in the headers"),
        (axes[0][2], "hidden", "3. limit nobody told"),
    ):
        for s in results.get(case, []):
            per_second = s["per_second"]["ok"]
            smooth = [sum(per_second[i : i + 5]) / 5 for i in range(0, max(0, len(per_second) - 4))]
            ax.plot(
                range(len(smooth)),
                smooth,
                label=f"{label(s).replace(chr(10), ', ')}: {s['fraction_of_limit']:.2f} of limit, "
                f"{s['share_429_in_window']:.0%} 429",
                color=color(s["engine"]) if s["engine"].startswith("distilabel") else None,
            )
        if results.get(case):
            ax.axhline(RPM / 60, color="grey", linestyle="--")
            ax.set_xlabel("seconds from the engine's first request")
            ax.set_ylabel("requests answered 200 per second (5 s mean)")
            ax.set_title(f"{title}: {RPM}/min")
            ax.legend(fontsize=7)
    ax = axes[1][0]
    faults = results.get("faults", [])
    if faults:
        ax.bar(
            [label(s) for s in faults],
            [s["usable_rows_per_s"] for s in faults],
            color=[color(s["engine"]) for s in faults],
        )
        ax.set_ylabel("usable rows per second, end to end")
        ax.set_title("4. 30 % fault mix: throughput")
        ax.tick_params(axis="x", labelsize=8)
    ax = axes[1][1]
    if faults:
        x = range(len(faults))
        ax.bar(
            [i - 0.2 for i in x], [s["rows_lost"] for s in faults], 0.4, label="rows lost", color="#d62728"
        )
        ax.bar(
            [i + 0.2 for i in x],
            [s["unusable_kept"] for s in faults],
            0.4,
            label="unusable kept as valid",
            color="#9467bd",
        )
        ax.set_xticks(list(x), [label(s) for s in faults], fontsize=8)
        ax.set_ylabel(f"rows of {faults[0]['items']}")
        ax.set_title("4. 30 % fault mix: rows lost and unusable")
        ax.legend(fontsize=8)
    ax = axes[1][2]
    memory = results.get("memory", [])
    if memory:
        rows = [m["rows"] for m in memory]
        for key, name in (
            ("peak_rss_mib", "peak RSS"),
            ("peak_uss_mib", "peak USS"),
            ("peak_anonymous_mib", "peak anonymous"),
        ):
            ax.plot(rows, [m[key] for m in memory], marker="o", label=name)
        ax.set_xscale("log")
        ax.set_xlabel("rows")
        ax.set_ylabel("MiB")
        ax.set_ylim(bottom=0)
        ax.set_title("5. memory: GPT4VGenerator, process tree")
        ax.legend(fontsize=8)
    fig.suptitle("biomed_vital generation benchmarks")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def environment() -> dict[str, Any]:
    return {"machine": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()}


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _json_ready(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------- main
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the harness")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated subset to run")
    parser.add_argument("--update", action="store_true", help="replace these cases in the existing results")
    parser.add_argument("--no-distilabel", action="store_true", help="run biomed_vital only")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--from-json", type=Path, default=None, help="rewrite the .md and .png from saved results"
    )
    parser.add_argument("--memory-worker", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    if args.memory_worker is not None:
        memory_worker(args.memory_worker, args.base_url, args.worker_out)
        return 0

    if args.from_json is not None:
        results = json.loads(args.from_json.read_text(encoding="utf-8"))
        report = markdown_report(results).replace("generation.png", f"{args.from_json.stem}.png", 1)
        args.from_json.with_suffix(".md").write_text(report, encoding="utf-8")
        plot(results, args.from_json.with_suffix(".png"))
        print(report)
        return 0

    settings = QUICK if args.quick else CaseSettings()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(cases) - set(CASES)
    if unknown:
        raise SystemExit(f"unknown case(s) {sorted(unknown)}; choose from {', '.join(CASES)}")
    with_distilabel = not args.no_distilabel
    if with_distilabel and not DISTILABEL_PYTHON.exists():
        raise SystemExit(
            f"{DISTILABEL_PYTHON} not found: create it with `make .venv-bench/bin/python`, or pass --no-distilabel"
        )
    stem = "generation-quick" if args.quick else "generation"
    args.out_dir.mkdir(parents=True, exist_ok=True)
    json_path = args.out_dir / f"{stem}.json"
    if args.update and json_path.exists():
        results = json.loads(json_path.read_text(encoding="utf-8"))
    else:
        results = {"environment": environment(), "settings": settings.__dict__, "quick": args.quick}
    results.setdefault("case_environment", {})
    captions = demo_captions()
    command = " ".join([".venv/bin/python", "benchmarks/bench_generation.py", *argv])
    for case in cases:
        print(f"case {case} ...", flush=True)
        meta = {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "command": command,
            "uptime_before": _uptime(),
        }
        started = time.monotonic()
        if case == "latency":
            results[case] = case_latency(settings, captions, with_distilabel)
        elif case == "rate":
            results[case] = case_rate(settings, captions, with_distilabel)
        elif case == "hidden":
            results[case] = case_hidden(settings, captions, with_distilabel)
        elif case == "faults":
            results[case] = case_faults(settings, with_distilabel)
        elif case == "memory":
            results[case] = case_memory(settings)
        meta.update(uptime_after=_uptime(), seconds=round(time.monotonic() - started, 1))
        results["case_environment"][case] = meta
        # written after every case, so a later case that fails does not lose the earlier ones
        json_path.write_text(json.dumps(_json_ready(results), indent=1), encoding="utf-8")
    report = markdown_report(results)
    (args.out_dir / f"{stem}.md").write_text(
        report.replace("generation.png", f"{stem}.png", 1), encoding="utf-8"
    )
    plot(results, args.out_dir / f"{stem}.png")
    print(report)
    print(f"wrote {args.out_dir}/{stem}.md, .json, .png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
