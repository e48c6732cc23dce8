"""Benchmarks of the generation request engine against the stand-in server, next to distilabel 1.5.3.

Full run (about 14 minutes; writes benchmarks/results/generation.md, .json and .png)::

    python3 -m venv .venv-bench && .venv-bench/bin/pip install -r benchmarks/requirements-distilabel.txt
    .venv/bin/python benchmarks/bench_generation.py

Quick check of the harness (about 5 minutes, small sizes; writes generation-quick.* instead, whose
numbers are not comparable with the full run)::

    .venv/bin/python benchmarks/bench_generation.py --quick

Other flags: ``--cases latency,rate,faults,memory`` runs a subset, ``--no-distilabel`` skips the
distilabel side (e.g. when ``.venv-bench`` does not exist), ``--rate-seconds`` / ``--learn-seconds``
shorten the rate-bound runs, ``--out-dir`` writes elsewhere, ``--from-json results/generation.json``
rewrites the markdown and the plot from saved results.

Every server runs in its own process (``StandInServer(subprocess=True)``), so it never shares the
client's GIL; distilabel runs in a third process from ``.venv-bench``. Only 127.0.0.1 is used.
Both engines get the same items (one system prompt and one user message with a ``Caption: ...``
line per item, captions from ``biomed_vital.load_demo_figures()``), the same concurrency (64) and
the same server configuration; the server's request log is cleared between engines.

Cases:

1. **latency** - 2,000 requests, log-normal latency (median 200 ms, p99 2 s), concurrency 64.
   Throughput in the steady state (from the first request to the moment the last item is sent, so
   the unavoidable drain of the last 64 is left out) over the ideal ``concurrency / mean latency``,
   with the mean latency the server actually realised for that engine's requests. A third row, the
   bare ``openai`` SDK behind an ``asyncio.Semaphore(64)``, shows what the SDK alone reaches on the
   same machine at the same moment (the floor of client-side cost).
2. **rate** - the server allows 600 requests/min and a token limit 1.25 times what 600 requests
   need, over a sliding 60 s window. Each engine gets more items than it can send and is stopped
   after 180 s; the rate is the number of requests answered 200 that *arrived* in the 180 s from the
   engine's first request, over 3 x 600. (Over exactly three windows a client that bursts its first
   minute's quota and one that paces evenly are both measured fairly.) The share of 429s is over all
   requests that arrived in those 180 s. ``biomed_vital`` runs twice: told the limit, as a user who
   read the provider's docs would, and not told it (it learns from ``x-ratelimit-*`` headers; this
   run lasts 60 s, one whole window, to keep the suite under 15 minutes).
3. **faults** - 400 items (200 for ``GPT4VGenerator``), the case-1 latency, 30 % of attempts faulty: 15 % 429, 5 % 500, 5 %
   malformed and 5 % truncated replies. Rows lost or blank, and unusable replies accepted as valid:
   output rows whose text is the stand-in's malformed reply or a truncated conversation (fewer than
   the five complete exchanges every well-formed stand-in reply has).
4. **memory** - ``GPT4VGenerator`` on 1,000 and 10,000 rows with images (the demo figures repeated,
   each copy made a distinct request by a synthetic pixel stamp, see :func:`unique_demo_figures`),
   each size in a fresh process; peak RSS and the size of the output Dataset. The peak is the
   worker's ``VmHWM``: ``ru_maxrss`` cannot be used, because Linux carries the parent's RSS
   high-water mark over fork+exec into the child's ``ru_maxrss``.

Cases 1-3 use ``RequestEngine`` directly for biomed_vital, with text-only items, so both engines
send the very same messages; the fault case also runs ``GPT4VGenerator`` on demo figures with
images (it parses every reply and turns unusable ones into ``status="error"`` rows), with its
default ``retry_unusable=0`` and with ``retry_unusable=2`` (ask again for unusable replies). Benchmarks are measurements, not tests: nothing here asserts speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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


@dataclass
class CaseSettings:
    """Sizes of one benchmark run (the full run, or the --quick one)."""

    latency_items: int = 2000
    rate_seconds: float = 180.0
    learn_seconds: float = 60.0
    fault_items: int = 400
    memory_rows: tuple[int, ...] = (1000, 10000)
    generator_fault_items: int = 200


QUICK = CaseSettings(
    latency_items=300,
    rate_seconds=60.0,
    learn_seconds=60.0,
    fault_items=200,
    memory_rows=(200, 1000),
    generator_fault_items=100,
)


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
    records: list[dict[str, Any]] | None  # {"id", "text", "usable"}; None when the run was stopped
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
    stop_after: float | None = None,
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

    async def drive() -> list[Any] | None:
        task = asyncio.ensure_future(engine.run(requests, desc=f"{case}: biomed_vital"))
        if stop_after is None:
            return await task
        done, _ = await asyncio.wait({task}, timeout=stop_after)
        if task in done:
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return None

    load_before = os.getloadavg()[0]
    started, cpu_started = time.monotonic(), time.process_time()
    try:
        results = asyncio.run(drive())
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    wall = time.monotonic() - started
    client_cpu = time.process_time() - cpu_started
    records = None
    if results is not None:
        records = [
            {
                "id": r.request_id,
                "text": r.content if r.ok else None,
                "usable": r.ok and reply_is_usable(r.content),
            }
            for r in results
        ]
    notes = "told the limit" if rpm else "limit learnt from headers" if case == "rate" else ""
    summary = engine.last_summary.to_dict() if engine.last_summary and results is not None else {}
    extra = {"summary": summary, "client_cpu_s": client_cpu, "load_1min": [load_before, os.getloadavg()[0]]}
    return EngineRun(label, case, len(items), wall, records, notes=notes, extra=extra)


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
        {"id": item["id"], "text": text, "usable": reply_is_usable(text)}
        for item, text in zip(items, texts, strict=True)
    ]
    return EngineRun(
        "openai SDK + Semaphore (reference)", case, len(items), wall, records, notes="no retries", extra=extra
    )


def run_distilabel(
    base_url: str,
    items: Sequence[Mapping[str, str]],
    *,
    case: str,
    server: Any,
    stop_after: float | None = None,
) -> EngineRun:
    """Run ``distilabel_runner.py`` in ``.venv-bench`` on the same items; stop it after ``stop_after`` s
    from its first request when given."""
    work = Path(tempfile.mkdtemp(prefix="bench-distilabel-"))
    items_path, out_path = work / "items.jsonl", work / "result.json"
    items_path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    command = [
        str(DISTILABEL_PYTHON),
        str(DISTILABEL_RUNNER),
        "--base-url",
        base_url,
        "--api-key",
        API_KEY,
        "--model",
        MODEL,
        "--items",
        str(items_path),
        "--out",
        str(out_path),
        "--concurrency",
        str(CONCURRENCY),
        "--max-retries",
        str(MAX_RETRIES),
        "--timeout",
        str(REQUEST_TIMEOUT),
        "--max-new-tokens",
        str(MAX_TOKENS),
        "--temperature",
        str(TEMPERATURE),
        "--work-dir",
        str(work / "cache"),
    ]
    log_path = work / "distilabel.log"
    load_before = os.getloadavg()[0]
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with log_path.open("w") as log_file:
        # its own process group, so the pipeline's worker processes can be stopped together
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        stopped = False
        try:
            if stop_after is None:
                process.wait(timeout=1200)
            else:
                first_request = _wait_for_first_request(server, process)
                remaining = first_request + stop_after - time.monotonic()
                try:
                    process.wait(timeout=max(0.0, remaining))
                except subprocess.TimeoutExpired:
                    stopped = True
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
    extra = {"client_cpu_s": client_cpu, "load_1min": [load_before, os.getloadavg()[0]]}
    records = None
    version = "distilabel"
    if not stopped:
        if process.returncode != 0 or not out_path.exists():
            tail = log_path.read_text(errors="replace")[-3000:]
            shutil.rmtree(work, ignore_errors=True)
            raise RuntimeError(
                f"distilabel runner failed on case {case!r} (exit {process.returncode}):\n{tail}"
            )
        result = json.loads(out_path.read_text())
        version = result["engine"]
        records = [
            {"id": r["id"], "text": r["generation"], "usable": reply_is_usable(r["generation"])}
            for r in result["records"]
        ]
    shutil.rmtree(work, ignore_errors=True)
    label = f"{version} TextGeneration" if version != "distilabel" else _distilabel_label()
    return EngineRun(
        label, case, len(items), wall, records, notes=f"input_batch_size={CONCURRENCY}", extra=extra
    )


def _distilabel_label() -> str:
    try:
        out = subprocess.run(
            [str(DISTILABEL_PYTHON), "-c", "import importlib.metadata as m; print(m.version('distilabel'))"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        return f"distilabel {out.stdout.strip()} TextGeneration"
    except (OSError, subprocess.SubprocessError):
        return "distilabel TextGeneration"


def _wait_for_first_request(server: Any, process: subprocess.Popen[bytes], timeout: float = 120.0) -> float:
    """The monotonic time of the first request the server saw (polled; distilabel needs a few s to start)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        log = server.request_log()
        if log:
            return float(log[0]["arrival"])
        time.sleep(0.2)
    raise RuntimeError("distilabel sent no request within 120 s; see its log (run the runner by hand)")


