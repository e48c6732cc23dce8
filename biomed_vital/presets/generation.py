"""The ``biomed-vital`` preset's generation settings (``GeneratorConfig``), from the authors' released scripts
``generate/generate_vision_instructions.py`` and ``generate_vision_instructions_2_answers.py``.

The authors' prompts are rewritten in this library's words in :mod:`biomed_vital.generation.paper_prompts`;
``prompt_style="biomed-vital"`` selects them (one-answer or two-answer by ``two_answers``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["BIOMED_VITAL", "BIOMED_VITAL_SWEEPS"]

BIOMED_VITAL: dict[str, dict[str, Any]] = {
    "GeneratorConfig": {
        # the authors' persona and rules, and their request layout: the caption under the figure's label
        "prompt_style": "biomed-vital",
        "fig_label": True,
        "max_tokens": 4096,
        # the scripts send no temperature: the API's default applies
        "temperature": None,
        # the scripts keep whatever User:/Assistant: lines a reply has; 1 is the least this library accepts
        "min_rounds": 1,
        # the scripts send the demonstration's image with it
        "attach_demonstration_images": True,
    },
}

BIOMED_VITAL_SWEEPS: dict[str, tuple[Any, ...]] = {}
