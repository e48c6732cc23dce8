"""Evaluate models' answers on open visual chat the way LLaVA-Med does, compare them pairwise, write a report.

By default everything runs offline on the library's built-in demo figures: a question file in
LLaVA-Med's layout is written from them (one ``conversation`` and one ``detailed_description`` question
per figure, the reference answer quoting the figure's caption), two answer files stand for two models
(one answers from the caption, one does not), and an in-process stand-in server plays the judge. The
stand-in's reviews only measure how much of an answer is found in the caption; they exercise the
pipeline, not medical knowledge.

Command (offline, about 20 seconds)::

    .venv/bin/python examples/evaluate_answers.py --out runs/evaluate-answers

Against a real judge, with your question and answer files (OpenAI reads OPENAI_API_KEY)::

    .venv/bin/python examples/evaluate_answers.py --out runs/qa50 --model gpt-4o --budget-usd 5 \\
        --questions llava_med_eval_qa50_qa.jsonl --answers answers/ours.jsonl answers/llava-med.jsonl
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/evaluate-answers"), help="report folder")
    parser.add_argument(
        "--questions", default=None, help="LLaVA-Med question file (default: built from demo figures)"
    )
    parser.add_argument("--answers", nargs="+", default=None, help="answer files, one per model")
    parser.add_argument("--model", default=None, help="judge model (default: gpt-4o on the offline stand-in)")
    parser.add_argument(
        "--base-url", default=None, help="OpenAI-compatible server, e.g. http://localhost:8000/v1"
    )
    parser.add_argument(
        "--budget-usd", type=float, default=None, help="stop starting requests beyond this spend"
    )
    parser.add_argument("--cache-dir", default=None, help="request cache (default: <out>/cache)")
    return parser.parse_args(argv)


def demo_files(folder: Path) -> tuple[str, list[str]]:
    """A question file from the demo figures and two answer files (labelled stand-in text)."""
    from biomed_vital.data import load_demo_figures
    from biomed_vital.evaluation import write_answers
    from biomed_vital.evaluation.llava_med_files import write_questions

    questions, from_caption, without_caption = [], [], []
    figures = load_demo_figures().select_columns(["id", "caption", "mentions", "domain"])
    for index, figure in enumerate(figures):
        asked = (
            ("conversation", "What does this image show?"),
            ("detailed_description", "Describe the image in detail."),
        )
        for offset, (kind, question) in enumerate(asked):
            question_id = str(2 * index + offset)
            questions.append(
                {
                    "question_id": question_id,
                    "question": question,
                    "reference_answer": f"The caption reads: {figure['caption']}",
                    "caption": figure["caption"],
                    "fig_label": "",
                    "mentions": figure["mentions"],
                    "domain": figure["domain"],
                    "question_type": kind,
                    "image_file": f"{figure['id']}.png",
                    "pair_id": figure["id"],
                }
            )
            from_caption.append(
                {
                    "question_id": question_id,
                    "answer": f"According to the caption: {figure['caption']}",
                    "model_id": "answers-from-caption",
                }
            )
            without_caption.append(
                {
                    "question_id": question_id,
                    "answer": "(stand-in answer that quotes nothing from the figure)",
                    "model_id": "answers-without-caption",
                }
            )
    folder.mkdir(parents=True, exist_ok=True)
    return write_questions(questions, folder / "questions.jsonl"), [
        write_answers(from_caption, folder / "answers-from-caption.jsonl"),
        write_answers(without_caption, folder / "answers-without-caption.jsonl"),
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from biomed_vital.evaluation import EvaluationConfig, evaluate
    from biomed_vital.testing import StandInServer

    offline = args.base_url is None and args.model is None
    questions, answers = args.questions, args.answers
    if questions is None or answers is None:
        questions, answers = demo_files(args.out / "inputs")
    options: dict = {"cache_dir": args.cache_dir or str(args.out / "cache"), "budget_usd": args.budget_usd}
    with contextlib.ExitStack() as stack:
        if offline:
            server = stack.enter_context(StandInServer(seed=0))
            options.update(base_url=server.base_url, api_key="offline-stand-in")
            print(f"offline: the stand-in server at {server.base_url} plays the judge")
        elif args.base_url:
            options["base_url"] = args.base_url
        config = EvaluationConfig(out=str(args.out), questions=questions, answers=answers)
        report = evaluate(config, judge_model=args.model or "gpt-4o", **options)
    for model, scores in report.open_chat.items():
        print(f"\n{model}\n{scores}")
    for result in report.win_rates:
        print(result)
    print(f"\nreport written to {args.out}: {', '.join(report.files)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
