"""Draw docs/images/pipeline.png, the diagram of the pipeline's stages and the Datasets between them.

Command (from the repository root)::

    .venv/bin/python docs/images/make_pipeline_diagram.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT = Path(__file__).with_name("pipeline.png")

# (stage, what it makes, who does it, x, y): the stages of `biomed-vital run`, in order
STAGES = [
    ("figures", "pool + held-out figures", "load_figures", 0, 2),
    ("sample", "diverse draw", "DemonstrationSampler", 1, 2),
    ("annotate", "clinician judgements,\ndemonstrations", "annotation app", 2, 2),
    ("generate", "candidates", "GPT4VGenerator", 3, 2),
    ("judge", "judged", "GPT4VJudge", 4, 2),
    ("preferences", "preference pairs", "build_preferences", 4, 1),
    ("train_selector", "selector", "SelectorTrainer", 3, 1),
    ("select", "selected", "select()", 2, 1),
    ("tune", "tuned model", "VisualInstructionTrainer", 1, 1),
    ("evaluate", "report: scores,\nwin rates", "evaluate()", 0, 1),
]
MODEL_CALLS = {"annotate", "generate", "judge", "evaluate"}  # stages that call the GPT-4V-class endpoint
CLINICIANS = {"annotate"}


def main() -> None:
    figure, axes = plt.subplots(figsize=(13, 5.2))
    width, height = 0.84, 0.62
    centres = {}
    for name, makes, who, x, y in STAGES:
        colour = "#fde2c8" if name in CLINICIANS else "#d6e6f5" if name in MODEL_CALLS else "#e3f0d8"
        axes.add_patch(
            FancyBboxPatch(
                (x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.02", fc=colour, ec="#333333"
            )
        )
        axes.text(x, y + 0.17, name, ha="center", va="center", fontsize=11, fontweight="bold")
        axes.text(x, y - 0.02, makes, ha="center", va="center", fontsize=8.5)
        axes.text(x, y - 0.22, who, ha="center", va="center", fontsize=8, style="italic", color="#444444")
        centres[name] = (x, y)
    names = [stage[0] for stage in STAGES]
    for before, after in zip(names, names[1:], strict=False):
        (x0, y0), (x1, y1) = centres[before], centres[after]
        if y0 == y1:
            start = (x0 + (width / 2 if x1 > x0 else -width / 2), y0)
            end = (x1 - (width / 2 if x1 > x0 else -width / 2), y1)
        else:
            start, end = (x0, y0 - height / 2), (x1, y1 + height / 2)
        axes.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, color="#333333"))
    # the clinicians' pairs feed the preferences too, and the held-out figures the evaluation
    for source, target, label in [("annotate", "preferences", "clinician pairs"), ("figures", "evaluate", "held out")]:
        (x0, y0), (x1, y1) = centres[source], centres[target]
        axes.add_patch(
            FancyArrowPatch(
                (x0 + 0.1, y0 - height / 2),
                (x1 - 0.1 if x1 > x0 else x1, y1 + height / 2),
                arrowstyle="-|>",
                mutation_scale=12,
                linestyle="--",
                color="#8a4b08",
                connectionstyle="arc3,rad=0.15",
            )
        )
        axes.text((x0 + x1) / 2 + 0.05, (y0 + y1) / 2 + 0.02, label, fontsize=8, color="#8a4b08")
    legend = [
        ("#fde2c8", "clinicians"),
        ("#d6e6f5", "calls the GPT-4V-class endpoint (request engine)"),
        ("#e3f0d8", "local (CPU/GPU)"),
    ]
    for index, (colour, text) in enumerate(legend):
        axes.add_patch(FancyBboxPatch((-0.45 + 1.9 * index, 0.2), 0.12, 0.12, boxstyle="square,pad=0", fc=colour, ec="#333"))
        axes.text(-0.28 + 1.9 * index, 0.26, text, va="center", fontsize=9)
    axes.text(
        2, 2.55, "every arrow is a datasets.Dataset (or files) saved in the stage's folder of the run",
        ha="center", fontsize=9.5, color="#333333",
    )
    axes.set_xlim(-0.6, 4.6)
    axes.set_ylim(0.05, 2.7)
    axes.axis("off")
    figure.tight_layout()
    figure.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
