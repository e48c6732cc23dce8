"""The offline end-to-end demo behind ``biomed-vital demo`` (and ``make demo``), as one Python call.

It is the whole pipeline (:mod:`biomed_vital.pipeline`) with the settings of ``pipeline/demo.yaml``: the
built-in demo figures (real images from the pydicom and scikit-image wheels), the offline stand-in server
for generation and judging, a rule in place of clinicians, and tiny random models for the selector and
the model to tune. Everything is written under ``output_dir``, one folder per stage; a rerun reuses what
is finished.

Example:
    >>> from biomed_vital.demo import run_demo
    >>> selected = run_demo("outputs/demo")            # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any


def run_demo(
    output_dir: str | os.PathLike = "outputs/demo", *, seed: int = 0, show_progress: bool = True
) -> Any:
    """Run the whole demo pipeline offline and return the selected candidates.

    Example:
        >>> selected = run_demo("outputs/demo", show_progress=False)   # doctest: +SKIP
        >>> selected.column_names[-1]                                   # doctest: +SKIP
        'selector_score'
    """
    from biomed_vital.pipeline import demo_pipeline
    from biomed_vital.schema import load_stage

    pipeline = demo_pipeline(output_dir, "--seed", str(seed), show_progress=show_progress)
    pipeline.run()
    return load_stage(str(pipeline.context.folder("select") / "selected"))
