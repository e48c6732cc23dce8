"""The stand-in's replies to the evaluation judges: two scores for an open-chat review, a verdict for a
pairwise comparison.

The open-chat judge (LLaVA-Med's protocol) shows two answers in ``[Assistant 1]`` / ``[Assistant 2]``
blocks and wants both scores (1-10) on the first line; the pairwise judge shows ``[Assistant A]`` /
``[Assistant B]`` blocks and wants ``[[A]]``, ``[[B]]`` or ``[[tie]]``. Each answer is rated with the
stand-in's own grounding score (the share of its words found in the caption and mentions,
:func:`~biomed_vital.testing.standin.replies.judge_score`), so a grounded answer beats one that quotes
nothing; the marker says the text is the stand-in's.

Example:
    >>> text = ("Caption: Axial CT of the chest.\\n[Assistant 1]\\nAxial CT of the chest.\\n[End of Assistant 1]\\n"
    ...         "[Assistant 2]\\nNo idea.\\n[End of Assistant 2]")
    >>> print(evaluation_reply({"messages": [{"role": "user", "content": text}]}, 0).splitlines()[0])
    10 1
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from biomed_vital.testing.standin.prompt import FigureContext, last_user_text, parse_figure_context
from biomed_vital.testing.standin.replies import judge_score
from biomed_vital.testing.standin.vocabulary import STANDIN_MARKER

__all__ = ["evaluation_reply"]


def _block(text: str, name: str) -> str | None:
    match = re.search(rf"^\[{re.escape(name)}\]\n(.*?)\n\[End of {re.escape(name)}\]", text, re.S | re.M)
    return match.group(1).strip() if match else None


def _grounding(text: str, answer: str, variant: int) -> float:
    context = parse_figure_context(text)
    return judge_score(FigureContext(context.caption, context.mentions, answer=answer), variant)[0]


def evaluation_reply(body: Mapping[str, Any], variant: int) -> str | None:
    """Two scores or a verdict when the request is an evaluation judge's, else ``None``."""
    text = last_user_text(body)
    first, second = _block(text, "Assistant 1"), _block(text, "Assistant 2")
    if first is not None and second is not None:
        scores = [max(1, min(10, round(_grounding(text, answer, variant)))) for answer in (first, second)]
        return (
            f"{scores[0]} {scores[1]}\nOffline stand-in review: each score grows with the share of the answer's "
            f"words found in the caption or mentions. {STANDIN_MARKER}"
        )
    answer_a, answer_b = _block(text, "Assistant A"), _block(text, "Assistant B")
    if answer_a is not None and answer_b is not None:
        score_a, score_b = _grounding(text, answer_a, variant), _grounding(text, answer_b, variant)
        verdict = "A" if score_a > score_b + 1 else "B" if score_b > score_a + 1 else "tie"
        return (
            f"Offline stand-in comparison: assistant A's grounding {score_a:g}, assistant B's {score_b:g}. "
            f"{STANDIN_MARKER}\n[[{verdict}]]"
        )
    return None
