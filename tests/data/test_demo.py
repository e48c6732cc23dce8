"""The built-in demo figures: real packaged images, honest captions and provenance."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

pytest.importorskip("pydicom")
skimage_data = pytest.importorskip("skimage.data")

from biomed_vital.data import MODALITIES, load_demo_figures, summarize_figures  # noqa: E402
from biomed_vital.data.dicom import describe_dicom  # noqa: E402


@pytest.fixture(scope="module")
def demo():
    return load_demo_figures()


def test_demo_has_enough_rows_and_modalities_and_no_errors(demo):
    assert len(demo) >= 8
    assert len(set(demo["modality"])) >= 3
    assert set(demo["modality"]) <= set(MODALITIES)
    assert demo["error"] == [""] * len(demo)
    assert len(set(demo["id"])) == len(demo)


def test_every_row_has_source_license_and_an_rgb_image_with_content(demo):
    for row in demo:
        assert row["source"] and row["license"], row["id"]
        package, path = row["source"].split(":", 1)
        assert package.startswith(("pydicom==", "scikit-image==")), row["source"]
        assert path.startswith(("pydicom/data/test_files/", "skimage/data/"))
        assert row["image"].mode == "RGB"
        assert np.asarray(row["image"]).std() > 5, row["id"]


def test_captions_are_only_source_text(demo):
    docstrings = {
        "skimage_ihc": skimage_data.immunohistochemistry,
        "skimage_cell": skimage_data.cell,
        "skimage_retina": skimage_data.retina,
        "skimage_microaneurysms": skimage_data.microaneurysms,
    }
    for row in demo:
        if row["id"] in docstrings:
            flat_doc = " ".join(inspect.getdoc(docstrings[row["id"]]).split())
            assert row["caption"] and row["caption"] in flat_doc, row["id"]
        else:
            header_values = json.loads(row["extra"])["dicom_text"]
            # every comma-separated piece of the caption is one of the file's header values
            pieces = row["caption"].split(", ")
            assert set(pieces) <= set(header_values.values()), (row["id"], pieces, header_values)
            assert header_values["Modality"] == pieces[0]


def test_modalities_are_assigned_from_what_the_sources_show(demo):
    modality = dict(zip(demo["id"], demo["modality"], strict=True))
    assert modality["pydicom_ct_small"] == "ct_scan"
    assert modality["pydicom_mr_small"] == "mri"
    assert modality["pydicom_nm_whole_body_bone"] == "other"
    assert modality["skimage_ihc"] == "histology"
    assert modality["skimage_retina"] == "other"
    for row in demo:
        flags = [key for key, value in row["domain"].items() if value]
        assert flags == ([] if row["modality"] == "other" else [row["modality"]])


def test_nuclear_medicine_caption_is_built_from_its_header(fixtures_dir):
    header = describe_dicom(fixtures_dir / "dicom" / "JPEG2000.dcm")
    assert header.caption == "NM, WHOLE BODY, Whole Body Bone" and header.modality == "other"
    assert header.values["StudyDescription"] == "Whole Body Bone"


def test_summary_lists_every_demo_figure(demo):
    summary = summarize_figures(demo)
    for row in demo:
        assert row["id"] in summary
    assert "pydicom" in summary and "scikit-image" in summary
    assert f"{len(demo)} figures" in summary


def test_missing_demo_packages_name_the_extra(monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "skimage" else real_find_spec(name, *a)
    )
    with pytest.raises(ImportError, match=r'pip install "biomed_vital\[demo\]"'):
        load_demo_figures()
