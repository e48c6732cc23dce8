"""Medical VQA benchmarks (VQA-RAD, SLAKE, PathVQA): loading them and scoring a model's answers.

:func:`load_vqa` reads a benchmark from the files it is distributed in, or from a Hub dataset id, into
one layout: ``question_id``, ``question``, ``reference_answer`` (the ground truth), ``answer_type``
(``closed`` / ``open``), ``split``, ``benchmark``, ``image_file``, ``line`` and ``error``. It reads

* VQA-RAD's ``VQA_RAD Dataset Public.json`` (and the ``trainset.json`` / ``testset.json`` split from it):
  ``qid``, ``image_name``, ``question``, ``answer``, ``answer_type`` (``CLOSED``/``OPEN``) and
  ``phrase_type`` (``test_freeform`` / ``test_para`` are the test split);
* SLAKE's ``train.json`` / ``validate.json`` / ``test.json`` (or their folder): ``qid``, ``img_name``,
  ``question``, ``answer``, ``answer_type``, ``q_lang`` (English questions by default);
* PathVQA and any other ``image`` / ``question`` / ``answer`` records (JSON, JSONL, or a Hub dataset
  such as ``flaviagiammarino/path-vqa``), where a yes/no answer makes a question closed;
* LLaVA-Med's converted files (``id``, ``image``, ``conversations``, ``answer_type``).

:func:`score_vqa` computes the metrics of :mod:`~biomed_vital.evaluation.vqa_metrics` on a model's
answers (:func:`~biomed_vital.evaluation.join_answers`): closed accuracy on closed questions; open
recall, exact match, token F1 and BLEU on open ones. A question the model did not answer counts as a
wrong (empty) answer and is listed; it is never left out of the denominator.

Example:
    >>> test = load_vqa("Slake1.0/", split="test")                                   # doctest: +SKIP
    >>> print(score_vqa(join_answers(test, read_answers("slake-answers.jsonl"))))    # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from biomed_vital import schema
from biomed_vital.evaluation import llava_med_files as files
from biomed_vital.evaluation.vqa_metrics import (
    bleu,
    closed_accuracy,
    exact_match,
    extract_yes_no,
    normalize_answer,
    open_recall,
    token_f1,
)
from biomed_vital.paths import check_local_path

__all__ = ["BENCHMARKS", "VQAScores", "load_vqa", "score_vqa", "vqa_features"]

BENCHMARKS = ("vqa-rad", "slake", "pathvqa")
ANSWER_TYPE = "answer_type"
SPLIT = "split"
BENCHMARK = "benchmark"
_SPLIT_NAMES = {
    "train": "train",
    "trainset": "train",
    "validate": "validation",
    "validation": "validation",
    "val": "validation",
    "test": "test",
    "testset": "test",
}
_SLAKE_FILES = {"train": "train.json", "validation": "validate.json", "test": "test.json"}


def vqa_features() -> Any:
    """The columns of a VQA Dataset (:func:`load_vqa`)."""
    from datasets import Features, Value

    return Features(
        {
            files.QUESTION_ID: Value("string"),
            files.QUESTION: Value("string"),
            files.REFERENCE_ANSWER: Value("string"),
            ANSWER_TYPE: Value("string"),
            SPLIT: Value("string"),
            BENCHMARK: Value("string"),
            files.IMAGE_FILE: Value("string"),
            files.LINE: Value("int32"),
            schema.ERROR: Value("string"),
        }
    )


def _answer_type(value: Any, answer: str) -> str:
    text = str(value or "").strip().lower()
    if text.startswith("close"):
        return "closed"
    if text == "open":
        return "open"
    return "closed" if normalize_answer(answer) in ("yes", "no") else "open"


def _split_of_file(path: str) -> str:
    """The split a file name says (``test.json``, ``pathvqa_test.jsonl``, ``trainset.json``), or ''."""
    stem = os.path.splitext(os.path.basename(path))[0].lower()
    for token in reversed(re.split(r"[\s_.-]+", stem)):
        if token in _SPLIT_NAMES:
            return _SPLIT_NAMES[token]
    return ""


def _row(record: Mapping[str, Any], index: int, file_split: str, benchmark: str) -> dict[str, Any]:
    """One record of any supported layout as a VQA row."""
    if "conversations" in record:  # LLaVA-Med's converted files
        turns = record["conversations"]
        question = next(t["value"] for t in turns if t.get("from") == "human")
        answer = next(t["value"] for t in turns if t.get("from") == "gpt")
        question_id, image = record.get("id", record.get("question_id", index)), record.get("image", "")
        split = file_split
    elif "img_name" in record:  # SLAKE
        question, answer = record["question"], record["answer"]
        question_id, image, split = record.get("qid", index), record["img_name"], file_split
    elif "image_name" in record:  # VQA-RAD
        question, answer = record["question"], record["answer"]
        question_id, image = record.get("qid", index), record["image_name"]
        phrase = str(record.get("phrase_type", ""))
        split = ("test" if phrase.startswith("test") else "train") if phrase else file_split
    else:  # PathVQA and generic image / question / answer records
        question, answer = record["question"], record["answer"]
        question_id = record.get("qid", record.get("question_id", record.get("id", index)))
        image = record.get("image", "") if isinstance(record.get("image", ""), str) else ""
        split = str(record.get("split", file_split) or file_split)
    answer = str(answer)
    return {
        files.QUESTION_ID: str(question_id),
        files.QUESTION: str(question).replace("<image>", "").strip(),
        files.REFERENCE_ANSWER: answer,
        ANSWER_TYPE: _answer_type(record.get(ANSWER_TYPE), answer),
        SPLIT: split,
        BENCHMARK: benchmark,
        files.IMAGE_FILE: str(image or ""),
        schema.ERROR: "",
    }


def _records(path: str) -> Iterable[tuple[int, Any, str]]:
    """``(line or index, record, reason)`` of a JSON list or a JSONL file."""
    with open(path, encoding="utf-8-sig") as handle:
        text = handle.read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, list):
        for index, record in enumerate(data):
            yield index + 1, record, "" if isinstance(record, dict) else f"item {index + 1} is not an object"
        return
    if isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON list of questions or JSONL, got a JSON object")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield number, None, f"not JSON ({error.msg})"
            continue
        yield number, record, "" if isinstance(record, dict) else "not a JSON object"


def _guess_benchmark(path: str) -> str:
    lowered = path.lower().replace("_", "-")
    if "slake" in lowered:
        return "slake"
    if "rad" in lowered:
        return "vqa-rad"
    if "path" in lowered or "pvqa" in lowered:
        return "pathvqa"
    return ""


def load_vqa(
    source: str | os.PathLike[str],
    *,
    benchmark: str | None = None,
    split: str | None = None,
    language: str | None = "en",
    strict: bool = False,
) -> Any:
    """Load a VQA benchmark (a file, SLAKE's folder, or a Hub dataset id) into :func:`vqa_features` columns.

    Args:
        source: a JSON / JSONL file, a folder holding ``train.json`` / ``validate.json`` / ``test.json``,
            or a Hub dataset id.
        benchmark: ``vqa-rad``, ``slake`` or ``pathvqa`` (default: guessed from the path, else empty).
        split: keep only this split (``train``, ``validation``, ``test``).
        language: SLAKE's ``q_lang`` to keep (``None``: all).
        strict: raise on the first unreadable record instead of keeping it as a row with an ``error``.

    Example:
        >>> rad = load_vqa("VQA_RAD Dataset Public.json", split="test")              # doctest: +SKIP
        >>> rad.unique("answer_type")                                                  # doctest: +SKIP
        ['closed', 'open']
    """
    from datasets import Dataset

    path = os.fspath(source)
    name = benchmark or _guess_benchmark(path)
    if name and name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
    wanted = _SPLIT_NAMES.get(split, split) if split else None
    if os.path.isdir(path):
        chosen = [wanted] if wanted else list(_SLAKE_FILES)
        paths = [os.path.join(path, _SLAKE_FILES[s]) for s in chosen if s in _SLAKE_FILES]
        paths = [p for p in paths if os.path.isfile(p)]
        if not paths:
            raise FileNotFoundError(f"{path}: no {' / '.join(_SLAKE_FILES.values())} in the folder")
    elif os.path.isfile(path):
        paths = [path]
    else:
        check_local_path(path, expected="a VQA-RAD / SLAKE / PathVQA file or SLAKE's folder")
        return _load_hub(path, name, wanted)
    rows = []
    problems = []
    for file_path in paths:
        file_split = _split_of_file(file_path)
        for number, record, reason in _records(file_path):
            if not reason and language and record.get("q_lang") not in (None, language):
                continue
            row: dict[str, Any] = {name_: "" for name_ in vqa_features()}
            if not reason:
                try:
                    row = _row(record, number - 1, file_split, name)
                except (KeyError, StopIteration, TypeError) as error:
                    reason = (
                        f"missing field {error}"
                        if isinstance(error, KeyError)
                        else f"unreadable record ({error})"
                    )
            if reason:
                problems.append((number, reason))
                row[schema.ERROR] = f"{file_path} record {number}: {reason}"
                row[BENCHMARK] = name
            row[files.LINE] = number
            if wanted and row[SPLIT] and row[SPLIT] != wanted and not reason:
                continue
            rows.append(row)
    if problems and strict:
        raise files.EvaluationFileError(path, problems)
    if not rows:
        raise ValueError(f"{path}: no questions{f' in split {wanted!r}' if wanted else ''}")
    return Dataset.from_dict({k: [r[k] for r in rows] for k in vqa_features()}, features=vqa_features())


def _load_hub(repo_id: str, name: str, split: str | None) -> Any:
    import datasets

    try:
        loaded = datasets.load_dataset(repo_id, split=split) if split else datasets.load_dataset(repo_id)
    except Exception as error:  # noqa: BLE001 (datasets raises many kinds; say what was asked)
        raise FileNotFoundError(
            f"{repo_id!r} is neither a local file or folder nor a loadable Hub dataset ({type(error).__name__}: {error})"
        ) from None
    parts = loaded.items() if isinstance(loaded, datasets.DatasetDict) else [(split or "", loaded)]
    rows = []
    for split_name, part in parts:
        columns = [c for c in part.column_names if c != "image"]  # images stay on the Hub side
        for index, record in enumerate(part.select_columns(columns)):
            row = _row({**record, "split": record.get("split", split_name)}, index, split_name, name)
            row[files.LINE] = index + 1
            rows.append(row)
    return datasets.Dataset.from_dict(
        {k: [r[k] for r in rows] for k in vqa_features()}, features=vqa_features()
    )


@dataclass
class VQAScores:
    """A model's metrics on one VQA benchmark (fractions in [0, 1]; ``None`` where no question of that kind)."""

    model_id: str = ""
    benchmark: str = ""
    n_closed: int = 0
    n_open: int = 0
    closed_accuracy: float | None = None
    open_recall: float | None = None
    exact_match: float | None = None
    token_f1: float | None = None
    bleu: float | None = None
    closed_without_yes_no: int = 0
    missing: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)

    def __str__(self) -> str:
        def pct(value: float | None) -> str:
            return "-" if value is None else f"{100 * value:.2f}"

        return (
            f"{self.model_id} on {self.benchmark or 'VQA'}: closed accuracy {pct(self.closed_accuracy)} "
            f"({self.n_closed}), open recall {pct(self.open_recall)} ({self.n_open}), exact match "
            f"{pct(self.exact_match)}, token F1 {pct(self.token_f1)}, BLEU {pct(self.bleu)}; "
            f"{len(self.missing)} unanswered"
        )