def run_generator(base_url: str, figures: Any, *, case: str, retry_unusable: int = 0) -> EngineRun:
    """Generate with ``GPT4VGenerator`` (images, prompt building, reply parsing and its retries)."""
    from biomed_vital.generation import GPT4VGenerator

    cache_dir = tempfile.mkdtemp(prefix="bench-generator-cache-")
    generator = GPT4VGenerator(
        model=MODEL,
        base_url=base_url,
        api_key=API_KEY,
        max_concurrency=CONCURRENCY,
        max_retries=MAX_RETRIES,
        cache_dir=cache_dir,
        retry_unusable=retry_unusable,
    )
    load_before = os.getloadavg()[0]
    started, cpu_started = time.monotonic(), time.process_time()
    try:
        candidates = generator.generate(figures)
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    wall = time.monotonic() - started
    extra = {
        "client_cpu_s": time.process_time() - cpu_started,
        "load_1min": [load_before, os.getloadavg()[0]],
    }
    records = []
    for row in candidates:
        ok = row.get("status") == "ok"
        records.append(
            {
                "id": row["candidate_id"],
                "text": "ok" if ok else None,
                "usable": ok and conversation_is_usable(row.get("messages")),
            }
        )
    return EngineRun(
        "biomed_vital GPT4VGenerator",
        case,
        len(figures),
        wall,
        records,
        notes="images + parsing",
        extra=extra,
    )


