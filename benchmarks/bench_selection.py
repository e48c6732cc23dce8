"""Selection benchmarks: scoring overhead of ``select()``, its memory at 10k vs 100k candidates, and
training the selector on cached frozen features vs full fine-tuning.

Run from the repository root::

    .venv/bin/python benchmarks/bench_selection.py            # full run (about 15-20 minutes on 2 cores)
    .venv/bin/python benchmarks/bench_selection.py --quick    # smaller sizes (about 3 minutes)

Results go to ``benchmarks/results/selection.md``, ``selection.json`` and ``selection.png``
(``selection-quick.*`` with ``--quick``).

1. **Scoring overhead.** End-to-end ``select()`` throughput (read Arrow rows, decode PNGs, lay out the
   texts, tokenize, preprocess, forward) divided by the same model's forward throughput on the same
   batches pre-built as tensors (same batch size, same device). Target >= 0.9. Beside it: ``select()``'s
   reading alone (no model), the bound it sets when torch's threads take every core, and, for the small
   selectors, the ratio with one core left to the reading thread.
2. **Memory.** Peak RSS of a fresh process that loads an on-disk candidate pool and runs ``select()``
   over 10,000 and over 100,000 candidates. Target: the larger within 1.2x of the smaller.
3. **Training.** ``SelectorTrainer`` on cached frozen encoder features (``compute_features``) vs full
   fine-tuning of both encoders: time per epoch and held-out pairwise accuracy, same pairs and epochs.
4. **Building pairs.** ``PreferenceDataset.from_judge_scores`` over 100,000 judged rows on disk: time
   and peak memory in a fresh process.

All data here is synthetic and labelled as such: images are generated dot patterns, texts are plain
non-medical stand-in sentences. Numbers are ratios measured within one run on a shared machine; the
load average is recorded. This is a benchmark, not a test: nothing here asserts on speed.
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
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MODALITIES = ("chest_xray", "mri", "ct_scan", "histology", "gross", "other")
SHAPES = ("ring", "grid", "line", "cluster")

# ----------------------------------------------------------------------------- synthetic data


def synthetic_png(index: int, size: int) -> bytes:
    """A generated grey-level dot pattern (synthetic benchmark image), PNG-encoded."""
    from PIL import Image

    rng = np.random.default_rng(index)
    pixels = rng.normal(60 + (index % 5) * 30, 20, size=(size, size)).clip(0, 255).astype(np.uint8)
    for _ in range(3 + index % 7):
        y, x = rng.integers(2, size - 2, size=2)
        pixels[y - 2 : y + 2, x - 2 : x + 2] = 255
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def synthetic_conversation(index: int, turns: int, quality: int = 2) -> list[dict[str, str]]:
    """Stand-in (non-medical) question/answer turns; ``quality`` 2/1/0 gives full/short/evasive answers."""
    messages = []
    for turn in range(turns):
        shape = SHAPES[(index + turn) % len(SHAPES)]
        messages.append(
            {
                "role": "user",
                "content": f"Synthetic stand-in question {turn + 1}: how are the dots in the picture placed?",
            }
        )
        if quality == 2:
            answer = (
                f"Synthetic stand-in answer: the picture shows {3 + (index + turn) % 7} bright dots placed in a "
                f"{shape} near the {'left' if turn % 2 else 'right'} side, on a grey background."
            )
        elif quality == 1:
            answer = f"Synthetic stand-in answer: some dots in a {shape}."
        else:
            answer = "Synthetic stand-in answer: I am not sure."
        messages.append({"role": "assistant", "content": answer})
    return messages


def candidate_row(index: int, turns: int, png: bytes, quality: int = 2) -> dict[str, Any]:
    figure = index // 3
    return {
        "id": f"synthetic-figure-{figure}",
        "candidate_id": f"synthetic-candidate-{index}",
        "image": {"bytes": png, "path": None},
        "caption": f"Synthetic stand-in caption {figure}: a generated grey picture with bright dots.",
        "mentions": [f"Synthetic stand-in mention: picture {figure} is described in the text."],
        "modality": MODALITIES[figure % len(MODALITIES)],
        "messages": synthetic_conversation(index, turns, quality),
        "status": "ok",
    }


def candidate_features():
    from datasets import Features, Image, List, Value

    return Features(
        {
            "id": Value("string"),
            "candidate_id": Value("string"),
            "image": Image(),
            "caption": Value("string"),
            "mentions": List(Value("string")),
            "modality": Value("string"),
            "messages": List({"role": Value("string"), "content": Value("string")}),
            "status": Value("string"),
        }
    )


def _rows_generator(count: int, turns: int, image_px: int, distinct_images: int, images_shared_by: int = 1):
    pool = [synthetic_png(i, image_px) for i in range(distinct_images)]
    for index in range(count):
        yield candidate_row(index, turns, pool[(index // images_shared_by) % len(pool)])


def build_candidate_pool(
    path: Path, count: int, turns: int, image_px: int, distinct_images: int = 2000, images_shared_by: int = 1
):
    """Write an Arrow-backed candidate pool to ``path`` (``save_to_disk``), built with ``from_generator``.

    With ``images_shared_by=3`` each run of 3 consecutive candidates (one figure's, as ``candidate_row`` names
    them) carries the same image bytes, as a generator's candidates of one figure do.
    """
    from datasets import Dataset

    cache = path.parent / f"{path.name}-cache"
    dataset = Dataset.from_generator(
        _rows_generator,
        gen_kwargs={
            "count": count,
            "turns": turns,
            "image_px": image_px,
            "distinct_images": distinct_images,
            "images_shared_by": images_shared_by,
        },
        features=candidate_features(),
        cache_dir=str(cache),
    )
    dataset.save_to_disk(str(path))


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


# ----------------------------------------------------------------------------- 1. scoring overhead


def _significant(value: float) -> float:
    """`value` to 4 significant digits: rates from under 1 to thousands per second all keep their precision."""
    return float(f"{value:.4g}")


def _median_ratio(numerators: list[float], denominators: list[float]) -> float:
    return float(np.median(np.asarray(numerators) / np.asarray(denominators)))


# Selector sizes of the overhead benchmark: the smallest one, where every millisecond of row preparation
# shows; a mid-size one (224 px images, 4-layer towers); and the paper's architecture (the "biomed-vital"
# preset: BiomedCLIP's ViT-B/16 and BERT-base towers and the MLP head, untrained weights), with BiomedCLIP's
# image preprocessing (shortest side 224 bicubic, centre crop, its mean and std) and cut (256 tokens, right).
OVERHEAD_SIZES: dict[str, dict[str, int]] = {
    "tiny": {"image_px": 64, "source_px": 96, "hidden": 128, "layers": 2, "patch": 8},
    "mid": {"image_px": 224, "source_px": 256, "hidden": 256, "layers": 4, "patch": 16},
    "paper": {"image_px": 224, "source_px": 256, "hidden": 768, "layers": 12, "patch": 16},
}
# BiomedCLIP's preprocessing statistics (open_clip's OpenAI mean and std)
_BIOMEDCLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
_BIOMEDCLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def overhead_selector(size: str) -> tuple[Any, Any, str]:
    """The selector, its processor and a description for one size of the overhead benchmark."""
    shape = OVERHEAD_SIZES[size]
    if size == "paper":
        import torch
        from transformers import CLIPImageProcessorPil

        from biomed_vital.selection import SelectorConfig, SelectorModel, SelectorProcessor
        from biomed_vital.testing import build_tiny_tokenizer

        tokenizer = build_tiny_tokenizer(model_max_length=256)
        config = SelectorConfig.from_preset("biomed-vital")
        config.text_config.vocab_size = len(tokenizer)  # the stand-in tokenizer's vocabulary
        torch.manual_seed(0)
        model = SelectorModel(config)
        image_processor = CLIPImageProcessorPil(
            size={"shortest_edge": 224},
            crop_size={"height": 224, "width": 224},
            resample=3,
            image_mean=_BIOMEDCLIP_MEAN,
            image_std=_BIOMEDCLIP_STD,
        )
        processor = SelectorProcessor(
            image_processor=image_processor, tokenizer=tokenizer, truncation_side="right"
        )
        description = (
            'the paper\'s architecture ("biomed-vital" preset: ViT-B/16 224 px + BERT-base, 12 layers each, '
            f"MLP head 1,024-512-512-512-1, untrained), BiomedCLIP's preprocessing, max {processor.max_text_length} "
            f"tokens cut on the right, the stand-in byte-level tokenizer ({len(tokenizer)} tokens); "
            f"{sum(p.numel() for p in model.parameters()):,} parameters"
        )
        return model, processor, description
    from biomed_vital.testing import tiny_selector

    image_px, hidden, layers, patch = shape["image_px"], shape["hidden"], shape["layers"], shape["patch"]
    model, processor = tiny_selector(
        "vit",
        image_size=image_px,
        patch_size=patch,
        hidden_size=hidden,
        num_layers=layers,
        projection_dim=128,
        head_hidden_size=128,
    )
    description = (
        f"ViT (image {image_px} px, patch {patch}, hidden {hidden}, {layers} layers) + BERT (hidden {hidden}, "
        f"{layers} layers, max {processor.max_text_length} tokens), MLP head 128; "
        f"{sum(p.numel() for p in model.parameters()):,} parameters"
    )
    return model, processor, description


def bench_scoring_overhead(
    count: int,
    batch_size: int,
    turns: int,
    repeats: int,
    diagnose: bool = False,
    size: str = "tiny",
    spare_core_repeats: int = 0,
) -> dict[str, Any]:
    import torch
    from datasets import load_from_disk

    from biomed_vital.data import format_selector_text, qa_pairs
    from biomed_vital.selection import SelectionConfig, select

    # select()'s reader on its own, to time the reading without the model
    from biomed_vital.selection._rows import row_blocks, undecoded
    from biomed_vital.selection.scoring import _BlockReader, _CandidateBatch, _default_num_workers

    model, processor, description = overhead_selector(size)
    shape = OVERHEAD_SIZES[size]
    model.eval()
    workdir = Path(tempfile.mkdtemp(prefix="bench-selection-overhead-"))
    build_candidate_pool(workdir / "pool", count, turns, image_px=shape["source_px"], distinct_images=count)
    pool = load_from_disk(str(workdir / "pool"))
    # the same candidates, each figure's 3 sharing one image as a generator's candidates of a figure do
    build_candidate_pool(
        workdir / "shared",
        count,
        turns,
        image_px=shape["source_px"],
        distinct_images=count,
        images_shared_by=3,
    )
    shared_pool = load_from_disk(str(workdir / "shared"))

    # the same batches select() builds, prepared up front as tensors
    rows = pool.select_columns(["image", "caption", "mentions", "messages"])
    batches = []
    for start in range(0, count, batch_size):
        block = rows[start : start + batch_size]
        texts, owners = [], []
        for position, (caption, mentions, messages) in enumerate(
            zip(block["caption"], block["mentions"], block["messages"], strict=True)
        ):
            pairs = [format_selector_text(caption, mentions, q, a) for q, a in qa_pairs(messages)]
            texts.extend(pairs)
            owners.extend([position] * len(pairs))
        batch = dict(
            processor.preprocess_images([im.convert("RGB") for im in block["image"]], return_tensors="pt")
        )
        batch.update(processor.tokenize(texts, return_tensors="pt"))
        batch["owners"] = torch.tensor(owners)
        batches.append(batch)

    @torch.inference_mode()
    def forward_only() -> float:
        started = time.perf_counter()
        for batch in batches:
            image_features = model.encode_image(batch["pixel_values"])
            text_features = model.encode_text(
                batch["input_ids"], batch["attention_mask"], batch.get("token_type_ids")
            )
            scores = model.score_features(image_features[batch["owners"]], text_features).squeeze(-1)
            torch.zeros(len(batch["pixel_values"])).index_add_(0, batch["owners"], scores)
        return count / (time.perf_counter() - started)

    def end_to_end(candidates: Any = pool) -> float:
        started = time.perf_counter()
        select(candidates, model, processor, batch_size=batch_size)
        return count / (time.perf_counter() - started)

    def reading_only() -> float:
        """select()'s own reading of every block (Arrow rows, decoding, layout, tokenizing, preprocessing)."""
        reader = _BlockReader(
            undecoded(pool, ["image", "caption", "mentions", "messages"]),
            np.arange(count),
            _CandidateBatch(processor, SelectionConfig().score_by, None),
        )
        started = time.perf_counter()
        for block in row_blocks(count, batch_size):
            reader.read(block)
        return count / (time.perf_counter() - started)

    forward_only()  # warm-up: first-call allocations
    forward_rates, select_rates, shared_rates, reading_rates = [], [], [], []
    for _ in range(repeats):  # interleaved so that machine load hits all alike
        forward_rates.append(forward_only())
        reading_rates.append(reading_only())
        select_rates.append(end_to_end())
        shared_rates.append(end_to_end(shared_pool))
    # each repeat's select() and forward runs are neighbours in time, so their ratio is the least noisy
    ratio = _median_ratio(select_rates, forward_rates)
    # When torch's threads take every core, reading hardly hides behind the forward pass; if the two times
    # simply add, select() runs at t_forward / (t_forward + t_reading) of the forward's rate.
    bounds = [r / (r + f) for r, f in zip(reading_rates, forward_rates, strict=True)]
    spare_core: dict[str, Any] = {}
    default_threads = torch.get_num_threads()
    if spare_core_repeats and default_threads >= 2:
        # the same measurement with one core left to the reading thread: torch runs one thread fewer
        torch.set_num_threads(default_threads - 1)
        try:
            forward_spare, select_spare = [], []
            forward_only()
            for _ in range(spare_core_repeats):
                forward_spare.append(forward_only())
                select_spare.append(end_to_end())
        finally:
            torch.set_num_threads(default_threads)
        spare_core = {
            "torch_threads": default_threads - 1,
            "forward_candidates_per_s": [_significant(x) for x in forward_spare],
            "select_candidates_per_s": [_significant(x) for x in select_spare],
            "ratio_select_over_forward": round(_median_ratio(select_spare, forward_spare), 3),
        }
    workers = _default_num_workers(torch.device("cpu"))  # what select() picks for this model
    diagnosis: dict[str, Any] = {}
    if diagnose:
        # Where does the gap come from? The same measurement with the CPU split differently between the
        # DataLoader worker(s) and torch's intra-op threads, plus a profile of the in-process path.
        import cProfile
        import pstats

        default_threads = torch.get_num_threads()
        for threads in sorted({1, default_threads}):
            torch.set_num_threads(threads)
            for num_workers in (0, 1):
                forward, rates = [], []
                for _ in range(repeats):  # interleaved, as in the main measurement
                    forward.append(forward_only())
                    started = time.perf_counter()
                    select(pool, model, processor, batch_size=batch_size, num_workers=num_workers)
                    rates.append(count / (time.perf_counter() - started))
                diagnosis[f"torch_threads={threads}, num_workers={num_workers}"] = {
                    "forward_candidates_per_s": round(float(np.median(forward)), 1),
                    "select_candidates_per_s": round(float(np.median(rates)), 1),
                    "ratio": round(float(np.median(np.array(rates) / np.array(forward))), 3),
                }
        torch.set_num_threads(default_threads)
        profiler = cProfile.Profile()
        profiler.enable()
        select(pool, model, processor, batch_size=batch_size, num_workers=0)
        profiler.disable()
        stats = pstats.Stats(profiler)
        total = max(ct for (_, _, name), (_, _, _, ct, _) in stats.stats.items() if name == "select")

        def cumulative(file_end: str, function: str) -> float:
            return sum(
                ct
                for (file, _, name), (_, _, _, ct, _) in stats.stats.items()
                if name == function and file.endswith(file_end)
            )

        parts = {
            "encode_image": cumulative("modeling.py", "encode_image"),
            "encode_text": cumulative("modeling.py", "encode_text"),
            "score_features": cumulative("modeling.py", "score_features"),
            "rows: read Arrow, decode images, lay out texts, tokenize, preprocess": cumulative(
                "_rows.py", "__getitems__"
            ),
        }
        diagnosis["profile_num_workers_0"] = {
            "total_seconds": round(total, 2),
            **{name: {"seconds": round(v, 2), "share": round(v / total, 3)} for name, v in parts.items()},
        }
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(25)
        diagnosis["profile_num_workers_0_top25_cumulative"] = stream.getvalue().splitlines()[:60]
    return {
        "size": size,
        "diagnosis": diagnosis,
        "model": description,
        "candidates": count,
        "turns_per_candidate": turns,
        "batch_size": batch_size,
        "select_num_workers": workers,
        "torch_threads": torch.get_num_threads(),
        "forward_candidates_per_s": [_significant(x) for x in forward_rates],
        "select_candidates_per_s": [_significant(x) for x in select_rates],
        "ratio_select_over_forward": round(ratio, 3),
        "reading_candidates_per_s": [_significant(x) for x in reading_rates],
        "ratio_if_reading_adds_to_forward": round(float(np.median(bounds)), 3),
        "one_core_left_for_reading": spare_core,
        "select_images_shared_by_3_candidates_per_s": [_significant(x) for x in shared_rates],
        "ratio_shared_over_distinct_images": round(_median_ratio(shared_rates, select_rates), 3),
        "target": ">= 0.9",
    }


