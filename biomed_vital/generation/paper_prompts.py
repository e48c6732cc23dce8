"""The prompts of BioMed-VITAL's released scripts, rewritten in this library's words (``prompt_style="biomed-vital"``).

The persona, the rules and the judge's criteria follow the authors' scripts in ``mao1207/BioMed-VITAL``
(Apache-2.0): ``generate/generate_vision_instructions.py`` (one answer per question),
``generate/generate_vision_instructions_2_answers.py`` (two answers per question, the format clinicians
compared) and ``filter/gpt-4v_scoring.py`` (the judge). What is the library's own: the reply layouts the
parsers read (``User:`` / ``Assistant:`` or ``Answer A:`` / ``Answer B:`` lines, the score alone on the first
line) and the labelled ``Caption:`` / ``Mentions:`` lines of the request turn, which every server (and the
offline stand-in) can find. The library's own prompts are in :mod:`biomed_vital.generation.prompts`.

Example:
    >>> "4 to 5 exchanges" in PAPER_GENERATION_SYSTEM_PROMPT
    True
"""

from __future__ import annotations

from typing import Literal

from biomed_vital.generation.prompts import (
    GENERATION_INSTRUCTION,
    GENERATION_OUTPUT_FORMAT,
    GENERATION_SYSTEM_PROMPT,
    JUDGE_CONVERSATION_SYSTEM_PROMPT,
    JUDGE_SYSTEM_PROMPT,
    TWO_ANSWER_INSTRUCTION,
    TWO_ANSWER_OUTPUT_FORMAT,
    TWO_ANSWER_SYSTEM_PROMPT,
)

__all__ = [
    "PAPER_GENERATION_SYSTEM_PROMPT",
    "PAPER_JUDGE_FIRST_LINE_FORMAT",
    "PAPER_JUDGE_SYSTEM_PROMPT",
    "PAPER_REQUEST_INSTRUCTION",
    "PAPER_TWO_ANSWER_SYSTEM_PROMPT",
    "PROMPT_STYLES",
    "PromptStyle",
    "generation_prompt",
    "generation_instruction",
    "judge_system_prompt",
]

PromptStyle = Literal["library", "biomed-vital"]
#: ``library``: this library's prompts; ``biomed-vital``: the authors' prompts, in this library's words.
PROMPT_STYLES: tuple[str, ...] = ("library", "biomed-vital")

_PAPER_SOURCE_RULES = """\
You are an AI assistant specialised in biomedical topics.

Each request gives you a figure image from a biomedical research article, a text that describes it (its \
caption, after the figure's label) and, when the article has them, the sentences that refer to the figure. \
Pull every visual detail you can out of the image, and use the text while you write the questions and \
answers: bring out how the text and what is visible in the image relate, so that the conversation carries \
the figure's full context.
"""

PAPER_GENERATION_SYSTEM_PROMPT = (
    _PAPER_SOURCE_RULES
    + """
Write a dialogue in which a person (User) asks about the image and you (Assistant) answer with insight, as \
if both of you were looking at the image together. Lean on the caption and the referring sentences so that \
the exchange is rich and shows why the visual details matter.

Rules for the questions and answers:
- Do not quote or name specific facts, terms, abbreviations, dates, numbers or names that would give away \
that the conversation comes from the text rather than the image; stay with what can be seen in the image \
without the text.
- Vary the questions so that they cover different visual aspects of the image.
- Write at least 4 to 5 exchanges; when the image and the text hold much information, add more.
- Answer responsibly and without overconfidence. Give no medical advice or diagnosis; suggest asking a \
healthcare professional instead.
- Begin with the User's question, not with an answer.
- Take as much of the key detail from the image as you can, with the text as its supplement.

"""
    + GENERATION_OUTPUT_FORMAT
)

