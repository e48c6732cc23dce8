"""Export any stage's Dataset (figures with messages, candidates, selected) to LLaVA-Med JSON.

The output is what LLaVA / LLaVA-Med training scripts read: a JSON list (or JSONL) of records with
``id``, ``image`` (a path relative to the JSON file), ``conversations`` (``from`` human/gpt,
``<image>`` in the first human turn), ``domain`` and, when the Dataset has them, the figure fields
``fig_caption``, ``in_text_mention``, ``pmid``, ``fig_label``, ``pair_id``. Images are written to
``image_folder`` so the export is self-contained and loads back with :func:`load_figures`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biomed_vital import schema
from biomed_vital.data.conversations import messages_to_conversations
from biomed_vital.data.images import DEFAULT_MAX_IMAGE_PIXELS, ImageLoadError, load_image
from biomed_vital.data.modality import modality_from_domain
from biomed_vital.data.normalise import MENTION_OBJECTS_KEY, MODALITY_TEXT_KEY, MORE_IMAGES_KEY

if TYPE_CHECKING:
    import datasets

_UNSAFE_FILE_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")
# The digest suffix `_file_stem` adds; an id that already ends like one gets its own digest too.
_DIGEST_SUFFIX = re.compile(r"-[0-9a-f]{10}$")
# Columns of later stages that go into a record as they are, when present.
_SCORE_COLUMNS = (schema.GENERATOR, schema.JUDGE_SCORE, schema.SELECTOR_SCORE, schema.STATUS)


def _file_stem(identifier: str) -> str:
    """The file name (without suffix) of a figure's exported image: unique per id and the same on every run.

    An id that is a safe file name is used as it is. Any other id (``a/b``, ``a b``, ``../x``) keeps its safe
    characters and gains a digest of the whole id, so ``a/b``, ``a b`` and ``a_b`` get three different files.
    """
    stem = _UNSAFE_FILE_CHARACTERS.sub("_", identifier).strip("._")
    if stem == identifier and not _DIGEST_SUFFIX.search(identifier):
        return stem
    digest = hashlib.sha256(identifier.encode("utf-8")).hexdigest()[:10]
    return f"{stem[:80] or 'image'}-{digest}"


def _write_image(record: dict[str, Any], folder: Path, stem: str, max_pixels: int | None) -> Path:
    """Write one image record into ``folder`` as PNG or JPEG, keeping the original bytes when possible.

    An image over ``max_pixels`` is refused before anything is written, also when its bytes would be copied
    unchanged: training loaders would decode it.
    """
    from PIL import Image, UnidentifiedImageError

    data = record.get("bytes")
    path = record.get("path")
    if not data and path:
        data = Path(path).read_bytes()
    if not data:
        raise ValueError("image record has neither bytes nor a readable path")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind, (width, height) = probe.format, probe.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        kind, width, height = None, 0, 0
    if max_pixels is not None and width * height > max_pixels:
        raise ImageLoadError(
            "image too large",
            stem,
            f"{width}x{height} = {width * height:,} pixels exceeds the limit of {max_pixels:,}; "
            "pass max_image_pixels=None if the file is trusted",
        )
    if kind in {"PNG", "JPEG"}:
        target = folder / f"{stem}{'.png' if kind == 'PNG' else '.jpg'}"
        target.write_bytes(data)
        return target
    # DICOM, TIFF, 16-bit and other files LLaVA loaders cannot read: store the RGB rendering.
    target = folder / f"{stem}.png"
    load_image(data, max_pixels=max_pixels).save(target, format="PNG")
    return target


def _figure_fields(row: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    if row.get(schema.EXTRA):
        try:
            extra = json.loads(row[schema.EXTRA])
        except json.JSONDecodeError:
            extra = {}
    for key, value in extra.items():
        if key not in {MENTION_OBJECTS_KEY, MODALITY_TEXT_KEY, MORE_IMAGES_KEY}:
            fields[key] = value
    if row.get(schema.CAPTION) is not None:
        fields["fig_caption"] = row[schema.CAPTION]
    mentions = row.get(schema.MENTIONS)
    if mentions is not None:
        original = extra.get(MENTION_OBJECTS_KEY)
        if isinstance(original, list) and [
            item.get("tokens") if isinstance(item, dict) else item for item in original
        ] == list(mentions):
            fields["in_text_mention"] = original  # keeps entity offsets from the source
        else:
            fields["in_text_mention"] = [{"tokens": mention, "entities": []} for mention in mentions]
    for key in (schema.PMID, schema.FIG_LABEL, schema.SOURCE):  # LLaVA-Med uses the same names
        if row.get(key):
            fields[key] = row[key]
    domain = row.get(schema.DOMAIN)
    if isinstance(domain, dict):
        fields["domain"] = domain
        modality = row.get(schema.MODALITY)
        if MODALITY_TEXT_KEY in extra:
            fields["modality"] = extra[MODALITY_TEXT_KEY]
        elif modality and modality != modality_from_domain(domain):
            fields["modality"] = modality
    for key in _SCORE_COLUMNS:
        if row.get(key) is not None:
            fields[key] = row[key]
    return fields


def to_llava_json(
    dataset: datasets.Dataset,
    path: str | os.PathLike,
    *,
    image_folder: str | os.PathLike | None = None,
    lines: bool | None = None,
    include_figure_fields: bool = True,
    indent: int | None = 2,
    max_image_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS,
) -> Path:
    """Write ``dataset`` as LLaVA-Med JSON (or JSONL) and its images to ``image_folder``.

    Args:
        dataset: any stage's output with ``messages`` (or LLaVA ``conversations``); an ``image``
            column is optional (text-only rows get no ``image`` field).
        path: the JSON file to write; a ``.jsonl`` suffix writes JSON Lines unless ``lines`` says otherwise.
        image_folder: where images go (default: ``<path without suffix>_images`` next to the file).
            Each figure's image is written once, named after its id (ids that are not safe file names get
            a digest of the id added, so two ids never share a file).
        lines: force JSON Lines (True) or one JSON list (False).
        include_figure_fields: also write ``fig_caption``, ``in_text_mention``, ``pmid``, ... and scores.
        indent: indentation of the JSON list (ignored for JSON Lines).
        max_image_pixels: refuse images with more pixels (decompression bombs); None for trusted files only.

    Returns:
        The path of the written file.

    Raises:
        ValueError: the Dataset has neither ``messages`` nor ``conversations``, or its export ids
            (``candidate_id`` when present, else ``id``) are not unique.

    Example:
        >>> from biomed_vital.data import load_figures, to_llava_json
        >>> to_llava_json(selected, "out/llava_med_train.json")       # doctest: +SKIP
        PosixPath('out/llava_med_train.json')
        >>> load_figures("out/llava_med_train.json")["messages"] == selected["messages"]  # doctest: +SKIP
        True
    """
    from datasets import Image
    from tqdm.auto import tqdm

    if schema.MESSAGES not in dataset.column_names and "conversations" not in dataset.column_names:
        raise ValueError(
            f"to_llava_json needs a {schema.MESSAGES!r} (or LLaVA 'conversations') column; the Dataset has "
            f"{dataset.column_names}. Generate conversations first, or export figures with messages."
        )
    path = Path(path)
    as_lines = path.suffix.lower() == ".jsonl" if lines is None else lines
    folder = Path(image_folder) if image_folder is not None else path.with_name(f"{path.stem}_images")
    id_column = schema.CANDIDATE_ID if schema.CANDIDATE_ID in dataset.column_names else schema.ID
    if id_column not in dataset.column_names:
        raise ValueError(
            f"to_llava_json needs an {schema.ID!r} column; the Dataset has {dataset.column_names}"
        )
    duplicates = [identifier for identifier, count in Counter(dataset[id_column]).items() if count > 1]
    if duplicates:
        raise ValueError(
            f"to_llava_json: {len(duplicates)} values of {id_column!r} occur more than once "
            f"(first: {duplicates[:5]}); LLaVA records need unique ids"
        )

    has_image = schema.IMAGE in dataset.column_names and isinstance(dataset.features[schema.IMAGE], Image)
    rows = dataset.cast_column(schema.IMAGE, Image(decode=False)) if has_image else dataset
    path.parent.mkdir(parents=True, exist_ok=True)
    written_images: dict[str, Path] = {}
    records: list[dict[str, Any]] = []
    for row in tqdm(rows, total=len(rows), desc="Exporting LLaVA JSON", disable=len(rows) < 500):
        record: dict[str, Any] = {"id": str(row[id_column])}
        if id_column == schema.CANDIDATE_ID and schema.ID in row:
            record["figure_id"] = row[schema.ID]
        image_record = row.get(schema.IMAGE) if has_image else None
        if image_record:
            figure_id = str(row.get(schema.ID, record["id"]))
            if figure_id not in written_images:
                folder.mkdir(parents=True, exist_ok=True)
                try:
                    written_images[figure_id] = _write_image(
                        image_record, folder, _file_stem(figure_id), max_image_pixels
                    )
                except (OSError, ValueError) as error:
                    advice = (
                        ""
                        if isinstance(error, ImageLoadError)
                        else " Load the Dataset with load_figures(..., embed_images=True) or fix the image path."
                    )
                    raise ValueError(
                        f"to_llava_json: row {len(records)} (id {record['id']!r}) has an image that cannot be "
                        f"written ({image_record.get('path') or 'embedded bytes'}): {error}.{advice}"
                    ) from None
            record["image"] = os.path.relpath(written_images[figure_id], path.parent)
        if row.get(schema.MESSAGES) is not None:
            record["conversations"] = messages_to_conversations(
                row[schema.MESSAGES], with_image=bool(image_record)
            )
        else:
            record["conversations"] = row["conversations"]
        if include_figure_fields:
            record.update({key: value for key, value in _figure_fields(row).items() if key not in record})
        records.append(record)

    # Write to a temporary file first so an interrupted export never leaves half a file behind.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            if as_lines:
                for record in records:
                    stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            else:
                json.dump(records, stream, ensure_ascii=False, indent=indent)
        shutil.move(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
