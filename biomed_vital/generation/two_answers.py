"""Two-answer conversations: every question followed by two answers (A, then B), the format clinicians compare.

In two-answer mode the generator asks for ``User:`` / ``Answer A:`` / ``Answer B:`` lines and shows its
demonstrations in that same layout, so a demonstration must carry two answers per question: in ``messages``,
each user turn is followed by two assistant turns (A, then B). LLaVA files hold them as ``human``, ``gpt``,
``gpt`` turns. :func:`two_answer_demonstrations` makes such rows from two-answer candidates (the pairs clinicians
compared). One-answer demonstrations are refused in two-answer mode and two-answer ones in one-answer mode: a
demonstration in the other layout would contradict the format the prompt asks for.

Example:
    >>> turns = [("user", "Which view?"), ("assistant", "Axial."), ("assistant", "Coronal.")]
    >>> answers_per_question(turns)
    2
    >>> print(two_answer_text(turns))
    User: Which view?
    Answer A: Axial.
    Answer B: Coronal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from biomed_vital import schema
from biomed_vital.data.conversations import message_text, strip_image_token

__all__ = ["answers_per_question", "two_answer_demonstrations", "two_answer_text"]

Turn = tuple[str, str]  # (role, content)


def _turns(messages: Sequence[Any]) -> list[Turn]:
    turns = []
    for message in messages:
        if isinstance(message, Mapping):
            role, content = str(message.get("role", "")), message_text(message.get("content"))
        else:
            role, content = str(message[0]), str(message[1])
        if role != "system":
            turns.append((role, strip_image_token(content).strip()))
    return turns


def answers_per_question(messages: Sequence[Any]) -> int:
    """How many assistant turns follow each user turn: 1 (a plain conversation) or 2 (two answers, A then B).

    ``messages`` are TRL messages or ``(role, content)`` pairs. A conversation whose questions do not all have
    the same number of answers (1 or 2), or that does not start with a question, is a ``ValueError``.

    Example:
        >>> answers_per_question([{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}])
        1
    """
    counts: list[int] = []
    for role, _ in _turns(messages):
        if role == "user":
            counts.append(0)
        elif role == "assistant" and counts:
            counts[-1] += 1
        else:
            raise ValueError(f"the conversation starts with a {role!r} turn; it must start with a question")
    kinds = set(counts)
    if len(kinds) != 1 or not kinds <= {1, 2}:
        raise ValueError(
            f"the questions have {sorted(kinds)} answers each; a conversation has one answer per question, "
            "or two (A, then B) for every question"
        )
    return counts[0]


def two_answer_text(messages: Sequence[Any]) -> str:
    """A two-answer conversation as the ``User:`` / ``Answer A:`` / ``Answer B:`` lines the generator asks for.

    Example:
        >>> two_answer_text([("user", "Q?"), ("assistant", "First."), ("assistant", "Second.")]).splitlines()[2]
        'Answer B: Second.'
    """
    if answers_per_question(messages) != 2:
        raise ValueError("two_answer_text needs two answers (A, then B) for every question")
    lines = []
    position = 0
    for role, content in _turns(messages):
        if role == "user":
            lines.append(f"User: {content}")
            position = 0
        else:
            lines.append(f"Answer {'AB'[position]}: {content}")
            position += 1
    return "\n".join(lines)


def two_answer_demonstrations(candidates: Any) -> Any:
    """Merge two-answer candidates (rows sharing ``pair_id``, ``answer_variant`` A and B) into demonstrations.

    Each complete pair whose two rows have ``status="ok"`` and ask the same questions becomes one row: the A
    row's columns, ``id`` set to the ``pair_id``, and ``messages`` holding each question followed by answer A and
    answer B. Select the pairs clinicians approved before calling it; the result goes to
    ``GPT4VGenerator(..., two_answers=True, demonstrations=...)``.

    Example:
        >>> pairs = GPT4VGenerator("gpt-4o", two_answers=True).generate(figures)       # doctest: +SKIP
        >>> demonstrations = two_answer_demonstrations(pairs)                          # doctest: +SKIP
    """
    from datasets import Dataset

    if not isinstance(candidates, Dataset):
        candidates = Dataset.from_list(list(candidates))
    needed = [schema.PAIR_ID, schema.ANSWER_VARIANT, schema.MESSAGES]
    missing = [name for name in needed if name not in candidates.column_names]
    if missing:
        raise ValueError(
            f"two_answer_demonstrations needs two-answer candidates with {missing}; generate them with "
            "GPT4VGenerator(..., two_answers=True)"
        )
    table = candidates.select_columns(
        [c for c in (*needed, schema.STATUS) if c in candidates.column_names]
    ).with_format("arrow")[:]
    pair_ids = table.column(schema.PAIR_ID).to_pylist()
    variants = table.column(schema.ANSWER_VARIANT).to_pylist()
    conversations = table.column(schema.MESSAGES).to_pylist()
    statuses = (
        table.column(schema.STATUS).to_pylist()
        if schema.STATUS in table.column_names
        else [schema.STATUS_OK] * len(pair_ids)
    )
    rows_of: dict[str, dict[str, int]] = {}
    for row, (pair_id, variant, status) in enumerate(zip(pair_ids, variants, statuses, strict=True)):
        if status == schema.STATUS_OK and variant in ("A", "B"):
            rows_of.setdefault(str(pair_id), {})[variant] = row
    kept: list[int] = []
    merged: list[list[dict[str, str]]] = []
    for rows in rows_of.values():
        if set(rows) != {"A", "B"}:
            continue
        first, second = conversations[rows["A"]], conversations[rows["B"]]
        if [m["content"] for m in first if m["role"] == "user"] != [
            m["content"] for m in second if m["role"] == "user"
        ]:
            continue
        messages: list[dict[str, str]] = []
        answers_b = iter(m for m in second if m["role"] == "assistant")
        for message in first:
            messages.append({"role": message["role"], "content": message["content"]})
            if message["role"] == "assistant":
                messages.append({"role": "assistant", "content": next(answers_b)["content"]})
        kept.append(rows["A"])
        merged.append(messages)
    if not kept:
        raise ValueError("no complete two-answer pair (A and B, both ok, same questions) in the candidates")
    demonstrations = candidates.select(kept)
    drop = [c for c in (schema.MESSAGES, schema.ID) if c in demonstrations.column_names]
    demonstrations = demonstrations.remove_columns(drop)
    demonstrations = demonstrations.add_column(schema.ID, [pair_ids[row] for row in kept])
    return demonstrations.add_column(schema.MESSAGES, merged)
