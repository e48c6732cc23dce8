"""Load figures (image + caption + in-text mentions) from any supported source into a ``datasets.Dataset``.

Sources: LLaVA-Med figure-caption files (JSON list, per-domain JSON object, JSONL), BioMed-VITAL /
LLaVA-Med instruction files (with ``conversations``), image folders with a ``metadata.jsonl``,
folders written by ``Dataset.save_to_disk``, Hub dataset ids, and ``Dataset`` objects.

The result always has the *figures* columns of the data contract, typed with explicit
``datasets.Features``. A row whose image is missing, unsafe, too large or corrupt keeps its text,
gets ``image=None`` and says why in ``error``; ``strict=True`` turns the first such row into a
:class:`FigureLoadError` instead.

This module finds and reads the source, checks the images and builds the Dataset; reading records
from files is :mod:`biomed_vital.data.records`, turning each record into the figure columns is
:mod:`biomed_vital.data.normalise`.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biomed_vital import schema
from biomed_vital.data.dicom import DICOM_TEXT_KEY, describe_dicom
from biomed_vital.data.images import (
    ImageLoadError,
    check_image,
    confine_image_path,
    converted_png,
    is_dicom,
)
from biomed_vital.data.loading_config import FigureLoadingConfig
from biomed_vital.data.modality import domain_for_modality
from biomed_vital.data.normalise import PREVIOUS_ERROR_KEY, READ_FIELDS, normalise_record
from biomed_vital.data.records import (
    IMAGE_SUFFIXES,
    RawRecord,
    find_metadata_file,
    list_image_files,
    read_records,
)
from biomed_vital.paths import check_local_path
from biomed_vital.schema import figure_features

if TYPE_CHECKING:
    import datasets

logger = logging.getLogger("biomed_vital.data")

#: The columns every figures Dataset has, in order (``messages`` is added when the source has conversations).
FIGURE_COLUMNS: tuple[str, ...] = (
    schema.ID,
    schema.IMAGE,
    schema.CAPTION,
    schema.MENTIONS,
    schema.MODALITY,
    schema.DOMAIN,
    schema.PMID,
    schema.FIG_LABEL,
    schema.SOURCE,
    schema.ERROR,
    schema.EXTRA,
)
# The columns taken from the normalised records as they are (the image is checked, the error joined).
_RECORD_COLUMNS = tuple(name for name in FIGURE_COLUMNS if name not in (schema.IMAGE, schema.ERROR))


class FigureLoadError(ValueError):
    """A figure source could not be loaded as asked; the message names the row and the cause.

    Raised for duplicate ids, and in strict mode for the first bad row (missing field, bad
    conversation, missing or corrupt image).

    Attributes:
        row_index: position of the row in the source (``None`` when the error is not about one row).
        row_id: the row's id, when it has one.
        source: the file, folder or Hub id being loaded.

    Example:
        >>> try:
        ...     raise FigureLoadError("row 3 (id 'PMC1_F2') of captions.json: image not found: PMC1_F2.jpg",
        ...                           row_index=3, row_id="PMC1_F2", source="captions.json")
        ... except ValueError as error:
        ...     print(error.row_id)
        PMC1_F2
    """

    def __init__(
        self, message: str, *, row_index: int | None = None, row_id: str | None = None, source: str = ""
    ) -> None:
        super().__init__(message)
        self.row_index = row_index
        self.row_id = row_id
        self.source = source


# --------------------------------------------------------------------------------------------
# image validation (runs inside Dataset.map, possibly in several processes)


def _validate_images_batch(
    batch: dict[str, list[Any]],
    *,
    image_root: str | None,
    allowed_roots: list[str] | None,
    max_pixels: int | None,
    embed: bool,
) -> dict[str, list[Any]]:
    import io

    images: list[dict[str, Any] | None] = []
    errors: list[str] = []
    described = {name: list(batch[name]) for name in _HEADER_COLUMNS}
    for position, (path, data, error) in enumerate(
        zip(batch["_image_path"], batch["_image_bytes"], batch[schema.ERROR], strict=True)
    ):
        image: dict[str, Any] | None = None
        if error:
            images.append(None)
            errors.append(error)
            continue
        dicom: Any = None  # the original DICOM file or bytes, whose header may describe the figure
        try:
            if data is not None:
                name = path or "<embedded bytes>"
                converted = converted_png(io.BytesIO(data), name, max_pixels=max_pixels)
                image = {"bytes": converted if converted is not None else data, "path": path}
                dicom = data if converted is not None and is_dicom(data[:132], name) else None
            elif path is not None:
                if allowed_roots is not None:  # a dataset's reference: only inside folders the user named
                    resolved, converted = check_image(
                        confine_image_path(path, allowed_roots), max_pixels=max_pixels
                    )
                else:
                    resolved, converted = check_image(path, image_root=image_root, max_pixels=max_pixels)
                if converted is None and embed:
                    converted = resolved.read_bytes()
                image = {"bytes": converted, "path": str(resolved) if converted is None else path}
                if converted is not None:
                    with open(resolved, "rb") as stream:
                        dicom = resolved if is_dicom(stream.read(132), path) else None
            else:
                error = "no image: the row names no image file (LLaVA-Med rows find <pair_id>.jpg when image_root is set)"
        except ImageLoadError as failure:
            error = str(failure)
        except OSError as failure:  # permissions, races with a file being replaced
            error = f"image unreadable: {path} ({failure})"
        if dicom is not None and not error:
            _describe_from_header(described, position, dicom, batch["_modality_given"][position])
        images.append(image)
        errors.append(error)
    return {schema.IMAGE: images, schema.ERROR: errors, **described}


# What the image check reads besides the figure columns: the image reference, and whether the record
# gave a modality (else a DICOM header may).
_STAGING_COLUMNS = ("_image_path", "_image_bytes", "_modality_given")
# The columns a DICOM header can fill in: an empty caption, and the modality when the record gave none.
_HEADER_COLUMNS = (schema.CAPTION, schema.MODALITY, schema.DOMAIN, schema.EXTRA)


def _describe_from_header(
    columns: dict[str, list[Any]], position: int, dicom: Any, modality_given: bool
) -> None:
    try:
        header = describe_dicom(dicom)
    except Exception:  # the pixels decoded; a header pydicom cannot describe only leaves the text as it was
        return
    if not header.values:
        return
    extra = json.loads(columns[schema.EXTRA][position]) if columns[schema.EXTRA][position] else {}
    extra.setdefault(DICOM_TEXT_KEY, header.values)
    columns[schema.EXTRA][position] = json.dumps(extra, ensure_ascii=False, default=str)
    if not columns[schema.CAPTION][position].strip():
        columns[schema.CAPTION][position] = header.caption
    if not modality_given:
        columns[schema.MODALITY][position] = header.modality
        columns[schema.DOMAIN][position] = domain_for_modality(header.modality)


# --------------------------------------------------------------------------------------------
# sources


def _records_from_dataset(dataset: datasets.Dataset) -> tuple[list[RawRecord], list[str]]:
    from datasets import Image

    if schema.IMAGE in dataset.column_names and isinstance(dataset.features[schema.IMAGE], Image):
        dataset = dataset.cast_column(schema.IMAGE, Image(decode=False))
    known = READ_FIELDS | {schema.ERROR, schema.EXTRA}
    passthrough = [name for name in dataset.column_names if name not in known]
    records = []
    for index, record in enumerate(dataset.remove_columns(passthrough)):
        record = dict(record)
        previous_extra = record.pop(schema.EXTRA, "") or ""
        previous_error = record.pop(schema.ERROR, None)
        if previous_error:
            record[PREVIOUS_ERROR_KEY] = previous_error  # explains an image that is already missing
        if previous_extra:
            try:
                kept = json.loads(previous_extra)
            except json.JSONDecodeError:
                record[schema.EXTRA] = previous_extra
            else:
                if record.get(schema.IMAGE) is None and schema.IMAGE in kept:
                    record.pop(schema.IMAGE, None)  # a text-only load kept the image reference in extra
                record = {**kept, **record}
        records.append(RawRecord(index, f"row {index}", record))
    return records, passthrough


def _load_hub_dataset(source: str, split: str) -> datasets.Dataset:
    import datasets

    try:
        loaded = datasets.load_dataset(source, split=split)
    except Exception as error:  # datasets raises many types; the message is what matters to the user
        offline = os.environ.get("HF_HUB_OFFLINE", "0").lower() in {"1", "true", "yes"}
        hint = (
            "The Hub is disabled (HF_HUB_OFFLINE=1): download it on a connected machine and pass the folder"
            if offline
            else "Check the dataset id, your network and your Hugging Face login."
        )
        raise FigureLoadError(
            f"{source!r} is not a local file or folder, and loading it as a Hub dataset failed: "
            f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}. {hint}",
            source=source,
        ) from None
    if not isinstance(loaded, datasets.Dataset):
        raise FigureLoadError(f"{source!r} split {split!r} did not give a single Dataset", source=source)
    return loaded


def _read_source(
    source: Any, image_root: str | os.PathLike | None, split: str, encoding: str | None
) -> tuple[list[RawRecord], str, Path | None, bool, Any]:
    """(records, origin label, default image root, whether <pair_id>.jpg applies, passthrough dataset).

    The default image root is None for a Dataset, a save_to_disk folder and a Hub dataset: their file references
    are read only inside the folders the user allows (``FigureLoadingConfig.dataset_image_roots``).
    """
    import datasets

    if isinstance(source, datasets.DatasetDict):
        if split not in source:
            raise FigureLoadError(
                f"DatasetDict has no split {split!r}; it has {list(source)}", source="DatasetDict"
            )
        source = source[split]
    if isinstance(source, datasets.Dataset):
        records, passthrough = _records_from_dataset(source)
        keep = source.select_columns(passthrough) if passthrough else None
        return records, "Dataset", None, image_root is not None, keep

    path = Path(os.fspath(source)).expanduser()
    if path.is_dir():
        if (path / "state.json").is_file() and (path / "dataset_info.json").is_file():
            loaded = datasets.load_from_disk(str(path))
            if isinstance(loaded, datasets.DatasetDict):
                loaded = loaded[split]
            records, passthrough = _records_from_dataset(loaded)
            keep = loaded.select_columns(passthrough) if passthrough else None
            return records, str(path), None, image_root is not None, keep
        metadata = find_metadata_file(path)
        if metadata is not None:
            return read_records(metadata, encoding=encoding), str(path), path, False, None
        images = list_image_files(path)
        if not images:
            raise FileNotFoundError(
                f"{path} has no metadata.jsonl, no saved Dataset and no image files; "
                "add a metadata.jsonl with a 'file_name' and a 'caption' per image"
            )
        records = [
            RawRecord(index, str(image.relative_to(path)), {"file_name": str(image.relative_to(path))})
            for index, image in enumerate(images)
        ]
        return records, str(path), path, False, None
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:  # one image (a DICOM file, a PNG): one row
        return [RawRecord(0, path.name, {"file_name": path.name})], str(path), path.parent, False, None
    if path.is_file():
        return read_records(path, encoding=encoding), str(path), path.parent, image_root is not None, None
    check_local_path(
        source, expected="a figure file (.json/.jsonl), an image folder or a save_to_disk folder"
    )
    text = os.fspath(source)
    loaded = _load_hub_dataset(text, split)
    records, passthrough = _records_from_dataset(loaded)
    keep = loaded.select_columns(passthrough) if passthrough else None
    return records, text, None, image_root is not None, keep


# --------------------------------------------------------------------------------------------
# the loader


def _row_label(row: Mapping[str, Any], origin: str) -> str:
    return f"row {row['_index']} ({row['_location']}, id {row[schema.ID]!r}) of {origin}"


def _check_duplicates(rows: list[dict[str, Any]], origin: str, deduplicate: bool) -> list[dict[str, Any]]:
    """Rows with unique ids: duplicates dropped (``deduplicate``), derived ids that clash made row errors,
    and a ``FigureLoadError`` for ids the source gives twice."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row[schema.ID], []).append(row)
    if all(len(group) == 1 for group in groups.values()):
        return rows
    if deduplicate:
        kept = [group[0] for group in groups.values()]
        kept.sort(key=lambda row: row["_index"])
        logger.warning(
            "%s: dropped %d rows with duplicate ids (kept the first of each)", origin, len(rows) - len(kept)
        )
        return kept
    given_twice = {}
    for identifier, group in list(groups.items()):
        if len(group) < 2:
            continue
        given = [row for row in group if not row["_id_from_file"]]
        if len(given) > 1:
            given_twice[identifier] = given
        for row in group:
            if row["_id_from_file"]:
                _report_derived_id_clash(row, group, groups)
    if given_twice:
        shown = ", ".join(
            f"{identifier!r} (rows {[row['_index'] for row in group][:5]})"
            for identifier, group in list(given_twice.items())[:10]
        )
        more = f" and {len(given_twice) - 10} more" if len(given_twice) > 10 else ""
        raise FigureLoadError(
            f"{origin}: {len(given_twice)} ids occur more than once: {shown}{more}. "
            "Ids must be unique; fix the source or pass deduplicate=True to keep the first row of each id.",
            source=origin,
        )
    return rows


