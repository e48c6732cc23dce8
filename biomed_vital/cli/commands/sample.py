"""``biomed-vital sample``: draw diverse figures for clinicians to annotate, save them and plot the draw.

Example:
    $ biomed-vital sample figures/ --k 60 --out sampled/ --preset biomed-vital
    $ biomed-vital sample figures/ --k 20 --out sampled/ --embedding lightweight --n-clusters 10
    $ biomed-vital sample pool/ --k 60 --out sampled/ --allowed_image_roots /data/pmc_images
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from biomed_vital.cli.parser import CommandParser
from biomed_vital.data.loading_config import FigureLoadingConfig
from biomed_vital.sampling.sampler_config import SAMPLER_PRESETS, SamplerConfig

__all__ = ["SampleArguments", "build_parser", "main"]


@dataclass
class SampleArguments:
    """Which pool, how many figures, and where the draw goes."""

    figures: str = field(
        metadata={
            "positional": True,
            "help": "the pool: a saved figures Dataset, LLaVA-Med / BioMed-VITAL JSON(L), an image folder or a Hub id",
        }
    )
    out: str = field(metadata={"help": "Folder for the drawn figures (save_to_disk) and sampling.png."})
    k: int | None = field(
        default=None, metadata={"help": "Figures to draw; empty: n_clusters x (per_cluster or 1)."}
    )
    preset: str | None = field(
        default=None,
        metadata={
            "help": f"Start from a preset ({', '.join(SAMPLER_PRESETS)}: the paper's setting); flags override it."
        },
    )


def build_parser() -> CommandParser:
    """The parser of ``biomed-vital sample``."""
    return CommandParser(
        [SampleArguments, SamplerConfig, FigureLoadingConfig],
        prog="biomed-vital sample",
        description="Draw diverse figures by clustering joint image and text embeddings (MiniBatchKMeans).",
    )


def _preset_name(argv: Sequence[str]) -> str | None:
    for index, token in enumerate(argv):
        if token == "--preset" and index + 1 < len(argv):
            return argv[index + 1]
        if token.startswith("--preset="):
            return token.split("=", 1)[1]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``biomed-vital sample``.

    Example:
        >>> main(["figures/", "--k", "20", "--out", "sampled/", "--embedding", "lightweight"])  # doctest: +SKIP
        0
    """
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    preset = _preset_name(argv)
    if preset is not None:
        if preset not in SAMPLER_PRESETS:
            parser.error(f"--preset {preset}: unknown; choose from {', '.join(SAMPLER_PRESETS)}")
        parser.set_defaults(**SAMPLER_PRESETS[preset])  # a --config file and flags still override it
    arguments, config, loading = parser.parse(argv)

    from biomed_vital.data import load_figure_source, summarize_figures
    from biomed_vital.sampling import DemonstrationSampler

    figures = load_figure_source(arguments.figures, config=loading)
    sampler = DemonstrationSampler(config)
    drawn = sampler.sample(figures, k=arguments.k)
    drawn.save_to_disk(arguments.out)
    plot = sampler.plot(os.path.join(arguments.out, "sampling.png"))
    print(summarize_figures(drawn))
    print(f"drew {len(drawn)} of {len(figures)} figures from {len(set(drawn['cluster']))} clusters")
    print(f"saved to {arguments.out}; the draw is plotted in {plot}")
    return 0
