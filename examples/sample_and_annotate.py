"""Where clinicians come in: sample diverse figures, generate two answers per question, annotate, keep the best.

1. ``DemonstrationSampler`` draws ``--k`` figures spread over clusters of joint image and text embeddings
   and over modalities, and plots the draw (``sampling.png``);
2. ``GPT4VGenerator(two_answers=True)`` writes two answers to every question (offline: the stand-in
   server, whose replies only quote the request's caption and are marked as stand-in text);
3. the annotation app opens in the browser: compare the answers, accept or reject them (Ctrl+C when done);
   ``--simulate-annotator`` instead lets a rule judge every item (``biomed_vital.annotation.simulate_annotations``:
   prefer the answer sharing more words with the caption), and every record it writes says ``"simulated": true``;
4. the approved conversations become demonstrations (``select_demonstrations``) and the comparisons
   become clinician preference pairs (``PreferenceDataset.from_clinician_annotations``).

Command (offline; the app opens at http://127.0.0.1:7860/)::

    .venv/bin/python examples/sample_and_annotate.py --out runs/sample-and-annotate

Without the browser step (about 40 seconds), on the real fixture images when they are there::

    .venv/bin/python examples/sample_and_annotate.py --out runs/sample-and-annotate --simulate-annotator \\
        --figures ../shared/fixtures/images.jsonl

The built-in demo figures are 9, so ``--k 20`` draws all of them; a larger pool (``--figures``) gives a draw.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/sample-and-annotate"), help="output folder")
    parser.add_argument("--figures", default=None, help="the pool (default: the built-in demo figures)")
    parser.add_argument("--k", type=int, default=20, help="figures to draw")
    parser.add_argument("--n-clusters", type=int, default=8)
    parser.add_argument(
        "--embedding", default="lightweight", choices=["lightweight", "encoders"], help="see SamplerConfig"
    )
    parser.add_argument("--model", default=None, help="model name (default: the offline stand-in)")
    parser.add_argument(
        "--base-url", default=None, help="OpenAI-compatible server, e.g. http://localhost:8000/v1"
    )
    parser.add_argument("--annotator", default="rad-1", help="the clinician's label in the records")
    parser.add_argument("--port", type=int, default=7860, help="port of the annotation app")
    parser.add_argument(
        "--simulate-annotator", action="store_true", help="judge by a rule instead of in the browser"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from biomed_vital.annotation import (
        SIMULATED_ANNOTATOR,
        AnnotationAppConfig,
        annotation_agreement,
        launch_annotation_app,
        simulate_annotations,
    )
    from biomed_vital.data import load_demo_figures, load_figures
    from biomed_vital.generation import GPT4VGenerator
    from biomed_vital.preferences import PreferenceDataset, summarize_preferences
    from biomed_vital.sampling import DemonstrationSampler, select_demonstrations
    from biomed_vital.testing import StandInServer

    args.out.mkdir(parents=True, exist_ok=True)
    figures = load_figures(args.figures) if args.figures else load_demo_figures()

    # 1. a diverse draw
    sampler = DemonstrationSampler(
        embedding=args.embedding, n_clusters=args.n_clusters, cache_dir=str(args.out / "embedding-cache")
    )
    drawn = sampler.sample(figures, k=args.k)
    sampler.plot(args.out / "sampling.png")
    print(f"1. drew {len(drawn)} of {len(figures)} figures; modalities {sorted(set(drawn['modality']))}")

    # 2. two answers per question
    with contextlib.ExitStack() as stack:
        base_url, model, api_key = args.base_url, args.model, None
        if base_url is None and model is None:
            server = stack.enter_context(StandInServer())
            base_url, model, api_key = server.base_url, "stand-in", "sk-offline"
        generator = GPT4VGenerator(
            model,
            base_url=base_url,
            api_key=api_key,
            two_answers=True,
            cache_dir=str(args.out / "request-cache"),
        )
        candidates = generator.generate(drawn)
    candidates.save_to_disk(str(args.out / "candidates"))
    print(f"2. {len(candidates)} candidate answers saved to {args.out / 'candidates'}")

    # 3. annotation
    annotations = args.out / "annotations.jsonl"
    if args.simulate_annotator:
        simulate_annotations(candidates, annotations)
        print(f"3. simulated judgements ({SIMULATED_ANNOTATOR}) written to {annotations}")
    else:
        config = AnnotationAppConfig(
            str(args.out / "candidates"), str(annotations), args.annotator, port=args.port
        )
        with contextlib.suppress(KeyboardInterrupt):
            launch_annotation_app(config)
        print(f"3. judgements in {annotations}")
    print(annotation_agreement(str(annotations)))

    # 4. demonstrations and clinician pairs
    demonstrations = select_demonstrations(candidates, str(annotations), per_modality=1)
    demonstrations.save_to_disk(str(args.out / "demonstrations"))
    pairs = PreferenceDataset.from_clinician_annotations(str(annotations), candidates)
    pairs.save_to_disk(str(args.out / "clinician_pairs"))
    print(
        f"4. {len(demonstrations)} demonstrations ({', '.join(demonstrations['modality'])}) and "
        f"{len(pairs)} clinician pairs saved under {args.out}"
    )
    print(summarize_preferences(pairs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
