"""Telling a local path from a Hugging Face Hub id, and a one-line error for a local path that is not there.

Every loader that accepts "a folder, a file or a Hub id" (stage Datasets, figures, selectors, encoders,
processors) asks :func:`looks_like_local_path` first. A name that looks local and does not exist is a
typo, not a Hub id: :func:`check_local_path` says so in one line, with what was expected there, instead
of a Hub connection error. Only names that cannot be paths go to the Hub.

A name looks local when it exists (wholly or its first folder), starts with ``/``, ``.`` or ``~``,
holds a backslash or more than one ``/``, ends with a file suffix (``.json``, ``.parquet``, ...), or
is not a valid Hub id at all. ``os.PathLike`` objects are always local.

Example:
    >>> looks_like_local_path("org/vital-selector"), looks_like_local_path("./org/vital-selector")
    (False, True)
    >>> looks_like_local_path("runs/selector/final"), looks_like_local_path("candidates.jsonl")
    (True, True)
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

__all__ = ["HUB_ID", "check_local_path", "looks_like_hub_id", "looks_like_local_path"]

#: A Hub repository id: ``name`` or ``owner/name`` of letters, digits, ``-``, ``_`` and ``.``.
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")

# Suffixes of files a user passes, which Hub repository names do not end with.
_FILE_SUFFIXES = frozenset(
    {
        ".json",
        ".jsonl",
        ".parquet",
        ".arrow",
        ".csv",
        ".tsv",
        ".txt",
        ".yaml",
        ".yml",
        ".png",
        ".jpg",
        ".jpeg",
        ".tif",
        ".tiff",
        ".dcm",
        ".dicom",
        ".safetensors",
        ".bin",
        ".pt",
    }
)


def looks_like_hub_id(name: str) -> bool:
    """Whether ``name`` has the form of a Hub repository id (``name`` or ``owner/name``) and no file suffix.

    Example:
        >>> looks_like_hub_id("microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext")
        True
        >>> looks_like_hub_id("captions.json")
        False
    """
    return bool(HUB_ID.match(name)) and Path(name).suffix.lower() not in _FILE_SUFFIXES


def looks_like_local_path(source: str | os.PathLike[str]) -> bool:
    """Whether ``source`` names a local file or folder (existing or not) rather than a Hub id.

    Example:
        >>> looks_like_local_path("~/selectors/run1"), looks_like_local_path("bert-base-uncased")
        (True, False)
    """
    if not isinstance(source, str):
        return True  # a Path object is a path
    text = source
    if os.path.exists(os.path.expanduser(text)):
        return True
    if text.startswith(("/", ".", "~")) or "\\" in text or text.count("/") > 1:
        return True
    if not looks_like_hub_id(text):
        return True
    first = text.split("/", 1)[0]
    return "/" in text and os.path.isdir(first)


def check_local_path(
    source: str | os.PathLike[str], *, expected: str, required_file: str | None = None
) -> None:
    """Raise a one-line ``FileNotFoundError`` when ``source`` looks local and is not there.

    ``expected`` says what should be there ("a saved selector", ...); with ``required_file`` an existing
    folder must also hold that file (a saved model's ``config.json``). A Hub id passes unchecked.

    Example:
        >>> check_local_path("runs/no_such_selector/final", expected="a saved selector")
        Traceback (most recent call last):
        ...
        FileNotFoundError: no such folder: runs/no_such_selector/final (expected: a saved selector)
    """
    if not looks_like_local_path(source):
        return
    text = os.fspath(source)
    path = Path(text).expanduser()
    if path.exists():
        if required_file and path.is_dir() and not (path / required_file).is_file():
            inside = sorted(child.name for child in path.iterdir())[:8]
            raise FileNotFoundError(
                f"{text} has no {required_file} (expected: {expected}; it holds {inside or 'nothing'})"
            )
        return
    kind = "file" if path.suffix.lower() in _FILE_SUFFIXES else "folder"
    raise FileNotFoundError(f"no such {kind}: {text} (expected: {expected}){_close_match(path)}")


def _close_match(path: Path) -> str:
    """``"; did you mean X?"`` when the parent folder holds a similar name, else ``""``."""
    parent = path.parent
    try:
        siblings = [child.name for child in parent.iterdir()] if parent.is_dir() else []
    except OSError:
        return ""
    matches = difflib.get_close_matches(path.name, siblings, n=1, cutoff=0.75)
    return f"; did you mean {parent / matches[0]}?" if matches else ""