def _report_derived_id_clash(
    row: dict[str, Any], group: list[dict[str, Any]], groups: dict[str, list[dict[str, Any]]]
) -> None:
    """Make a clash of an id taken from an image file name the row's error, and give the row an id of its own."""
    identifier, file_name = row[schema.ID], row["_id_from_file"]
    others = [f"row {other['_index']} ({other['_location']})" for other in group if other is not row]
    row["_errors"].append(
        f"duplicate id: {identifier!r}, taken from the image file name {file_name}, is also the id of "
        f"{', '.join(others[:3])}{' and more' if len(others) > 3 else ''}; give the row an 'id' of its own"
    )
    # The file name as written is unique among different files; the location is unique within the source.
    for candidate in (file_name, f"{file_name} ({row['_location']})"):
        if candidate not in groups:
            groups[candidate] = [row]
            row[schema.ID] = candidate
            return


def _check_images(
    columns: dict[str, list[Any]],
    rows: list[dict[str, Any]],
    config: FigureLoadingConfig,
    root: Path | None,
    with_messages: bool,
    allowed_roots: list[str] | None,
) -> datasets.Dataset:
    """The figures Dataset: each row's image checked (in ``config.num_proc`` processes), DICOM headers read."""
    import datasets
    from datasets import Value

    columns = {**columns, **{name: [row[name] for row in rows] for name in _STAGING_COLUMNS}}

    staging_features = figure_features(with_messages).copy()
    del staging_features[schema.IMAGE]
    staging_features["_image_path"] = Value("string")
    staging_features["_image_bytes"] = Value("binary")
    staging_features["_modality_given"] = Value("bool")
    staged = datasets.Dataset.from_dict(columns, features=staging_features)
    return staged.map(
        _validate_images_batch,
        batched=True,
        batch_size=64,
        num_proc=config.num_proc if config.num_proc and len(staged) > 1 else None,
        fn_kwargs={
            "image_root": str(root) if root is not None else None,
            "allowed_roots": allowed_roots,
            "max_pixels": config.max_image_pixels,
            "embed": config.embed_images,
        },
        remove_columns=list(_STAGING_COLUMNS),
        features=figure_features(with_messages),
        desc="Checking images",
    )