# ---------------------------------------------------------------------------------------- analysis
def _window_count(
    log: Sequence[Mapping[str, Any]], start: float, end: float, status: int | None = None
) -> int:
    return sum(1 for e in log if start <= e["arrival"] < end and (status is None or e["status"] == status))


def summarise(
    run: EngineRun, *, concurrency: int = CONCURRENCY, rpm: int | None = None, window: float = 0.0
) -> dict:
    """The numbers reported for one engine run (see the module docstring for the definitions)."""
    log = [e for e in run.log if e.get("path", "/v1/chat/completions").endswith("/chat/completions")]
    if not log:
        raise RuntimeError(f"{run.engine} on case {run.case!r}: the server saw no request")
    statuses = Counter(e["status"] for e in log)
    faults = Counter(e["fault"] for e in log if e["fault"])
    first_arrival = min(e["arrival"] for e in log)
    last_arrival = max(e["arrival"] for e in log)
    last_finish = max(e["finish"] or e["arrival"] for e in log)
    ok_latencies = [e["finish"] - e["arrival"] for e in log if e["status"] == 200 and e["finish"]]
    mean_latency = statistics.mean(ok_latencies) if ok_latencies else float("nan")
    ideal = concurrency / mean_latency if ok_latencies else float("nan")
    steady_span = last_arrival - first_arrival
    ok_in_steady = sum(1 for e in log if e["status"] == 200 and e["finish"] and e["finish"] <= last_arrival)
    steady_rps = ok_in_steady / steady_span if steady_span > 0 else float("nan")
    makespan = last_finish - first_arrival
    ok_total = statuses.get(200, 0)
    summary: dict[str, Any] = {
        "engine": run.engine,
        "case": run.case,
        "notes": run.notes,
        "items": run.items,
        "wall_seconds": round(run.wall_seconds, 2),
        "requests": len(log),
        "by_status": {str(k): v for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))},
        "by_fault": dict(faults),
        "share_429": statuses.get(429, 0) / len(log),
        "mean_latency_s": mean_latency,
        "ideal_rps": ideal,
        "steady_rps": steady_rps,
        "steady_fraction_of_ideal": steady_rps / ideal if ok_latencies else float("nan"),
        "makespan_s": makespan,
        "makespan_rps": ok_total / makespan if makespan > 0 else float("nan"),
        "makespan_fraction_of_ideal": (ok_total / makespan) / ideal
        if makespan > 0 and ok_latencies
        else float("nan"),
    }
    if rpm is not None and window > 0:
        end = first_arrival + window
        ok_in_window = _window_count(log, first_arrival, end, 200)
        in_window = _window_count(log, first_arrival, end)
        summary.update(
            {
                "rate_window_s": window,
                "ok_in_window": ok_in_window,
                "rate_rps": ok_in_window / window,
                "fraction_of_limit": ok_in_window / (rpm * window / 60.0),
                "share_429": _window_count(log, first_arrival, end, 429) / in_window
                if in_window
                else float("nan"),
                "per_second": _per_second(log, first_arrival, end),
            }
        )
    if run.records is not None:
        lost = sum(1 for r in run.records if r["text"] is None or not str(r["text"]).strip())
        unusable_accepted = sum(1 for r in run.records if r["text"] and not r["usable"])
        summary.update(
            {
                "rows_out": len(run.records),
                "rows_lost_or_blank": lost + (run.items - len(run.records)),
                "unusable_accepted": unusable_accepted,
                "unusable_accepted_share": unusable_accepted / run.items,
                "usable_rows": sum(1 for r in run.records if r["usable"]),
            }
        )
        usable_rps = summary["usable_rows"] / makespan if makespan > 0 else float("nan")
        summary["usable_rps"] = usable_rps
    summary.update(run.extra)
    if "client_cpu_s" in summary:
        summary["client_cpu_ms_per_request"] = 1000 * summary["client_cpu_s"] / len(log)
    return summary


def _per_second(log: Sequence[Mapping[str, Any]], start: float, end: float) -> dict[str, list[int]]:
    seconds = int(math.ceil(end - start))
    ok, limited = [0] * seconds, [0] * seconds
    for e in log:
        if start <= e["arrival"] < end:
            slot = int(e["arrival"] - start)
            if e["status"] == 200:
                ok[slot] += 1
            elif e["status"] == 429:
                limited[slot] += 1
    return {"ok": ok, "429": limited}


