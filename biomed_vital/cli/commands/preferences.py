"""``biomed-vital preferences``: build preference pairs from the command line, or summarise saved ones.

Example:
    $ biomed-vital preferences build --judged judged/ --annotations annotations.jsonl \\
          --clinician-weight 100 --test-size 0.1 --output preferences/
    $ biomed-vital preferences summary preferences/
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["build_parser", "main"]


def _load(source: str) -> Any:
    from biomed_vital.schema import load_stage

    return load_stage(source)


def _build(args: argparse.Namespace) -> int:
    from biomed_vital.preferences import (
        AnnotationError,
        PreferenceDataset,
        summarize_preferences,
    )

    if not args.judged and not args.candidates:
        raise SystemExit(
            "give --judged (judge pairs, and the candidates the annotations refer to) or --candidates"
        )
    judged = _load(args.judged) if args.judged else None
    candidates = _load(args.candidates) if args.candidates else judged
    clinician = judge = None
    if args.annotations:
        try:
            clinician = PreferenceDataset.from_clinician_annotations(
                args.annotations, candidates, contradictions=args.contradictions
            )
        except AnnotationError as error:
            print(error, file=sys.stderr)
            return 2
    if judged is not None and not args.no_judge_pairs:
        judge = PreferenceDataset.from_judge_scores(
            judged, min_gap=args.min_gap, pairs_per_item=args.pairs_per_item, seed=args.seed, unit=args.unit
        )
    if clinician is None and judge is None:
        raise SystemExit("nothing to build: give --annotations and/or --judged")
    if clinician is not None and judge is not None:
        if args.clinician_weight is None:
            raise SystemExit(
                "mixing clinician and judge pairs needs --clinician-weight (the paper swept 1, 10, 100, 200, 300, 400)"
            )
        pairs = PreferenceDataset.mix(clinician, judge, clinician_weight=args.clinician_weight)
    else:
        pairs = clinician if clinician is not None else judge
    result = (
        PreferenceDataset.train_test_split_by_figure(pairs, test_size=args.test_size, seed=args.seed)
        if args.test_size
        else pairs
    )
    print(summarize_preferences(pairs))
    if args.output:
        result.save_to_disk(args.output)
        print(f"saved to {args.output}")
    return 0


def _summary(args: argparse.Namespace) -> int:
    import datasets

    from biomed_vital.preferences import summarize_preferences

    loaded = datasets.load_from_disk(args.path)
    splits = loaded.items() if isinstance(loaded, datasets.DatasetDict) else [("", loaded)]
    for name, split in splits:
        if name:
            print(f"[{name}]")
        print(summarize_preferences(split))
    return 0


def build_parser(prog: str = "biomed-vital preferences") -> argparse.ArgumentParser:
    """The argument parser of ``biomed-vital preferences``."""
    parser = argparse.ArgumentParser(prog=prog, description="Build or inspect selector preference pairs.")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    build = sub.add_parser("build", help="build clinician and/or judge pairs and save them")
    build.add_argument(
        "--judged", help="judged candidates: a saved Dataset folder, a JSON/Parquet file or a Hub id"
    )
    build.add_argument("--candidates", help="the candidates the annotations name (default: --judged)")
    build.add_argument("--annotations", help="clinician annotation records (JSONL)")
    build.add_argument(
        "--clinician-weight", type=float, default=None, help="weight of clinician pairs in the mix"
    )
    build.add_argument("--min-gap", type=float, default=2.0, help="smallest judge-score gap of a pair")
    build.add_argument("--pairs-per-item", type=int, default=2, help="pairs each judged item anchors")
    build.add_argument(
        "--unit", choices=["auto", "turn", "conversation"], default="auto", help="judge item unit"
    )
    build.add_argument("--contradictions", choices=["drop", "keep"], default="drop")
    build.add_argument("--no-judge-pairs", action="store_true", help="build only clinician pairs")
    build.add_argument("--test-size", type=float, default=0.0, help="hold out this fraction of figures")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--output", help="folder to save the pairs (a DatasetDict with --test-size)")
    build.set_defaults(handler=_build)

    summary = sub.add_parser("summary", help="summarise saved preference pairs")
    summary.add_argument("path", help="a folder written by 'build' (or any saved preference Dataset)")
    summary.set_defaults(handler=_summary)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "biomed-vital preferences") -> int:
    """Run ``biomed-vital preferences`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit code.

    Example:
        >>> main(["summary", "preferences/"])      # doctest: +SKIP
        0
    """
    args = build_parser(prog).parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