def _text_only(
    columns: dict[str, list[Any]], rows: list[dict[str, Any]], features: datasets.Features
) -> datasets.Dataset:
    """The figures Dataset without images: ``image`` is None and the image reference is kept in ``extra``."""
    import datasets

    extras = []
    for row in rows:
        extra = json.loads(row[schema.EXTRA]) if row[schema.EXTRA] else {}
        if row["_image_path"]:
            extra.setdefault(schema.IMAGE, row["_image_path"])  # a later load with images finds it here
        extras.append(json.dumps(extra, ensure_ascii=False, default=str) if extra else "")
    columns = {**columns, schema.EXTRA: extras, schema.IMAGE: [None] * len(rows)}
    return datasets.Dataset.from_dict({name: columns[name] for name in features}, features=features)


def error_cause(error: str) -> str:
    """The cause part of an error message (the text before the first colon).

    Example:
        >>> error_cause("image not found: images/x.png (resolved under /data)")
        'image not found'
    """
    return error.split(":", 1)[0].strip() if error else ""


def _log_summary(dataset: datasets.Dataset, origin: str, text_only: bool = False) -> None:
    errors = [error for error in dataset[schema.ERROR] if error]
    empty_captions = sum(1 for caption in dataset[schema.CAPTION] if not caption.strip())
    rows = f"{len(dataset)} rows" + (" (text only: images not loaded)" if text_only else "")
    if not errors:
        logger.info("%s: %s, no errors, %d empty captions", origin, rows, empty_captions)
        return
    causes = Counter(error_cause(error) for error in errors)
    grouped = "; ".join(f"{cause}: {count}" for cause, count in causes.most_common())
    logger.warning(
        "%s: %s, %d with errors (%s), %d empty captions. Rows with errors have %s=None; "
        "see the %r column or pass strict=True to stop at the first.",
        origin,
        rows,
        len(errors),
        grouped,
        empty_captions,
        schema.IMAGE,
        schema.ERROR,
    )


