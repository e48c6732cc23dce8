"""The demonstrations: clinician-approved conversations that prompt the generator, one name for both ends.

A *demonstrations* Dataset has the figure columns (``id``, ``image``, ``caption``, ``mentions``,
``modality``) and ``messages`` (the approved conversation, TRL format). It is made in two ways:

* :func:`select_demonstrations` builds it from annotated candidates: the answers clinicians accepted
  or preferred in the annotation app become conversations, ``per_modality`` per modality;
* :func:`biomed_vital.data.load_figures` reads released ones (BioMed-VITAL's 58 clinician
  demonstrations in LLaVA format become the same columns).

:class:`DemonstrationPool` is the generator's view of such a Dataset: the demonstrations grouped by
modality and drawn per request with a fixed seed. ``GPT4VGenerator(demonstrations=...)`` takes the
Dataset, a path :func:`~biomed_vital.data.load_figures` reads, or a pool (:func:`load_demonstrations`).

Example:
    >>> from biomed_vital.sampling import select_demonstrations
    >>> demonstrations = select_demonstrations(candidates, "annotations.jsonl", per_modality=1)  # doctest: +SKIP
    >>> GPT4VGenerator("gpt-4o", demonstrations=demonstrations)                                # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from biomed_vital import schema

__all__ = [
    "DEMONSTRATION_COLUMNS",
    "Demonstration",
    "DemonstrationPool",
    "load_demonstrations",
    "select_demonstrations",
]

logger = logging.getLogger(__name__)

#: The columns a demonstrations Dataset has (besides any others it keeps from the candidates).
DEMONSTRATION_COLUMNS: tuple[str, ...] = (
    schema.ID,
    schema.IMAGE,
    schema.CAPTION,
    schema.MENTIONS,
    schema.MODALITY,
    schema.MESSAGES,
)
# provenance columns select_demonstrations adds
SOURCE_CANDIDATES = "source_candidate_ids"
APPROVALS = "approvals"
ANNOTATORS = "annotators"


@dataclass(frozen=True)
class Demonstration:
    """One few-shot example: a figure's context and the conversation a clinician selected."""

    id: str
    caption: str
    mentions: tuple[str, ...]
    modality: str
    messages: tuple[tuple[str, str], ...]  # (role, content)
    image: Any = field(default=None, compare=False, hash=False)

    def as_dict(self) -> dict[str, Any]:
        """Serialisable form (without the image), used for the generator's ``prompt_sha``."""
        return {
            "id": self.id,
            "caption": self.caption,
            "mentions": list(self.mentions),
            "modality": self.modality,
            "messages": [list(m) for m in self.messages],
        }


