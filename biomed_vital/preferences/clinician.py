"""Preference pairs from clinician annotation records: the work behind
:meth:`~biomed_vital.preferences.PreferenceDataset.from_clinician_annotations`.

Each record names its answers by candidate id (the text is read from the candidate's ``messages``, at
the turn that asks the record's question) or gives them as text. Every record is resolved and checked
before anything is built; one :class:`~biomed_vital.preferences.AnnotationError` lists all bad
records. Pairwise choices give one pair each, accept/reject marks on answers to one question give
every accepted x rejected pair; the texts use :func:`~biomed_vital.data.format_selector_text`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from biomed_vital import schema
from biomed_vital.data import format_selector_text, qa_pairs
from biomed_vital.preferences.annotations import AnnotationError, read_annotations
from biomed_vital.preferences.assembly import PairDraft, assemble_pairs
from biomed_vital.preferences.clinician_config import ClinicianPairConfig
from biomed_vital.preferences.reading import (
    as_dataset,
    column_values,
    question_key,
    read_item_texts,
    require_columns,
)

__all__ = ["PAIR_KIND_MARKS", "PAIR_KIND_PAIRWISE", "CandidateLookup", "build_clinician_pairs"]

#: ``pair_kind`` of a pair from a pairwise choice.
PAIR_KIND_PAIRWISE = "clinician_pairwise"
#: ``pair_kind`` of a pair from an accepted and a rejected mark.
PAIR_KIND_MARKS = "clinician_marks"


def build_clinician_pairs(annotations: Any, candidates: Any, config: ClinicianPairConfig) -> Any:
    """Turn clinician annotation records into preference pairs (the *preferences* columns).

    Call it through :meth:`PreferenceDataset.from_clinician_annotations
    <biomed_vital.preferences.PreferenceDataset.from_clinician_annotations>`, which documents the
    rules and takes the options as keyword arguments.

    Example:
        >>> pairs = build_clinician_pairs("annotations.jsonl", candidates, ClinicianPairConfig())  # doctest: +SKIP
    """
    records = read_annotations(annotations)
    candidates = as_dataset(candidates, "candidates")
    lookup = CandidateLookup(candidates, config.max_mentions)
    items, counts = _pair_items(records, lookup, config.pair_marks_across_annotators)
    draft = PairDraft()
    for item in items:
        chosen, rejected, record = item["chosen"], item["rejected"], item["record"]
        draft.chosen_rows.append(chosen["row"])
        draft.rejected_rows.append(rejected["row"])
        draft.chosen_text.append(_text(lookup, chosen, config.max_mentions))
        draft.rejected_text.append(_text(lookup, rejected, config.max_mentions))
        draft.chosen_figure_id.append(lookup.figure_of_row[chosen["row"]])
        draft.rejected_figure_id.append(lookup.figure_of_row[rejected["row"]])
        draft.annotator.append(record["annotator"])
        draft.question.append(chosen["question"])
        draft.pair_kind.append(item["pair_kind"])
        draft.chosen_candidate_id.append(chosen["candidate_id"] or "")
        draft.rejected_candidate_id.append(rejected["candidate_id"] or "")
        draft.chosen_score.append(None)
        draft.rejected_score.append(None)
        draft.timestamp.append(record["timestamp"])
    return assemble_pairs(
        candidates,
        draft,
        source=schema.SOURCE_CLINICIAN,
        weight=config.weight,
        contradictions=config.contradictions,
        counts=counts,
        image_column=config.image_column,
        desc="Building clinician pairs",
    )


def _text(lookup: CandidateLookup, side: Mapping[str, Any], max_mentions: int) -> str:
    caption, mentions = lookup.caption_mentions(side["row"])
    return format_selector_text(
        caption, mentions, side["question"], side["answer"], max_mentions=max_mentions
    )


class CandidateLookup:
    """Lookups into the candidates table: candidate id -> row, figure id -> row, row -> texts.

    Example:
        >>> lookup = CandidateLookup(candidates, max_mentions=3)          # doctest: +SKIP
        >>> lookup.load_texts([0]); lookup.turns(0)[0]                      # doctest: +SKIP
        ('What modality is used?', 'A CT scan.')
    """

    def __init__(self, candidates: Any, max_mentions: int) -> None:
        require_columns(candidates, [schema.ID], "candidates")
        self.dataset = candidates
        self.max_mentions = max_mentions
        self.figure_of_row = [str(x) for x in column_values(candidates, schema.ID)]
        self.row_of_figure: dict[str, int] = {}
        for row, figure in enumerate(self.figure_of_row):
            self.row_of_figure.setdefault(figure, row)
        self.row_of_candidate: dict[str, int] = {}
        if schema.CANDIDATE_ID in candidates.column_names:
            for row, candidate_id in enumerate(column_values(candidates, schema.CANDIDATE_ID)):
                if candidate_id is not None:
                    self.row_of_candidate.setdefault(str(candidate_id), row)
        self._texts: dict[int, Any] = {}

    def load_texts(self, rows: Iterable[int]) -> None:
        """Read caption, mentions and messages of ``rows`` (once each) for the methods below."""
        wanted = np.array(sorted(set(rows) - set(self._texts)), dtype=np.int64)
        self._texts.update(
            read_item_texts(
                self.dataset, wanted, self.max_mentions, "Reading candidates", whole_conversation=False
            )
        )

    def caption_mentions(self, row: int) -> tuple[Any, Any]:
        """The caption and mentions of a loaded row."""
        caption, mentions, _ = self._texts[row]
        return caption, mentions

    def turns(self, row: int) -> list[tuple[str, str]]:
        """The (question, answer) turns of a loaded row's conversation."""
        return qa_pairs(self._texts[row][2])


