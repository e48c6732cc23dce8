"""Generate candidate conversations for figures and judge them, then save the judged Dataset.

By default everything runs offline: an in-process stand-in server (``biomed_vital.testing``)
plays the GPT-4V-class model, and the figures are the library's built-in demo figures. The
stand-in's replies only quote the request's own caption and are marked as stand-in text; they
exercise the pipeline, not medical knowledge.

Command (offline, about 15 seconds)::

    .venv/bin/python examples/generate_and_judge.py --out runs/demo-judged

With BioMed-VITAL's clinician demonstrations as few-shot examples::

    .venv/bin/python examples/generate_and_judge.py --out runs/demo-judged \\
        --demonstrations ../shared/fixtures/clinician_demonstrations.jsonl

Against a real endpoint (OpenAI reads OPENAI_API_KEY; a vLLM server needs no key)::

    .venv/bin/python examples/generate_and_judge.py --model gpt-4o --budget-usd 2 --out runs/gpt4o
    .venv/bin/python examples/generate_and_judge.py --base-url http://localhost:8000/v1 \\
        --model Qwen/Qwen2-VL-7B-Instruct --no-structured-output --out runs/qwen
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections import Counter
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path("runs/generate-and-judge"), help="folder for the Dataset"
    )
    parser.add_argument("--model", default=None, help="model name (default: gpt-4o on the offline stand-in)")
    parser.add_argument(
        "--base-url", default=None, help="OpenAI-compatible server, e.g. http://localhost:8000/v1"
    )
    parser.add_argument(
        "--demonstrations", default=None, help="few-shot demonstrations file (LLaVA JSON/JSONL)"
    )
    parser.add_argument("--n-candidates", type=int, default=2)
    parser.add_argument("--max-concurrency", type=int, default=16)
    parser.add_argument(
        "--budget-usd", type=float, default=None, help="stop starting requests beyond this spend"
    )
    parser.add_argument("--cache-dir", default=None, help="request cache (default: <out>/cache)")
    parser.add_argument("--no-structured-output", action="store_true", help="the judge parses text, not JSON")
    parser.add_argument("--dry-run", action="store_true", help="print the projected cost and stop")
    return parser.parse_args(argv)


def plot_scores(judged, path: Path) -> None:
    """Histogram of the judge scores, one bar colour per modality."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = judged.filter(lambda r: r["judge_status"] == "ok").select_columns(["judge_score", "modality"])
    by_modality: dict[str, list[float]] = {}
    for row in rows:
        by_modality.setdefault(row["modality"], []).append(row["judge_score"])
    figure, axis = plt.subplots(figsize=(6, 3.5))
    if by_modality:
        axis.hist(list(by_modality.values()), bins=range(0, 12), stacked=True, label=list(by_modality))
        axis.legend(fontsize="small")
    axis.set_xlabel("judge score (0-10)")
    axis.set_ylabel("candidates")
    axis.set_title("Judge scores of the generated candidates")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from biomed_vital.data import load_demo_figures
    from biomed_vital.generation import GPT4VGenerator, GPT4VJudge
    from biomed_vital.testing import StandInServer

    figures = load_demo_figures()
    offline = args.base_url is None and args.model is None
    cache_dir = args.cache_dir or str(args.out / "cache")
    with contextlib.ExitStack() as stack:
        options: dict = {
            "max_concurrency": args.max_concurrency,
            "cache_dir": cache_dir,
            "budget_usd": args.budget_usd,
        }
        if offline:
            server = stack.enter_context(StandInServer(seed=0))
            options.update(base_url=server.base_url, api_key="offline-stand-in")
            print(f"offline: the stand-in server at {server.base_url} plays the model")
        elif args.base_url:
            options["base_url"] = args.base_url
        model = args.model or "gpt-4o"
        generator = GPT4VGenerator(
            model, demonstrations=args.demonstrations, n_candidates=args.n_candidates, **options
        )
        judge = GPT4VJudge(
            model, engine=generator.engine, structured_output=False if args.no_structured_output else None
        )
        print("generation:", generator.estimate_cost(figures))
        if args.dry_run:
            return 0
        candidates = generator.generate(figures)
        print("judging:", judge.estimate_cost(candidates))
        judged = judge.score(candidates)

    args.out.mkdir(parents=True, exist_ok=True)
    judged.save_to_disk(str(args.out / "judged"))
    plot_scores(judged, args.out / "judge_scores.png")
    print(f"candidates: {Counter(judged['status'][:])}; judge: {Counter(judged['judge_status'][:])}")
    scores = [s for s in judged["judge_score"][:] if s is not None]
    if scores:
        print(f"mean judge score {sum(scores) / len(scores):.2f} over {len(scores)} candidates")
    print(
        f"saved {len(judged)} rows to {args.out / 'judged'} and the score histogram to {args.out / 'judge_scores.png'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
