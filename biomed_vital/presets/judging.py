"""The ``biomed-vital`` preset's judge settings (``JudgeConfig``), from the authors' ``filter/gpt-4v_scoring.py``.

A medical expert scores one question-answer pair 0-10 on named criteria (rewritten in this library's words in
:mod:`biomed_vital.generation.paper_prompts`), the score read from the first line of the reply; each candidate
is scored on its first pair only.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BIOMED_VITAL", "BIOMED_VITAL_SWEEPS"]

BIOMED_VITAL: dict[str, dict[str, Any]] = {
    "JudgeConfig": {
        "prompt_style": "biomed-vital",
        "granularity": "first_pair",
        "score_parsing": "first_line",
        "temperature": 0.0,
        # the scripts read text replies
        "structured_output": False,
    },
}

BIOMED_VITAL_SWEEPS: dict[str, tuple[Any, ...]] = {}