# ----------------------------------------------------------------------------- 2. memory


class _AnonymousMemorySampler:
    """Peak memory of this process and its children, sampled every 20 ms in a thread from /proc.

    ``RssAnon`` is what a process holds itself; ``VmRSS`` also counts the file-backed pages of the
    memory-mapped Arrow pool, which the kernel can drop at any time. Both are sampled while the run goes
    (``ru_maxrss`` cannot be used: a child inherits its parent's high-water mark over fork).
    """

    def __init__(self) -> None:
        import threading

        self.peak_kib = 0
        self.peak_rss_kib = 0
        self.peak_workers_kib = 0
        self.peak_workers_rss_kib = 0
        self.timeline: list[tuple[float, int]] = []  # (seconds, RssAnon KiB) once a second
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def current_kib(pid: int | str = "self", field: str = "RssAnon") -> int:
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith(f"{field}:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _sample(self, me: Any) -> int:
        current = self.current_kib()
        self.peak_kib = max(self.peak_kib, current)
        self.peak_rss_kib = max(self.peak_rss_kib, self.current_kib(field="VmRSS"))
        children = me.children(recursive=True)
        anonymous = sum(self.current_kib(child.pid) for child in children)
        resident = sum(self.current_kib(child.pid, "VmRSS") for child in children)
        self.peak_workers_kib = max(self.peak_workers_kib, anonymous)
        self.peak_workers_rss_kib = max(self.peak_workers_rss_kib, resident)
        return current

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        started = last = time.perf_counter()
        while not self._stop.wait(0.02):
            current = self._sample(me)
            now = time.perf_counter()
            if now - last >= 1.0:
                self.timeline.append((round(now - started, 1), current))
                last = now

    def __enter__(self) -> _AnonymousMemorySampler:
        self.peak_kib = self.current_kib()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kib = max(self.peak_kib, self.current_kib())


def _memory_worker(pool_path: str, batch_size: int) -> None:
    """Runs in a fresh process: load the pool, build a tiny selector, score everything, print peak RSS."""
    from datasets import load_from_disk

    from biomed_vital.selection import select
    from biomed_vital.testing import tiny_selector

    pool = load_from_disk(pool_path)
    model, processor = tiny_selector("vit", image_size=32, patch_size=8, hidden_size=32, num_layers=1)
    before = _AnonymousMemorySampler.current_kib(field="VmRSS") / 1024
    anonymous_before = _AnonymousMemorySampler.current_kib() / 1024
    started = time.perf_counter()
    with _AnonymousMemorySampler() as sampler:
        selected = select(pool, model, processor, top_fraction=0.1, batch_size=batch_size)
    elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "candidates": len(pool),
                "selected": len(selected),
                "seconds": round(elapsed, 1),
                "rss_before_select_mib": round(before, 1),
                "peak_rss_mib": round(sampler.peak_rss_kib / 1024, 1),
                "peak_rss_workers_mib": round(sampler.peak_workers_rss_kib / 1024, 1),
                "anonymous_rss_before_select_mib": round(anonymous_before, 1),
                "peak_anonymous_rss_mib": round(sampler.peak_kib / 1024, 1),
                "peak_anonymous_rss_workers_mib": round(sampler.peak_workers_kib / 1024, 1),
                "anonymous_rss_at_25_50_75_100_percent_mib": _timeline_quartiles(sampler.timeline),
            }
        )
    )


