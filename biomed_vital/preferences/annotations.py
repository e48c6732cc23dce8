"""The clinician annotation record: its schema, reading it, and appending to a JSONL log.

Clinicians judge candidate answers in two ways, as in BioMed-VITAL:

**Pairwise choice** between two answers to the same question::

    {"figure_id": "PMC123_F2", "question": "What modality is used?",
     "candidate_id_a": "c-17", "candidate_id_b": "c-18",     # or "answer_a"/"answer_b" (text)
     "choice": "A",                                           # "A", "B", "tie" or "both_bad"
     "annotator": "clinician-3", "timestamp": "2026-11-22T07:01:00Z"}

**Accept/reject mark** on one answer::

    {"figure_id": "PMC123_F2", "question": "What modality is used?",
     "candidate_id": "c-17",                                  # or "answer" (text)
     "accepted": true, "annotator": "clinician-3", "timestamp": "..."}

Field rules:

- ``choice`` (pairwise) or ``accepted`` (mark) decides the kind; ``kind`` ("pairwise"/"mark")
  may be given explicitly and must then agree.
- Each answer is named by a candidate id (the answer to ``question`` is then read from that
  candidate's ``messages``) or given as text. Text answers need ``figure_id``.
- ``question`` is the user turn the answers respond to. It may be left out when every named
  candidate has a single-turn conversation.
- ``annotator`` is any stable, non-identifying label of the clinician; ``timestamp`` is an
  ISO-8601 string. Both are optional, kept for audit, and copied to the pairs.
- Unknown extra fields are kept (for example the app's ``session`` or ``comment``) and ignored
  by the pair builder.

Ties and both-bad choices are valid records that produce no training pair; they are counted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypedDict

__all__ = [
    "ANNOTATION_CHOICES",
    "AnnotationError",
    "AnswerMark",
    "PairwiseJudgement",
    "append_annotations",
    "normalize_annotation",
    "read_annotations",
]

ANNOTATION_CHOICES = ("A", "B", "tie", "both_bad")
_CHOICE_ALIASES = {"a": "A", "b": "B", "tie": "tie", "both_bad": "both_bad", "both-bad": "both_bad"}
_MAX_LISTED_PROBLEMS = 20


class PairwiseJudgement(TypedDict, total=False):
    """A clinician's choice between two answers to one question (see the module docstring)."""

    kind: Literal["pairwise"]
    figure_id: str
    question: str
    candidate_id_a: str
    candidate_id_b: str
    answer_a: str
    answer_b: str
    choice: Literal["A", "B", "tie", "both_bad"]
    annotator: str
    timestamp: str


class AnswerMark(TypedDict, total=False):
    """A clinician's accept/reject mark on one answer (see the module docstring)."""

    kind: Literal["mark"]
    figure_id: str
    question: str
    candidate_id: str
    answer: str
    accepted: bool
    annotator: str
    timestamp: str


class AnnotationError(ValueError):
    """Raised when annotation records are malformed or do not match the candidates.

    ``problems`` lists every problem found (each names its record), so a whole file can be
    fixed in one pass; nothing is built until all records are valid.
    """

    def __init__(self, problems: Sequence[str], what: str = "annotation records") -> None:
        self.problems = list(problems)
        shown = self.problems[:_MAX_LISTED_PROBLEMS]
        more = len(self.problems) - len(shown)
        lines = [f"{len(self.problems)} problem(s) in the {what}; fix them and run again:"]
        lines += [f"  - {problem}" for problem in shown]
        if more:
            lines.append(f"  ... and {more} more (see AnnotationError.problems)")
        super().__init__("\n".join(lines))


def _optional_text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"'{key}' must be a string, got {type(value).__name__}")
    value = value.strip()
    return value or None