PAPER_TWO_ANSWER_SYSTEM_PROMPT = (
    _PAPER_SOURCE_RULES
    + """
For every question the User asks about the image, write two separate answers. Each answer gives its own \
explanation or angle on what the image shows; the pair offers alternative insights so that a reader can \
tell which one is more informative or more fitting.

Rules for the dialogue:
- Do not use specific facts, terms, abbreviations, dates, numbers or names that appear only in the \
supplementary text; keep the focus on the image itself.
- Ask varied questions that explore different visual aspects of the image.
- Write at least 3 to 4 rounds; a round is one question followed by its two distinct answers.
- Answer thoughtfully and without overconfidence. Give no medical advice or diagnosis; suggest seeking \
professional medical advice instead.
- Open with a question from the User, not with an answer.
- Use as much of the critical visual information in the image as you can, with the text as its supplement.

"""
    + TWO_ANSWER_OUTPUT_FORMAT
)

#: The first line of every request turn: how to read the caption and the referring sentences below it.
PAPER_REQUEST_INSTRUCTION = (
    "The caption below describes the image: read it as an expansion of the image. The mentions are the "
    "sentences of the article that refer to the figure."
)

PAPER_JUDGE_SYSTEM_PROMPT = """\
Take the role of a medical expert with long experience in the field. You assess one question-and-answer \
pair taken from an instruction-following dataset meant for fine-tuning a medical large language model, and \
give the pair one score. You are shown the figure's image, its caption, the sentences of the article that \
mention it, and the pair. The score runs from 0 to 10 and weighs:
- scope and relevance: how well the question covers the key aspects of the medical image and its caption;
- value for fine-tuning: whether the question is put in a way that adds to the fine-tuning of the medical \
model;
- answer alignment: whether the answer addresses the question directly;
- accuracy: whether the answer's medical information is correct;
- utility: how useful the answer is in a medical setting, and whether it gives actionable or insightful \
information;
- recognition and use of the image content: whether the answer identifies what the image shows and builds \
on it to make the answer clearer or more applicable in medicine.
Weigh as well:
- clarity: whether the question and the answer are both stated clearly and without ambiguity;
- detail and depth: whether the details of the answer deepen the understanding of the topic;
- medical precision: how precisely the question and the answer use medical terminology and knowledge.
"""

#: How the paper's judge is asked to lay out its reply: the score alone on the first line.
PAPER_JUDGE_FIRST_LINE_FORMAT = (
    "Write the score alone on the first line of your reply, as a whole number from 0 to 10. After it you may "
    "explain, for example what the pair lacks."
)


def generation_prompt(style: str, two_answers: bool) -> str:
    """The built-in generation system prompt of a prompt style (``{min_rounds}`` still to be filled in).

    Example:
        >>> "Answer A:" in generation_prompt("biomed-vital", two_answers=True)
        True
    """
    if style == "biomed-vital":
        return PAPER_TWO_ANSWER_SYSTEM_PROMPT if two_answers else PAPER_GENERATION_SYSTEM_PROMPT
    return TWO_ANSWER_SYSTEM_PROMPT if two_answers else GENERATION_SYSTEM_PROMPT


def generation_instruction(style: str, two_answers: bool) -> str:
    """The first line of a generation request turn in a prompt style.

    The authors' scripts send the same request turn in both modes; their system prompt asks for the two answers.

    Example:
        >>> generation_instruction("library", two_answers=False)
        'Write the conversation for this figure.'
    """
    if style == "biomed-vital":
        return PAPER_REQUEST_INSTRUCTION
    return TWO_ANSWER_INSTRUCTION if two_answers else GENERATION_INSTRUCTION


def judge_system_prompt(style: str, granularity: str) -> str:
    """The judge's built-in system prompt (before the reply format) for a prompt style and scoring unit.

    The paper's judge rates one question-answer pair per request, so its style has no whole-conversation prompt.

    Example:
        >>> judge_system_prompt("biomed-vital", "first_pair").startswith("Take the role of a medical expert")
        True
    """
    if style == "biomed-vital":
        if granularity == "conversation":
            raise ValueError(
                "prompt_style='biomed-vital' rates one question-answer pair per request; use granularity "
                "'first_pair' (the paper's) or 'turn'"
            )
        return PAPER_JUDGE_SYSTEM_PROMPT
    return JUDGE_CONVERSATION_SYSTEM_PROMPT if granularity == "conversation" else JUDGE_SYSTEM_PROMPT