# ---------------------------------------------------------------------------------------- cases
def case_latency(settings: CaseSettings, captions: Sequence[str], with_distilabel: bool) -> list[dict]:
    model = latency_model()
    items = build_items(settings.latency_items, captions, "lat")
    server = start_server(latency=model, seed=1)
    summaries = []
    try:
        engines = ["biomed_vital", "sdk"] + (["distilabel"] if with_distilabel else [])
        for name in engines:
            server.reset()
            if name == "biomed_vital":
                run = run_engine(server.base_url, items, case="latency")
            elif name == "sdk":
                run = run_sdk_floor(server.base_url, items, case="latency")
            else:
                run = run_distilabel(server.base_url, items, case="latency", server=server)
            run.log = server.request_log()
            summary = summarise(run)
            summary["analytic_mean_latency_s"] = analytic_mean_latency(model)
            summary["analytic_ideal_rps"] = CONCURRENCY / analytic_mean_latency(model)
            summaries.append(summary)
            _print_progress(summary)
    finally:
        server.stop()
    return summaries


def case_rate(settings: CaseSettings, captions: Sequence[str], with_distilabel: bool) -> list[dict]:
    # more items than any engine can send in the window, so nobody runs out of work
    n_items = int(RPM * max(settings.rate_seconds, settings.learn_seconds) / 60 * 1.5) + CONCURRENCY
    items = build_items(n_items, captions, "rate")
    tpm = tokens_per_minute_for(items, RPM)
    server = start_server(rpm=RPM, tpm=tpm, latency=latency_model(), seed=2)
    summaries = []
    try:
        plans: list[tuple[str, float]] = [("told", settings.rate_seconds), ("learn", settings.learn_seconds)]
        if with_distilabel:
            plans.append(("distilabel", settings.rate_seconds))
        for plan, seconds in plans:
            server.reset()
            if plan == "distilabel":
                run = run_distilabel(server.base_url, items, case="rate", server=server, stop_after=seconds)
            else:
                told = plan == "told"
                run = run_engine(
                    server.base_url,
                    items,
                    case="rate",
                    rpm=RPM if told else None,
                    tpm=tpm if told else None,
                    stop_after=seconds + 1.0,
                )
            run.log = server.request_log()
            run.records = None  # stopped by design: rows are not comparable
            summary = summarise(run, rpm=RPM, window=seconds)
            summary["server_rpm"], summary["server_tpm"] = RPM, tpm
            summary["notes"] = ", ".join(
                part for part in (summary["notes"], f"{seconds:.0f} s window") if part
            )
            summaries.append(summary)
            _print_progress(summary)
    finally:
        server.stop()
    return summaries


def case_faults(settings: CaseSettings, captions: Sequence[str], with_distilabel: bool) -> list[dict]:
    from biomed_vital.testing import FaultConfig

    items = build_items(settings.fault_items, captions, "fault")
    server = start_server(latency=latency_model(), faults=FaultConfig(**FAULT_MIX), seed=3)
    summaries = []
    try:
        plans = ["engine", "generator", "generator_retry"] + (["distilabel"] if with_distilabel else [])
        for plan in plans:
            server.reset()
            if plan == "engine":
                run = run_engine(server.base_url, items, case="faults")
                run.notes = "no content check (by design; callers validate)"
            elif plan == "distilabel":
                run = run_distilabel(server.base_url, items, case="faults", server=server)
            else:
                with tempfile.TemporaryDirectory(prefix="bench-figures-") as scratch:
                    figures = unique_demo_figures(settings.generator_fault_items, scratch)
                    retry_unusable = 2 if plan == "generator_retry" else 0
                    run = run_generator(
                        server.base_url, figures, case="faults", retry_unusable=retry_unusable
                    )
                    if retry_unusable:
                        run.notes += f", retry_unusable={retry_unusable}"
            run.log = server.request_log()
            summary = summarise(run)
            summaries.append(summary)
            _print_progress(summary)
    finally:
        server.stop()
    return summaries


MEMORY_IMAGE_SIDE = 128  # demo images are downscaled to this longest side before they are repeated


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
    Images are downscaled to ``MEMORY_IMAGE_SIDE`` first. The rows are written to an Arrow file
    under ``cache_dir`` and memory-mapped, like a Dataset a user loads from disk.
    """
    from datasets import Dataset

    import biomed_vital

    features = biomed_vital.load_demo_figures().features
    return Dataset.from_generator(
        _stamped_demo_rows,
        gen_kwargs={"n": n, "side": MEMORY_IMAGE_SIDE},
        features=features,
        cache_dir=str(cache_dir),
    )


def _status_kib(field_name: str) -> int:
    """A ``kB`` field of /proc/self/status (``VmRSS``, ``VmHWM``, ``RssAnon``), 0 where unavailable."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class _AnonymousRssSampler:
    """Samples this process's anonymous RSS (heap, not memory-mapped files) in a thread; keeps the peak.

    Peak RSS also counts the pages of the memory-mapped input Dataset that were read, which grow
    with the input however the generator is written; the anonymous part is what the generator
    itself holds.
    """

    def __init__(self, interval: float = 0.05) -> None:
        import threading

        self.interval = interval
        self.peak_kib = self._read()
        self.samples: list[tuple[float, int]] = [(time.monotonic(), self.peak_kib)]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _read() -> int:
        return _status_kib("RssAnon")

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            value = self._read()
            self.samples.append((time.monotonic(), value))
            self.peak_kib = max(self.peak_kib, value)

    def __enter__(self) -> _AnonymousRssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kib = max(self.peak_kib, self._read())


