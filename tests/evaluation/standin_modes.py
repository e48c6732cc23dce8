"""Stand-in replies for the evaluation judges' two request formats, installed for a test only.

The stand-in server answers judge requests with one ``Score: x/10`` verdict. The open-chat judge asks
for two scores on the first line (``[Assistant 1]`` / ``[Assistant 2]`` blocks) and the pairwise judge
for ``[[A]]`` / ``[[B]]`` / ``[[tie]]`` (``[Assistant A]`` / ``[Assistant B]`` blocks). These replies rate
each answer with the stand-in's own grounding score (the share of its words found in the caption and
mentions), so a grounded answer beats one that quotes nothing; the marker says they are stand-in text.
They replace the ``build_reply`` an in-process server's routes call, for the duration of a test.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from biomed_vital.testing.standin import app, replies
from biomed_vital.testing.standin.prompt import FigureContext, last_user_text, parse_figure_context

_ORIGINAL = replies.build_reply


def _block(text: str, name: str) -> str | None:
    match = re.search(rf"^\[{re.escape(name)}\]\n(.*?)\n\[End of {re.escape(name)}\]", text, re.S | re.M)
    return match.group(1).strip() if match else None


def _grounding(text: str, answer: str, variant: int) -> float:
    context = parse_figure_context(text)
    return replies.judge_score(FigureContext(context.caption, context.mentions, answer=answer), variant)[0]


def evaluation_reply(body: Mapping[str, Any], mode: str, variant: int) -> str:
    """Two scores or a verdict for the evaluation judges' requests; the stand-in's own reply otherwise."""
    text = last_user_text(body)
    first, second = _block(text, "Assistant 1"), _block(text, "Assistant 2")
    if mode == replies.JUDGE and first is not None and second is not None:
        scores = [max(1, min(10, round(_grounding(text, answer, variant)))) for answer in (first, second)]
        return (
            f"{scores[0]} {scores[1]}\nOffline stand-in review: each score grows with the share of the answer's "
            f"words found in the caption or mentions. {replies.STANDIN_MARKER}"
        )
    answer_a, answer_b = _block(text, "Assistant A"), _block(text, "Assistant B")
    if mode == replies.JUDGE and answer_a is not None and answer_b is not None:
        score_a, score_b = _grounding(text, answer_a, variant), _grounding(text, answer_b, variant)
        verdict = "A" if score_a > score_b + 1 else "B" if score_b > score_a + 1 else "tie"
        return (
            f"Offline stand-in comparison: assistant A's grounding {score_a:g}, assistant B's {score_b:g}. "
            f"{replies.STANDIN_MARKER}\n[[{verdict}]]"
        )
    return _ORIGINAL(body, mode, variant)


def install(monkeypatch: Any) -> None:
    """Let in-process stand-in servers answer the evaluation judges' formats for this test."""
    monkeypatch.setattr(app, "build_reply", evaluation_reply)