def load_figures(
    source: str | os.PathLike | datasets.Dataset | datasets.DatasetDict,
    image_root: str | os.PathLike | None = None,
    *,
    config: FigureLoadingConfig | None = None,
    **options: Any,
) -> datasets.Dataset:
    """Load figures from a file, folder, Hub id or Dataset as a figures ``datasets.Dataset``.

    Columns: ``id``, ``image`` (``datasets.Image``; None when unavailable), ``caption``,
    ``mentions``, ``modality``, ``domain``, ``pmid``, ``fig_label``, ``source``, ``error`` ("" when
    fine) and ``extra`` (the source's other fields as JSON), plus ``messages`` when the source has
    conversations. Columns of a Dataset source that are not figure fields are kept as they are.

    Args:
        source: a LLaVA-Med / BioMed-VITAL JSON or JSONL file, an image folder with
            ``metadata.jsonl``, a ``save_to_disk`` folder, a Hub dataset id, or a Dataset.
        image_root: folder image paths resolve against (default: the file's or folder's own
            folder). Paths that leave it are refused. With an image root, rows without an image
            field use LLaVA-Med's ``<pair_id>.jpg`` convention.
        config: a :class:`~biomed_vital.data.FigureLoadingConfig`; keyword arguments naming its fields
            (``strict``, ``max_image_pixels``, ``num_proc``, ``split``, ``deduplicate``,
            ``embed_images``, ``encoding``, ``image_suffix``, ``text_only``) override it. ``strict=True``
            raises :class:`FigureLoadError` on the first bad row instead of recording it; ``text_only=True``
            reads the text alone (``image`` is None, a missing image is no error).

    Example:
        >>> from biomed_vital.data import load_figures
        >>> figures = load_figures("llava_med_instruct_fig_captions.json", image_root="pmc_images/")  # doctest: +SKIP
        >>> figures.column_names[:4]  # doctest: +SKIP
        ['id', 'image', 'caption', 'mentions']
    """
    import datasets

    if image_root is not None:
        options["image_root"] = image_root
    unknown = sorted(set(options) - {f.name for f in fields(FigureLoadingConfig)})
    if unknown:
        raise TypeError(
            f"load_figures() got unknown option(s) {unknown}; FigureLoadingConfig fields are "
            f"{sorted(f.name for f in fields(FigureLoadingConfig))}"
        )
    config = replace(config, **options) if config is not None else FigureLoadingConfig(**options)
    image_root, strict, split, encoding = config.image_root, config.strict, config.split, config.encoding
    if image_root is not None and not Path(image_root).expanduser().is_dir():
        raise FileNotFoundError(f"image_root is not a folder: {image_root}")
    records, origin, default_root, use_pair_id_image, passthrough = _read_source(
        source, image_root, split, encoding
    )
    root = Path(image_root).expanduser() if image_root is not None else default_root
    from tqdm.auto import tqdm

    rows = [
        normalise_record(
            raw, origin=origin, use_pair_id_image=use_pair_id_image, image_suffix=config.image_suffix
        )
        for raw in tqdm(records, desc="Reading figures", unit=" rows", disable=len(records) < 10_000)
    ]
    kept_indices = [row["_index"] for row in rows]
    rows = _check_duplicates(rows, origin, config.deduplicate)
    if len(rows) != len(kept_indices):
        kept_indices = [row["_index"] for row in rows]
    if strict:
        for row in rows:
            if row["_errors"]:
                raise FigureLoadError(
                    f"{_row_label(row, origin)}: {row['_errors'][0]}",
                    row_index=row["_index"],
                    row_id=row[schema.ID],
                    source=origin,
                )

    with_messages = any(row[schema.MESSAGES] is not None for row in rows)
    columns: dict[str, list[Any]] = {name: [row[name] for row in rows] for name in _RECORD_COLUMNS}
    columns[schema.ERROR] = ["; ".join(row["_errors"]) for row in rows]
    if with_messages:
        columns[schema.MESSAGES] = [row[schema.MESSAGES] or [] for row in rows]

    if config.text_only:
        checked = _text_only(columns, rows, figure_features(with_messages))
    else:
        # a Dataset / save_to_disk / Hub source may name any file: confine its references to allowed folders
        allowed_roots = config.dataset_image_roots if default_root is None else None
        checked = _check_images(columns, rows, config, root, with_messages, allowed_roots)
    order = [*FIGURE_COLUMNS, *([schema.MESSAGES] if with_messages else [])]

    figures = checked.select_columns(order)
    if passthrough is not None:
        extra_columns = (
            passthrough.select(kept_indices) if len(kept_indices) != len(passthrough) else passthrough
        )
        figures = datasets.concatenate_datasets([figures, extra_columns], axis=1)

    if strict:
        for position, error in enumerate(figures[schema.ERROR]):
            if error:
                row = rows[position]
                raise FigureLoadError(
                    f"{_row_label(row, origin)}: {error}",
                    row_index=row["_index"],
                    row_id=row[schema.ID],
                    source=origin,
                )
    _log_summary(figures, origin, config.text_only)
    return figures


