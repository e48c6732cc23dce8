"""What a DICOM file's header says it shows: a caption made of its descriptive values, and a modality label.

One reading of the header serves both the figure loader (a DICOM file or folder without captions gets
them from its headers) and the built-in demo figures. No text is written here: the caption is the file's
own ``Modality``, ``BodyPartExamined``, ``StudyDescription`` and ``SeriesDescription`` values, in that
order, ``^`` separators replaced by spaces and repeats dropped, joined with ``", "``. The modality label
follows the header's ``Modality``: ``CT`` is ``ct_scan``, ``MR`` is ``mri``, slide microscopy (``SM``)
is ``histology``, a radiograph (``CR``, ``DX``) of the chest is ``chest_xray``; anything else is ``other``.
Reading pixels is :func:`biomed_vital.data.load_image`'s part.

Example:
    >>> description = describe_dicom("JPEG2000.dcm")     # doctest: +SKIP
    >>> description.caption, description.modality         # doctest: +SKIP
    ('NM, WHOLE BODY, Whole Body Bone', 'other')
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO

__all__ = [
    "DICOM_CAPTION_FIELDS",
    "DICOM_TEXT_KEY",
    "DicomDescription",
    "describe_dicom",
    "modality_of_header",
]

#: Header fields a DICOM caption is built from, in this order.
DICOM_CAPTION_FIELDS = ("Modality", "BodyPartExamined", "StudyDescription", "SeriesDescription")
#: Key in ``extra`` of the header values a caption was built from.
DICOM_TEXT_KEY = "dicom_text"

# DICOM Modality (PS3.3 C.7.3.1.1.1) -> the data contract's label
_MODALITY_LABELS = {"CT": "ct_scan", "MR": "mri", "SM": "histology"}
_RADIOGRAPHY = {"CR", "DX", "RG"}
_CHEST = {"CHEST", "THORAX"}


@dataclass(frozen=True)
class DicomDescription:
    """The descriptive header values of a DICOM file, the caption built from them, and its modality label."""

    values: dict[str, str] = field(default_factory=dict)
    caption: str = ""
    modality: str = "other"


def modality_of_header(values: Mapping[str, str]) -> str:
    """The modality label for a header's ``Modality`` (and, for radiographs, ``BodyPartExamined``).

    Example:
        >>> modality_of_header({"Modality": "MR"}), modality_of_header({"Modality": "DX", "BodyPartExamined": "CHEST"})
        ('mri', 'chest_xray')
        >>> modality_of_header({"Modality": "NM"})
        'other'
    """
    code = values.get("Modality", "").strip().upper()
    if code in _RADIOGRAPHY and values.get("BodyPartExamined", "").strip().upper() in _CHEST:
        return "chest_xray"
    return _MODALITY_LABELS.get(code, "other")


def describe_dicom(source: str | os.PathLike[str] | bytes | IO[bytes]) -> DicomDescription:
    """Read a DICOM file's descriptive header values (not its pixels) into a :class:`DicomDescription`.

    ``source`` is a path, the file's bytes or an open binary stream. Needs pydicom
    (``pip install "biomed_vital[dicom]"``).

    Example:
        >>> describe_dicom("MR_small.dcm").caption          # doctest: +SKIP
        'MR'
    """
    import pydicom

    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    header = pydicom.dcmread(stream, stop_before_pixels=True, force=True)
    values: dict[str, str] = {}
    for name in DICOM_CAPTION_FIELDS:
        value = str(header.get(name, "") or "").replace("^", " ").strip()
        if value:
            values[name] = value
    parts: list[str] = []
    for value in values.values():
        if value.lower() not in (part.lower() for part in parts):
            parts.append(value)
    return DicomDescription(values=values, caption=", ".join(parts), modality=modality_of_header(values))