def normalize_annotation(record: Mapping[str, Any], index: int = 0) -> dict[str, Any]:
    """Check the shape of one annotation record and return it with normalised fields.

    Only the record itself is checked here (required fields, types, choice values); whether
    its candidates exist is checked when pairs are built. The result always has ``kind``,
    ``figure_id``, ``question``, ``annotator`` and ``timestamp`` (``None``/``""`` when absent),
    and ``choice`` normalised to one of ``ANNOTATION_CHOICES``.

    Raises:
        ValueError: naming ``record {index}`` and what is wrong.

    Example:
        >>> normalize_annotation({"figure_id": "f1", "question": "Which plane?", "answer_a": "Axial.",
        ...                       "answer_b": "Sagittal.", "choice": "a"})["choice"]
        'A'
    """
    if not isinstance(record, Mapping):
        raise ValueError(f"record {index}: expected a JSON object, got {type(record).__name__}")
    try:
        out: dict[str, Any] = dict(record)
        has_choice, has_mark = record.get("choice") is not None, record.get("accepted") is not None
        kind = record.get("kind") or ("pairwise" if has_choice else "mark" if has_mark else None)
        if kind not in ("pairwise", "mark"):
            raise ValueError(
                "cannot tell the record kind: give 'choice' (pairwise: A/B/tie/both_bad) or "
                f"'accepted' (true/false mark); kind={record.get('kind')!r}"
            )
        out["kind"] = kind
        out["figure_id"] = _optional_text(record, "figure_id")
        out["question"] = _optional_text(record, "question")
        annotator = record.get("annotator")
        out["annotator"] = "" if annotator is None else str(annotator)
        timestamp = record.get("timestamp")
        out["timestamp"] = "" if timestamp is None else str(timestamp)
        if kind == "pairwise":
            if not has_choice:
                raise ValueError("a pairwise record needs 'choice' (A, B, tie or both_bad)")
            choice = _CHOICE_ALIASES.get(str(record["choice"]).strip().lower())
            if choice is None:
                raise ValueError(f"choice {record['choice']!r} is not one of {', '.join(ANNOTATION_CHOICES)}")
            out["choice"] = choice
            for side in ("a", "b"):
                candidate_id = _optional_text(record, f"candidate_id_{side}")
                answer = _optional_text(record, f"answer_{side}")
                if candidate_id is None and answer is None:
                    raise ValueError(
                        f"answer {side.upper()} is missing: give 'candidate_id_{side}' or 'answer_{side}'"
                    )
                out[f"candidate_id_{side}"], out[f"answer_{side}"] = candidate_id, answer
            same_candidate = (
                out["candidate_id_a"] is not None and out["candidate_id_a"] == out["candidate_id_b"]
            )
            if same_candidate and out["answer_a"] is None and out["answer_b"] is None:
                raise ValueError(f"both sides name the same candidate {out['candidate_id_a']!r}")
        else:
            if not has_mark:
                raise ValueError("a mark record needs 'accepted' (true or false)")
            if not isinstance(record["accepted"], bool):
                raise ValueError(f"'accepted' must be true or false, got {record['accepted']!r}")
            out["candidate_id"] = _optional_text(record, "candidate_id")
            out["answer"] = _optional_text(record, "answer")
            if out["candidate_id"] is None and out["answer"] is None:
                raise ValueError("the answer is missing: give 'candidate_id' or 'answer'")
        text_answers = [out.get(k) for k in ("answer_a", "answer_b", "answer")]
        candidate_ids = [out.get(k) for k in ("candidate_id_a", "candidate_id_b", "candidate_id")]
        if out["figure_id"] is None and any(
            a is not None and c is None for a, c in zip(text_answers, candidate_ids, strict=True)
        ):
            raise ValueError("an answer given as text needs 'figure_id' (which figure it answers)")
    except ValueError as error:
        if str(error).startswith("record "):
            raise
        raise ValueError(f"record {index}: {error}") from None
    return out


def read_annotations(
    source: str | os.PathLike[str] | Iterable[Mapping[str, Any]] | Any,
) -> list[dict[str, Any]]:
    """Read clinician annotation records and check their shape.

    Args:
        source: a JSONL file path, a ``datasets.Dataset`` or any iterable of mappings.

    Returns:
        The normalised records (see :func:`normalize_annotation`), in order; ``record i``
        in error messages is the position in this list (for a file: the i-th non-empty line).

    Raises:
        AnnotationError: listing every malformed record (bad JSON names the line number).

    Example:
        >>> records = read_annotations([{"figure_id": "f1", "answer": "Axial.", "accepted": True}])
        >>> records[0]["kind"]
        'mark'
    """
    problems: list[str] = []
    raw: list[Any] = []
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"annotation file {path} does not exist")
        with path.open(encoding="utf-8") as handle:
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    raw.append(json.loads(line))
                except json.JSONDecodeError as error:
                    problems.append(
                        f"record {len(raw)} ({path.name} line {line_number}) is not valid JSON: {error.msg}"
                    )
                    raw.append(None)
    elif isinstance(source, Mapping):
        raise TypeError(
            "annotations must be a list of records, a Dataset or a JSONL path, not a single mapping"
        )
    else:
        raw = list(source)
    records: list[dict[str, Any]] = []
    for index, record in enumerate(raw):
        if record is None and problems and any(p.startswith(f"record {index} (") for p in problems):
            continue
        try:
            records.append(normalize_annotation(record, index))
        except ValueError as error:
            problems.append(str(error))
    if problems:
        raise AnnotationError(problems)
    return records


def append_annotations(
    path: str | os.PathLike[str], records: Iterable[Mapping[str, Any]], *, add_timestamp: bool = True
) -> int:
    """Append annotation records to a JSONL log, one object a line, after checking them.

    The file is only written when every record is valid, so a bad submission does not leave
    half of it behind. Missing timestamps are filled with the current UTC time.

    Returns:
        The number of records written.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "annotations.jsonl")
        >>> append_annotations(path, [{"figure_id": "f1", "answer": "Axial.", "accepted": False}])
        1
    """
    checked: list[dict[str, Any]] = []
    problems: list[str] = []
    for index, record in enumerate(records):
        try:
            normalize_annotation(record, index)
        except ValueError as error:
            problems.append(str(error))
            continue
        row = dict(record)
        if add_timestamp and not row.get("timestamp"):
            row["timestamp"] = datetime.now(UTC).isoformat(timespec="seconds")
        checked.append(row)
    if problems:
        raise AnnotationError(problems, what="records to append")
    payload = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in checked)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    return len(checked)