def _resolve_side(
    record: Mapping[str, Any], index: int, side: str, lookup: CandidateLookup
) -> tuple[int, str | None, str | None]:
    """Return (row, candidate id, answer text or None when it must be read from the candidate)."""
    suffix = f"_{side}" if side else ""
    label = f"answer {side.upper()}" if side else "the answer"
    candidate_id = record.get(f"candidate_id{suffix}")
    answer = record.get(f"answer{suffix}")
    figure_id = record.get("figure_id")
    if candidate_id is not None:
        row = lookup.row_of_candidate.get(candidate_id)
        if row is None:
            raise ValueError(
                f"record {index}: {label} names candidate {candidate_id!r}, which is not in the candidates"
            )
        if figure_id is not None and lookup.figure_of_row[row] != figure_id:
            raise ValueError(
                f"record {index}: {label} is candidate {candidate_id!r} of figure "
                f"{lookup.figure_of_row[row]!r}, but the record is about figure {figure_id!r}"
            )
        return row, candidate_id, answer
    row = lookup.row_of_figure.get(figure_id) if figure_id is not None else None
    if row is None:
        raise ValueError(f"record {index}: figure {figure_id!r} is not in the candidates")
    return row, None, answer


def _answer_for(
    record: Mapping[str, Any],
    index: int,
    row: int,
    candidate_id: str | None,
    answer: str | None,
    lookup: CandidateLookup,
) -> tuple[str, str]:
    """Return (question, answer) for one side, reading the candidate's conversation if needed."""
    question = record.get("question")
    if answer is not None:
        if question is None:
            raise ValueError(f"record {index}: a text answer needs the 'question' it answers")
        return question, answer
    turns = lookup.turns(row)
    if question is None:
        if len(turns) != 1:
            raise ValueError(
                f"record {index}: candidate {candidate_id!r} has {len(turns)} turns; "
                "give 'question' to say which answer was judged"
            )
        return turns[0]
    key = question_key(question)
    for turn_question, turn_answer in turns:
        if question_key(turn_question) == key:
            # the candidate's own wording, so the text matches what select() lays out for it
            return turn_question, turn_answer
    asked = "; ".join(repr(q[:60]) for q, _ in turns) or "none"
    raise ValueError(
        f"record {index}: candidate {candidate_id!r} has no turn asking {question[:80]!r} (its questions: {asked})"
    )


