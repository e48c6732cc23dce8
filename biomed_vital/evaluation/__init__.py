"""Stage 6 of BioMed-VITAL: evaluate tuned models the way the paper and LLaVA-Med do.

* **open visual chat** (LLaVA-Med's protocol): read their question, answer and review files
  (:func:`read_questions`, :func:`read_answers`, :func:`read_reviews`), review answers with a judge model
  (:class:`OpenChatJudge`), regenerate reference answers with another model (:class:`QuestionAnswerer`,
  :func:`regenerate_references`), and compute relative scores overall, per type and per domain
  (:func:`relative_scores`), also straight from a published review file;
* **medical VQA** (VQA-RAD, SLAKE, PathVQA): :func:`load_vqa`, :func:`score_vqa` and the metrics of
  :mod:`~biomed_vital.evaluation.vqa_metrics`, also shipped as ``evaluate`` modules (:func:`metric_path`);
* **win rates**: a pairwise judge that sees both orders (:class:`PairwiseJudge`, :func:`pairwise_win_rate`);
* **reports**: :func:`evaluate` writes JSON, a Markdown table and PNG charts (``biomed-vital evaluate``).

The judges and the answerer are :class:`~biomed_vital.generation.ModelTask` subclasses on the shared
request engine (cache, limits, retries, costs, budget, dry run). Names load lazily.

Example:
    >>> from biomed_vital.evaluation import read_reviews, relative_scores
    >>> print(relative_scores(read_reviews("llava-med-review.jsonl")))              # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from biomed_vital._lazy import attach

_LAZY_ATTRIBUTES: dict[str, str] = {
    "read_questions": "biomed_vital.evaluation.llava_med_files",
    "read_answers": "biomed_vital.evaluation.llava_med_files",
    "read_reviews": "biomed_vital.evaluation.llava_med_files",
    "write_questions": "biomed_vital.evaluation.llava_med_files",
    "write_answers": "biomed_vital.evaluation.llava_med_files",
    "write_reviews": "biomed_vital.evaluation.llava_med_files",
    "join_answers": "biomed_vital.evaluation.llava_med_files",
    "EvaluationFileError": "biomed_vital.evaluation.llava_med_files",
    "open_chat_features": "biomed_vital.evaluation.llava_med_files",
    "answer_features": "biomed_vital.evaluation.llava_med_files",
    "review_features": "biomed_vital.evaluation.llava_med_files",
    "parse_pair_scores": "biomed_vital.evaluation.open_chat",
    "relative_scores": "biomed_vital.evaluation.open_chat",
    "question_domain": "biomed_vital.evaluation.open_chat",
    "OpenChatScores": "biomed_vital.evaluation.open_chat",
    "ScoreGroup": "biomed_vital.evaluation.open_chat",
    "UnscorableReview": "biomed_vital.evaluation.open_chat",
    "NO_DOMAIN": "biomed_vital.evaluation.open_chat",
    "OpenChatJudge": "biomed_vital.evaluation.open_chat_judge",
    "OpenChatJudgeConfig": "biomed_vital.evaluation.open_chat_judge_config",
    "QuestionAnswerer": "biomed_vital.evaluation.answering",
    "regenerate_references": "biomed_vital.evaluation.answering",
    "AnswerConfig": "biomed_vital.evaluation.answer_config",
    "PairwiseJudge": "biomed_vital.evaluation.pairwise_judge",
    "pair_answers": "biomed_vital.evaluation.pairwise_judge",
    "pairwise_win_rate": "biomed_vital.evaluation.pairwise_judge",
    "PairwiseJudgeConfig": "biomed_vital.evaluation.pairwise_judge_config",
    "parse_verdict": "biomed_vital.evaluation.win_rates",
    "outcome_of": "biomed_vital.evaluation.win_rates",
    "win_rate": "biomed_vital.evaluation.win_rates",
    "WinRate": "biomed_vital.evaluation.win_rates",
    "load_vqa": "biomed_vital.evaluation.vqa",
    "score_vqa": "biomed_vital.evaluation.vqa",
    "VQAScores": "biomed_vital.evaluation.vqa",
    "vqa_features": "biomed_vital.evaluation.vqa",
    "BENCHMARKS": "biomed_vital.evaluation.vqa",
    "normalize_answer": "biomed_vital.evaluation.vqa_metrics",
    "extract_yes_no": "biomed_vital.evaluation.vqa_metrics",
    "closed_correct": "biomed_vital.evaluation.vqa_metrics",
    "closed_accuracy": "biomed_vital.evaluation.vqa_metrics",
    "token_recall": "biomed_vital.evaluation.vqa_metrics",
    "open_recall": "biomed_vital.evaluation.vqa_metrics",
    "exact_match": "biomed_vital.evaluation.vqa_metrics",
    "token_f1": "biomed_vital.evaluation.vqa_metrics",
    "bleu": "biomed_vital.evaluation.vqa_metrics",
    "metric_path": "biomed_vital.evaluation.vqa_metrics",
    "METRIC_NAMES": "biomed_vital.evaluation.vqa_metrics",
    "EvaluationConfig": "biomed_vital.evaluation.evaluation_config",
    "evaluate": "biomed_vital.evaluation.report",
    "EvaluationReport": "biomed_vital.evaluation.report",
    "plot_relative_scores": "biomed_vital.evaluation.plots",
    "plot_vqa_scores": "biomed_vital.evaluation.plots",
    "plot_win_rates": "biomed_vital.evaluation.plots",
    "OPEN_CHAT_SYSTEM_PROMPT": "biomed_vital.evaluation.prompts",
    "OPEN_CHAT_INSTRUCTION": "biomed_vital.evaluation.prompts",
    "PAIRWISE_SYSTEM_PROMPT": "biomed_vital.evaluation.prompts",
    "PAIRWISE_INSTRUCTION": "biomed_vital.evaluation.prompts",
    "ANSWER_SYSTEM_PROMPT": "biomed_vital.evaluation.prompts",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY_ATTRIBUTES)

if TYPE_CHECKING:
    from biomed_vital.evaluation.answer_config import (
        AnswerConfig,
    )
    from biomed_vital.evaluation.answering import (
        QuestionAnswerer,
        regenerate_references,
    )
    from biomed_vital.evaluation.evaluation_config import (
        EvaluationConfig,
    )
    from biomed_vital.evaluation.llava_med_files import (
        EvaluationFileError,
        answer_features,
        join_answers,
        open_chat_features,
        read_answers,
        read_questions,
        read_reviews,
        review_features,
        write_answers,
        write_questions,
        write_reviews,
    )
    from biomed_vital.evaluation.open_chat import (
        NO_DOMAIN,
        OpenChatScores,
        ScoreGroup,
        UnscorableReview,
        parse_pair_scores,
        question_domain,
        relative_scores,
    )
    from biomed_vital.evaluation.open_chat_judge import (
        OpenChatJudge,
    )
    from biomed_vital.evaluation.open_chat_judge_config import (
        OpenChatJudgeConfig,
    )
    from biomed_vital.evaluation.pairwise_judge import (
        PairwiseJudge,
        pair_answers,
        pairwise_win_rate,
    )
    from biomed_vital.evaluation.pairwise_judge_config import (
        PairwiseJudgeConfig,
    )
    from biomed_vital.evaluation.plots import (
        plot_relative_scores,
        plot_vqa_scores,
        plot_win_rates,
    )
    from biomed_vital.evaluation.prompts import (
        ANSWER_SYSTEM_PROMPT,
        OPEN_CHAT_INSTRUCTION,
        OPEN_CHAT_SYSTEM_PROMPT,
        PAIRWISE_INSTRUCTION,
        PAIRWISE_SYSTEM_PROMPT,
    )
    from biomed_vital.evaluation.report import (
        EvaluationReport,
        evaluate,
    )
    from biomed_vital.evaluation.vqa import (
        BENCHMARKS,
        VQAScores,
        load_vqa,
        score_vqa,
        vqa_features,
    )
    from biomed_vital.evaluation.vqa_metrics import (
        METRIC_NAMES,
        bleu,
        closed_accuracy,
        closed_correct,
        exact_match,
        extract_yes_no,
        metric_path,
        normalize_answer,
        open_recall,
        token_f1,
        token_recall,
    )
    from biomed_vital.evaluation.win_rates import (
        WinRate,
        outcome_of,
        parse_verdict,
        win_rate,
    )
