"""LLaVA-Med's open-chat evaluation files: questions, model answers and judge reviews (JSONL).

* **question file** (``llava_med_eval_qa50_qa.jsonl``): ``question_id``, ``image``, ``pair_id``,
  ``text`` (the question, ending in ``<image>``), ``gpt4_answer`` (the reference answer),
  ``fig_caption``, ``fig_label``, ``in_text_mention`` (a list of ``{"tokens": ..., "entities": ...}``),
  ``domain`` (``chest_xray``, ``mri``, ``ct_scan``, ``histology``, ``gross`` flags) and ``type``
  (``conversation`` or ``detailed_description``);
* **answer file** (one per model): ``question_id``, ``prompt``, ``text`` (the answer),
  ``answer_id``, ``model_id``;
* **review file** (written by their scoring script, and by :func:`write_reviews`): the question
  fields plus ``question``, ``ans1`` (reference), ``ans2`` (model) and the judge's raw reply in
  ``result`` (``gpt_eval`` in later versions of their script).

Readers return a ``datasets.Dataset`` with one row per line, in the file's order, plus ``line`` (the
line number) and ``error``. A line that cannot be read (not JSON, a missing field) is kept as a row
whose ``error`` names the file and line, and a warning lists them; nothing is dropped silently.
``strict=True`` raises :class:`EvaluationFileError` naming every bad line instead. Fields stored as
a Python-literal string rather than JSON (``"{'chest_xray': True, ...}"``), and lines written with
Python's ``repr``, are read too.

Example:
    >>> questions = read_questions("llava_med_eval_qa50_qa.jsonl")                    # doctest: +SKIP
    >>> samples = join_answers(questions, read_answers("answers/llava-med.jsonl"))    # doctest: +SKIP
"""

from __future__ import annotations

import ast
import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from biomed_vital import schema

__all__ = [
    "EvaluationFileError",
    "answer_features",
    "join_answers",
    "open_chat_features",
    "read_answers",
    "read_questions",
    "read_reviews",
    "review_features",
    "write_answers",
    "write_reviews",
]

logger = logging.getLogger("biomed_vital.evaluation")

# column names of the evaluation rows (the figure-context ones come from the data contract)
QUESTION_ID = "question_id"
QUESTION = "question"
QUESTION_TYPE = "question_type"
REFERENCE_ANSWER = "reference_answer"
ANSWER = "answer"
MODEL_ID = "model_id"
ANSWER_ID = "answer_id"
IMAGE_FILE = "image_file"
REVIEW = "review"
LINE = "line"

_IMAGE_TOKEN = "<image>"


class EvaluationFileError(ValueError):
    """An evaluation file has lines that cannot be read (``strict=True``); the message lists each one.

    Attributes:
        path: the file.
        problems: ``(line number, reason)`` for every unreadable line.
    """

    def __init__(self, path: str, problems: Sequence[tuple[int, str]]) -> None:
        self.path = path
        self.problems = list(problems)
        shown = "; ".join(f"line {line}: {reason}" for line, reason in self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"{path}: {len(self.problems)} unreadable line(s): {shown}{more}")


# ---------------------------------------------------------------------------------------- features
def open_chat_features() -> Any:
    """The columns of a question Dataset (:func:`read_questions`).

    Example:
        >>> sorted(open_chat_features())[:3]
        ['caption', 'domain', 'error']
    """
    from datasets import Features, List, Value

    return Features(
        {
            QUESTION_ID: Value("string"),
            QUESTION: Value("string"),
            REFERENCE_ANSWER: Value("string"),
            schema.CAPTION: Value("string"),
            schema.FIG_LABEL: Value("string"),
            schema.MENTIONS: List(Value("string")),
            schema.DOMAIN: {key: Value("bool") for key in schema.DOMAIN_KEYS},
            QUESTION_TYPE: Value("string"),
            IMAGE_FILE: Value("string"),
            schema.PAIR_ID: Value("string"),
            LINE: Value("int32"),
            schema.ERROR: Value("string"),
        }
    )


def answer_features() -> Any:
    """The columns of an answer Dataset (:func:`read_answers`)."""
    from datasets import Features, Value

    return Features(
        {
            QUESTION_ID: Value("string"),
            ANSWER: Value("string"),
            "prompt": Value("string"),
            ANSWER_ID: Value("string"),
            MODEL_ID: Value("string"),
            LINE: Value("int32"),
            schema.ERROR: Value("string"),
        }
    )


