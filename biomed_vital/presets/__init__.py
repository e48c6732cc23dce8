"""Named presets: one name sets every stage the way a published method ran it.

``biomed-vital`` is BioMed-VITAL as its authors ran it (the prompts, the judge and its scoring unit, the
pair construction, the loss weighting, the BiomedCLIP selector and the selection). The library's own
defaults stay as they are; the differences are listed, with the reasons, in ``docs/presets.md``.

The same name works everywhere: ``GeneratorConfig.from_preset("biomed-vital")`` (every config class has
``from_preset``), ``GPT4VGenerator(model, preset="biomed-vital")``, ``GPT4VJudge(..., preset=...)``,
``PreferenceDataset.from_judge_scores(judged, preset=...)``, ``build_preferences(..., preset=...)``,
``select(..., preset=...)`` and ``--preset biomed-vital`` on the commands. Values given next to the preset
override it.

Each stage's values live in a module of their own: :mod:`~biomed_vital.presets.sampling` (which lists the
sampler's own ``SAMPLER_PRESETS``), :mod:`~biomed_vital.presets.generation`,
:mod:`~biomed_vital.presets.judging`, :mod:`~biomed_vital.presets.preferences`,
:mod:`~biomed_vital.presets.selection`; :mod:`~biomed_vital.presets.registry` looks them up by name.

Example:
    >>> from biomed_vital.presets import get_preset
    >>> get_preset("biomed-vital").values_for("SelectorTrainingConfig")["loss_reduction"]
    'batch_mean'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from biomed_vital._lazy import attach

_LAZY_ATTRIBUTES: dict[str, str] = {
    "Preset": "biomed_vital.presets.registry",
    "FromPreset": "biomed_vital.presets.registry",
    "config_from_preset": "biomed_vital.presets.registry",
    "get_preset": "biomed_vital.presets.registry",
    "preset_names": "biomed_vital.presets.registry",
    "preset_values": "biomed_vital.presets.registry",
    "BIOMEDCLIP_HUB_ID": "biomed_vital.presets.selection",
    "PAPER_TOP_FRACTIONS": "biomed_vital.presets.selection",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY_ATTRIBUTES)

if TYPE_CHECKING:
    from biomed_vital.presets.registry import (
        FromPreset,
        Preset,
        config_from_preset,
        get_preset,
        preset_names,
        preset_values,
    )
    from biomed_vital.presets.selection import BIOMEDCLIP_HUB_ID, PAPER_TOP_FRACTIONS
