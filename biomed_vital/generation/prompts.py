"""The prompts of the generator and the judge.

The generation prompt follows BioMed-VITAL: the model sees a figure's image, caption and
in-text mentions and writes a multi-turn conversation in which the assistant answers as if it
saw the image, shown clinician-selected demonstrations first (one per modality by default; the
demonstrations themselves are :mod:`biomed_vital.sampling.demonstrations`).
The judge prompt asks for a 0-10 rating on the paper's criteria.

The request turn always carries the figure context as labelled lines (``Caption:``,
``Mentions:`` and, for the judge, ``Question:`` / ``Answer:``), after a one-line instruction,
so that any server (and the offline stand-in) can find them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from biomed_vital._lazy import attach
from biomed_vital.sampling.demonstrations import Demonstration

__all__ = [
    "GENERATION_SYSTEM_PROMPT",
    "JUDGE_CONVERSATION_SYSTEM_PROMPT",
    "JUDGE_SYSTEM_PROMPT",
    "TWO_ANSWER_SYSTEM_PROMPT",
    "figure_context_text",
    "prompt_sha",
]

# The demonstrations moved to biomed_vital.sampling.demonstrations; the old names resolve for one release.
__getattr__ = attach(__name__, {}, deprecated={"DemonstrationPool": "biomed_vital.sampling.demonstrations"})[
    0
]

_GENERATION_CORE = """\
You are an expert in biomedical imaging who writes instruction data for vision-language assistants.

Each request gives you one figure from a biomedical research article: the image, its caption, and \
sentences of the article that mention the figure (in-text mentions). Design a conversation between \
a user who asks about the image and an assistant that answers as if it were looking at the image \
itself.

Requirements:
- Ask about what a reader of the image wants to know: the imaging modality, the organ or tissue, \
the location or region of findings, possible diseases or abnormalities, sizes, counts of objects, \
and questions that need reasoning over several findings.
- Mix yes/no questions with open questions.
- Write at least {min_rounds} exchanges; 4 to 5 is typical.
- Use the terminology of the caption and the mentions, and keep every answer consistent with them.
- Answer confidently only what the image, caption or mentions support; when something cannot be \
determined from the figure, say so. Avoid both overconfident claims and vague, evasive answers.
- Do not refer to the caption or the mentions as your source; answer as someone examining the image.
- Start with the user's question.
"""

#: The reply layout the conversation parser reads (shared by every one-answer generation prompt).
GENERATION_OUTPUT_FORMAT = """\
Output format: one turn per line, questions starting with "User:" and answers starting with \
"Assistant:", and nothing before or after the conversation.
"""

#: The reply layout the two-answer parser reads (shared by every two-answer generation prompt).
TWO_ANSWER_OUTPUT_FORMAT = """\
Output format: for each exchange, one line starting with "User:" (the question), then one line \
starting with "Answer A:" and one line starting with "Answer B:"; nothing before or after.
"""

GENERATION_SYSTEM_PROMPT = _GENERATION_CORE + "\n" + GENERATION_OUTPUT_FORMAT

TWO_ANSWER_SYSTEM_PROMPT = (
    _GENERATION_CORE
    + """
For every question write two different answers, so that clinicians can compare them. The two \
answers may differ in content, precision or depth, but each must address the question.

"""
    + TWO_ANSWER_OUTPUT_FORMAT
)

_JUDGE_CRITERIA = """\
Rate it on a scale from 0 (useless or wrong) to 10 (excellent) and give the score with a short \
rationale. Consider:
- scope and relevance: does it concern the image and agree with the caption and mentions;
- value for instruction fine-tuning of a biomedical vision-language assistant;
- alignment of the answer with the question;
- medical accuracy;
- utility for a clinician or researcher;
- use of the image content rather than generic knowledge;
- clarity, depth and precision.
"""

JUDGE_SYSTEM_PROMPT = (
    """\
You are a clinician reviewing instruction data for a biomedical vision-language assistant. You \
are given a figure from a biomedical article (the image, its caption and in-text mentions), one \
question about the figure and the assistant's answer to it.

"""
    + _JUDGE_CRITERIA
)

JUDGE_CONVERSATION_SYSTEM_PROMPT = (
    """\
You are a clinician reviewing instruction data for a biomedical vision-language assistant. You \
are given a figure from a biomedical article (the image, its caption and in-text mentions) and a \
whole conversation about it, as Question:/Answer: pairs.

Rate the conversation as a whole. """
    + _JUDGE_CRITERIA
)

JUDGE_JSON_FORMAT = (
    'Reply with JSON only: {"score": <number from 0 to 10>, "rationale": "<one or two sentences>"}.'
)
JUDGE_TEXT_FORMAT = (
    'Reply in two lines: "Score: <number from 0 to 10>/10" and "Rationale: <one or two sentences>".'
)

GENERATION_INSTRUCTION = "Write the conversation for this figure."
TWO_ANSWER_INSTRUCTION = (
    "Write the conversation for this figure, with two answers (A and B) to every question."
)
JUDGE_INSTRUCTION = "Rate the answer to the question about this figure."
JUDGE_CONVERSATION_INSTRUCTION = "Rate the conversation about this figure."


def _one_line(text: str) -> str:
    return " ".join(str(text or "").split())


def figure_context_text(
    caption: str | None,
    mentions: Sequence[str] | None,
    *,
    instruction: str = GENERATION_INSTRUCTION,
    qa_pairs: Sequence[tuple[str, str]] = (),
    fig_label: str | None = None,
) -> str:
    """The text of a request turn: an instruction line, then ``Caption:``, ``Mentions:`` and QA lines.

    With ``fig_label`` (e.g. ``"Figure 2"``) the caption follows the figure's label, as the article prints it.

    Example:
        >>> print(figure_context_text("Axial CT of the head.", ["Figure 2 shows a bleed."]))
        Write the conversation for this figure.
        Caption: Axial CT of the head.
        Mentions:
        - Figure 2 shows a bleed.
        >>> figure_context_text("Axial CT.", [], fig_label="Figure 2").splitlines()[1]
        'Caption: Figure 2: Axial CT.'
    """
    if isinstance(mentions, str):
        mentions = [mentions]
    caption = _one_line(caption or "")
    label = _one_line(fig_label or "").rstrip(":")
    if label:
        caption = f"{label}: {caption}".rstrip()
    lines = [instruction, f"Caption: {caption}".rstrip(), "Mentions:"]
    lines.extend(f"- {_one_line(m)}" for m in (mentions or []) if _one_line(m))
    for question, answer in qa_pairs:
        lines.append(f"Question: {question.strip()}")
        lines.append(f"Answer: {answer.strip()}")
    return "\n".join(lines)


def prompt_sha(system_prompt: str, demonstrations: Sequence[Demonstration]) -> str:
    """sha256 of the system prompt and the demonstrations a request used.

    Example:
        >>> len(prompt_sha("You are ...", []))
        64
    """
    payload = json.dumps({"system": system_prompt, "demonstrations": [d.as_dict() for d in demonstrations]})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