def review_features() -> Any:
    """The columns of a review Dataset (:func:`read_reviews`): the question columns plus answer and review."""
    from datasets import Features, Value

    columns = dict(open_chat_features())
    columns.pop(LINE)
    columns.pop(schema.ERROR)
    columns.update(
        {
            ANSWER: Value("string"),
            MODEL_ID: Value("string"),
            REVIEW: Value("string"),
            LINE: Value("int32"),
            schema.ERROR: Value("string"),
        }
    )
    return Features(columns)


# ---------------------------------------------------------------------------------------- reading
def _read_lines(path: str | os.PathLike[str]) -> Iterable[tuple[int, dict[str, Any] | None, str]]:
    """``(line number, record or None, reason)`` for every non-blank line of a JSONL file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, encoding="utf-8-sig") as handle:
        for number, raw in enumerate(handle, start=1):
            text = raw.strip()
            if not text:
                continue
            try:
                record: Any = json.loads(text)
            except json.JSONDecodeError as json_error:
                try:  # a line written with Python's repr/str of a dict
                    record = ast.literal_eval(text)
                except (ValueError, SyntaxError, MemoryError, RecursionError):
                    yield number, None, f"not JSON ({json_error.msg} at column {json_error.colno})"
                    continue
            if not isinstance(record, dict):
                yield number, None, f"expected a JSON object, got {type(record).__name__}"
                continue
            yield number, record, ""


def _literal(value: Any) -> Any:
    """A field stored as a Python-literal or JSON string (``"{'mri': True}"``), read as its value."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text or text[0] not in "[{(":
        return value
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _question_text(text: str) -> str:
    return text.replace(_IMAGE_TOKEN, "").strip()


def _mentions(value: Any) -> list[str]:
    value = _literal(value)
    if value is None:
        return []
    if isinstance(value, str | dict):
        value = [value]
    if not isinstance(value, list | tuple):
        raise ValueError(f"in_text_mention is a {type(value).__name__}, expected a list")
    mentions = []
    for item in value:
        if isinstance(item, dict):
            item = item.get("tokens", item.get("text", ""))
        text = " ".join(_text(item).split())
        if text:
            mentions.append(text)
    return mentions


def _domain(value: Any) -> dict[str, bool]:
    value = _literal(value)
    if value is None:
        return {key: False for key in schema.DOMAIN_KEYS}
    if not isinstance(value, dict):
        raise ValueError(f"domain is a {type(value).__name__}, expected an object of flags")
    flags = {}
    for key in schema.DOMAIN_KEYS:
        flag = value.get(key, False)
        if isinstance(flag, str):  # "True" / "false" in hand-edited files
            flag = flag.strip().lower() in ("true", "1", "yes")
        flags[key] = bool(flag)
    return flags


def _required(record: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in record and record[name] is not None:
            return record[name]
    raise ValueError(f"missing field {' / '.join(repr(n) for n in names)}")


def _question_row(record: Mapping[str, Any]) -> dict[str, Any]:
    text = _text(record.get(QUESTION) or _required(record, "text"))
    return {
        QUESTION_ID: _text(_required(record, QUESTION_ID)),
        QUESTION: _question_text(text),
        REFERENCE_ANSWER: _text(record.get("gpt4_answer", record.get("ans1", ""))),
        schema.CAPTION: _text(record.get("fig_caption", record.get(schema.CAPTION, ""))),
        schema.FIG_LABEL: _text(record.get(schema.FIG_LABEL, "")),
        schema.MENTIONS: _mentions(record.get("in_text_mention", record.get(schema.MENTIONS))),
        schema.DOMAIN: _domain(record.get(schema.DOMAIN)),
        QUESTION_TYPE: _text(record.get("type", record.get(QUESTION_TYPE, ""))),
        IMAGE_FILE: _text(record.get("image", "")),
        schema.PAIR_ID: _text(record.get(schema.PAIR_ID, "")),
    }


def _empty_row(features: Any) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in features:
        if name == schema.DOMAIN:
            row[name] = {key: False for key in schema.DOMAIN_KEYS}
        elif name == schema.MENTIONS:
            row[name] = []
        elif name == LINE:
            row[name] = 0
        else:
            row[name] = ""
    return row


def _read(path: str | os.PathLike[str], features: Any, to_row: Any, *, strict: bool, what: str) -> Any:
    from datasets import Dataset

    rows: list[dict[str, Any]] = []
    problems: list[tuple[int, str]] = []
    for number, record, reason in _read_lines(path):
        row = _empty_row(features)
        if record is not None:
            try:
                row.update(to_row(record))
            except (ValueError, TypeError) as error:
                reason = str(error)
        if reason:
            problems.append((number, reason))
            row[schema.ERROR] = f"{os.fspath(path)} line {number}: {reason}"
        row[LINE] = number
        rows.append(row)
    if problems and strict:
        raise EvaluationFileError(os.fspath(path), problems)
    if problems:
        logger.warning("%s", EvaluationFileError(os.fspath(path), problems))
    if not rows:
        raise ValueError(f"{os.fspath(path)}: no {what} in the file")
    columns = {name: [row[name] for row in rows] for name in features}
    return Dataset.from_dict(columns, features=features)


def read_questions(path: str | os.PathLike[str], *, strict: bool = False) -> Any:
    """Read a LLaVA-Med question file (JSONL) into a Dataset (:func:`open_chat_features`).

    ``question`` is ``text`` without the ``<image>`` placeholder; ``reference_answer`` is
    ``gpt4_answer``; ``mentions`` are the ``tokens`` of ``in_text_mention``; ``question_type`` is
    ``type``. Unreadable lines are rows with an ``error`` (or :class:`EvaluationFileError` with
    ``strict=True``).

    Example:
        >>> questions = read_questions("llava_med_eval_qa50_qa.jsonl")                # doctest: +SKIP
        >>> questions[0]["question_type"], questions[0]["domain"]["histology"]        # doctest: +SKIP
        ('conversation', True)
    """
    return _read(path, open_chat_features(), _question_row, strict=strict, what="questions")


def _answer_row(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        QUESTION_ID: _text(_required(record, QUESTION_ID)),
        ANSWER: _text(_required(record, "text", ANSWER)),
        "prompt": _text(record.get("prompt", "")),
        ANSWER_ID: _text(record.get(ANSWER_ID, "")),
        MODEL_ID: _text(record.get(MODEL_ID, "")),
    }


def read_answers(path: str | os.PathLike[str], *, strict: bool = False, model_id: str | None = None) -> Any:
    """Read a model's answer file (JSONL with ``question_id``, ``text``, ``model_id``, ...) into a Dataset.

    ``model_id`` overrides the file's (default: the file's, else the file name without extension).

    Example:
        >>> answers = read_answers("answers/llava-med.jsonl")                         # doctest: +SKIP
        >>> answers[0]["model_id"]                                                    # doctest: +SKIP
        'llava-med'
    """
    answers = _read(path, answer_features(), _answer_row, strict=strict, what="answers")
    fallback = model_id or os.path.splitext(os.path.basename(os.fspath(path)))[0]
    names = answers[MODEL_ID][:]
    if model_id or not any(names):
        names = [fallback] * len(answers)
    elif not all(names):
        names = [name or fallback for name in names]
    return answers.remove_columns(MODEL_ID).add_column(MODEL_ID, names, feature=answer_features()[MODEL_ID])


def _review_row(record: Mapping[str, Any]) -> dict[str, Any]:
    row = _question_row({**record, "gpt4_answer": record.get("ans1", record.get("gpt4_answer"))})
    row[ANSWER] = _text(_required(record, "ans2"))
    row[MODEL_ID] = _text(record.get(MODEL_ID, ""))
    row[REVIEW] = _text(_required(record, "result", "gpt_eval", REVIEW))
    return row


def read_reviews(path: str | os.PathLike[str], *, strict: bool = False) -> Any:
    """Read a review file (the judge's raw reply in ``result`` or ``gpt_eval``) into a Dataset.

    Scoring it (:func:`biomed_vital.evaluation.relative_scores`) needs no model call.

    Example:
        >>> reviews = read_reviews("llava-med-review.jsonl")                          # doctest: +SKIP
        >>> reviews[0]["review"].splitlines()[0]                                       # doctest: +SKIP
        '8 6'
    """
    return _read(path, review_features(), _review_row, strict=strict, what="reviews")


# ---------------------------------------------------------------------------------------- joining
def join_answers(questions: Any, answers: Any) -> Any:
    """The questions with one model's ``answer``, ``model_id`` and ``answer_id`` added, matched by ``question_id``.

    LLaVA-Med's script pairs the two files line by line; here they are matched by id, so a reordered
    or partial answer file is scored correctly. A question without an answer keeps its row with an
    ``error``; an answer to an unknown question is an error that names it.

    Example:
        >>> samples = join_answers(read_questions("qa.jsonl"), read_answers("model.jsonl"))  # doctest: +SKIP
    """
    from datasets import Value

    by_id: dict[str, dict[str, Any]] = {}
    for row in answers:
        if row[schema.ERROR]:
            continue
        if row[QUESTION_ID] in by_id:
            raise ValueError(
                f"question_id {row[QUESTION_ID]!r} is answered twice (lines {by_id[row[QUESTION_ID]][LINE]} and "
                f"{row[LINE]}) in the answers of {row[MODEL_ID]!r}"
            )
        by_id[row[QUESTION_ID]] = row
    question_ids = set(questions[QUESTION_ID][:])
    unknown = sorted(set(by_id) - question_ids)
    if unknown:
        raise ValueError(
            f"{len(unknown)} answer(s) of {next(iter(by_id.values()))[MODEL_ID]!r} are to question_ids that are "
            f"not in the question file: {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}"
        )
    model_ids = sorted({row[MODEL_ID] for row in answers if row[MODEL_ID]})
    model = model_ids[0] if model_ids else ""
    texts, ids, errors = [], [], []
    for question_id, error in zip(questions[QUESTION_ID][:], questions[schema.ERROR][:], strict=True):
        answer = by_id.get(question_id)
        texts.append(answer[ANSWER] if answer else "")
        ids.append(answer[ANSWER_ID] if answer else "")
        if error:
            errors.append(error)
        elif answer is None:
            errors.append(f"no answer from {model!r} to question_id {question_id!r}")
        else:
            errors.append("")
    joined = questions.remove_columns(schema.ERROR)
    for name, values in ((ANSWER, texts), (MODEL_ID, [model] * len(texts)), (ANSWER_ID, ids)):
        joined = joined.add_column(name, values, feature=Value("string"))
    return joined.add_column(schema.ERROR, errors, feature=Value("string"))


# ---------------------------------------------------------------------------------------- writing
def _question_record(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        QUESTION_ID: _original_id(row[QUESTION_ID]),
        "image": row.get(IMAGE_FILE, ""),
        schema.PAIR_ID: row.get(schema.PAIR_ID, ""),
        "text": f"{row[QUESTION]}\n{_IMAGE_TOKEN}",
        "gpt4_answer": row.get(REFERENCE_ANSWER, ""),
        "fig_caption": row.get(schema.CAPTION, ""),
        "in_text_mention": [{"tokens": mention} for mention in row.get(schema.MENTIONS) or []],
        schema.DOMAIN: dict(row.get(schema.DOMAIN) or {}),
        "type": row.get(QUESTION_TYPE, ""),
        schema.FIG_LABEL: row.get(schema.FIG_LABEL, ""),
    }


def _original_id(question_id: str) -> Any:
    # LLaVA-Med's question ids are integers; write them back as integers so their scripts match them
    return int(question_id) if question_id.isdigit() else question_id


def _write_jsonl(records: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> str:
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    os.replace(temporary, path)  # a reader never sees half a file
    return path


def write_questions(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> str:
    """Write question rows (:func:`open_chat_features`) as a LLaVA-Med question file; returns the path."""
    return _write_jsonl((_question_record(row) for row in rows), path)


def write_answers(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> str:
    """Write answer rows (``question_id``, ``answer``, ``model_id``, ...) as a LLaVA-Med answer file.

    Example:
        >>> write_answers([{"question_id": "0", "answer": "(synthetic answer)", "model_id": "m"}],
        ...               "answers.jsonl")                                            # doctest: +SKIP
        'answers.jsonl'
    """
    records = (
        {
            QUESTION_ID: _original_id(str(row[QUESTION_ID])),
            "prompt": row.get("prompt", row.get(QUESTION, "")),
            "text": row[ANSWER],
            ANSWER_ID: row.get(ANSWER_ID) or f"{row.get(MODEL_ID, '')}-{row[QUESTION_ID]}",
            MODEL_ID: row.get(MODEL_ID, ""),
            "metadata": {},
        }
        for row in rows
    )
    return _write_jsonl(records, path)


def write_reviews(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> str:
    """Write judged rows as a review file in LLaVA-Med's layout (question fields, ``ans1``, ``ans2``, ``result``).

    Rows the judge could not review are written with an empty ``result`` and their ``error``.

    Example:
        >>> write_reviews(judge.review(samples), "reviews/llava-med.jsonl")           # doctest: +SKIP
        'reviews/llava-med.jsonl'
    """
    records = []
    for row in rows:
        record = _question_record(row)
        record.update(
            {
                QUESTION: row[QUESTION],
                "ans1": row.get(REFERENCE_ANSWER, ""),
                "ans2": row.get(ANSWER, ""),
                MODEL_ID: row.get(MODEL_ID, ""),
                "result": row.get(REVIEW, "") or "",
            }
        )
        if row.get(schema.ERROR):
            record[schema.ERROR] = row[schema.ERROR]
        records.append(record)
    return _write_jsonl(records, path)