class DemonstrationPool:
    """Demonstrations grouped by modality, sampled per request with a deterministic seed.

    Args:
        demonstrations: rows with ``messages``, ``caption``, ``mentions``, ``modality`` (and
            optionally ``id``, ``image``): a demonstrations Dataset, e.g. from
            :func:`select_demonstrations` or ``biomed_vital.data.load_figures(path)``.

    Example:
        >>> pool = DemonstrationPool([
        ...     {"id": "d1", "caption": "Axial CT.", "mentions": [], "modality": "ct_scan",
        ...      "messages": [{"role": "user", "content": "Modality?"}, {"role": "assistant", "content": "CT."}]},
        ... ])
        >>> [d.id for d in pool.sample("mri", seed=("fig1", 0))]
        ['d1']
    """

    def __init__(self, demonstrations: Iterable[Mapping[str, Any]]) -> None:
        self.demonstrations: list[Demonstration] = []
        for index, row in enumerate(demonstrations):
            messages = row.get("messages")
            if not messages:
                raise ValueError(
                    f"demonstration {index} (id {row.get('id')!r}) has no 'messages'; load LLaVA-format "
                    "demonstrations with biomed_vital.data.load_figures(path) so conversations become messages"
                )
            pairs = tuple(
                (str(m["role"]), str(m["content"]).replace("<image>", "").strip()) for m in messages
            )
            mentions = row.get("mentions") or []
            if isinstance(mentions, str):
                mentions = [mentions]
            self.demonstrations.append(
                Demonstration(
                    id=str(row.get("id", index)),
                    caption=str(row.get("caption") or ""),
                    mentions=tuple(str(m) for m in mentions),
                    modality=str(row.get("modality") or "other"),
                    messages=pairs,
                    image=row.get("image"),
                )
            )
        if not self.demonstrations:
            raise ValueError(
                "the demonstrations are empty; pass at least one demonstration or None for zero-shot"
            )
        self.by_modality: dict[str, list[Demonstration]] = {}
        for demonstration in self.demonstrations:
            self.by_modality.setdefault(demonstration.modality, []).append(demonstration)

    def __len__(self) -> int:
        return len(self.demonstrations)

    def sample(
        self, modality: str | None, *, seed: Any, same_modality: bool = False, n: int = 1
    ) -> list[Demonstration]:
        """Pick demonstrations for one request.

        By default one per modality (in a fixed modality order); with ``same_modality``,
        ``n`` of the request's own modality (falling back to one per modality when there is
        none). The same ``seed`` always gives the same pick.
        """
        rng = random.Random(hashlib.sha256(json.dumps(seed, default=str).encode()).hexdigest())
        if same_modality and modality in self.by_modality:
            group = self.by_modality[modality]
            return rng.sample(group, min(n, len(group)))
        return [rng.choice(self.by_modality[m]) for m in sorted(self.by_modality)]


def load_demonstrations(source: Any, *, with_images: bool = False) -> DemonstrationPool | None:
    """A :class:`DemonstrationPool` from whatever names the demonstrations; ``None`` stays ``None`` (zero-shot).

    ``source`` is a pool (returned as is), a demonstrations Dataset or a sequence of rows, or a
    path :func:`biomed_vital.data.load_figures` reads (LLaVA-format ``conversations`` become ``messages``).
    A path is read as text-only demonstrations (their images are neither needed nor looked for, as
    BioMed-VITAL's released ones have none offline) unless ``with_images`` (the generator's
    ``attach_demonstration_images``) asks for the images too.

    Example:
        >>> load_demonstrations(None) is None
        True
    """
    if source is None:
        return None
    if isinstance(source, DemonstrationPool):
        return source
    if isinstance(source, str | os.PathLike):
        from biomed_vital.data import load_figures

        path = os.fspath(source)
        source = load_figures(path, text_only=not with_images)
        logger.info(
            "%s: %d demonstrations%s",
            path,
            len(source),
            ""
            if with_images
            else ", text-only (their images are not loaded; attach_demonstration_images loads them)",
        )
    demonstrations: Iterable[Mapping[str, Any]] = source
    return DemonstrationPool(_with_messages(row) for row in demonstrations)


def _with_messages(row: Mapping[str, Any]) -> Mapping[str, Any]:
    if row.get(schema.MESSAGES) or not row.get("conversations"):
        return row
    from biomed_vital.data import conversations_to_messages

    return {**row, schema.MESSAGES: conversations_to_messages(row["conversations"])}


# ------------------------------------------------------------------------------ from annotations
def _question_key(text: str | None) -> str:
    return " ".join((text or "").replace("<image>", " ").split()).casefold()


@dataclass
class _Verdicts:
    """What clinicians said about one answer (one candidate's answer to one question)."""

    approvals: int = 0  # accepted, or preferred over the other answer
    rejections: int = 0  # rejected, or "both unacceptable"
    annotators: set[str] = field(default_factory=set)

    @property
    def approved(self) -> bool:
        return self.approvals > 0 and self.rejections == 0


