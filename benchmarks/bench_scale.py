"""Benchmarks of the request engine at dataset scale: the cache to 1M entries, the engine over 1M requests,
batch-mode bookkeeping for 100k requests, and throughput over 1, 2 and 4 endpoints.

Full run (about 15 minutes on 2 cores; writes benchmarks/results/scale.md, .json and .png)::

    .venv/bin/python benchmarks/bench_scale.py

``--cases cache,engine,batch,endpoints`` runs a subset (the results of the others are kept from the
JSON already there), ``--quick`` uses small sizes to check the harness (writes scale-quick.*),
``--from-json benchmarks/results/scale.json`` rewrites the markdown and the plot.

Cases:

1. **cache** - one :class:`~biomed_vital.engine.ResponseCache` filled to 10k, 100k and 1M entries (answers
   of the size the stand-in writes, stored with ``put_many`` in chunks of 10,000). At each size: the time
   to look up 500 stored keys at once (``get_many``, per key, median of 20 draws), the time of one
   ``put`` (one committed transaction, as the engine stores each answer the moment it arrives; median of
   300) and the file size per entry (``responses.sqlite`` plus its WAL).
2. **engine** - :class:`~biomed_vital.engine.RequestEngine` over 10k, 100k and 1M requests in a fresh
   process each, against an in-process fake backend (a client object that answers at once, without
   HTTP), so that what is measured is the engine: the sliding window, the cache commit of every answer,
   the bookkeeping. Requests carry a ``build`` function and a precomputed key, as the tasks' do.
   The process's RSS is sampled every 50 ms while it runs: the peak, the RSS before the run (requests
   built) and after it (results held), and per request.
3. **batch** - 100,000 requests in batch mode against the stand-in in its own process (2 batch files of
   50,000; the stand-in answers each batch in 5 s). Time of each step on the client: writing and
   splitting the files, uploading, submitting, polling (the HTTP calls), waiting (sleeps between polls),
   downloading, reading the answers, storing them in the cache, and building the results; and the
   client's CPU time.
4. **endpoints** - throughput with 1, 2 and 4 stand-in servers, each in its own process with a fixed
   latency of 1 s and at most 8 requests answered at once (``max_in_flight``), so each endpoint
   answers at most 8 requests/s and the endpoints, not the 2 cores the client shares with the servers,
   are the bottleneck. The engine keeps 16 requests in flight per endpoint; 200 requests per endpoint
   (about 25 s). Throughput is
   answered requests over the engine's wall time; scaling is throughput(k) / (k x throughput(1)).

Each case records the 1-minute load average before and after it. Benchmarks are measurements, not tests:
nothing here asserts speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "benchmarks" / "results"
MODEL = "gpt-4o"
API_KEY = "sk-bench-local"
# an answer of the size the stand-in's generation replies have (about 1 KB of text)
REPLY = (
    "User: What does the image show?\nAssistant: The caption states a synthetic benchmark sentence. "
    "(offline stand-in reply)\n"
) * 8
FULL = {
    "cache_sizes": [10_000, 100_000, 1_000_000],
    "engine_sizes": [10_000, 100_000, 1_000_000],
    "batch_requests": 100_000,
    "batch_file": 50_000,
    "per_endpoint": 200,
    "endpoint_counts": [1, 2, 4],
}
QUICK = {
    "cache_sizes": [1_000, 10_000],
    "engine_sizes": [1_000, 10_000],
    "batch_requests": 2_000,
    "batch_file": 1_000,
    "per_endpoint": 96,
    "endpoint_counts": [1, 2],
}
ENDPOINT_LATENCY, ENDPOINT_SLOTS, ENGINE_SLOTS = 1.0, 8, 16


def load() -> float:
    return os.getloadavg()[0]


def text_body(i: int) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [
            {"role": "user", "content": f"Caption: Synthetic benchmark caption {i:07d} (stand-in text)."}
        ],
        "max_tokens": 300,
        "seed": i,
    }


def lazy_requests(n: int) -> list[Any]:
    """Requests as the tasks make them: a build function and a precomputed key."""
    from biomed_vital.engine import ChatRequest, request_key

    requests = []
    for i in range(n):
        body = text_body(i)
        requests.append(ChatRequest(build=lambda body=body: body, key=request_key(body), request_id=f"r{i}"))
    return requests


# ---------------------------------------------------------------------------------------- 1. cache
def case_cache(sizes: Sequence[int]) -> dict[str, Any]:
    from biomed_vital.engine import ResponseCache

    before = load()
    folder = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    cache = ResponseCache(folder)
    rng = random.Random(0)
    response = {
        "content": REPLY,
        "finish_reason": "stop",
        "usage": {"prompt_tokens": 120, "completion_tokens": 240},
        "model": MODEL,
        "request_model": MODEL,
    }
    rows, filled, fill_seconds = [], 0, 0.0
    for size in sizes:
        started = time.perf_counter()
        while filled < size:
            chunk = min(10_000, size - filled)
            cache.put_many((f"key-{filled + i:09d}", response, MODEL) for i in range(chunk))
            filled += chunk
        fill_seconds += time.perf_counter() - started
        lookups = []
        for _ in range(20):
            keys = [f"key-{rng.randrange(filled):09d}" for _ in range(500)]
            started = time.perf_counter()
            found = cache.get_many(keys)
            lookups.append((time.perf_counter() - started) / len(keys))
            assert len(found) == len(set(keys))
        commits = []
        for i in range(300):
            started = time.perf_counter()
            cache.put(f"extra-{size}-{i:04d}", response, model=MODEL)
            commits.append(time.perf_counter() - started)
        entries = len(cache)
        size_bytes = sum(p.stat().st_size for p in folder.glob("responses.sqlite*"))
        rows.append(
            {
                "entries": entries,
                "lookup_us_per_key": statistics.median(lookups) * 1e6,
                "commit_ms": statistics.median(commits) * 1e3,
                "commit_p95_ms": statistics.quantiles(commits, n=20)[18] * 1e3,
                "bytes_per_entry": size_bytes / entries,
                "fill_seconds_so_far": fill_seconds,
            }
        )
        print(
            f"  cache {entries:>9,}: lookup {rows[-1]['lookup_us_per_key']:.1f} us/key, "
            f"commit {rows[-1]['commit_ms']:.3f} ms, {rows[-1]['bytes_per_entry']:.0f} B/entry",
            flush=True,
        )
    cache.close()
    for path in folder.glob("*"):
        path.unlink()
    folder.rmdir()
    return {"rows": rows, "reply_bytes": len(REPLY), "load_1min": [before, load()]}


# ---------------------------------------------------------------------------------------- 2. engine
class _FakeRaw:
    headers: dict[str, str] = {}

    def __init__(self, completion: Any) -> None:
        self._completion = completion

    def parse(self) -> Any:
        return self._completion


class _FakeClient:
    """What the engine calls on an ``openai.AsyncOpenAI`` client, answered at once in this process."""

    def __init__(self) -> None:
        self.chat = SimpleNamespace(completions=SimpleNamespace(with_raw_response=self))

    async def create(self, **arguments: Any) -> _FakeRaw:
        message = SimpleNamespace(
            content=f"{REPLY}{arguments['seed']}"
        )  # one string per answer, as from a server
        usage = SimpleNamespace(prompt_tokens=24, completion_tokens=len(REPLY) // 4)
        choice = SimpleNamespace(message=message, finish_reason="stop")
        return _FakeRaw(SimpleNamespace(choices=[choice], usage=usage, model=arguments["model"]))

    async def close(self) -> None:
        return None


def _in_process_backend() -> Any:
    from biomed_vital.engine import BackendConfig

    class InProcessBackend(BackendConfig):
        def create_client(self) -> Any:
            return _FakeClient()

    return InProcessBackend(MODEL, base_url="http://in-process.invalid/v1", api_key=API_KEY)


def _status_kib(name: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


class RssSampler:
    """Samples this process's RSS every ``interval`` seconds in a thread; keeps the peak and the samples."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval, self.samples = interval, [(time.monotonic(), _status_kib("VmRSS"))]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.samples.append((time.monotonic(), _status_kib("VmRSS")))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.monotonic(), _status_kib("VmRSS")))

    @property
    def peak_kib(self) -> int:
        return max(value for _, value in self.samples)


