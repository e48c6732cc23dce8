"""Sampling benchmark: ``DemonstrationSampler.sample`` on pools of 10,000 and 100,000 figures with cached embeddings.

Run from the repository root::

    .venv/bin/python benchmarks/bench_sampling.py            # 10k and 100k figures (about 5 minutes on 2 cores)
    .venv/bin/python benchmarks/bench_sampling.py --quick    # 2k and 10k figures

Results go to ``benchmarks/results/sampling.md`` and ``sampling.json`` (``sampling-quick.*`` with ``--quick``).

For each size a pool is written to disk (a figures Dataset with one small PNG per figure) and the embedding
cache is filled with 768-d image and 768-d text vectors per figure (the widths of a ViT-B image tower and a
BERT-base text tower), drawn around 60 centres. Then a fresh process loads the pool and runs
``sample(pool, k=60)`` with encoders that refuse to compute, so every vector comes from the cache: it
fingerprints every image, reads the cache, clusters 1,536-d vectors with ``MiniBatchKMeans`` (60 clusters) and
draws. Reported: wall time of each phase, and the peak resident memory of the process tree sampled every
20 ms while it runs (``psutil``; not ``ru_maxrss``, which would also count the pool's memory-mapped pages).

All data is synthetic and labelled as such: images are generated noise patterns, captions are stand-in
sentences. This is a benchmark, not a test: nothing here asserts on speed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import numpy as np  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MODALITIES = ("chest_xray", "mri", "ct_scan", "histology", "gross", "other")
MODALITY_SHARE = (0.05, 0.25, 0.3, 0.25, 0.1, 0.05)
IMAGE_DIMS, TEXT_DIMS, CENTRES, K = 768, 768, 60, 60
IDENTITY = "benchmark-cached-encoders"


def synthetic_png(index: int, size: int = 16) -> bytes:
    """A generated noise pattern (synthetic benchmark image), PNG-encoded; every index gives a distinct image."""
    from PIL import Image

    rng = np.random.default_rng(index)
    pixels = rng.integers(0, 256, size=(size, size), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def build_pool(folder: Path, count: int) -> None:
    """A figures Dataset on disk and a filled embedding cache for it."""
    from datasets import Dataset, Features, Image, List, Value

    from biomed_vital.data import image_fingerprint
    from biomed_vital.sampling import EmbeddingCache, figure_text
    from biomed_vital.sampling.embedding_cache import text_key

    rng = np.random.default_rng(0)
    modalities = rng.choice(MODALITIES, size=count, p=MODALITY_SHARE)

    def rows():
        for index in range(count):
            yield {
                "id": f"synthetic-{index:06d}",
                "image": {"bytes": synthetic_png(index), "path": None},
                "caption": f"Synthetic stand-in caption number {index} for the sampling benchmark.",
                "mentions": [f"Synthetic stand-in mention {index}."],
                "modality": str(modalities[index]),
            }

    features = Features(
        {
            "id": Value("string"),
            "image": Image(),
            "caption": Value("string"),
            "mentions": List(Value("string")),
            "modality": Value("string"),
        }
    )
    pool = Dataset.from_generator(rows, features=features, cache_dir=str(folder / "hf-cache"))
    pool.save_to_disk(str(folder / "pool"))
    images = pool.cast_column("image", Image(decode=False))
    image_keys = [image_fingerprint(value) for value in images["image"]]
    text_keys = [
        text_key(figure_text(c, m, 1)) for c, m in zip(pool["caption"], pool["mentions"], strict=True)
    ]
    centres = rng.normal(size=(CENTRES, IMAGE_DIMS + TEXT_DIMS)).astype(np.float32)
    assignment = rng.integers(0, CENTRES, size=count)
    vectors = centres[assignment] + 0.5 * rng.normal(size=(count, IMAGE_DIMS + TEXT_DIMS)).astype(np.float32)
    cache_dir = folder / "embedding-cache"
    for start in range(0, count, 20_000):  # shards as a long embedding run would write them
        stop = min(start + 20_000, count)
        EmbeddingCache(cache_dir, f"{IDENTITY}:image").put(
            image_keys[start:stop], vectors[start:stop, :IMAGE_DIMS]
        )
        EmbeddingCache(cache_dir, f"{IDENTITY}:text").put(
            text_keys[start:stop], vectors[start:stop, IMAGE_DIMS:]
        )


class CachedOnlyEncoders:
    """Encoders whose vectors are all in the cache: computing one is an error."""

    def image_identity(self) -> str:
        return f"{IDENTITY}:image"

    def text_identity(self) -> str:
        return f"{IDENTITY}:text"

    def encode_images(self, images: Any) -> np.ndarray:
        raise RuntimeError("an image vector was not in the cache")

    def encode_texts(self, texts: Any) -> np.ndarray:
        raise RuntimeError("a text vector was not in the cache")


class TreeMemorySampler:
    """Peak RSS of this process and its children, sampled every ``interval`` seconds in a thread."""

    def __init__(self, interval: float = 0.02) -> None:
        import psutil

        self.process = psutil.Process()
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree_rss(self) -> int:
        import psutil

        total = 0
        for process in [self.process, *self.process.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._tree_rss())
            time.sleep(self.interval)

    def __enter__(self) -> TreeMemorySampler:
        self.peak = self._tree_rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._tree_rss())


def worker(folder: str) -> None:
    """Runs in a fresh process: load the pool, sample with cached embeddings, print the measurements as JSON."""
    from biomed_vital.sampling import DemonstrationSampler
    from biomed_vital.schema import load_stage

    pool = load_stage(Path(folder) / "pool")
    sampler = DemonstrationSampler(
        encoders=CachedOnlyEncoders(), n_clusters=CENTRES, cache_dir=str(Path(folder) / "embedding-cache")
    )
    with TreeMemorySampler() as memory:
        baseline = memory.peak
        started = time.perf_counter()
        vectors = sampler.embed(pool)
        embedded = time.perf_counter()
        drawn = sampler.sample(pool, k=K, embeddings=vectors)
        finished = time.perf_counter()
    print(
        json.dumps(
            {
                "figures": len(pool),
                "dims": int(vectors.shape[1]),
                "drawn": len(drawn),
                "clusters_drawn_from": len(set(drawn["cluster"])),
                "modalities_drawn": dict(
                    sorted(__import__("collections").Counter(drawn["modality"]).items())
                ),
                "embed_from_cache_s": round(embedded - started, 2),
                "cluster_and_draw_s": round(finished - embedded, 2),
                "total_s": round(finished - started, 2),
                "rss_before_mib": round(baseline / 2**20, 1),
                "peak_rss_mib": round(memory.peak / 2**20, 1),
            }
        )
    )


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2k and 10k figures")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return 0
    sizes = (2_000, 10_000) if args.quick else (10_000, 100_000)
    results: dict[str, Any] = {
        "benchmark": "DemonstrationSampler.sample with cached embeddings",
        "command": "python benchmarks/bench_sampling.py" + (" --quick" if args.quick else ""),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "load_average_before": load_average(),
        "settings": {
            "n_clusters": CENTRES,
            "k": K,
            "dims": IMAGE_DIMS + TEXT_DIMS,
            "stratify_by": "modality",
        },
        "runs": [],
    }
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-sampling-") as folder:
            started = time.perf_counter()
            build_pool(Path(folder), size)
            print(
                f"{size} figures: pool and cache built in {time.perf_counter() - started:.0f} s", flush=True
            )
            output = subprocess.run(
                [sys.executable, __file__, "--worker", folder],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            run = json.loads(output.strip().splitlines()[-1])
            print(json.dumps(run), flush=True)
            results["runs"].append(run)
    results["load_average_after"] = load_average()
    stem = "sampling-quick" if args.quick else "sampling"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Sampling benchmark",
        "",
        f"Command: `{results['command']}`. {CENTRES} clusters, k = {K}, {IMAGE_DIMS + TEXT_DIMS}-d joint embeddings "
        "read from the embedding cache, balanced over modalities. Peak RSS: the process tree, sampled every 20 ms.",
        f"Load average before / after: {results['load_average_before']} / {results['load_average_after']}; "
        f"{results['machine']['cpus']} CPUs.",
        "",
        "| figures | embeddings from cache | cluster + draw | total | peak RSS | RSS before |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for run in results["runs"]:
        lines.append(
            f"| {run['figures']:,} | {run['embed_from_cache_s']} s | {run['cluster_and_draw_s']} s | {run['total_s']} s "
            f"| {run['peak_rss_mib']:,.0f} MiB | {run['rss_before_mib']:,.0f} MiB |"
        )
    lines += [
        "",
        "Drawn per modality: "
        + "; ".join(f"{run['figures']:,} figures: {run['modalities_drawn']}" for run in results["runs"]),
        "",
    ]
    (RESULTS_DIR / f"{stem}.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