def memory_worker(dataset_dir: Path, base_url: str, out: Path) -> None:
    """Generate candidates for the figures saved in ``dataset_dir`` in this fresh process; write
    its peak RSS and the output size as JSON."""
    from datasets import load_from_disk

    from biomed_vital.generation import GPT4VGenerator, candidate_features

    rss_after_imports_kib = _status_kib("VmRSS")
    figures = load_from_disk(str(dataset_dir))  # memory-mapped
    rss_after_input_kib = _status_kib("VmRSS")
    cache_dir = tempfile.mkdtemp(prefix="bench-memory-cache-")
    generator = GPT4VGenerator(
        model=MODEL,
        base_url=base_url,
        api_key=API_KEY,
        max_concurrency=CONCURRENCY,
        cache_dir=cache_dir,
    )
    started = time.monotonic()
    try:
        with _AnonymousRssSampler() as anonymous:
            candidates = generator.generate(figures)
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    elapsed = time.monotonic() - started
    # Linux carries the parent's RSS high-water mark over fork+exec into ru_maxrss (it read the
    # harness's RSS, about 200 MiB, right after start-up), so the peak of this process is VmHWM,
    # which belongs to the address space exec created; ru_maxrss is kept for reference.
    peak_kib = _status_kib("VmHWM")
    ru_maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    added = [name for name in candidate_features() if name in candidates.column_names]
    output_added_bytes = sum(candidates.data.column(name).nbytes for name in added)
    result = {
        "rows": len(figures),
        "candidates": len(candidates),
        "ok": sum(1 for status in candidates["status"] if status == "ok"),
        "requests_sent": (generator.engine.last_summary.sent if generator.engine.last_summary else None),
        "peak_rss_mib": peak_kib / 1024,
        "ru_maxrss_mib": ru_maxrss_kib / 1024,
        "peak_anonymous_rss_mib": anonymous.peak_kib / 1024,
        "rss_after_imports_mib": rss_after_imports_kib / 1024,
        "rss_after_input_mib": rss_after_input_kib / 1024,
        "input_dataset_mib": figures.data.nbytes / 2**20,
        "output_dataset_mib": candidates.data.nbytes / 2**20,
        "output_added_columns_mib": output_added_bytes / 2**20,
        "output_in_memory": not candidates.cache_files,
        "anonymous_rss_samples": anonymous.samples,
        "seconds": elapsed,
    }
    out.write_text(json.dumps(result))


def _anonymous_peaks_by_phase(samples: Sequence[Sequence[float]], log: Sequence[Mapping[str, Any]]) -> dict:
    """Peak anonymous RSS before the first request (planning), while requests ran, and after the last
    answer (building the output), from the worker's samples and the server's log (one monotonic clock)."""
    first_arrival = min(e["arrival"] for e in log)
    last_finish = max(e["finish"] or e["arrival"] for e in log)
    phases = {"planning": [], "requests": [], "output": []}
    for moment, kib in samples:
        phase = "planning" if moment < first_arrival else "requests" if moment <= last_finish else "output"
        phases[phase].append(kib)
    return {
        f"peak_anonymous_{name}_mib": max(values) / 1024 if values else None
        for name, values in phases.items()
    }


def case_memory(settings: CaseSettings) -> list[dict]:
    server = start_server(latency=None, seed=4)
    summaries = []
    try:
        for rows in settings.memory_rows:
            with tempfile.TemporaryDirectory(prefix="bench-memory-") as scratch:
                dataset_dir = Path(scratch) / "figures"
                unique_demo_figures(rows, Path(scratch) / "hf-cache").save_to_disk(str(dataset_dir))
                out = Path(scratch) / "memory.json"
                command = [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--memory-worker",
                    str(dataset_dir),
                    "--base-url",
                    server.base_url,
                    "--worker-out",
                    str(out),
                ]
                completed = subprocess.run(command, cwd=REPO, timeout=900)
                if completed.returncode != 0 or not out.exists():
                    raise RuntimeError(f"memory worker for {rows} rows failed (exit {completed.returncode})")
                summary = json.loads(out.read_text())
            summary.update(
                _anonymous_peaks_by_phase(summary.pop("anonymous_rss_samples"), server.request_log())
            )
            server.reset()
            summaries.append(summary)
            print(
                f"  memory {rows:>6} rows: peak RSS {summary['peak_rss_mib']:.0f} MiB "
                f"(anonymous {summary['peak_anonymous_rss_mib']:.0f} MiB), "
                f"output {summary['output_dataset_mib']:.1f} MiB, {summary['seconds']:.1f} s",
                flush=True,
            )
    finally:
        server.stop()
    return summaries


