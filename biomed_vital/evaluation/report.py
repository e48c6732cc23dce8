"""One call that evaluates one or more models and writes a report folder.

:func:`evaluate` runs what an :class:`~biomed_vital.evaluation.EvaluationConfig` asks for (open-chat
reviews, scoring existing review files, or VQA metrics; win rates between every pair of models) and
writes, in ``config.out``:

* ``report.json``: every number, with the judge model, the prompt hashes, the reference answers'
  source, request counts, tokens and spend;
* ``report.md``: the tables;
* ``relative_scores.png`` / ``vqa_scores.png`` and ``win_rates.png``: bar charts;
* ``reviews/<model>.jsonl`` (LLaVA-Med's review layout, so the report can be recomputed without a
  model call) and ``win_rates/<model_1>__vs__<model_2>.jsonl`` (both verdicts of every question).

Example:
    >>> from biomed_vital.evaluation import EvaluationConfig, evaluate
    >>> report = evaluate(EvaluationConfig(out="report/", questions="qa50.jsonl",
    ...                   answers=["ours.jsonl", "llava-med.jsonl"]), budget_usd=10.0)   # doctest: +SKIP
    >>> print(report.markdown())                                                          # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import itertools
import json
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from biomed_vital.evaluation import llava_med_files as files
from biomed_vital.evaluation.evaluation_config import EvaluationConfig
from biomed_vital.evaluation.open_chat import OpenChatScores, relative_scores
from biomed_vital.evaluation.vqa import VQAScores, load_vqa, score_vqa
from biomed_vital.evaluation.win_rates import WinRate

__all__ = ["EvaluationReport", "evaluate"]


@dataclass
class EvaluationReport:
    """Everything one evaluation measured (``report.json`` is :meth:`to_dict`)."""

    mode: str
    inputs: dict[str, Any] = field(default_factory=dict)
    judge: dict[str, Any] | None = None
    pairwise_judge: dict[str, Any] | None = None
    reference: dict[str, Any] = field(default_factory=dict)
    open_chat: dict[str, OpenChatScores] = field(default_factory=dict)
    vqa: dict[str, VQAScores] = field(default_factory=dict)
    win_rates: list[WinRate] = field(default_factory=list)
    requests: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    version: str = ""
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        data = asdict(self)
        data["open_chat"] = {model: scores.to_dict() for model, scores in self.open_chat.items()}
        data["vqa"] = {model: scores.to_dict() for model, scores in self.vqa.items()}
        data["win_rates"] = [w.to_dict() for w in self.win_rates]
        return data

    def markdown(self) -> str:
        """The report's tables in Markdown."""
        lines = [f"# Evaluation ({self.mode.replace('_', ' ')})", ""]
        if self.judge:
            lines.append(
                f"Judge: `{self.judge.get('model')}` (prompt sha256 `{self.judge.get('prompt_sha', '')[:12]}`)."
            )
        if self.reference:
            lines.append(f"Reference answers: {self.reference.get('source', '')}.")
        if self.requests.get("total"):
            total = self.requests["total"]
            cost = "unknown" if total.get("cost_usd") is None else f"${total['cost_usd']:.4f}"
            lines.append(
                f"Requests: {total['n_requests']} ({total['cache_hits']} from cache), tokens "
                f"{total['prompt_tokens']:,} prompt + {total['completion_tokens']:,} completion, spend {cost}."
            )
        lines.append("")
        if self.open_chat:
            groups: list[str] = []
            for scores in self.open_chat.values():
                groups += [name for name, g in scores.table() if g.n and name not in groups]
            lines += ["## Open visual chat: relative score (%)", ""]
            lines.append("| model | " + " | ".join(groups) + " | reference mean | model mean | unscorable |")
            lines.append("|---" * (len(groups) + 4) + "|")
            for model, scores in self.open_chat.items():
                table = dict(scores.table())
                cells = [
                    f"{table[g].relative_score:.1f}" if g in table and table[g].n else "-" for g in groups
                ]
                overall = scores.overall
                means = (
                    [f"{overall.reference_mean:.2f}", f"{overall.model_mean:.2f}"]
                    if overall.n
                    else ["-", "-"]
                )
                lines.append(
                    f"| {model} | " + " | ".join(cells) + f" | {' | '.join(means)} | "
                    f"{len(scores.unscorable)} of {scores.n_reviews} |"
                )
            lines.append("")
            for model, scores in self.open_chat.items():
                for item in scores.unscorable[:20]:
                    lines.append(f"- unscorable ({model}) question {item.question_id}: {item.reason}")
            lines.append("")
        if self.vqa:
            lines += [
                "## VQA (%)",
                "",
                "| model | closed accuracy | open recall | exact match | token F1 | BLEU | "
                "closed / open | unanswered |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for model, s in self.vqa.items():
                cells = [
                    "-" if v is None else f"{100 * v:.2f}"
                    for v in (s.closed_accuracy, s.open_recall, s.exact_match, s.token_f1, s.bleu)
                ]
                lines.append(
                    f"| {model} | " + " | ".join(cells) + f" | {s.n_closed} / {s.n_open} | {len(s.missing)} |"
                )
            lines.append("")
        if self.win_rates:
            lines += [
                "## Win rates (each question judged in both orders)",
                "",
                "| model | against | win rate (%) | interval | wins / ties / losses | position bias (%) | unjudged |",
                "|---|---|---|---|---|---|---|",
            ]
            for w in self.win_rates:
                if w.win_rate is None or w.ci_low is None or w.ci_high is None:
                    lines.append(f"| {w.model_1} | {w.model_2} | - | - | - | - | {len(w.unjudged)} |")
                    continue
                bias = "-" if w.position_bias_rate is None else f"{100 * w.position_bias_rate:.1f}"
                lines.append(
                    f"| {w.model_1} | {w.model_2} | {100 * w.win_rate:.1f} | {100 * w.ci_low:.1f}-{100 * w.ci_high:.1f} "
                    f"| {w.wins} / {w.ties} / {w.losses} | {bias} | {len(w.unjudged)} |"
                )
            lines.append("")
        return "\n".join(lines)

    def write(self, out: str | os.PathLike[str]) -> list[str]:
        """Write ``report.json``, ``report.md`` and the charts into ``out``; returns the paths written."""
        from biomed_vital.evaluation.plots import plot_relative_scores, plot_vqa_scores, plot_win_rates

        out = os.fspath(out)
        os.makedirs(out, exist_ok=True)
        written = []
        if self.open_chat and any(s.overall.n for s in self.open_chat.values()):
            written.append(plot_relative_scores(self.open_chat, os.path.join(out, "relative_scores.png")))
        if self.vqa:
            written.append(plot_vqa_scores(self.vqa, os.path.join(out, "vqa_scores.png")))
        if any(w.win_rate is not None for w in self.win_rates):
            written.append(plot_win_rates(self.win_rates, os.path.join(out, "win_rates.png")))
        markdown = os.path.join(out, "report.md")
        with open(markdown, "w", encoding="utf-8") as handle:
            handle.write(self.markdown())
        written.append(markdown)
        self.files = sorted({*self.files, *(os.path.relpath(p, out) for p in written), "report.json"})
        with open(os.path.join(out, "report.json"), "w", encoding="utf-8") as handle:
            json.dump(self.to_dict(), handle, indent=2)
        return [os.path.join(out, name) for name in self.files]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "model"


def _engine_totals(summaries: Sequence[dict[str, Any] | None]) -> dict[str, Any]:
    total: dict[str, Any] = {
        "n_requests": 0,
        "cache_hits": 0,
        "sent": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cost_usd": 0.0,
        "errors": 0,
    }
    for summary in summaries:
        if not summary:
            continue
        for key in ("n_requests", "cache_hits", "sent", "prompt_tokens", "completion_tokens"):
            total[key] += summary.get(key, 0)
        total["errors"] += sum(summary.get("errors", {}).values())
        if summary.get("cost_usd") is None or total["cost_usd"] is None:
            total["cost_usd"] = None
        else:
            total["cost_usd"] += summary["cost_usd"]
    return total


def evaluate(config: EvaluationConfig, judge_model: str | None = None, **options: Any) -> EvaluationReport:
    """Evaluate what ``config`` names and write the report folder ``config.out``; return the report.

    ``judge_model`` reviews answers and compares models (default: the backend's model, ``gpt-4o``).
    ``options`` say where and how requests go (``backend=``, ``engine=``, ``engine_config=``, or their
    fields such as ``base_url``, ``api_key``, ``max_concurrency``, ``cache_dir``, ``budget_usd``); one
    engine serves every task, so cache, limits and budget are shared. Scoring ``config.reviews`` and VQA
    metrics call no model.

    Example:
        >>> report = evaluate(EvaluationConfig(out="report/", reviews=["llava-med-review.jsonl"]))  # doctest: +SKIP
        >>> report.open_chat["llava-med-review"].overall.relative_score                            # doctest: +SKIP
    """
    from biomed_vital import __version__

    if not config.out and not config.dry_run:
        raise ValueError("give out= (the report folder), or dry_run=True to only print the projected cost")
    report = EvaluationReport(
        mode=config.mode,
        inputs={k: v for k, v in asdict(config).items() if k not in ("dry_run",)},
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        version=__version__,
    )
    summaries: dict[str, Any] = {}
    if config.mode == "reviews":
        for path in config.reviews:
            reviews = files.read_reviews(path)
            model = _model_name(reviews[files.MODEL_ID][:], path)
            report.open_chat[model] = relative_scores(reviews, model_id=model)
        report.reference = {"source": "the review files (ans1)"}
        report.requests = {"total": _engine_totals([])}
    else:
        from biomed_vital.engine import engine_from_options

        engine = engine_from_options(judge_model, **options)
        if config.mode == "open_chat":
            samples = _open_chat(config, report, summaries, engine)
        else:
            samples = _vqa(config, report)
        if samples is not None and config.win_rate and len(samples) > 1:
            _win_rates(config, samples, report, summaries, engine)
        report.requests = {**summaries, "total": _engine_totals(list(summaries.values()))}
    if not config.dry_run:
        report.write(config.out)
    return report


def _model_name(model_ids: Sequence[str], path: str) -> str:
    names = sorted({m for m in model_ids if m})
    return names[0] if len(names) == 1 else os.path.splitext(os.path.basename(path))[0]


def _open_chat(
    config: EvaluationConfig, report: EvaluationReport, summaries: dict[str, Any], engine: Any
) -> dict[str, Any]:
    from biomed_vital.evaluation.answering import QuestionAnswerer, regenerate_references
    from biomed_vital.evaluation.open_chat_judge import OpenChatJudge

    assert config.questions is not None
    questions = files.read_questions(config.questions)
    report.inputs["n_questions"] = len(questions)
    if config.reference_model:
        answerer = QuestionAnswerer(config.reference_model, engine=engine)
        if config.dry_run:
            print(f"reference answers: {answerer.estimate_cost(questions)}")
        else:
            questions = regenerate_references(questions, answerer)
            summaries["reference_answers"] = (answerer.last_summary or {}).get("engine")
        report.reference = {
            "source": f"regenerated by {config.reference_model}",
            "model": config.reference_model,
            "prompt_sha": answerer.prompt_sha,
        }
    else:
        report.reference = {"source": f"the question file's gpt4_answer ({config.questions})"}
    judge = OpenChatJudge(engine=engine)
    report.judge = {"model": judge.model, "prompt_sha": judge.prompt_sha, "settings": judge.to_dict()}
    samples: dict[str, Any] = {}
    for path in config.answers:
        joined = files.join_answers(questions, files.read_answers(path))
        model = _model_name(joined[files.MODEL_ID][:], path)
        if model in samples:
            raise ValueError(f"two answer files are both from model {model!r}; give each model one file")
        samples[model] = joined
        if config.dry_run:
            print(f"reviews of {model}: {judge.estimate_cost(joined)}")
            continue
        reviewed = judge.review(joined)
        summaries[f"reviews: {model}"] = (judge.last_summary or {}).get("engine")
        report.open_chat[model] = relative_scores(reviewed, model_id=model)
        review_file = os.path.join("reviews", f"{_safe(model)}.jsonl")
        files.write_reviews(_review_rows(reviewed), os.path.join(config.out, review_file))
        report.files.append(review_file)
    return samples


def _review_rows(reviewed: Any) -> list[dict[str, Any]]:
    rows = []
    for row in reviewed:
        row = dict(row)
        row["error"] = row.get("error") or row.get("review_error") or ""
        rows.append(row)
    return rows


def _vqa(config: EvaluationConfig, report: EvaluationReport) -> dict[str, Any]:
    assert config.vqa is not None
    questions = load_vqa(config.vqa, benchmark=config.vqa_benchmark, split=config.vqa_split)
    report.reference = {"source": f"the benchmark's ground truth ({config.vqa}, split {config.vqa_split})"}
    report.inputs["n_questions"] = len(questions)
    samples: dict[str, Any] = {}
    for path in config.answers:
        joined = files.join_answers(questions, files.read_answers(path))
        model = _model_name(joined[files.MODEL_ID][:], path)
        samples[model] = joined
        report.vqa[model] = score_vqa(joined)
    return samples


def _win_rates(
    config: EvaluationConfig,
    samples: dict[str, Any],
    report: EvaluationReport,
    summaries: dict[str, Any],
    engine: Any,
) -> None:
    from biomed_vital.evaluation.pairwise_judge import PairwiseJudge, pair_answers, pairwise_win_rate

    judge = PairwiseJudge(engine=engine)
    report.pairwise_judge = {
        "model": judge.model,
        "prompt_sha": judge.prompt_sha,
        "settings": judge.to_dict(),
    }
    answer_types = ["open"] if config.mode == "vqa" and config.win_rate_questions == "open" else None
    for first, second in itertools.combinations(samples, 2):
        pairs = pair_answers(samples[first], samples[second], answer_types=answer_types)
        if config.dry_run:
            print(f"win rate {first} vs {second}: {judge.estimate_cost(pairs)}")
            continue
        judged = judge.compare(pairs)
        summaries[f"win rate: {first} vs {second}"] = (judge.last_summary or {}).get("engine")
        report.win_rates.append(
            pairwise_win_rate(judged, n_bootstrap=config.bootstrap_samples, seed=config.seed)
        )
        name = os.path.join("win_rates", f"{_safe(first)}__vs__{_safe(second)}.jsonl")
        os.makedirs(os.path.join(config.out, "win_rates"), exist_ok=True)
        judged.select_columns([c for c in judged.column_names if c not in ("judge_usage",)]).to_json(
            os.path.join(config.out, name), lines=True
        )
        report.files.append(name)
