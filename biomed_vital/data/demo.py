"""Built-in demo figures: real medical images that ship inside the pydicom and scikit-image wheels.

Nothing is downloaded and no text is written by this project: every caption is either DICOM header
values of the file (Modality, BodyPartExamined, StudyDescription, SeriesDescription, joined with
", "; :func:`biomed_vital.data.dicom.describe_dicom`, as for any DICOM file the loader reads) or the opening paragraphs of scikit-image's own docstring for the image, read at run time.
Install the sources with ``pip install "biomed_vital[demo]"``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import inspect
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from biomed_vital import schema
from biomed_vital.data.dicom import DICOM_TEXT_KEY, describe_dicom
from biomed_vital.data.modality import domain_for_modality

if TYPE_CHECKING:
    import datasets

DEMO_INSTALL_HINT = 'pip install "biomed_vital[demo]"'

_PYDICOM_LICENSE = (
    "MIT (pydicom package licence); pydicom/data/test_files/README.txt: "
    "'I believe there is no restriction on using any of these files in this manner'"
)


@dataclass(frozen=True)
class DemoFigure:
    """One demo figure: which packaged file, and what its source says it shows."""

    id: str
    package: str  # import name
    distribution: str  # PyPI name, for the source column
    relative_path: str  # inside the package
    modality: str
    license: str
    docstring_of: str | None = None  # skimage.data function whose docstring describes the image


DEMO_FIGURES: tuple[DemoFigure, ...] = (
    DemoFigure(
        "pydicom_ct_small", "pydicom", "pydicom", "data/test_files/CT_small.dcm", "ct_scan", _PYDICOM_LICENSE
    ),
    DemoFigure(
        "pydicom_ct_head_j2k",
        "pydicom",
        "pydicom",
        "data/test_files/J2K_pixelrep_mismatch.dcm",
        "ct_scan",
        _PYDICOM_LICENSE,
    ),
    DemoFigure(
        "pydicom_mr_small", "pydicom", "pydicom", "data/test_files/MR_small.dcm", "mri", _PYDICOM_LICENSE
    ),
    DemoFigure(
        "pydicom_mr_abdomen_overlay",
        "pydicom",
        "pydicom",
        "data/test_files/examples_overlay.dcm",
        "mri",
        _PYDICOM_LICENSE,
    ),
    # A nuclear-medicine bone scan: none of LLaVA-Med's five domains fits, so it is "other".
    DemoFigure(
        "pydicom_nm_whole_body_bone",
        "pydicom",
        "pydicom",
        "data/test_files/JPEG2000.dcm",
        "other",
        _PYDICOM_LICENSE,
    ),
    DemoFigure(
        "skimage_ihc",
        "skimage",
        "scikit-image",
        "data/ihc.png",
        "histology",
        "scikit-image docstring of skimage.data.immunohistochemistry: 'No known copyright restrictions.' "
        "(package: BSD-3-Clause)",
        docstring_of="immunohistochemistry",
    ),
    DemoFigure(
        "skimage_cell",
        "skimage",
        "scikit-image",
        "data/cell.png",
        "histology",
        "CC0 1.0 (scikit-image docstring of skimage.data.cell: 'This image is CC0, dedicated to the public domain.')",
        docstring_of="cell",
    ),
    # Fundus photographs: not one of LLaVA-Med's five domains.
    DemoFigure(
        "skimage_retina",
        "skimage",
        "scikit-image",
        "data/retina.jpg",
        "other",
        "CC0 1.0 (scikit-image docstring of skimage.data.retina; image from Wikimedia Commons, M. Häggström)",
        docstring_of="retina",
    ),
    DemoFigure(
        "skimage_microaneurysms",
        "skimage",
        "scikit-image",
        "data/microaneurysms.png",
        "other",
        "CC0 (scikit-image docstring of skimage.data.microaneurysms: 'CC0 given by owner (Andreas Maier)'; "
        "HRF Image Database)",
        docstring_of="microaneurysms",
    ),
)


def _package_folder(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"the demo figures need the {package!r} package, which is not installed; run: {DEMO_INSTALL_HINT}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def docstring_caption(function_name: str) -> str:
    """The descriptive opening of a ``skimage.data`` function's docstring (before its sections).

    The summary line and the paragraph after it are joined into one line.

    Example:
        >>> docstring_caption("retina")                      # doctest: +SKIP
        'Human retina. This image of a retina is useful for demonstrations requiring circular images.'
    """
    import skimage.data

    text = inspect.getdoc(getattr(skimage.data, function_name)) or ""
    # numpydoc sections start with a title underlined by dashes
    body = re.split(r"\n[^\n]+\n-{3,}\n", "\n" + text, maxsplit=1)[0]
    paragraphs = [
        " ".join(paragraph.split()) for paragraph in body.strip().split("\n\n") if paragraph.strip()
    ]
    return " ".join(paragraphs[:2])


def load_demo_figures() -> datasets.Dataset:
    """The built-in demo figures: 9 real images (CT, MR, nuclear medicine, IHC, microscopy, fundus).

    Images come from files inside the pydicom and scikit-image wheels (DICOM files are rendered
    through :func:`biomed_vital.data.load_image`'s DICOM path); captions are the files' DICOM
    header values or scikit-image's own description of the image. Every row records its
    ``source`` (``package==version:path inside the wheel``), ``license`` and ``caption_source``.

    Raises:
        ImportError: pydicom or scikit-image is missing (install ``biomed_vital[demo]``).

    Example:
        >>> from biomed_vital.data import load_demo_figures
        >>> figures = load_demo_figures()
        >>> sorted(set(figures["modality"]))
        ['ct_scan', 'histology', 'mri', 'other']
    """
    import datasets

    from biomed_vital.data.figures import load_figures

    missing = [name for name in ("pydicom", "skimage") if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(
            f"the demo figures need {', '.join(missing)}; install them with: {DEMO_INSTALL_HINT}"
        )

    rows: dict[str, list] = defaultdict(list)  # column -> values, in the order first appended
    licenses: list[str] = []
    caption_sources: list[str] = []
    for figure in DEMO_FIGURES:
        folder = _package_folder(figure.package)
        file = folder / figure.relative_path
        if not file.is_file():
            raise FileNotFoundError(
                f"demo image {figure.relative_path} is missing from the installed {figure.distribution} "
                f"({folder}); reinstall it with: {DEMO_INSTALL_HINT}"
            )
        version = importlib.metadata.version(figure.distribution)
        if figure.docstring_of:
            caption = docstring_caption(figure.docstring_of)
            caption_source = f"docstring of skimage.data.{figure.docstring_of} (summary and first paragraph)"
            details: dict[str, object] = {}
        else:
            header = describe_dicom(file)
            caption = header.caption
            caption_source = (
                "DICOM header: " + ", ".join(header.values) if header.values else "DICOM header: none"
            )
            details = {DICOM_TEXT_KEY: header.values}
        rows[schema.ID].append(figure.id)
        rows[schema.IMAGE].append(str(file))  # an absolute path into site-packages; the loader embeds it
        rows[schema.CAPTION].append(caption)
        rows[schema.MODALITY].append(figure.modality)
        rows[schema.DOMAIN].append(domain_for_modality(figure.modality))
        rows[schema.SOURCE].append(
            f"{figure.distribution}=={version}:{figure.package}/{figure.relative_path}"
        )
        rows[schema.EXTRA].append(json.dumps(details) if details else "")
        licenses.append(figure.license)
        caption_sources.append(caption_source)

    package_folders = sorted({str(_package_folder(figure.package)) for figure in DEMO_FIGURES})
    figures = load_figures(
        datasets.Dataset.from_dict(rows), strict=True, embed_images=True, allowed_image_roots=package_folders
    )
    figures = figures.add_column(schema.LICENSE, licenses).add_column(schema.CAPTION_SOURCE, caption_sources)
    return figures