def _timeline_quartiles(timeline: list[tuple[float, int]]) -> list[float]:
    if not timeline:
        return []
    positions = [max(0, min(len(timeline) - 1, round(q * len(timeline)) - 1)) for q in (0.25, 0.5, 0.75, 1.0)]
    return [round(timeline[p][1] / 1024, 1) for p in positions]


def _ratio(large: float, small: float) -> float | None:
    return round(large / small, 3) if small else None


def bench_memory(sizes: list[int], batch_size: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-selection-memory-"))
    runs = []
    for size in sizes:
        path = workdir / f"pool-{size}"
        started = time.perf_counter()
        code = (
            f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_selection as b; "
            f"from pathlib import Path; b.build_candidate_pool(Path({str(path)!r}), {size}, turns=1, image_px=48)"
        )
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        build_seconds = time.perf_counter() - started
        result = subprocess.run(
            [sys.executable, __file__, "--memory-worker", str(path), "--batch-size", str(batch_size)],
            check=True,
            capture_output=True,
            text=True,
        )
        run = json.loads(result.stdout.strip().splitlines()[-1])
        run["pool_build_seconds"] = round(build_seconds, 1)
        run["pool_on_disk_mib"] = round(
            sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1
        )
        runs.append(run)
    small, large = runs[0], runs[-1]
    return {
        "runs": runs,
        "ratio_peak_rss_large_over_small": round(large["peak_rss_mib"] / small["peak_rss_mib"], 3),
        "ratio_peak_anonymous_rss_large_over_small": round(
            large["peak_anonymous_rss_mib"] / small["peak_anonymous_rss_mib"], 3
        ),
        # None when select() started no worker processes (rows are read in a thread)
        "ratio_peak_anonymous_rss_workers_large_over_small": _ratio(
            large["peak_anonymous_rss_workers_mib"], small["peak_anonymous_rss_workers_mib"]
        ),
        "ratio_peak_rss_workers_large_over_small": _ratio(
            large["peak_rss_workers_mib"], small["peak_rss_workers_mib"]
        ),
        "target": "<= 1.2",
    }


# ----------------------------------------------------------------------------- 3. cached features vs fine-tuning


def _judged_for_training(figures: int, image_px: int):
    """Three candidates per synthetic figure (full, short, evasive answers) with judge-style scores."""
    from datasets import Dataset

    rng = np.random.default_rng(0)
    rows = []
    for figure in range(figures):
        png = synthetic_png(10_000 + figure, image_px)
        for quality, base in ((2, 8.0), (1, 5.0), (0, 2.0)):
            index = 3 * figure + (2 - quality)
            row = candidate_row(index, turns=1, png=png, quality=quality)
            row["judge_score"] = float(np.clip(base + rng.normal(0, 0.7), 0, 10))
            row["judge_status"] = "ok"
            rows.append(row)
    features = candidate_features()
    from datasets import Value

    features["judge_score"] = Value("float64")
    features["judge_status"] = Value("string")
    return Dataset.from_list(rows, features=features)


def bench_training(figures: int, epochs: int, batch_size: int) -> dict[str, Any]:
    from biomed_vital.preferences import PreferenceDataset, train_test_split_by_figure
    from biomed_vital.selection import SelectorTrainer, SelectorTrainingConfig, compute_features
    from biomed_vital.testing import tiny_selector

    image_px = 32
    judged = _judged_for_training(figures, image_px)
    pairs = PreferenceDataset.from_judge_scores(judged, min_gap=2.0, pairs_per_item=2, seed=0)
    splits = train_test_split_by_figure(pairs, test_size=0.2, seed=0, stratify_by_source=False)
    results: dict[str, Any] = {
        "model": f"ViT (image {image_px} px, patch 8, hidden 64, 2 layers) + BERT (hidden 64, 2 layers)",
        "figures": figures,
        "train_pairs": len(splits["train"]),
        "test_pairs": len(splits["test"]),
        "epochs": epochs,
        "batch_size": batch_size,
    }
    outdir = Path(tempfile.mkdtemp(prefix="bench-selection-train-"))
    for mode in ("cached_frozen_features", "full_fine_tuning"):
        frozen = mode == "cached_frozen_features"
        model, processor = tiny_selector(
            "vit",
            image_size=image_px,
            patch_size=8,
            hidden_size=64,
            num_layers=2,
            seed=0,
            freeze_vision=frozen,
            freeze_text=frozen,
            projection_dim=64,
            head_hidden_size=64,
        )
        train, test = splits["train"], splits["test"]
        cache_seconds = 0.0
        # SelectorTrainer truncates texts from the left (the answer comes last in the layout); cached
        # features must be computed the same way or chosen and rejected texts lose their answers
        processor.tokenizer.truncation_side = "left"
        if frozen:
            started = time.perf_counter()
            train = compute_features(train, model, processor, batch_size=64)
            test = compute_features(test, model, processor, batch_size=64)
            cache_seconds = time.perf_counter() - started
        args = SelectorTrainingConfig(
            str(outdir / mode),
            num_train_epochs=epochs,
            per_device_train_batch_size=batch_size,
            per_device_eval_batch_size=64,
            learning_rate=1e-3,
            use_cpu=True,
            report_to="none",
            save_strategy="no",
            logging_steps=1000,
            seed=0,
            dataloader_num_workers=0,
            disable_tqdm=True,
        )
        trainer = SelectorTrainer(model, args, train_dataset=train, processing_class=processor)
        before = trainer.evaluate(test)
        output = trainer.train()
        after = trainer.evaluate(test)
        runtime = output.metrics["train_runtime"]
        results[mode] = {
            "feature_caching_seconds": round(cache_seconds, 2),
            "seconds_per_epoch": round(runtime / epochs, 2),
            "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "test_accuracy_before": round(
                before.get("eval_pairwise_accuracy", before.get("eval_accuracy")), 3
            ),
            "test_accuracy_after": round(after.get("eval_pairwise_accuracy", after.get("eval_accuracy")), 3),
        }
    cached, full = results["cached_frozen_features"], results["full_fine_tuning"]
    results["speedup_per_epoch"] = round(
        full["seconds_per_epoch"] / max(cached["seconds_per_epoch"], 1e-9), 2
    )
    return results