def _pair_items(
    records: Sequence[Mapping[str, Any]],
    lookup: CandidateLookup,
    pair_marks_across_annotators: bool,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    problems: list[str] = []
    resolved: list[tuple[int, Mapping[str, Any], list[tuple[int, str | None, str | None]]]] = []
    for index, record in enumerate(records):
        side_names = ("a", "b") if record["kind"] == "pairwise" else ("",)
        try:
            resolved.append(
                (index, record, [_resolve_side(record, index, side, lookup) for side in side_names])
            )
        except ValueError as error:
            problems.append(str(error))
    if problems:
        raise AnnotationError(problems)
    lookup.load_texts(row for _, _, sides in resolved for row, _, _ in sides)

    counts = {
        "records": len(records),
        "pairwise_records": 0,
        "mark_records": 0,
        "ties": 0,
        "both_bad": 0,
        "unpaired_marks": 0,
    }
    items: list[dict[str, Any]] = []
    marks: dict[tuple[str, str, str], dict[bool, list[dict[str, Any]]]] = defaultdict(
        lambda: {True: [], False: []}
    )
    for index, record, sides in resolved:
        side_figures = {lookup.figure_of_row[row] for row, _, _ in sides}
        if len(side_figures) > 1:
            problems.append(
                f"record {index}: answers A and B belong to different figures ({', '.join(map(repr, sorted(side_figures)))})"
            )
            continue
        try:
            answers = [_answer_for(record, index, row, cid, answer, lookup) for row, cid, answer in sides]
        except ValueError as error:
            problems.append(str(error))
            continue
        if record["kind"] == "pairwise":
            counts["pairwise_records"] += 1
            (row_a, cid_a, _), (row_b, cid_b, _) = sides
            if question_key(answers[0][0]) != question_key(answers[1][0]):
                problems.append(f"record {index}: answers A and B respond to different questions")
                continue
            choice = record["choice"]
            if choice in ("tie", "both_bad"):
                counts["ties" if choice == "tie" else "both_bad"] += 1
                continue
            item_a: dict[str, Any] = {
                "row": row_a,
                "candidate_id": cid_a,
                "question": answers[0][0],
                "answer": answers[0][1],
            }
            item_b: dict[str, Any] = {
                "row": row_b,
                "candidate_id": cid_b,
                "question": answers[1][0],
                "answer": answers[1][1],
            }
            chosen, rejected = (item_a, item_b) if choice == "A" else (item_b, item_a)
            items.append(
                {"chosen": chosen, "rejected": rejected, "record": record, "pair_kind": PAIR_KIND_PAIRWISE}
            )
        else:
            counts["mark_records"] += 1
            row, cid, _ = sides[0]
            question, answer = answers[0]
            annotator = "" if pair_marks_across_annotators else record["annotator"]
            key = (lookup.figure_of_row[row], question_key(question), annotator)
            marks[key][record["accepted"]].append(
                {"row": row, "candidate_id": cid, "question": question, "answer": answer, "record": record}
            )
    if problems:
        raise AnnotationError(problems)
    for group in marks.values():
        accepted, rejected_marks = group[True], group[False]
        if not accepted or not rejected_marks:
            counts["unpaired_marks"] += len(accepted) + len(rejected_marks)
            continue
        for chosen in accepted:
            for rejected in rejected_marks:
                annotators = sorted({chosen["record"]["annotator"], rejected["record"]["annotator"]} - {""})
                both = {
                    "annotator": "+".join(annotators),
                    "timestamp": max(chosen["record"]["timestamp"], rejected["record"]["timestamp"]),
                }
                items.append(
                    {"chosen": chosen, "rejected": rejected, "record": both, "pair_kind": PAIR_KIND_MARKS}
                )
    return items, counts
