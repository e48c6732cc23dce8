"""Command lines of the generation stage: ``generate`` and ``judge``.

``biomed-vital generate ...`` / ``biomed-vital judge ...`` hand their arguments here; the same
runs as ``python -m biomed_vital.generation.cli generate ...``. The API key is read from the
environment only (``OPENAI_API_KEY`` / ``AZURE_OPENAI_API_KEY``): a key on the command line
would end up in shell history and process lists.

Example:
    $ biomed-vital generate figures.jsonl --out runs/candidates --model gpt-4o \\
        --demonstrations clinician_demonstrations.jsonl --n-candidates 2 --budget-usd 20 --dry-run
    $ biomed-vital judge runs/candidates --out runs/judged --model gpt-4o
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["generate_main", "judge_main", "main"]


def _add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("endpoint (the key comes from OPENAI_API_KEY / AZURE_OPENAI_API_KEY)")
    group.add_argument("--model", default="gpt-4o", help="model, Azure deployment or served model name")
    group.add_argument(
        "--base-url", default=None, help="OpenAI-compatible server, e.g. http://localhost:8000/v1"
    )
    group.add_argument("--azure-endpoint", default=None, help="https://<resource>.openai.azure.com")
    group.add_argument("--api-version", default=None, help="Azure API version, e.g. 2024-10-21")
    group.add_argument("--timeout", type=float, default=120.0, help="seconds per attempt")
    engine = parser.add_argument_group("engine")
    engine.add_argument("--max-concurrency", type=int, default=16)
    engine.add_argument(
        "--rpm", type=float, default=None, help="requests per minute (default: from the server)"
    )
    engine.add_argument(
        "--tpm", type=float, default=None, help="tokens per minute (default: from the server)"
    )
    engine.add_argument("--max-retries", type=int, default=6)
    engine.add_argument(
        "--budget-usd", type=float, default=None, help="stop starting requests beyond this spend"
    )
    engine.add_argument("--cache-dir", default=None, help="request cache folder (resumes interrupted runs)")
    engine.add_argument("--dry-run", action="store_true", help="print the projected cost and send nothing")


def _options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {
        "timeout": args.timeout,
        "max_concurrency": args.max_concurrency,
        "rpm": args.rpm,
        "tpm": args.tpm,
        "max_retries": args.max_retries,
        "budget_usd": args.budget_usd,
        "cache_dir": args.cache_dir,
    }
    for name in ("base_url", "azure_endpoint", "api_version"):
        if getattr(args, name):
            options[name] = getattr(args, name)
    return options


def _load_stage(path: str) -> Any:
    from biomed_vital.data import load_stage

    return load_stage(path)


def _load_figures(path: str, image_root: str | None = None) -> Any:
    from biomed_vital.data import load_figures, load_stage
    from biomed_vital.data.stages import is_saved_dataset

    return load_stage(path) if is_saved_dataset(path) else load_figures(path, image_root=image_root)


def generate_main(argv: Sequence[str] | None = None) -> int:
    """``generate``: candidates for a figures file or saved Dataset, saved with ``save_to_disk``."""
    parser = argparse.ArgumentParser(
        prog="biomed-vital generate", description="Generate candidate conversations."
    )
    parser.add_argument(
        "figures", help="figures: a file or folder load_figures reads, or a save_to_disk folder"
    )
    parser.add_argument("--out", default=None, help="folder for the candidates Dataset (save_to_disk)")
    parser.add_argument("--image-root", default=None, help="folder the figures' image paths resolve against")
    parser.add_argument("--demonstrations", default=None, help="few-shot demonstrations (LLaVA JSON/JSONL)")
    parser.add_argument("--n-candidates", type=int, default=1)
    parser.add_argument("--two-answers", action="store_true", help="two answers per question, as paired rows")
    parser.add_argument("--max-tokens", type=int, default=1024)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-shards", type=int, default=1)
    parser.add_argument("--shard-index", type=int, default=0)
    _add_backend_arguments(parser)
    args = parser.parse_args(argv)
    if not (args.out or args.dry_run):
        parser.error("--out is required (or --dry-run to only print the projected cost)")

    from biomed_vital.generation import GPT4VGenerator

    figures = _load_figures(args.figures, args.image_root)
    generator = GPT4VGenerator(
        args.model,
        demonstrations=args.demonstrations,
        n_candidates=args.n_candidates,
        two_answers=args.two_answers,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        seed=args.seed,
        **_options(args),
    )
    shard = {"num_shards": args.num_shards, "shard_index": args.shard_index}
    print(f"projected: {generator.estimate_cost(figures, **shard)}")
    if args.dry_run:
        return 0
    candidates = generator.generate(figures, **shard)
    candidates.save_to_disk(args.out)
    print(f"saved {len(candidates)} candidates to {args.out}")
    return 0


def judge_main(argv: Sequence[str] | None = None) -> int:
    """``judge``: score a saved candidates Dataset and save the judged Dataset."""
    parser = argparse.ArgumentParser(
        prog="biomed-vital judge", description="Score candidates 0-10 with a judge model."
    )
    parser.add_argument("candidates", help="a candidates Dataset saved with save_to_disk")
    parser.add_argument("--out", default=None, help="folder for the judged Dataset (save_to_disk)")
    parser.add_argument("--granularity", choices=["turn", "conversation"], default="turn")
    parser.add_argument(
        "--structured-output",
        choices=["auto", "on", "off"],
        default="auto",
        help="JSON replies through response_format (auto: on for OpenAI/Azure, off for other servers)",
    )
    parser.add_argument("--max-tokens", type=int, default=400)
    _add_backend_arguments(parser)
    args = parser.parse_args(argv)
    if not (args.out or args.dry_run):
        parser.error("--out is required (or --dry-run to only print the projected cost)")

    from biomed_vital.generation import GPT4VJudge

    candidates = _load_stage(args.candidates)
    structured = {"auto": None, "on": True, "off": False}[args.structured_output]
    judge = GPT4VJudge(
        args.model,
        granularity=args.granularity,
        structured_output=structured,
        max_tokens=args.max_tokens,
        **_options(args),
    )
    print(f"projected: {judge.estimate_cost(candidates)}")
    if args.dry_run:
        return 0
    judged = judge.score(candidates)
    judged.save_to_disk(args.out)
    print(f"saved {len(judged)} judged candidates to {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m biomed_vital.generation.cli {generate,judge} ...``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"generate": generate_main, "judge": judge_main}
    if not argv or argv[0] not in commands:
        print("usage: python -m biomed_vital.generation.cli {generate,judge} [options]", file=sys.stderr)
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
