"""Reading raw figure records from JSON / JSONL files, with honest text decoding.

This is the part of the figure loader that knows file formats: a JSON list, a JSON object of
per-domain lists (LLaVA-Med's ``llava_med_instruct_fig_captions.json``), JSON Lines, and an image
folder's ``metadata.jsonl``. It yields ``(row label, record)`` pairs and never touches images.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biomed_vital.data.modality import DOMAIN_KEYS

logger = logging.getLogger("biomed_vital.data")

METADATA_FILE_NAMES = ("metadata.jsonl", "metadata.json")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".dcm", ".dicom")

# Key added to records that came from a per-domain JSON object, so the loader can set the flags.
DOMAIN_GROUP_KEY = "__domain_group__"
# Key of a record standing in for a JSONL line that could not be parsed.
PARSE_ERROR_KEY = "__parse_error__"


@dataclass(frozen=True)
class RawRecord:
    """One record as read from a file, with where it came from."""

    index: int
    location: str  # "line 12" or "item 3", for error messages
    record: Any


def decode_text(data: bytes, path: str | os.PathLike, encoding: str | None = None) -> str:
    """Decode a text file: UTF-8 (BOM allowed), else cp1252 / latin-1 with a warning.

    With an explicit ``encoding`` the bytes must decode with it; a failure names the file and the
    byte offset.

    Example:
        >>> decode_text("caf\\u00e9".encode("cp1252"), "captions.json")
        'café'
    """
    if encoding is not None:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as error:
            raise ValueError(
                f"{path}: not valid {encoding} at byte offset {error.start} ({data[error.start : error.start + 8]!r}); "
                "re-save the file as UTF-8 or pass the encoding it was written in"
            ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        offset = error.start
    for fallback in ("cp1252", "latin-1"):
        try:
            text = data.decode(fallback)
        except UnicodeDecodeError:
            continue
        logger.warning(
            "%s is not valid UTF-8 (first bad byte at offset %d); decoded it as %s. "
            "Pass encoding=... to choose, or re-save the file as UTF-8.",
            path,
            offset,
            fallback,
        )
        return text
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _json_error(path: str | os.PathLike, error: json.JSONDecodeError, what: str = "") -> ValueError:
    return ValueError(
        f"{path}{what}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}; "
        "fix the file (JSON list, object of lists, or one JSON object per line)"
    )


def _iter_jsonl(text: str, path: str | os.PathLike) -> Iterator[RawRecord]:
    index = 0
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            record = {PARSE_ERROR_KEY: f"invalid JSON on line {line_number} of {path}: {error.msg}"}
        yield RawRecord(index, f"line {line_number}", record)
        index += 1


def _iter_json_document(document: Any, path: str | os.PathLike) -> Iterator[RawRecord]:
    if isinstance(document, list):
        for index, record in enumerate(document):
            yield RawRecord(index, f"item {index}", record)
        return
    if isinstance(document, dict):
        if document and all(isinstance(value, list) for value in document.values()):
            # LLaVA-Med's per-domain object: {"chest_xray": [...], "mri": [...], ...}
            index = 0
            for group, records in document.items():
                for position, record in enumerate(records):
                    if isinstance(record, dict) and group in DOMAIN_KEYS:
                        record = {**record, DOMAIN_GROUP_KEY: group}
                    yield RawRecord(index, f"{group}[{position}]", record)
                    index += 1
            return
        yield RawRecord(0, "item 0", document)
        return
    raise ValueError(
        f"{path}: expected a JSON list of records or an object of lists, got {type(document).__name__}"
    )


def read_records(path: str | os.PathLike, *, encoding: str | None = None) -> list[RawRecord]:
    """Read every record of a JSON or JSONL figure / instruction file.

    ``.jsonl`` files are read line by line; a line that does not parse becomes a record that the
    loader reports as a row error, so one bad line does not lose the others. ``.json`` files may be
    a list, an object of per-domain lists, or (as written by some tools) JSON Lines.

    Example:
        >>> records = read_records("llava_med_instruct_fig_captions.json")  # doctest: +SKIP
        >>> records[0].record["pair_id"]  # doctest: +SKIP
        '28104940_F2'
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"figure file not found: {path}") from None
    text = decode_text(data, path, encoding)
    if path.suffix.lower() == ".jsonl":
        return list(_iter_jsonl(text, path))
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1 and lines[0].lstrip().startswith("{"):
            try:
                json.loads(lines[0])
            except json.JSONDecodeError:
                raise _json_error(path, error) from None
            return list(_iter_jsonl(text, path))
        raise _json_error(path, error) from None
    return list(_iter_json_document(document, path))


def find_metadata_file(folder: Path) -> Path | None:
    """The ``metadata.jsonl`` (or ``metadata.json``) of an image folder, if there is one."""
    for name in METADATA_FILE_NAMES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def list_image_files(folder: Path) -> list[Path]:
    """Image files below ``folder`` (recursively, sorted), for folders without metadata."""
    return sorted(
        path for path in folder.rglob("*") if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
    )