def iter_error_rows(figures: datasets.Dataset) -> Iterable[tuple[int, str, str]]:
    """``(position, id, error)`` for every row of a figures Dataset that has an error.

    Example:
        >>> for position, identifier, error in iter_error_rows(figures):  # doctest: +SKIP
        ...     print(identifier, error)
    """
    for position, (identifier, error) in enumerate(
        zip(figures[schema.ID], figures[schema.ERROR], strict=True)
    ):
        if error:
            yield position, identifier, error


def load_figure_source(
    source: str | os.PathLike,
    image_root: str | os.PathLike | None = None,
    *,
    config: FigureLoadingConfig | None = None,
) -> datasets.Dataset:
    """Figures from a stage's ``save_to_disk`` folder as saved (no re-parsing), else through :func:`load_figures`.

    What the commands and the pipeline accept as "figures": a folder an earlier stage saved, or any file,
    folder or Hub id :func:`load_figures` reads. A saved folder's image file references are read only inside
    ``image_root`` and ``config.allowed_image_roots``, as :func:`load_figures` reads a Dataset's: any other
    reference becomes that row's error (its image is dropped).

    Example:
        >>> figures = load_figure_source("runs/vital/figures/pool", "/data/pmc_images")  # doctest: +SKIP
    """
    from biomed_vital.schema import is_saved_dataset, load_stage

    if not is_saved_dataset(source):
        return load_figures(source, image_root, config=config)
    config = config if config is not None else FigureLoadingConfig()
    if image_root is not None:
        config = replace(config, image_root=str(image_root))
    saved = load_stage(source, split=config.split)
    return confine_image_references(saved, config.dataset_image_roots, str(source))


