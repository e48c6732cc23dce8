"""The prompts of the evaluation tasks, and the layout of their request text.

Every request text starts with the figure context and the question in the library's layout
(``Caption:``, ``Mentions:``, ``Question:`` lines, as the generator and the judge write them), then
labelled blocks: the answers as
``[Assistant 1]`` / ``[Assistant 2]`` (open chat: reference first, model second, as LLaVA-Med
orders them) or ``[Assistant A]`` / ``[Assistant B]`` (pairwise), and ``[Instruction]``. The wording
is this library's own; the hash of each system prompt and instruction is recorded in every report,
and all of them can be replaced through the task configs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = [
    "ANSWER_SYSTEM_PROMPT",
    "OPEN_CHAT_INSTRUCTION",
    "OPEN_CHAT_SYSTEM_PROMPT",
    "PAIRWISE_INSTRUCTION",
    "PAIRWISE_SYSTEM_PROMPT",
    "answer_text",
    "open_chat_text",
    "pairwise_text",
    "prompt_hash",
]

OPEN_CHAT_SYSTEM_PROMPT = (
    "You review answers to questions about biomedical figures and score them. You cannot see the figure: "
    "its caption and the sentences of the article that mention it tell you what it shows. Be precise, "
    "fair and consistent."
)

OPEN_CHAT_INSTRUCTION = (
    "Two AI assistants answered the question above about the figure. Rate each answer for helpfulness, "
    "relevance, accuracy and level of detail with one overall score from 1 to 10, where a higher score "
    "means a better answer. On the first line write only the two scores, assistant 1's and then "
    "assistant 2's, separated by a space. From the second line on, explain your ratings. Rate what the "
    "answers say: neither their order nor their length may change your ratings."
)

PAIRWISE_SYSTEM_PROMPT = (
    "You compare two answers to a question about a biomedical image and decide which one is better. Do "
    "not score the answers on a scale: give a verdict. Be impartial: the order in which the answers are "
    "shown, their length and the assistants' names must not influence you."
)

PAIRWISE_INSTRUCTION = (
    "Compare the answers of assistant A and assistant B with the ground truth and with each other on "
    "correctness and helpfulness; point out their mistakes. Then give your verdict on the last line, "
    "exactly as one of: [[A]] if assistant A's answer is better, [[B]] if assistant B's answer is better, "
    "[[tie]] only if you cannot tell them apart."
)

ANSWER_SYSTEM_PROMPT = (
    "You answer questions about biomedical figures for clinicians. You cannot see the figure: its caption "
    "and the sentences of the article that mention it tell you what it shows. Answer the question "
    "directly and accurately, as an expert would, in plain prose without lists of questions."
)


def _context_lines(caption: str, fig_label: str, mentions: Sequence[str]) -> list[str]:
    caption = " ".join((caption or "").split())
    label = " ".join((fig_label or "").split())
    lines = [f"Caption: {label}: {caption}" if label else f"Caption: {caption}".rstrip(), "Mentions:"]
    lines.extend(f"- {' '.join(m.split())}" for m in mentions or () if m.strip())
    return lines


def _block(name: str, text: str, *, closed: bool = False) -> list[str]:
    lines = [f"[{name}]", (text or "").strip()]
    if closed:
        lines.append(f"[End of {name}]")
    return [*lines, ""]


def open_chat_text(
    *,
    question: str,
    reference: str,
    answer: str,
    caption: str = "",
    fig_label: str = "",
    mentions: Sequence[str] = (),
    instruction: str = OPEN_CHAT_INSTRUCTION,
) -> str:
    """The user text of an open-chat review: context, question, reference (assistant 1), answer (assistant 2).

    Example:
        >>> print(open_chat_text(question="Which stain?", reference="(synthetic) H&E.", answer="(synthetic) IHC.",
        ...                      caption="(synthetic caption)", fig_label="Fig. 1", instruction="Rate both."))
        Caption: Fig. 1: (synthetic caption)
        Mentions:
        Question: Which stain?
        <BLANKLINE>
        [Assistant 1]
        (synthetic) H&E.
        [End of Assistant 1]
        <BLANKLINE>
        [Assistant 2]
        (synthetic) IHC.
        [End of Assistant 2]
        <BLANKLINE>
        [Instruction]
        Rate both.
    """
    lines = [*_context_lines(caption, fig_label, mentions), f"Question: {question.strip()}", ""]
    lines += _block("Assistant 1", reference, closed=True)
    lines += _block("Assistant 2", answer, closed=True)
    lines += ["[Instruction]", instruction.strip()]
    return "\n".join(lines)


def pairwise_text(
    *,
    question: str,
    ground_truth: str,
    answer_a: str,
    answer_b: str,
    caption: str = "",
    fig_label: str = "",
    mentions: Sequence[str] = (),
    instruction: str = PAIRWISE_INSTRUCTION,
) -> str:
    """The user text of a pairwise comparison: context, question, ground truth, assistants A and B.

    Example:
        >>> text = pairwise_text(question="Is there a fracture?", ground_truth="no", answer_a="No.", answer_b="Yes.")
        >>> text.splitlines()[2:4]
        ['Question: Is there a fracture?', 'Ground truth: no']
    """
    lines = [*_context_lines(caption, fig_label, mentions), f"Question: {question.strip()}"]
    lines += [f"Ground truth: {' '.join((ground_truth or '').split())}", ""]
    lines += _block("Assistant A", answer_a, closed=True)
    lines += _block("Assistant B", answer_b, closed=True)
    lines += ["[Instruction]", instruction.strip()]
    return "\n".join(lines)


def answer_text(
    *, question: str, caption: str = "", fig_label: str = "", mentions: Sequence[str] = ()
) -> str:
    """The user text asking for an answer: the figure context, then the question.

    Example:
        >>> print(answer_text(question="What is shown?", caption="(synthetic caption)"))
        Caption: (synthetic caption)
        Mentions:
        Question: What is shown?
    """
    return "\n".join([*_context_lines(caption, fig_label, mentions), f"Question: {question.strip()}"])


def prompt_hash(*parts: str) -> str:
    """sha256 of prompt texts joined (the ``prompt_sha`` recorded in reports).

    Example:
        >>> len(prompt_hash(OPEN_CHAT_SYSTEM_PROMPT, OPEN_CHAT_INSTRUCTION))
        64
    """
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