# ----------------------------------------------------------------------------- 4. building pairs at scale


def _pairs_worker(pool_path: str) -> None:
    """Runs in a fresh process: judge-score pairs from an on-disk judged pool; prints time and memory."""
    from datasets import load_from_disk

    from biomed_vital.preferences import PreferenceDataset

    judged = load_from_disk(pool_path)
    anonymous_before = _AnonymousMemorySampler.current_kib() / 1024
    started = time.perf_counter()
    with _AnonymousMemorySampler() as sampler:
        pairs = PreferenceDataset.from_judge_scores(judged, min_gap=2.0, pairs_per_item=2, seed=0)
    elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "judged_rows": len(judged),
                "pairs": len(pairs),
                "seconds": round(elapsed, 1),
                "pairs_memory_mapped": bool(pairs.cache_files),
                "anonymous_rss_before_mib": round(anonymous_before, 1),
                "peak_anonymous_rss_mib": round(sampler.peak_kib / 1024, 1),
                "peak_rss_mib": round(sampler.peak_rss_kib / 1024, 1),
            }
        )
    )


def _judged_rows_generator(count: int, image_px: int, distinct_images: int):
    pool = [synthetic_png(i, image_px) for i in range(distinct_images)]
    rng = np.random.default_rng(0)
    for index in range(count):
        row = candidate_row(index, turns=2, png=pool[(index // 3) % len(pool)], quality=int(index % 3))
        failed = index % 50 == 0  # a judge failure now and then: null score, counted, never paired
        turn_scores = [float(x) for x in rng.integers(0, 11, size=2)]
        row["judge_turn_scores"] = [None, turn_scores[1]] if failed else turn_scores
        row["judge_score"] = None if failed else float(np.mean(turn_scores))
        row["judge_status"] = "parse_error" if failed else "ok"
        yield row


def bench_pairs(count: int) -> dict[str, Any]:
    from datasets import Dataset, List, Value

    workdir = Path(tempfile.mkdtemp(prefix="bench-selection-pairs-"))
    features = candidate_features()
    features["judge_score"] = Value("float64")
    features["judge_status"] = Value("string")
    features["judge_turn_scores"] = List(Value("float64"))
    started = time.perf_counter()
    Dataset.from_generator(
        _judged_rows_generator,
        gen_kwargs={"count": count, "image_px": 48, "distinct_images": 2000},
        features=features,
        cache_dir=str(workdir / "cache"),
    ).save_to_disk(str(workdir / "judged"))
    build_seconds = time.perf_counter() - started
    result = subprocess.run(
        [sys.executable, __file__, "--pairs-worker", str(workdir / "judged")],
        check=True,
        capture_output=True,
        text=True,
    )
    run = json.loads(result.stdout.strip().splitlines()[-1])
    run["judged_pool_build_seconds"] = round(build_seconds, 1)
    return run


# ----------------------------------------------------------------------------- report


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    overhead = results.get("scoring_overhead")
    if overhead:
        values = [
            np.median(overhead["forward_candidates_per_s"]),
            np.median(overhead["select_candidates_per_s"]),
        ]
        axes[0].bar(
            ["forward only\n(pre-built tensors)", "select()\nend to end"], values, color=["grey", "tab:blue"]
        )
        axes[0].set_ylabel("candidates / s (median)")
        ratio = _median_ratio(overhead["select_candidates_per_s"], overhead["forward_candidates_per_s"])
        axes[0].set_title(f"1. scoring overhead: median ratio {ratio:.2f} (target >= 0.9)")
    memory = results.get("memory")
    if memory:
        labels = [f"{run['candidates']:,}" for run in memory["runs"]]
        x = np.arange(len(labels))
        series = [
            ("peak_anonymous_rss_mib", "main, anonymous"),
            ("peak_anonymous_rss_workers_mib", "worker, anonymous"),
            ("peak_rss_workers_mib", "worker, incl. mapped file pages"),
        ]
        width = 0.8 / len(series)
        for offset, (key, label) in enumerate(series):
            values = [r.get(key, 0.0) for r in memory["runs"]]
            axes[1].bar(x - 0.4 + width * (offset + 0.5), values, width, label=label)
        axes[1].set_xticks(x, labels)
        axes[1].set_xlabel("candidates scored")
        axes[1].set_ylabel("peak RSS during select() (MiB)")
        ratio = memory.get(
            "ratio_peak_anonymous_rss_large_over_small", memory["ratio_peak_rss_large_over_small"]
        )
        axes[1].set_title(f"2. memory: anonymous ratio {ratio:.2f} (target <= 1.2)")
        axes[1].legend(fontsize=8)
    training = results.get("training")
    if training:
        modes = ["cached_frozen_features", "full_fine_tuning"]
        seconds = [training[m]["seconds_per_epoch"] for m in modes]
        accuracy = [training[m]["test_accuracy_after"] for m in modes]
        axes[2].bar([0, 1], seconds, color=["tab:green", "tab:orange"])
        axes[2].set_xticks([0, 1], ["cached frozen\nfeatures", "full\nfine-tuning"])
        axes[2].set_ylabel("seconds per epoch")
        twin = axes[2].twinx()
        twin.plot([0, 1], accuracy, "ko-", label="held-out pairwise accuracy")
        twin.set_ylim(0, 1.05)
        twin.set_ylabel("pairwise accuracy")
        twin.legend(loc="upper left", fontsize=8)
        axes[2].set_title(f"3. training, {training['epochs']} epochs")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _overhead_lines(overhead: dict[str, Any], heading: str) -> list[str]:
    """The Markdown of one scoring-overhead measurement."""
    lines: list[str] = []
    lines += [
        f"## 1. Scoring overhead of `select()`: {heading}",
        "",
        f"Model: {overhead['model']}. {overhead['candidates']:,} candidates, {overhead['turns_per_candidate']} "
        f"question/answer turns each (scored per turn and averaged), batch {overhead['batch_size']}, "
        f"`select()` workers {overhead['select_num_workers']}, torch threads {overhead['torch_threads']}.",
        "",
        "| | candidates/s (each repeat) | median |",
        "|---|---|---|",
        f"| forward only, pre-built tensors | {overhead['forward_candidates_per_s']} | "
        f"{np.median(overhead['forward_candidates_per_s']):.4g} |",
        f"| `select()` end to end | {overhead['select_candidates_per_s']} | "
        f"{np.median(overhead['select_candidates_per_s']):.4g} |",
        "",
        f"**Ratio select / forward, median over repeats: {overhead['ratio_select_over_forward']:.3f}** "
        f"(target >= 0.9; per repeat: "
        f"{[round(a / b, 2) for a, b in zip(overhead['select_candidates_per_s'], overhead['forward_candidates_per_s'], strict=True)]}).",
        "",
    ]
    if "reading_candidates_per_s" in overhead:
        reading, forward = overhead["reading_candidates_per_s"], overhead["forward_candidates_per_s"]
        per_block = overhead["batch_size"] * 1000
        lines += [
            f"`select()`'s reading alone (its reader over every block: Arrow rows, image decoding and "
            f"preprocessing, text layout and tokenizing; no model): {reading} candidates/s, median "
            f"{np.median(reading):.4g}, that is {per_block / np.median(reading):.4g} ms per block of "
            f"{overhead['batch_size']} candidates against {per_block / np.median(forward):.4g} ms of forward pass. "
            "When torch's threads take every core, the reading hardly hides behind the forward pass: if the two "
            "times simply add, select() runs at t_forward / (t_forward + t_reading) of the forward's rate, "
            f"**{overhead['ratio_if_reading_adds_to_forward']:.3f}** here (median per repeat).",
            "",
        ]
    spare = overhead.get("one_core_left_for_reading")
    if spare:
        lines += [
            f"With one core left to the reading thread (torch threads {spare['torch_threads']}, forward measured "
            f"with the same threads): forward only {spare['forward_candidates_per_s']}, `select()` "
            f"{spare['select_candidates_per_s']} candidates/s; **ratio {spare['ratio_select_over_forward']:.3f}** "
            "(median over repeats).",
            "",
        ]
    if "select_images_shared_by_3_candidates_per_s" in overhead:
        shared = overhead["select_images_shared_by_3_candidates_per_s"]
        lines += [
            "The same candidates with each figure's 3 candidates sharing one image (as a generator's candidates of a "
            f"figure do), `select()` end to end: {shared} candidates/s, median {np.median(shared):.4g}; "
            f"**{overhead['ratio_shared_over_distinct_images']:.2f}x** the distinct-image pool's rate (median of "
            "per-repeat ratios): each image is decoded, preprocessed and encoded once per block.",
            "",
        ]
    diagnosis = {k: v for k, v in overhead.get("diagnosis", {}).items() if k.startswith("torch_threads")}
    if diagnosis:
        lines += [
            "Split of the CPU between torch threads and DataLoader workers (medians):",
            "",
            "| setting | forward candidates/s | select candidates/s | ratio |",
            "|---|---|---|---|",
        ]
        for setting, row in diagnosis.items():
            lines.append(
                f"| {setting} | {row['forward_candidates_per_s']} | {row['select_candidates_per_s']} | {row['ratio']} |"
            )
        lines.append("")
    profile = overhead.get("diagnosis", {}).get("profile_num_workers_0")
    if profile:
        lines += [
            f"Profile of `select(num_workers=0)` (everything in one process): {profile['total_seconds']} s in all.",
            "",
            "| part | seconds | share |",
            "|---|---|---|",
        ]
        for name, row in profile.items():
            if isinstance(row, dict):
                lines.append(f"| {name} | {row['seconds']} | {row['share']:.1%} |")
        lines += [
            "",
            "The row pipeline's share is what `select()` adds to the forward pass when it runs in the same "
            "process. With DataLoader workers it overlaps the model, which needs a spare core: on 2 shared "
            "cores the worker competes with torch's intra-op threads, so the ratio follows the machine's load "
            "(compare the repeats above).",
            "",
        ]
    return lines


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Selection benchmarks",
        "",
        f"Command: `{results['command']}`  ",
        f"Machine: {results['machine']}  ",
        f"Load before: `{results['uptime_before']}`  ",
        f"Load after: `{results['uptime_after']}`"
        + (
            "  \nParts rerun since are listed at the end with their load."
            if results.get("partial_runs")
            else ""
        ),
        "",
        "All data is synthetic (generated dot-pattern images, non-medical stand-in text). Ratios are measured "
        "within one run on a shared machine.",
        "",
    ]
    for key, heading in (
        ("scoring_overhead", "tiny selector"),
        ("scoring_overhead_mid", "mid-size selector"),
        ("scoring_overhead_paper", "the paper's selector architecture"),
    ):
        if results.get(key):
            lines += _overhead_lines(results[key], heading)
    memory = results.get("memory")
    if memory:
        lines += [
            "## 2. Peak memory of `select()`, on-disk pool, fresh process per size",
            "",
            "| candidates | pool on disk (MiB) | seconds | RSS before select (MiB) | peak RSS main (MiB) | "
            "peak anonymous RSS main (MiB) | main anonymous RSS at 25/50/75/100 % of the run (MiB) | "
            "peak RSS of the workers, summed (MiB) | peak anonymous RSS of the workers, summed (MiB) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for run in memory["runs"]:
            lines.append(
                f"| {run['candidates']:,} | {run['pool_on_disk_mib']} | {run['seconds']} | {run['rss_before_select_mib']} | "
                f"{run['peak_rss_mib']} | {run['peak_anonymous_rss_mib']} | "
                f"{run.get('anonymous_rss_at_25_50_75_100_percent_mib', '')} | {run['peak_rss_workers_mib']} | "
                f"{run.get('peak_anonymous_rss_workers_mib', '')} |"
            )
        lines += [
            "",
            f"**Ratio large / small of peak RSS: main {memory['ratio_peak_rss_large_over_small']:.3f} "
            f"(anonymous only: {memory['ratio_peak_anonymous_rss_large_over_small']:.3f}), workers "
            + (
                f"{memory['ratio_peak_rss_workers_large_over_small']:.3f} (anonymous only: "
                f"{memory['ratio_peak_anonymous_rss_workers_large_over_small']:.3f})** "
                if memory.get("ratio_peak_rss_workers_large_over_small") is not None
                else "none (select() read rows in a thread, in the main process))** "
            )
            + "Memory is sampled every 20 ms from /proc while select() runs. "
            "(target <= 1.2). Peak RSS counts the "
            "file-backed pages of the memory-mapped pool that the kernel may drop; anonymous RSS is what the "
            "process holds itself.",
            "",
        ]
    training = results.get("training")
    if training:
        cached, full = training["cached_frozen_features"], training["full_fine_tuning"]
        lines += [
            "## 3. Training: cached frozen features vs full fine-tuning",
            "",
            f"Model: {training['model']}. {training['train_pairs']} training pairs, {training['test_pairs']} held-out "
            f"pairs (split by figure), {training['epochs']} epochs, batch {training['batch_size']}. Pairs come from "
            "`PreferenceDataset.from_judge_scores` over synthetic candidates whose scores follow answer completeness.",
            "",
            "| | feature caching (s, once) | s / epoch | trainable parameters | held-out accuracy before | after |",
            "|---|---|---|---|---|---|",
            f"| cached frozen features | {cached['feature_caching_seconds']} | {cached['seconds_per_epoch']} | "
            f"{cached['trainable_parameters']:,} | {cached['test_accuracy_before']} | {cached['test_accuracy_after']} |",
            f"| full fine-tuning | - | {full['seconds_per_epoch']} | {full['trainable_parameters']:,} | "
            f"{full['test_accuracy_before']} | {full['test_accuracy_after']} |",
            "",
            f"**Per-epoch speed-up of cached features: {training['speedup_per_epoch']}x.**",
            "",
            "Features are cached with left truncation, as `SelectorTrainer` tokenizes: the answer comes last in "
            "the selector layout, and right truncation of long texts would cut it off.",
            "",
        ]
    pairs = results.get("pairs")
    if pairs:
        lines += [
            "## 4. Building judge-score pairs at scale",
            "",
            f"`PreferenceDataset.from_judge_scores(min_gap=2, pairs_per_item=2)` over {pairs['judged_rows']:,} judged "
            "rows loaded from disk (two-turn conversations with per-turn scores, so items are turns; embedded PNG "
            "images; 2% judge failures), in a fresh process.",
            "",
            "| judged rows | pairs | seconds | pairs memory-mapped | anonymous RSS before (MiB) | "
            "peak anonymous RSS (MiB) | peak RSS (MiB) |",
            "|---|---|---|---|---|---|---|",
            f"| {pairs['judged_rows']:,} | {pairs['pairs']:,} | {pairs['seconds']} | {pairs['pairs_memory_mapped']} | "
            f"{pairs['anonymous_rss_before_mib']} | {pairs['peak_anonymous_rss_mib']} | {pairs['peak_rss_mib']} |",
            "",
        ]
    for run in results.get("partial_runs", []):  # reruns of some parts, whose sections above they replaced
        lines.append(
            f"Rerun of {', '.join(run['parts'])} (`--only`): load before `{run['uptime_before']}`, "
            f"after `{run.get('uptime_after', '?')}`  "
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes for a fast check")
    parser.add_argument(
        "--only",
        choices=["overhead", "memory", "training", "pairs"],
        action="append",
        help="run only these parts (repeatable)",
    )
    parser.add_argument(
        "--diagnose", action="store_true", help="also measure thread/worker splits and profile select()"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="rebuild the Markdown and PNG from the last JSON results"
    )
    parser.add_argument("--memory-worker", help=argparse.SUPPRESS)
    parser.add_argument("--pairs-worker", help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=256, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_worker:
        _memory_worker(args.memory_worker, args.batch_size)
        return
    if args.pairs_worker:
        _pairs_worker(args.pairs_worker)
        return

    if args.report_only:
        stem = "selection-quick" if args.quick else "selection"
        results = json.loads((RESULTS_DIR / f"{stem}.json").read_text())
        (RESULTS_DIR / f"{stem}.md").write_text(markdown(results) + "\n")
        plot(results, RESULTS_DIR / f"{stem}.png")
        print(f"rewrote {RESULTS_DIR / stem}.{{md,png}}")
        return
    parts = set(args.only or ["overhead", "memory", "training", "pairs"])
    quick = args.quick
    results: dict[str, Any] = {
        "command": "python benchmarks/bench_selection.py" + (" --quick" if quick else ""),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "uptime_before": uptime(),
    }
    if "overhead" in parts:
        print("1. scoring overhead ...", flush=True)
        results["scoring_overhead"] = bench_scoring_overhead(
            count=256 if quick else 1024,
            batch_size=32,
            turns=3,
            repeats=2 if quick else 3,
            diagnose=args.diagnose,
            spare_core_repeats=2 if quick else 3,
        )
        print(json.dumps(results["scoring_overhead"], indent=2), flush=True)
        results["scoring_overhead_mid"] = bench_scoring_overhead(
            count=128 if quick else 384,
            batch_size=32,
            turns=3,
            repeats=2 if quick else 3,
            size="mid",
            spare_core_repeats=2 if quick else 3,
        )
        print(json.dumps(results["scoring_overhead_mid"], indent=2), flush=True)
        # batch 4: about a second of forward per candidate on 2 cores, so 8 batches take a minute per run
        results["scoring_overhead_paper"] = bench_scoring_overhead(
            count=16 if quick else 32, batch_size=4, turns=3, repeats=2 if quick else 3, size="paper"
        )
        print(json.dumps(results["scoring_overhead_paper"], indent=2), flush=True)
    if "memory" in parts:
        print("2. memory ...", flush=True)
        results["memory"] = bench_memory([2_000, 20_000] if quick else [10_000, 100_000], batch_size=256)
        print(json.dumps(results["memory"], indent=2), flush=True)
    if "training" in parts:
        print("3. training ...", flush=True)
        results["training"] = bench_training(
            figures=60 if quick else 200, epochs=2 if quick else 3, batch_size=16
        )
        print(json.dumps(results["training"], indent=2), flush=True)
    if "pairs" in parts:
        print("4. judge pairs at scale ...", flush=True)
        results["pairs"] = bench_pairs(10_000 if quick else 100_000)
        print(json.dumps(results["pairs"], indent=2), flush=True)
    results["uptime_after"] = uptime()

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = "selection-quick" if quick else "selection"
    previous = RESULTS_DIR / f"{stem}.json"
    if args.only and previous.is_file():
        # a partial run updates its parts and keeps the others from the last run
        merged = json.loads(previous.read_text())
        # the load of the last full run stays with its parts; this run's goes to partial_runs below
        merged.update({k: v for k, v in results.items() if k not in ("uptime_before", "uptime_after")})
        merged["command"] = "python benchmarks/bench_selection.py" + (" --quick" if quick else "")
        merged.setdefault("partial_runs", []).append(
            {
                "parts": sorted(parts),
                "uptime_before": results["uptime_before"],
                "uptime_after": results["uptime_after"],
            }
        )
        results = merged
    (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS_DIR / f"{stem}.md").write_text(markdown(results) + "\n")
    plot(results, RESULTS_DIR / f"{stem}.png")
    print(f"wrote {RESULTS_DIR / stem}.{{json,md,png}}")


if __name__ == "__main__":
    main()