def score_vqa(samples: Any) -> VQAScores:
    """The VQA metrics of one model's answers (``reference_answer``, ``answer``, ``answer_type``, ``error``).

    Example:
        >>> from datasets import Dataset
        >>> samples = Dataset.from_dict({"question_id": ["1", "2"], "answer_type": ["closed", "open"],
        ...     "reference_answer": ["no", "right lower lobe"], "answer": ["Not seen: no.", "Right lobe."],
        ...     "model_id": ["m", "m"], "error": ["", ""]})
        >>> scores = score_vqa(samples)
        >>> scores.closed_accuracy, round(scores.open_recall, 4)
        (1.0, 0.6667)
    """
    closed: tuple[list[str], list[str]] = ([], [])
    opened: tuple[list[str], list[str]] = ([], [])
    result = VQAScores()
    for row in samples:
        result.model_id = result.model_id or str(row.get(files.MODEL_ID, ""))
        result.benchmark = result.benchmark or str(row.get(BENCHMARK, ""))
        answer = row.get(files.ANSWER) or ""
        if row.get(schema.ERROR):
            result.missing.append(
                {"question_id": str(row[files.QUESTION_ID]), "reason": str(row[schema.ERROR])}
            )
            answer = ""
        target = closed if row[ANSWER_TYPE] == "closed" else opened
        target[0].append(answer)
        target[1].append(row[files.REFERENCE_ANSWER])
    result.n_closed, result.n_open = len(closed[1]), len(opened[1])
    if closed[1]:
        result.closed_accuracy = closed_accuracy(*closed)
        result.closed_without_yes_no = sum(
            normalize_answer(r) in ("yes", "no") and extract_yes_no(p) is None
            for p, r in zip(*closed, strict=True)
        )
    if opened[1]:
        result.open_recall = open_recall(*opened)
        result.exact_match = exact_match(*opened)
        result.token_f1 = token_f1(*opened)
        result.bleu = bleu(*opened)
    return result