def confine_image_references(
    figures: datasets.Dataset, allowed_roots: Sequence[str | os.PathLike], origin: str = "Dataset"
) -> datasets.Dataset:
    """``figures`` with every ``image`` file reference outside ``allowed_roots`` turned into that row's error.

    Rows whose image is stored as bytes are left alone (``save_to_disk`` and ``push_to_hub`` embed the files);
    a reference to a file (``{"bytes": None, "path": ...}``) is kept only inside the allowed folders, because a
    dataset from elsewhere can name any file on this machine. A refused row loses its image and says why in
    ``error``; without an ``error`` column the first refused row raises :class:`FigureLoadError`.

    Example:
        >>> figures = confine_image_references(load_from_disk("shared/figures"), ["/data/pmc"])  # doctest: +SKIP
    """
    import pyarrow.compute as pc
    from datasets import Image

    if schema.IMAGE not in figures.column_names:
        return figures
    feature = figures.features[schema.IMAGE]
    # datasets.Image, or the same {"bytes", "path"} records as a plain struct (load_image reads both)
    if not (isinstance(feature, Image) or (isinstance(feature, dict) and {"bytes", "path"} <= set(feature))):
        return figures
    images = figures.with_format("arrow")[schema.IMAGE]  # struct<bytes, path>; nothing decoded
    by_reference = pc.and_(
        pc.is_null(pc.struct_field(images, "bytes")), pc.is_valid(pc.struct_field(images, "path"))
    )
    positions = pc.indices_nonzero(pc.fill_null(by_reference, False))
    paths = pc.struct_field(images, "path").take(positions).to_pylist()
    roots = list(allowed_roots)
    refused: dict[int, str] = {}
    for position, path in zip(positions.to_pylist(), paths, strict=True):
        try:
            confine_image_path(path, roots)
        except ImageLoadError as error:
            refused[position] = str(error)
    if not refused:
        return figures
    if schema.ERROR not in figures.column_names:
        position, message = next(iter(refused.items()))
        raise FigureLoadError(
            f"row {position} of {origin}: {message} ({len(refused)} rows like it)",
            row_index=position,
            source=origin,
        )
    logger.warning(
        "%d of %d rows of %s name image files outside the allowed folders; they are kept as error rows. First: %s",
        len(refused),
        len(figures),
        origin,
        next(iter(refused.values())),
    )

    def refuse(batch: dict[str, list[Any]], indices: list[int]) -> dict[str, list[Any]]:
        for offset, index in enumerate(indices):
            if index in refused:
                batch[schema.IMAGE][offset] = None
                earlier = batch[schema.ERROR][offset]
                batch[schema.ERROR][offset] = f"{earlier}; {refused[index]}" if earlier else refused[index]
        return batch

    if not isinstance(feature, Image):
        return figures.map(refuse, with_indices=True, batched=True, desc="Confining image references")
    undecoded = figures.cast_column(schema.IMAGE, Image(decode=False))
    checked = undecoded.map(refuse, with_indices=True, batched=True, desc="Confining image references")
    return checked.cast_column(schema.IMAGE, feature)
