"""The offline end-to-end demo behind ``biomed-vital demo`` (and ``make demo``).

It runs every stage on the built-in demo figures, with no network:

1. load the demo figures (real images from the pydicom and scikit-image wheels);
2. generate two candidate conversations per figure with :class:`~biomed_vital.GPT4VGenerator`
   against the offline OpenAI-compatible stand-in server (its replies quote the caption and
   say they are stand-in replies), after a dry-run cost estimate;
3. score every question-answer pair with :class:`~biomed_vital.GPT4VJudge`;
4. turn judge scores into preference pairs with :class:`~biomed_vital.PreferenceDataset`;
5. train a tiny selection model from scratch with :class:`~biomed_vital.SelectorTrainer` and
   keep the best half of each modality's candidates with :func:`~biomed_vital.select`.

Everything is written under ``output_dir``: each stage's Dataset, the cache, the selector and
the selection report. Rerunning reuses the cache, so no request is sent twice.

Example:
    >>> from biomed_vital.demo import run_demo
    >>> selected = run_demo("outputs/demo")            # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEMO_MODEL = "gpt-4o"  # the name the stand-in answers to; the price table prices it like the real model


def _banner(step: str) -> None:
    print(f"\n== {step}", flush=True)


def run_demo(
    output_dir: str | os.PathLike = "outputs/demo", *, seed: int = 0, show_progress: bool = True
) -> Any:
    """Run the whole pipeline offline on the demo figures and return the selected candidates.

    Example:
        >>> selected = run_demo("outputs/demo", show_progress=False)   # doctest: +SKIP
        >>> selected.column_names[-1]                                   # doctest: +SKIP
        'selector_score'
    """
    import datasets

    from biomed_vital.data import load_demo_figures, summarize_figures
    from biomed_vital.generation import GPT4VGenerator, GPT4VJudge
    from biomed_vital.preferences import PreferenceDataset, summarize_preferences
    from biomed_vital.testing import StandInServer

    datasets.disable_progress_bars()  # the stages show their own progress; Arrow's bars are noise here
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)

    _banner("1. figures: real medical images shipped inside the pydicom and scikit-image wheels")
    figures = load_demo_figures()
    print(summarize_figures(figures))

    with StandInServer(seed=seed) as server:
        options: dict[str, Any] = {
            "base_url": server.base_url,
            "api_key": "sk-offline-demo",  # the stand-in accepts any key; real keys come from OPENAI_API_KEY
            "cache_dir": str(out / "cache"),
            "max_concurrency": 8,
            "show_progress": show_progress,
        }
        _banner(f"2. candidates: 2 conversations per figure from {server.base_url} (offline stand-in)")
        generator = GPT4VGenerator(DEMO_MODEL, n_candidates=2, seed=seed, **options)
        print(f"dry run before sending anything: {generator.estimate_cost(figures)}")
        candidates = generator.generate(figures)
        candidates.save_to_disk(str(out / "candidates"))

        _banner("3. judged: a 0-10 score for every question-answer pair")
        judge = GPT4VJudge(DEMO_MODEL, seed=seed, **options)
        judged = judge.score(candidates)
        judged.save_to_disk(str(out / "judged"))
    ok = judged.filter(lambda row: row["judge_status"] == "ok")
    print(
        f"{len(ok)}/{len(judged)} candidates judged; mean score {sum(ok['judge_score']) / max(len(ok), 1):.2f}"
    )

    _banner("4. preferences: pairs of answers whose judge scores differ by at least 1")
    preferences = PreferenceDataset.from_judge_scores(judged, min_gap=1.0, pairs_per_item=2, seed=seed)
    print(summarize_preferences(preferences))
    preferences.save_to_disk(str(out / "preferences"))

    _banner("5. selection: a tiny selector trained from scratch, then the best half of each modality")
    selected = _train_and_select(judged, preferences, out, seed=seed, show_progress=show_progress)
    columns = ["candidate_id", "modality", "judge_score", "selector_score"]
    print(
        selected.select_columns(columns).to_pandas().to_string(index=False, float_format=lambda x: f"{x:.2f}")
    )
    selected.save_to_disk(str(out / "selected"))
    print(f"\nall stages saved under {out.resolve()}")
    return selected


def _train_and_select(judged: Any, preferences: Any, out: Path, *, seed: int, show_progress: bool) -> Any:
    from biomed_vital.selection import SelectorTrainer, SelectorTrainingConfig, select
    from biomed_vital.testing import tiny_selector

    model, processor = tiny_selector(seed=seed)
    args = SelectorTrainingConfig(
        str(out / "selector"),
        num_train_epochs=3,
        per_device_train_batch_size=16,
        learning_rate=1e-3,
        logging_steps=10,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        seed=seed,
        disable_tqdm=not show_progress,
    )
    trainer = SelectorTrainer(model, args, train_dataset=preferences, processing_class=processor)
    trainer.train()
    trainer.save_model(str(out / "selector"))
    return select(
        judged,
        model,
        processor,
        top_fraction=0.5,
        per_modality=True,  # the best half of each modality, so no modality is left out
        batch_size=16,
        num_workers=0,
        output_dir=str(out / "selection_report"),
    )
