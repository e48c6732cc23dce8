"""``FigureLoadingConfig``: the options of :func:`biomed_vital.data.load_figures`."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from biomed_vital.data.images import DEFAULT_MAX_IMAGE_PIXELS

__all__ = ["FigureLoadingConfig"]


@dataclass
class FigureLoadingConfig:
    """How ``load_figures`` reads a source: where images are, what counts as an error, and speed settings.

    Example:
        >>> FigureLoadingConfig(image_root="images/", strict=True).strict
        True
    """

    image_root: str | None = field(
        default=None,
        metadata={
            "help": "Folder image paths resolve against (default: the source file's or folder's own folder); "
            "paths that leave it are refused."
        },
    )
    allowed_image_roots: list[str] | None = field(
        default=None,
        metadata={
            "help": "Folders that the image file references of a Dataset, save_to_disk folder or Hub dataset "
            "may point into (image_root is one of them). Such a dataset can name any file on this machine, so "
            "a reference anywhere else is a row error."
        },
    )
    strict: bool = field(
        default=False,
        metadata={"help": "Fail on the first bad row instead of recording its error in the row."},
    )
    max_image_pixels: int | None = field(
        default=DEFAULT_MAX_IMAGE_PIXELS,
        metadata={"help": "Refuse images with more pixels than this (decompression bombs); empty: no limit."},
    )
    num_proc: int | None = field(
        default=None, metadata={"help": "Processes that check images; empty: this process only."}
    )
    split: str = field(default="train", metadata={"help": "Split to use for Hub ids and saved DatasetDicts."})
    deduplicate: bool = field(
        default=False, metadata={"help": "Keep the first row of each duplicated id instead of failing."}
    )
    embed_images: bool = field(
        default=False, metadata={"help": "Store image bytes in the Dataset instead of file references."}
    )
    encoding: str | None = field(
        default=None,
        metadata={
            "help": "Text encoding of the source file; empty: UTF-8, else cp1252 / latin-1 with a warning."
        },
    )
    image_suffix: str = field(
        default=".jpg", metadata={"help": "File suffix of LLaVA-Med's <pair_id> image naming convention."}
    )
    text_only: bool = field(
        default=False,
        metadata={
            "help": "Read the text only: images are neither looked for nor checked (image is None, and a "
            "missing image is no error); the image reference is kept in extra. For text-only uses such as "
            "few-shot demonstrations."
        },
    )

    def __post_init__(self) -> None:
        if self.max_image_pixels is not None and self.max_image_pixels < 1:
            raise ValueError(f"max_image_pixels must be >= 1 or empty, got {self.max_image_pixels}")
        if self.num_proc is not None and self.num_proc < 1:
            raise ValueError(f"num_proc must be >= 1 or empty, got {self.num_proc}")
        if self.image_root is not None:
            self.image_root = str(self.image_root)
        if isinstance(self.allowed_image_roots, (str, os.PathLike)):
            self.allowed_image_roots = [self.allowed_image_roots]
        if self.allowed_image_roots is not None:
            self.allowed_image_roots = [str(root) for root in self.allowed_image_roots]

    @property
    def dataset_image_roots(self) -> list[str]:
        """The folders a dataset's image file references may point into: ``image_root`` first, then the others.

        Example:
            >>> FigureLoadingConfig(image_root="images", allowed_image_roots=["/data/pmc"]).dataset_image_roots
            ['images', '/data/pmc']
        """
        roots = [self.image_root] if self.image_root is not None else []
        return [*roots, *(self.allowed_image_roots or [])]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)