def _answer_verdicts(records: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], _Verdicts]:
    """(candidate id, question key) -> verdicts, from pairwise and mark records naming candidates."""
    verdicts: dict[tuple[str, str], _Verdicts] = defaultdict(_Verdicts)

    def note(candidate_id: str | None, question: str | None, *, approve: bool, annotator: str) -> None:
        if candidate_id is None:
            return
        entry = verdicts[(candidate_id, _question_key(question))]
        if approve:
            entry.approvals += 1
        else:
            entry.rejections += 1
        if annotator:
            entry.annotators.add(annotator)

    for record in records:
        annotator = record.get("annotator") or ""
        question = record.get("question")
        if record["kind"] == "mark":
            note(record.get("candidate_id"), question, approve=record["accepted"], annotator=annotator)
            continue
        choice = record["choice"]
        a, b = record.get("candidate_id_a"), record.get("candidate_id_b")
        if choice in ("A", "B"):
            note(a if choice == "A" else b, question, approve=True, annotator=annotator)
        elif choice == "both_bad":
            note(a, question, approve=False, annotator=annotator)
            note(b, question, approve=False, annotator=annotator)
    return verdicts


def select_demonstrations(
    candidates: Any,
    annotations: Any,
    *,
    per_modality: int | Mapping[str, int] = 1,
) -> Any:
    """The clinician-approved conversations of annotated candidates, as a demonstrations Dataset.

    An answer is *approved* when a clinician accepted it or preferred it over the other answer,
    and nobody rejected it or called both answers unacceptable. A conversation (the two answer
    variants of a two-answer candidate, or one candidate) becomes a demonstration when every one
    of its questions has an approved answer; where both variants are approved the one with more
    approvals is used (variant A on a tie). Per modality the conversations with the most approvals
    are kept, one per figure.

    Args:
        candidates: the candidates the annotations refer to (``id``, ``candidate_id``, ``messages``,
            the figure columns; ``pair_id`` / ``answer_variant`` in two-answer mode).
        annotations: annotation records: a JSONL path, a Dataset or a list of dicts
            (:mod:`biomed_vital.preferences.annotations`; what the annotation app writes).
        per_modality: how many demonstrations per modality (an int for every modality, or a
            mapping ``{modality: n}``; modalities missing from the mapping get none).

    Returns:
        A Dataset with the figure columns of ``candidates``, ``messages`` (the approved conversation),
        ``source_candidate_ids``, ``approvals`` and ``annotators``; ``GPT4VGenerator(demonstrations=...)``
        takes it as it is.

    Example:
        >>> demonstrations = select_demonstrations(candidates, "annotations.jsonl", per_modality=1)  # doctest: +SKIP
        >>> demonstrations["modality"]                                                                 # doctest: +SKIP
        ['ct_scan', 'mri']
    """
    from biomed_vital.data.conversations import qa_pairs
    from biomed_vital.preferences.annotations import read_annotations

    if isinstance(per_modality, int) and per_modality < 1:
        raise ValueError(f"per_modality must be >= 1, got {per_modality}")
    missing = [
        c for c in (schema.ID, schema.CANDIDATE_ID, schema.MESSAGES) if c not in candidates.column_names
    ]
    if missing:
        raise ValueError(
            f"select_demonstrations needs candidates with the columns {missing}; pass the candidates Dataset "
            "the annotations were made on"
        )
    verdicts = _answer_verdicts(read_annotations(annotations))
    columns = [schema.ID, schema.CANDIDATE_ID, schema.MESSAGES, schema.MODALITY, schema.STATUS]
    columns += [schema.PAIR_ID, schema.ANSWER_VARIANT]
    present = [c for c in columns if c in candidates.column_names]
    table = candidates.select_columns(present).to_dict()
    n = len(candidates)
    pair_ids = table.get(schema.PAIR_ID) or table[schema.CANDIDATE_ID]
    variants = table.get(schema.ANSWER_VARIANT) or [""] * n
    statuses = table.get(schema.STATUS) or [schema.STATUS_OK] * n

    groups: dict[str, list[int]] = defaultdict(list)  # conversation -> candidate rows (variant order)
    for row in range(n):
        if statuses[row] == schema.STATUS_OK and pair_ids[row] is not None:
            groups[str(pair_ids[row])].append(row)

    chosen: list[dict[str, Any]] = []
    for rows in groups.values():
        rows.sort(key=lambda r: str(variants[r] or ""))
        turns = [qa_pairs(table[schema.MESSAGES][r]) for r in rows]
        n_turns = min(len(t) for t in turns)
        if n_turns == 0:
            continue
        messages: list[dict[str, str]] = []
        used: list[str] = []
        approvals = 0
        annotators: set[str] = set()
        for turn in range(n_turns):
            best: tuple[int, int, _Verdicts] | None = None  # (approvals, -variant position, verdicts)
            for position, (row, variant_turns) in enumerate(zip(rows, turns, strict=True)):
                key = (str(table[schema.CANDIDATE_ID][row]), _question_key(variant_turns[turn][0]))
                verdict = verdicts.get(key)
                if verdict is None or not verdict.approved:
                    continue
                if best is None or (verdict.approvals, -position) > best[:2]:
                    best = (verdict.approvals, -position, verdict)
            if best is None:
                break
            position = -best[1]
            question, answer = turns[position][turn]
            messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
            used.append(str(table[schema.CANDIDATE_ID][rows[position]]))
            approvals += best[0]
            annotators |= best[2].annotators
        else:
            chosen.append(
                {
                    "row": rows[0],
                    "figure": str(table[schema.ID][rows[0]]),
                    "modality": str((table.get(schema.MODALITY) or ["other"] * n)[rows[0]] or "other"),
                    "messages": messages,
                    "sources": sorted(set(used)),
                    "approvals": approvals,
                    "annotators": sorted(annotators),
                }
            )

    by_modality: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for conversation in chosen:
        by_modality[conversation["modality"]].append(conversation)
    kept: list[dict[str, Any]] = []
    for modality in sorted(by_modality):
        quota = per_modality if isinstance(per_modality, int) else int(per_modality.get(modality, 0))
        figures_used: set[str] = set()
        ranked = sorted(by_modality[modality], key=lambda c: (-c["approvals"], c["figure"]))
        for conversation in ranked:
            if len(figures_used) >= quota:
                break
            if conversation["figure"] in figures_used:
                continue
            figures_used.add(conversation["figure"])
            kept.append(conversation)
    if isinstance(per_modality, Mapping):
        short = {m: q for m, q in per_modality.items() if len(by_modality.get(m, [])) < q}
        if short:
            logger.warning("fewer approved conversations than asked for in %s", sorted(short))
    if not kept:
        raise ValueError(
            "no conversation has an approved answer to every question; annotate more items (accept answers "
            "or prefer one of two) before selecting demonstrations"
        )
    candidate_only = [
        c
        for c in (
            schema.CANDIDATE_ID,
            schema.CANDIDATE_INDEX,
            schema.MESSAGES,
            schema.GENERATOR,
            schema.PROMPT_SHA,
            schema.USAGE,
            schema.STATUS,
            schema.RAW_RESPONSE,
            schema.PAIR_ID,
            schema.ANSWER_VARIANT,
            *schema.judge_features(),
            schema.SELECTOR_SCORE,
        )
        if c in candidates.column_names
    ]
    demonstrations = candidates.select([c["row"] for c in kept]).remove_columns(candidate_only)
    demonstrations = demonstrations.add_column(
        schema.MESSAGES, [c["messages"] for c in kept], feature=schema.figure_features(True)[schema.MESSAGES]
    )
    demonstrations = demonstrations.add_column(SOURCE_CANDIDATES, [c["sources"] for c in kept])
    demonstrations = demonstrations.add_column(APPROVALS, [c["approvals"] for c in kept])
    return demonstrations.add_column(ANNOTATORS, [c["annotators"] for c in kept])