def engine_worker(n: int, out: Path) -> None:
    """Run the engine over ``n`` requests in this fresh process; write timings and RSS as JSON."""
    from biomed_vital.engine import RequestEngine

    baseline = _status_kib("VmRSS")
    # a small run first, so the modules a run imports (the SDK, sqlite3) are not counted per request
    warm = RequestEngine(
        _in_process_backend(), cache_dir=tempfile.mkdtemp(), check_endpoint=False, show_progress=False
    )
    warm.run_sync(lazy_requests(100))
    requests = lazy_requests(n)
    folder = tempfile.mkdtemp(prefix="bench-engine-")
    engine = RequestEngine(
        _in_process_backend(), cache_dir=folder, check_endpoint=False, show_progress=False, max_concurrency=64
    )
    before = _status_kib("VmRSS")
    cpu = time.process_time()
    started = time.perf_counter()
    with RssSampler() as sampler:
        results = engine.run_sync(requests)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    after = _status_kib("VmRSS")
    assert len(results) == n and all(r.ok for r in results[:: max(1, n // 1000)])
    size = sum(p.stat().st_size for p in Path(folder).glob("responses.sqlite*"))
    sample = results[:: max(1, n // 1000)]
    results_bytes = n * statistics.mean(_result_bytes(r) for r in sample)
    out.write_text(
        json.dumps(
            {
                "requests": n,
                "wall_s": wall,
                "cpu_s": cpu,
                "per_second": n / wall,
                "rss_baseline_mib": baseline / 1024,
                "rss_before_mib": before / 1024,
                "rss_peak_mib": sampler.peak_kib / 1024,
                "rss_after_mib": after / 1024,
                "peak_over_before_bytes_per_request": (sampler.peak_kib - before) * 1024 / n,
                "peak_over_end_mib": (sampler.peak_kib - after) / 1024,
                "results_mib": results_bytes / 2**20,
                "overhead_bytes_per_request": ((sampler.peak_kib - before) * 1024 - results_bytes) / n,
                "cache_bytes_per_entry": size / n,
                "samples": len(sampler.samples),
                "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )


def _result_bytes(result: Any) -> int:
    """The memory one returned ChatResult holds: the object, its fields' strings and its dict."""
    parts = [result, result.__dict__, result.content, result.key, result.request_id, result.finish_reason]
    return sum(sys.getsizeof(part) for part in parts if part is not None)


def case_engine(sizes: Sequence[int]) -> dict[str, Any]:
    rows = []
    for n in sizes:
        before = load()
        out = Path(tempfile.mkstemp(suffix=".json")[1])
        subprocess.run(
            [sys.executable, __file__, "--engine-worker", str(n), "--worker-out", str(out)],
            check=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        row = json.loads(out.read_text())
        out.unlink()
        row["load_1min"] = [before, load()]
        rows.append(row)
        print(
            f"  engine {n:>9,}: {row['per_second']:,.0f} req/s, peak RSS {row['rss_peak_mib']:.0f} MiB "
            f"({row['peak_over_before_bytes_per_request']:.0f} B/request over the start), load {before:.1f}",
            flush=True,
        )
    return {"rows": rows}


# ---------------------------------------------------------------------------------------- 3. batch
def case_batch(n: int, per_file: int) -> dict[str, Any]:
    from biomed_vital.engine import BackendConfig, ChatRequest, RequestEngine
    from biomed_vital.testing import StandInServer
    from biomed_vital.testing.standin import StandInConfig

    before = load()
    requests = [ChatRequest(text_body(i), f"r{i}") for i in range(n)]
    with StandInServer(
        StandInConfig(batch_seconds=5.0, batch_validating_seconds=0.1), subprocess=True
    ) as server:
        engine = RequestEngine(
            BackendConfig(MODEL, base_url=server.base_url, api_key=API_KEY, timeout=300.0),
            cache_dir=tempfile.mkdtemp(prefix="bench-batch-"),
            batch=True,
            batch_max_requests=per_file,
            batch_poll_interval=1.0,
            show_progress=False,
        )
        cpu, started = time.process_time(), time.perf_counter()
        results = engine.run_sync(requests)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    report = engine.last_batch_report
    assert all(r.ok for r in results), "every request should be answered"
    steps = dict(report.seconds)
    print(
        f"  batch {n:,}: {wall:.1f} s wall, {cpu:.1f} s client CPU; "
        + ", ".join(f"{k} {v:.2f} s" for k, v in steps.items()),
        flush=True,
    )
    return {
        "requests": n,
        "batch_files": report.submitted_batches,
        "wall_s": wall,
        "client_cpu_s": cpu,
        "steps_s": steps,
        "bookkeeping_s": sum(v for k, v in steps.items() if k != "sleep"),
        "polls": report.polls,
        "load_1min": [before, load()],
    }


# ---------------------------------------------------------------------------------------- 4. endpoints
def case_endpoints(counts: Sequence[int], per_endpoint: int) -> dict[str, Any]:
    from biomed_vital.engine import BackendConfig, ChatRequest, RequestEngine
    from biomed_vital.testing import StandInServer
    from biomed_vital.testing.standin import StandInConfig

    config = StandInConfig(latency_median=ENDPOINT_LATENCY, max_in_flight=ENDPOINT_SLOTS)
    rows = []
    for count in counts:
        before = load()
        servers = [StandInServer(config, subprocess=True).start() for _ in range(count)]
        try:
            n = per_endpoint * count
            endpoints = [{"base_url": s.base_url, "max_concurrency": ENGINE_SLOTS} for s in servers]
            engine = RequestEngine(
                BackendConfig(MODEL, base_url=servers[0].base_url, api_key=API_KEY),
                cache_dir=tempfile.mkdtemp(prefix="bench-endpoints-"),
                endpoints=endpoints,
                show_progress=False,
            )
            engine.check()
            # a fresh seed range per run, so nothing is served from a cache
            requests = [ChatRequest(text_body(10**6 * count + i), f"r{i}") for i in range(n)]
            cpu, started = time.process_time(), time.perf_counter()
            results = engine.run_sync(requests)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            per_server = [sum(1 for e in s.request_log() if e["status"] == 200) for s in servers]
        finally:
            for server in servers:
                server.stop()
        ok = sum(r.ok for r in results)
        rows.append(
            {
                "endpoints": count,
                "requests": n,
                "ok": ok,
                "wall_s": wall,
                "client_cpu_s": cpu,
                "throughput": ok / wall,
                "ideal": count * ENDPOINT_SLOTS / ENDPOINT_LATENCY,
                "per_endpoint_answered": per_server,
                "load_1min": [before, load()],
            }
        )
        print(
            f"  endpoints {count}: {ok / wall:.1f} req/s (ideal {rows[-1]['ideal']:.0f}), split {per_server}, "
            f"load {before:.1f}",
            flush=True,
        )
    single = rows[0]["throughput"] if rows and rows[0]["endpoints"] == 1 else None
    for row in rows:
        row["scaling"] = row["throughput"] / (row["endpoints"] * single) if single else None
        row["of_ideal"] = row["throughput"] / row["ideal"]
    return {
        "rows": rows,
        "latency_s": ENDPOINT_LATENCY,
        "server_slots": ENDPOINT_SLOTS,
        "engine_slots": ENGINE_SLOTS,
    }


# ---------------------------------------------------------------------------------------- report
def markdown_report(results: Mapping[str, Any]) -> str:
    env = results["environment"]
    lines = [
        "# Scale benchmarks",
        "",
        f"{env['machine']}, {env['cpus']} CPUs, Python {env['python']}. Last command: `{env['command']}` on "
        f"{env['date']}, load before: {env['uptime_before']}. Each section names the command that wrote it "
        "(`--cases` reruns one section and keeps the others).",
        "",
    ]
    cache = results.get("cache")
    if cache:
        lines += [
            "## Cache: lookup, commit and size from 10k to 1M entries",
            "",
            _ran(cache),
            "",
            f"Answers of {cache['reply_bytes']:,} characters. Load {_load(cache)}.",
            "",
            "| entries | lookup (get_many of 500), us per key | one put (a commit), ms median | p95 ms | bytes per entry |",
            "|---|---|---|---|---|",
        ]
        for row in cache["rows"]:
            lines.append(
                f"| {row['entries']:,} | {row['lookup_us_per_key']:.1f} | {row['commit_ms']:.3f} | "
                f"{row['commit_p95_ms']:.3f} | {row['bytes_per_entry']:,.0f} |"
            )
        lines.append("")
    engine = results.get("engine")
    if engine:
        lines += [
            "## Engine over 10k to 1M requests (in-process fake backend)",
            "",
            _ran(engine),
            "",
            "| requests | wall s | requests/s | CPU s | RSS before MiB | peak MiB | after MiB | returned results MiB | peak over before, bytes per request | of which beyond the results | cache bytes per entry | load before/after |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in engine["rows"]:
            lines.append(
                f"| {row['requests']:,} | {row['wall_s']:.1f} | {row['per_second']:,.0f} | {row['cpu_s']:.1f} | "
                f"{row['rss_before_mib']:.0f} | {row['rss_peak_mib']:.0f} | {row['rss_after_mib']:.0f} | "
                f"{row['results_mib']:.0f} | {row['peak_over_before_bytes_per_request']:,.0f} | "
                f"{row['overhead_bytes_per_request']:,.0f} | "
                f"{row['cache_bytes_per_entry']:,.0f} | {_load(row)} |"
            )
        lines.append("")
    batch = results.get("batch")
    if batch:
        steps = batch["steps_s"]
        lines += [
            "## Batch mode: bookkeeping for 100k requests against the stand-in",
            "",
            _ran(batch),
            "",
            f"{batch['requests']:,} requests in {batch['batch_files']} batch files; wall {batch['wall_s']:.1f} s, "
            f"client CPU {batch['client_cpu_s']:.1f} s, {batch['polls']} polls; load {_load(batch)}.",
            "",
            "| step | seconds |",
            "|---|---|",
        ]
        lines += [f"| {name} | {value:.2f} |" for name, value in steps.items()]
        lines += [f"| **all but sleeping between polls** | **{batch['bookkeeping_s']:.2f}** |", ""]
    endpoints = results.get("endpoints")
    if endpoints:
        lines += [
            "## Throughput over 1, 2 and 4 endpoints",
            "",
            _ran(endpoints),
            "",
            f"Each endpoint: fixed latency {endpoints['latency_s']} s, {endpoints['server_slots']} requests answered at "
            f"once; the engine keeps {endpoints['engine_slots']} in flight per endpoint.",
            "",
            "| endpoints | requests | requests/s | of the endpoints' capacity | scaling vs 1 endpoint | answered per endpoint | client CPU s | load before/after |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in endpoints["rows"]:
            scaling = f"{row['scaling']:.3f}" if row["scaling"] is not None else "-"
            lines.append(
                f"| {row['endpoints']} | {row['requests']:,} | {row['throughput']:.1f} | {row['of_ideal']:.3f} | "
                f"{scaling} | {row['per_endpoint_answered']} | {row['client_cpu_s']:.1f} | {_load(row)} |"
            )
        lines.append("")
    lines.append("![cache and endpoints](scale.png)")
    return "\n".join(lines) + "\n"


def _ran(case: Mapping[str, Any]) -> str:
    ran = case.get("run")
    return f"`{ran['command']}` on {ran['date']}." if ran else "(command not recorded)"


def _load(row: Mapping[str, Any]) -> str:
    first, last = row["load_1min"]
    return f"{first:.1f} / {last:.1f}"


def plot(results: Mapping[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    cache = results.get("cache")
    if cache:
        entries = [row["entries"] for row in cache["rows"]]
        axes[0].plot(
            entries, [row["lookup_us_per_key"] for row in cache["rows"]], "o-", label="lookup, us per key"
        )
        axes[0].plot(
            entries, [row["commit_ms"] * 1000 for row in cache["rows"]], "s-", label="one commit, us"
        )
        axes[0].set_xscale("log")
        axes[0].set_ylim(bottom=0)
        axes[0].set_xlabel("entries in the cache")
        axes[0].set_title("cache: lookup and commit time")
        axes[0].legend()
    engine = results.get("engine")
    if engine:
        sizes = [row["requests"] for row in engine["rows"]]
        axes[1].plot(
            sizes,
            [row["peak_over_before_bytes_per_request"] for row in engine["rows"]],
            "o-",
            label="peak RSS over the start, bytes per request",
        )
        axes[1].set_xscale("log")
        axes[1].set_ylim(bottom=0)
        axes[1].set_xlabel("requests in one run")
        axes[1].set_title("engine memory per request")
        axes[1].legend()
    endpoints = results.get("endpoints")
    if endpoints:
        counts = [row["endpoints"] for row in endpoints["rows"]]
        axes[2].plot(counts, [row["throughput"] for row in endpoints["rows"]], "o-", label="measured")
        axes[2].plot(counts, [row["ideal"] for row in endpoints["rows"]], "--", label="endpoints' capacity")
        axes[2].set_xlabel("endpoints")
        axes[2].set_ylabel("requests/s")
        axes[2].set_xticks(counts)
        axes[2].set_title("throughput over endpoints")
        axes[2].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def environment(argv: Sequence[str]) -> dict[str, Any]:
    try:
        uptime = subprocess.run(["uptime"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        uptime = "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "uptime_before": uptime,
        "command": " ".join([".venv/bin/python", "benchmarks/bench_scale.py", *argv]),
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the harness")
    parser.add_argument(
        "--cases", default="cache,engine,batch,endpoints", help="comma-separated subset to run"
    )
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--from-json", type=Path, default=None, help="rewrite the .md and .png from saved results"
    )
    parser.add_argument("--engine-worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    if args.engine_worker is not None:
        engine_worker(args.engine_worker, args.worker_out)
        return 0
    if args.from_json is not None:
        results = json.loads(args.from_json.read_text(encoding="utf-8"))
        args.from_json.with_suffix(".md").write_text(markdown_report(results), encoding="utf-8")
        plot(results, args.from_json.with_suffix(".png"))
        return 0
    sizes = QUICK if args.quick else FULL
    stem = "scale-quick" if args.quick else "scale"
    json_path = args.out_dir / f"{stem}.json"
    results: dict[str, Any] = json.loads(json_path.read_text()) if json_path.is_file() else {}
    results["environment"] = environment(argv)
    cases = [case.strip() for case in args.cases.split(",") if case.strip()]
    for case in cases:
        print(f"{case} (load {load():.2f})", flush=True)
        if case == "cache":
            results["cache"] = case_cache(sizes["cache_sizes"])
        elif case == "engine":
            results["engine"] = case_engine(sizes["engine_sizes"])
        elif case == "batch":
            results["batch"] = case_batch(sizes["batch_requests"], sizes["batch_file"])
        elif case == "endpoints":
            results["endpoints"] = case_endpoints(sizes["endpoint_counts"], sizes["per_endpoint"])
        else:
            raise SystemExit(f"unknown case {case!r}; choose from cache, engine, batch, endpoints")
        results[case]["run"] = {
            "command": results["environment"]["command"],
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2), encoding="utf-8")
    report = markdown_report(results).replace("(scale.png)", f"({stem}.png)")
    (args.out_dir / f"{stem}.md").write_text(report, encoding="utf-8")
    plot(results, args.out_dir / f"{stem}.png")
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