def _print_progress(summary: Mapping[str, Any]) -> None:
    parts = [f"  {summary['case']:<8} {summary['engine']:<34} {summary.get('notes', '')}"]
    if summary["case"] == "rate":
        parts.append(f"limit {summary['fraction_of_limit']:.3f}, 429 {summary['share_429']:.1%}")
    else:
        parts.append(
            f"{summary['steady_rps']:.1f} req/s = {summary['steady_fraction_of_ideal']:.3f} of ideal"
        )
        if "rows_lost_or_blank" in summary:
            parts.append(
                f"lost {summary['rows_lost_or_blank']}, unusable kept {summary['unusable_accepted']}"
            )
    print(" | ".join(parts), flush=True)


# ---------------------------------------------------------------------------------------- report
def _fmt(value: Any, spec: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return format(value, spec)


def markdown_report(results: Mapping[str, Any]) -> str:
    """The results as markdown: the environment, one comparison table, and the memory table."""
    env = results["environment"]
    lines = [
        "# Generation request engine: benchmark results",
        "",
        f"Measured {env['date']} on {env['machine']} ({env['cpus']} CPUs), Python {env['python']}, "
        f"against the offline stand-in server in its own process (127.0.0.1).",
        f"Load (`uptime`) before: `{env['uptime_before']}`; after: `{env.get('uptime_after', 'n/a')}`.",
        f"Command: `{env['command']}`.",
        "",
        f"Same items and server for both engines; concurrency {CONCURRENCY} for both "
        f"(distilabel: `input_batch_size={CONCURRENCY}`), max_retries {MAX_RETRIES}, timeout {REQUEST_TIMEOUT} s, "
        f"max_tokens {MAX_TOKENS}.",
        "",
        "| case | engine | notes | requests | req/s | fraction of ideal | fraction of rate limit | "
        "429 share | rows lost or blank | unusable kept as valid | wall s | client CPU ms/request | load (1 min) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for summary in results.get("latency", []) + results.get("rate", []) + results.get("faults", []):
        rate_case = summary["case"] == "rate"
        rps = summary["rate_rps"] if rate_case else summary["steady_rps"]
        lost = summary.get("rows_lost_or_blank")
        unusable = summary.get("unusable_accepted")
        lines.append(
            "| {case} | {engine} | {notes} | {requests} | {rps} | {ideal} | {limit} | {r429} | {lost} | {bad} | {wall} "
            "| {cpu} | {load} |".format(
                case=summary["case"],
                engine=summary["engine"],
                notes=summary.get("notes", ""),
                requests=summary["requests"],
                rps=_fmt(rps, ".1f"),
                ideal="n/a" if rate_case else _fmt(summary["steady_fraction_of_ideal"]),
                limit=_fmt(summary.get("fraction_of_limit")) if rate_case else "n/a",
                r429=_fmt(summary["share_429"], ".1%"),
                lost="n/a (stopped)" if lost is None else f"{lost} ({lost / summary['items']:.1%})",
                bad="n/a" if unusable is None else f"{unusable} ({unusable / summary['items']:.1%})",
                wall=_fmt(summary["wall_seconds"], ".1f"),
                cpu=_fmt(summary.get("client_cpu_ms_per_request"), ".2f"),
                load=" -> ".join(f"{x:.1f}" for x in summary.get("load_1min", [])) or "n/a",
            )
        )
    lines += [
        "",
        "Definitions: *req/s* is requests answered 200 per second in the steady state (from the first "
        "request to the last item sent; the rate case: over its window); *fraction of ideal* divides it "
        "by concurrency / mean realised latency of that engine's 200 answers; *fraction of rate limit* "
        "counts requests answered 200 that arrived within the window from the engine's first request, "
        "over the limit times the window; *429 share* is over all requests (rate case: in the window); "
        "*unusable kept as valid* are output rows with malformed or truncated content; *client CPU* is the "
        "CPU time of the client process(es) (distilabel: the runner and its pipeline workers) per request "
        "the server saw; *load* is the 1-minute load average before -> after that engine's run.",
    ]
    latency = results.get("latency", [])
    if latency:
        first = latency[0]
        lines += [
            "",
            f"Latency model: log-normal, median {LATENCY_MEDIAN} s, p99 {LATENCY_P99} s; analytic mean "
            f"{first['analytic_mean_latency_s']:.3f} s (ideal {first['analytic_ideal_rps']:.1f} req/s). "
            "Realised mean latency and the end-to-end view (all items over the makespan, drain included):",
            "",
            "| engine | realised mean latency s | ideal req/s | steady req/s | makespan s | makespan fraction of ideal |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for s in latency:
            lines.append(
                f"| {s['engine']} | {s['mean_latency_s']:.3f} | {s['ideal_rps']:.1f} | {s['steady_rps']:.1f} | "
                f"{s['makespan_s']:.1f} | {s['makespan_fraction_of_ideal']:.3f} |"
            )
    memory = results.get("memory", [])
    if memory:
        lines += [
            "",
            f"Memory (`GPT4VGenerator`, zero-shot, rows with images of at most {MEMORY_IMAGE_SIDE} px, each size "
            "in a fresh process, input Dataset memory-mapped from disk, server without latency). *Peak RSS* is the "
            "worker's `VmHWM` (`ru_maxrss` is not usable here: Linux carries the parent's high-water mark "
            "over fork+exec into it, so it reports the harness's RSS); it also counts the pages of the "
            "memory-mapped input that were read. *Peak anonymous RSS* (sampled every 50 ms from "
            "/proc/self/status) leaves those out:",
            "",
            "| rows | requests | peak RSS MiB | peak anonymous RSS MiB | RSS after imports MiB | input Dataset MiB | "
            "output Dataset MiB | of which generated columns MiB | output in memory | "
            "peak anonymous RSS minus output MiB | peak anonymous MiB: planning / requests / building output | s |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---:|",
        ]
        for m in memory:
            lines.append(
                f"| {m['rows']} | {m['requests_sent']} | {m['peak_rss_mib']:.0f} | {m['peak_anonymous_rss_mib']:.0f} | "
                f"{m['rss_after_imports_mib']:.0f} | {m['input_dataset_mib']:.1f} | {m['output_dataset_mib']:.1f} | "
                f"{m['output_added_columns_mib']:.1f} | {'yes' if m.get('output_in_memory') else 'no'} | "
                f"{m['peak_anonymous_rss_mib'] - m['output_dataset_mib']:.0f} | "
                f"{_fmt(m.get('peak_anonymous_planning_mib'), '.0f')} / {_fmt(m.get('peak_anonymous_requests_mib'), '.0f')}"
                f" / {_fmt(m.get('peak_anonymous_output_mib'), '.0f')} | {m['seconds']:.1f} |"
            )
        if len(memory) >= 2:
            small, large = memory[0], memory[-1]
            lines += [
                "",
                f"From {small['rows']} to {large['rows']} rows: peak RSS grows "
                f"{large['peak_rss_mib'] - small['peak_rss_mib']:.0f} MiB, peak anonymous RSS "
                f"{large['peak_anonymous_rss_mib'] - small['peak_anonymous_rss_mib']:.0f} MiB; the input Dataset "
                f"grows {large['input_dataset_mib'] - small['input_dataset_mib']:.1f} MiB and the generated "
                f"columns {large['output_added_columns_mib'] - small['output_added_columns_mib']:.1f} MiB.",
            ]
    lines += [
        "",
        "Plot: `generation.png` (or `generation-quick.png` for --quick). What the numbers mean, with "
        "profiles and reproductions: `generation-notes.md`.",
        "",
    ]
    return "\n".join(lines)


def plot(results: Mapping[str, Any], path: Path) -> None:
    """A PNG comparing the engines on every case."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    colors = {"biomed_vital": "#1f77b4", "distilabel": "#ff7f0e"}

    def color(engine: str) -> str:
        if engine.startswith("openai SDK"):
            return "#7f7f7f"
        return colors["distilabel"] if engine.startswith("distilabel") else colors["biomed_vital"]

    def label(s: Mapping[str, Any]) -> str:
        name = s["engine"].replace(" TextGeneration", "").replace("biomed_vital ", "bv ")
        name = name.replace("openai SDK + Semaphore (reference)", "openai SDK +\nSemaphore (reference)")
        return f"{name}\n{s['notes']}" if s.get("notes") and s["case"] == "rate" else name

    ax = axes[0][0]
    latency = results.get("latency", [])
    if latency:
        ax.bar(
            [label(s) for s in latency],
            [s["steady_fraction_of_ideal"] for s in latency],
            color=[color(s["engine"]) for s in latency],
        )
        ax.axhline(0.9, color="grey", linestyle="--", label="target 0.9")
        ax.set_ylim(0, 1.1)
        ax.set_ylabel("throughput / ideal")
        ax.set_title("1. latency-bound: fraction of ideal (steady state)")
        ax.legend()

    ax = axes[0][1]
    rate = results.get("rate", [])
    for s in rate:
        per_second = s["per_second"]["ok"]
        window = 5
        smooth = [sum(per_second[i : i + window]) / window for i in range(0, len(per_second) - window + 1)]
        ax.plot(
            range(len(smooth)),
            smooth,
            label=f"{label(s).replace(chr(10), ' ')}: "
            f"{s['fraction_of_limit']:.2f} of limit, {s['share_429']:.0%} 429",
            color=None,
        )
    if rate:
        ax.axhline(RPM / 60, color="grey", linestyle="--", label=f"limit {RPM}/min")
        ax.set_xlabel("seconds from the engine's first request")
        ax.set_ylabel("requests answered 200 per second (5 s mean)")
        ax.set_title("2. rate-bound: admitted requests over time")
        ax.legend(fontsize=8)

    ax = axes[1][0]
    faults = results.get("faults", [])
    if faults:
        names = [label(s) for s in faults]
        x = range(len(faults))
        lost = [s["rows_lost_or_blank"] / s["items"] for s in faults]
        bad = [s["unusable_accepted"] / s["items"] for s in faults]
        ax.bar([i - 0.2 for i in x], lost, width=0.4, label="rows lost or blank", color="#d62728")
        ax.bar([i + 0.2 for i in x], bad, width=0.4, label="unusable kept as valid", color="#9467bd")
        ax.set_xticks(list(x), names)
        ax.set_ylabel("share of items")
        ax.set_title("3. 30% fault mix: lost and unusable rows")
        ax.legend()

    ax = axes[1][1]
    memory = results.get("memory", [])
    if memory:
        rows = [m["rows"] for m in memory]
        ax.plot(rows, [m["peak_rss_mib"] for m in memory], marker="o", label="peak RSS")
        ax.plot(rows, [m["peak_anonymous_rss_mib"] for m in memory], marker="^", label="peak anonymous RSS")
        ax.plot(
            rows,
            [m["rss_after_imports_mib"] + m["output_added_columns_mib"] for m in memory],
            marker="s",
            linestyle="--",
            label="RSS after imports + generated columns",
        )
        ax.set_xlabel("rows")
        ax.set_ylabel("MiB")
        ax.set_title("4. memory: GPT4VGenerator peak RSS")
        ax.legend()

    fig.suptitle(f"biomed_vital generation benchmarks ({results['environment']['date']})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def environment(argv: Sequence[str]) -> dict[str, Any]:
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "uptime_before": _uptime(),
        "command": " ".join([".venv/bin/python", "benchmarks/bench_generation.py", *argv]),
    }


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
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the harness (minutes)")
    parser.add_argument("--cases", default="latency,rate,faults,memory", help="comma-separated subset to run")
    parser.add_argument("--no-distilabel", action="store_true", help="run biomed_vital only")
    parser.add_argument("--rate-seconds", type=float, default=None, help="length of the rate-bound runs")
    parser.add_argument(
        "--learn-seconds", type=float, default=None, help="length of the learn-from-headers run"
    )
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--from-json", type=Path, default=None, help="rewrite the .md and .png from a saved results JSON"
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
        stem = args.from_json.stem
        report = markdown_report(results).replace("generation.png", f"{stem}.png", 1)
        args.from_json.with_suffix(".md").write_text(report, encoding="utf-8")
        plot(results, args.from_json.with_suffix(".png"))
        print(report)
        return 0

    settings = QUICK if args.quick else CaseSettings()
    if args.rate_seconds is not None:
        settings.rate_seconds = args.rate_seconds
    if args.learn_seconds is not None:
        settings.learn_seconds = args.learn_seconds
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(cases) - {"latency", "rate", "faults", "memory"}
    if unknown:
        raise SystemExit(f"unknown case(s) {sorted(unknown)}; choose from latency, rate, faults, memory")
    with_distilabel = not args.no_distilabel
    if with_distilabel and not DISTILABEL_PYTHON.exists():
        raise SystemExit(
            f"{DISTILABEL_PYTHON} not found: create it with `python3 -m venv .venv-bench && "
            ".venv-bench/bin/pip install -r benchmarks/requirements-distilabel.txt`, or pass --no-distilabel"
        )

    results: dict[str, Any] = {
        "environment": environment(argv),
        "settings": settings.__dict__,
        "quick": args.quick,
    }
    stem = "generation-quick" if args.quick else "generation"
    args.out_dir.mkdir(parents=True, exist_ok=True)
    partial = args.out_dir / f"{stem}.partial.json"
    captions = demo_captions()
    started = time.monotonic()
    for case in cases:
        print(f"case {case} ...", flush=True)
        if case == "latency":
            results["latency"] = case_latency(settings, captions, with_distilabel)
        elif case == "rate":
            results["rate"] = case_rate(settings, captions, with_distilabel)
        elif case == "faults":
            results["faults"] = case_faults(settings, captions, with_distilabel)
        elif case == "memory":
            results["memory"] = case_memory(settings)
        # a later case that fails must not lose the numbers of the earlier ones
        partial.write_text(json.dumps(_json_ready(results), indent=1), encoding="utf-8")
    results["environment"]["uptime_after"] = _uptime()
    results["environment"]["suite_seconds"] = round(time.monotonic() - started, 1)

    report = markdown_report(results)
    (args.out_dir / f"{stem}.md").write_text(
        report.replace("generation.png", f"{stem}.png", 1), encoding="utf-8"
    )
    (args.out_dir / f"{stem}.json").write_text(json.dumps(_json_ready(results), indent=1), encoding="utf-8")
    plot(results, args.out_dir / f"{stem}.png")
    partial.unlink(missing_ok=True)
    print(report)
    print(
        f"suite took {results['environment']['suite_seconds']:.0f} s; wrote {args.out_dir}/{stem}.md, .json, .png"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
