"""The ``biomed-vital`` command.

Every subcommand imports what it needs when it runs, so ``biomed-vital --help`` is instant.

Example:
    $ biomed-vital demo
    $ biomed-vital figures path/to/llava_med_instruct_fig_captions.json --image-root images/ --save-to figures/
    $ biomed-vital generate figures/ --model gpt-4o --out candidates/
    $ biomed-vital serve-standin --port 8000 --rpm 600
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

Handler = Callable[[argparse.Namespace], int]

# command -> (module, function taking argv, one-line summary)
FORWARDED_COMMANDS: dict[str, tuple[str, str, str]] = {
    "generate": (
        "biomed_vital.generation.cli",
        "generate_main",
        "generate candidate conversations for figures with a GPT-4V-class endpoint",
    ),
    "judge": ("biomed_vital.generation.cli", "judge_main", "score candidates 0-10 with a judge model"),
    "preferences": (
        "biomed_vital.preferences.cli",
        "main",
        "build preference pairs from clinician annotations and judge scores (build | summary)",
    ),
    "train-selector": (
        "biomed_vital.selection.cli",
        "train_selector_main",
        "train a selection model on preference pairs",
    ),
    "select": (
        "biomed_vital.selection.cli",
        "select_main",
        "score candidates with a selection model and keep the best",
    ),
    "serve-standin": (
        "biomed_vital.cli",
        "serve_standin_main",
        "serve the offline OpenAI-compatible stand-in server",
    ),
}


def _offline_defaults() -> None:
    # The demo never needs the Hub; keep it from trying (and from sending telemetry).
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def _cmd_demo(args: argparse.Namespace) -> int:
    _offline_defaults()
    from biomed_vital.demo import run_demo

    run_demo(args.output_dir, seed=args.seed, show_progress=not args.no_progress)
    return 0


def _cmd_figures(args: argparse.Namespace) -> int:
    from biomed_vital.data import load_figures, summarize_figures

    figures = load_figures(args.source, image_root=args.image_root, strict=args.strict)
    print(summarize_figures(figures))
    if args.save_to:
        figures.save_to_disk(args.save_to)
        print(f"saved {len(figures)} figures to {args.save_to}")
    return 0


def serve_standin_main(argv: Sequence[str]) -> int:
    """``biomed-vital serve-standin``: the stand-in server's own command line under our name."""
    from biomed_vital.testing.server import main as serve

    return int(serve(argv, prog="biomed-vital serve-standin") or 0)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``biomed-vital`` (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="biomed-vital",
        description="Clinician-aligned biomedical visual instruction data and VLM tuning (BioMed-VITAL).",
    )
    from biomed_vital import __version__

    parser.add_argument("--version", action="version", version=f"biomed_vital {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the pipeline on the built-in demo figures, offline")
    demo.add_argument("--output-dir", default="outputs/demo", help="where every stage's output is saved")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--no-progress", action="store_true", help="no progress bars (for logs)")
    demo.set_defaults(handler=_cmd_demo)

    figures = sub.add_parser("figures", help="load figures from a file, folder or Hub id and print a summary")
    figures.add_argument(
        "source", help="LLaVA-Med / BioMed-VITAL JSON or JSONL, an image folder, a saved Dataset or a Hub id"
    )
    figures.add_argument("--image-root", default=None, help="folder the image paths resolve against")
    figures.add_argument(
        "--strict", action="store_true", help="fail on the first bad row instead of marking it"
    )
    figures.add_argument("--save-to", default=None, help="save the figures Dataset to this folder")
    figures.set_defaults(handler=_cmd_figures)

    # Listed for --help only: main() hands everything after these names to the owning module's parser.
    for name, (_, _, summary) in FORWARDED_COMMANDS.items():
        sub.add_parser(name, help=f"{summary} (options: {name} --help)", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``biomed-vital`` command.

    Example:
        >>> main(["figures", "--help"])  # doctest: +SKIP
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in FORWARDED_COMMANDS:
        # These commands own their options; argparse cannot forward "--" options through a subparser.
        module_name, function_name, _ = FORWARDED_COMMANDS[argv[0]]
        command = getattr(importlib.import_module(module_name), function_name)
        return int(command(argv[1:]) or 0)
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except (ValueError, FileNotFoundError, ImportError) as error:
        # Expected user errors: one clear line, no traceback.
        print(f"biomed-vital {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
