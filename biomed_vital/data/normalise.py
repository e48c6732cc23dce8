"""Normalising raw figure records into the figure columns (pure Python: no images, no Datasets).

:mod:`biomed_vital.data.records` reads records from files; this module turns each one into the
*figures* columns of the data contract (:mod:`biomed_vital.schema`), whatever the source called
its fields: LLaVA-Med's ``pair_id`` / ``fig_caption`` / ``in_text_mention``, BioMed-VITAL's
``imgs`` / ``conversations``, an image folder's ``file_name``, or the columns themselves. Which
field wins where several are present is the table "Which fields are read" in
``docs/data-formats.md``. Nothing in a record is lost: fields without a column are kept, as JSON,
in ``extra``; a field that cannot be read becomes an error of the row, not an exception.

Example:
    >>> from biomed_vital.data.normalise import normalise_record
    >>> from biomed_vital.data.records import RawRecord
    >>> raw = RawRecord(0, "item 0", {"pair_id": "PMC1_F2", "fig_caption": "(caption text)", "domain": {"mri": True}})
    >>> row = normalise_record(raw, origin="captions.json", use_pair_id_image=True, image_suffix=".jpg")
    >>> row["id"], row["modality"], row["_image_path"], row["_errors"]
    ('PMC1_F2', 'mri', 'PMC1_F2.jpg', [])
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from biomed_vital import schema
from biomed_vital.data.conversations import conversations_to_messages, messages_to_conversations
from biomed_vital.data.modality import normalize_domain, resolve_modality
from biomed_vital.data.records import DOMAIN_GROUP_KEY, PARSE_ERROR_KEY, RawRecord

__all__ = [
    "MENTION_OBJECTS_KEY",
    "MODALITY_TEXT_KEY",
    "MORE_IMAGES_KEY",
    "PREVIOUS_ERROR_KEY",
    "READ_FIELDS",
    "normalise_record",
]

# Source fields read into each column, first present wins. Besides the column itself: LLaVA-Med's
# pair id, and the figure id that the LLaVA export writes next to a candidate id.
ID_FIELDS = (schema.ID, "pair_id", "figure_id")
CAPTION_FIELDS = (schema.CAPTION, "fig_caption")
MENTION_FIELDS = (schema.MENTIONS, "in_text_mention")
IMAGE_FIELDS = (schema.IMAGE, "imgs", "file_name", "image_path", "img")
CONVERSATION_FIELDS = ("conversations", schema.MESSAGES)
TEXT_FIELDS = (schema.PMID, schema.FIG_LABEL, schema.SOURCE)

#: Every source field that has a column of its own; any other field is kept in ``extra``.
READ_FIELDS: frozenset[str] = frozenset(
    {
        *ID_FIELDS,
        *CAPTION_FIELDS,
        *MENTION_FIELDS,
        *IMAGE_FIELDS,
        *CONVERSATION_FIELDS,
        *TEXT_FIELDS,
        schema.DOMAIN,
        schema.MODALITY,
        *schema.DOMAIN_KEYS,
    }
)

#: Key in ``extra`` of a source's free-text modality ("CT", "MR (T1)"); the column holds the label.
MODALITY_TEXT_KEY = "modality_text"
#: Key in ``extra`` of LLaVA-Med's mention objects (with entity offsets), kept for a faithful export.
MENTION_OBJECTS_KEY = "in_text_mention"
#: Key in ``extra`` of the images after the first when a record names several.
MORE_IMAGES_KEY = "more_images"
#: Carries the error of a row that is re-validated (a Dataset passed through the loader again).
PREVIOUS_ERROR_KEY = "__previous_error__"


def _mention_text(mention: Any) -> str:
    if isinstance(mention, str):
        return mention
    if isinstance(mention, Mapping) and "tokens" in mention:
        tokens = mention["tokens"]
        return " ".join(map(str, tokens)) if isinstance(tokens, list) else str(tokens)
    raise ValueError(f"in-text mention must be text or an object with 'tokens', got {_short_repr(mention)}")


def _first_present(record: Mapping[str, Any], keys: Sequence[str]) -> tuple[str | None, Any]:
    for key in keys:
        if key in record and record[key] is not None:
            return key, record[key]
    return None, None


# Identifiers may be numbers in the wild (BioMed-VITAL's integer ids, numeric PMIDs); they become text.
IDENTIFIER_FIELDS = (schema.ID, schema.PMID)


def _as_text(value: Any, field: str) -> str:
    """The text of a field: ``None`` is "", identifiers may be integers, anything else must be a string."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if field in IDENTIFIER_FIELDS and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    kind = "text or an integer" if field in IDENTIFIER_FIELDS else "text"
    raise ValueError(f"field {field!r} must be {kind}, got {type(value).__name__} {_short_repr(value)}")


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _image_reference(value: Any) -> tuple[str | None, bytes | None, list[Any]]:
    """(path, bytes, further images) from an image field in any of the supported shapes."""
    if value is None:
        return None, None, []
    if isinstance(value, list):
        if not value:
            return None, None, []
        path, data, _ = _image_reference(value[0])
        return path, data, value[1:]
    if isinstance(value, Mapping):
        data = value.get("bytes")
        path = value.get("path")
        return (str(path) if path else None), (bytes(data) if data else None), []
    if isinstance(value, str | os.PathLike):
        return os.fspath(value), None, []
    raise ValueError(
        f"image field must be a path, a list of paths or an image record, got {type(value).__name__}"
    )


def normalise_record(
    raw: RawRecord,
    *,
    origin: str,
    use_pair_id_image: bool,
    image_suffix: str,
) -> dict[str, Any]:
    """Turn one raw record into the figure columns plus ``_image_path`` / ``_image_bytes`` / ``_errors``.

    ``origin`` is the file, folder or Hub id the record came from (the default ``source``). With
    ``use_pair_id_image``, a record without an image field names its image ``<pair_id><image_suffix>``
    (LLaVA-Med's convention). Unknown fields are kept, JSON-encoded, in ``extra`` so nothing in the
    source is lost; ``_index`` and ``_location`` say where the record was, for error messages.

    Example:
        >>> from biomed_vital.data.records import RawRecord
        >>> row = normalise_record(RawRecord(3, "line 4", {"id": 7, "fig_caption": "(caption)", "note": "kept"}),
        ...                        origin="rows.jsonl", use_pair_id_image=False, image_suffix=".jpg")
        >>> row["id"], row["caption"], row["extra"], row["source"]
        ('7', '(caption)', '{"note": "kept"}', 'rows.jsonl')
    """
    row: dict[str, Any] = {
        schema.ID: "",
        schema.CAPTION: "",
        schema.MENTIONS: [],
        schema.MODALITY: "other",
        schema.DOMAIN: normalize_domain(None),
        schema.PMID: "",
        schema.FIG_LABEL: "",
        schema.SOURCE: origin,
        schema.MESSAGES: None,
        schema.EXTRA: "",
        "_image_path": None,
        "_image_bytes": None,
        "_errors": [],
        "_index": raw.index,
        "_location": raw.location,
        "_id_from_file": None,
        "_modality_given": False,
    }
    record = raw.record
    errors: list[str] = row["_errors"]
    if not isinstance(record, Mapping):
        errors.append(f"invalid record: expected a JSON object, got {type(record).__name__}")
        row[schema.ID] = f"{raw.location}"
        return row
    if PARSE_ERROR_KEY in record:
        errors.append(f"invalid record: {record[PARSE_ERROR_KEY]}")
        row[schema.ID] = f"{raw.location}"
        return row

    consumed: set[str] = {DOMAIN_GROUP_KEY, PREVIOUS_ERROR_KEY}
    extra: dict[str, Any] = {}

    def take(keys: Sequence[str]) -> tuple[str | None, Any]:
        key, value = _first_present(record, keys)
        if key is not None:
            consumed.add(key)
        return key, value

    _, image_value = take(IMAGE_FIELDS)
    try:
        image_path, image_bytes, more_images = _image_reference(image_value)
    except ValueError as error:
        image_path, image_bytes, more_images = None, None, []
        errors.append(f"invalid record: {error}")
    if more_images:
        extra[MORE_IMAGES_KEY] = more_images

    id_key, id_value = take(ID_FIELDS)
    if id_key == "pair_id":
        consumed.discard("pair_id")  # keep pair_id itself for the LLaVA-Med export
    try:
        identifier = _as_text(id_value, schema.ID).strip()
    except ValueError as error:
        errors.append(f"invalid record: {error}".replace(f"field {schema.ID!r}", f"field {id_key!r}"))
        identifier = ""
    if not identifier and image_path:
        identifier = Path(image_path).stem
        row["_id_from_file"] = image_path  # a derived id may clash with another row's; the loader checks
    if not identifier:
        errors.append("missing required field 'id' (or 'pair_id' or an image file name)")
        identifier = raw.location
    row[schema.ID] = identifier

    if use_pair_id_image and image_path is None and image_bytes is None:
        pair_id = record.get("pair_id")
        if isinstance(pair_id, str) and pair_id:
            image_path = f"{pair_id}{image_suffix}"  # LLaVA-Med names PMC images <pair_id>.jpg

    for field in TEXT_FIELDS:
        if field in record:
            consumed.add(field)
            try:
                row[field] = _as_text(record[field], field)
            except ValueError as error:
                errors.append(f"invalid record: {error}")
    if not row[schema.SOURCE]:
        row[schema.SOURCE] = origin

    caption_key, caption = take(CAPTION_FIELDS)
    try:
        row[schema.CAPTION] = _as_text(caption, schema.CAPTION)
    except ValueError as error:
        errors.append(
            f"invalid record: {error}".replace(f"field {schema.CAPTION!r}", f"field {caption_key!r}")
        )

    mention_key, mentions = take(MENTION_FIELDS)
    if mentions is not None:
        if isinstance(mentions, str | Mapping):
            mentions = [mentions]
        try:
            if not isinstance(mentions, list | tuple):
                raise ValueError(
                    f"field {mention_key!r} must be a list of text, got {type(mentions).__name__} "
                    f"{_short_repr(mentions)}"
                )
            row[schema.MENTIONS] = [_mention_text(mention) for mention in mentions]
        except ValueError as error:
            errors.append(f"invalid record: {error}")
            mentions = None
        # Entity offsets have no column of their own; keep them for a faithful export.
        if mention_key == "in_text_mention" and any(
            isinstance(mention, Mapping) for mention in mentions or []
        ):
            extra[MENTION_OBJECTS_KEY] = mentions

    domain_given = schema.DOMAIN in record or DOMAIN_GROUP_KEY in record
    try:
        if schema.DOMAIN in record:
            consumed.add(schema.DOMAIN)
            row[schema.DOMAIN] = normalize_domain(record[schema.DOMAIN])
        elif any(isinstance(record.get(key), bool) for key in schema.DOMAIN_KEYS):
            domain_given = True
            consumed.update(key for key in schema.DOMAIN_KEYS if key in record)
            row[schema.DOMAIN] = normalize_domain({key: record.get(key) for key in schema.DOMAIN_KEYS})
        elif record.get(DOMAIN_GROUP_KEY) in schema.DOMAIN_KEYS:
            row[schema.DOMAIN] = normalize_domain({record[DOMAIN_GROUP_KEY]: True})
    except ValueError as error:
        errors.append(f"invalid record: {error}")

    explicit_modality = record.get(schema.MODALITY)
    if explicit_modality is not None and not isinstance(explicit_modality, str):
        errors.append(
            f"invalid record: field {schema.MODALITY!r} must be text, got "
            f"{type(explicit_modality).__name__} {_short_repr(explicit_modality)}"
        )
        explicit_modality = None
    row[schema.MODALITY] = resolve_modality(explicit_modality, row[schema.DOMAIN])
    # Without a modality or domain in the record, a DICOM image's header may tell (the loader reads it).
    row["_modality_given"] = domain_given or bool(explicit_modality)
    if explicit_modality is not None and not (
        isinstance(explicit_modality, str) and explicit_modality.strip().lower() == row[schema.MODALITY]
    ):
        # free text such as "CT": kept, the column holds the label
        extra[MODALITY_TEXT_KEY] = explicit_modality
    consumed.add(schema.MODALITY)

    conversation_key, conversation = take(CONVERSATION_FIELDS)
    if conversation is not None:
        try:
            if conversation_key == schema.MESSAGES:
                conversation = messages_to_conversations(conversation, with_image=False)
            row[schema.MESSAGES] = conversations_to_messages(conversation)
        except (TypeError, ValueError) as error:
            errors.append(f"invalid conversations: {error}")
            row[schema.MESSAGES] = []

    for key, value in record.items():
        if key not in consumed:
            extra[key] = value
    row[schema.EXTRA] = json.dumps(extra, ensure_ascii=False, default=str) if extra else ""
    if image_path is None and image_bytes is None and record.get(PREVIOUS_ERROR_KEY):
        errors.append(str(record[PREVIOUS_ERROR_KEY]))
    row["_image_path"] = image_path
    row["_image_bytes"] = image_bytes
    return row
