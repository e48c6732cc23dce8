"""DICOM files and folders: modality, caption and header values come from each file's own header.

The files are the three real DICOM files of the fixtures (from the pydicom wheel); the demo figures read
their captions through the same function, so a folder of the demo's files loads with the demo's captions.
"""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("pydicom")

from biomed_vital.data import load_demo_figures, load_figures  # noqa: E402
from biomed_vital.data.dicom import describe_dicom, modality_of_header  # noqa: E402


@pytest.fixture
def dicom_folder(tmp_path, fixtures_dir):
    folder = tmp_path / "scans"
    shutil.copytree(fixtures_dir / "dicom", folder)
    return folder


def test_a_dicom_folder_loads_with_the_modality_and_caption_its_headers_give(dicom_folder):
    figures = load_figures(dicom_folder)

    rows = {row["id"]: row for row in figures}
    assert set(rows) == {"CT_small", "MR_small", "JPEG2000"}
    assert all(row["error"] == "" for row in rows.values())
    assert (rows["CT_small"]["modality"], rows["MR_small"]["modality"]) == ("ct_scan", "mri")
    assert rows["CT_small"]["domain"]["ct_scan"] and rows["MR_small"]["domain"]["mri"]
    nuclear = rows["JPEG2000"]
    assert nuclear["modality"] == "other" and nuclear["caption"] == "NM, WHOLE BODY, Whole Body Bone"
    assert json.loads(nuclear["extra"])["dicom_text"] == {
        "Modality": "NM",
        "BodyPartExamined": "WHOLE BODY",
        "StudyDescription": "Whole Body Bone",
    }
    for name, row in rows.items():
        assert row["caption"] == describe_dicom(dicom_folder / f"{name}.dcm").caption


def test_one_dicom_file_loads_as_one_figure(dicom_folder):
    figures = load_figures(dicom_folder / "MR_small.dcm")
    assert figures["id"] == ["MR_small"] and figures["modality"] == ["mri"] and figures["caption"] == ["MR"]
    assert figures[0]["image"].mode == "RGB"


def test_what_the_record_says_wins_over_the_header(dicom_folder):
    # The first row names its own caption (synthetic) and modality; the second only its modality.
    rows = [
        {"file_name": "CT_small.dcm", "caption": "(synthetic caption)", "modality": "other"},
        {"file_name": "MR_small.dcm", "domain": {"mri": False}},
    ]
    (dicom_folder / "metadata.jsonl").write_text("\n".join(json.dumps(row) for row in rows))

    figures = load_figures(dicom_folder)

    assert figures["caption"] == ["(synthetic caption)", "MR"]  # an empty caption is filled from the header
    assert figures["modality"] == ["other", "other"]  # a given modality or domain is kept


def test_the_demo_and_the_loader_read_dicom_headers_alike():
    pytest.importorskip("skimage")
    demo = load_demo_figures()
    for row in demo:
        if row["source"].startswith("pydicom=="):
            path = row["source"].split(":", 1)[1]
            import pydicom

            file = f"{pydicom.__path__[0]}/{path.split('/', 1)[1]}"
            assert load_figures(file)["caption"] == [row["caption"]], row["id"]


@pytest.mark.parametrize(
    ("values", "label"),
    [
        ({"Modality": "CT"}, "ct_scan"),
        ({"Modality": "MR", "BodyPartExamined": "HEAD"}, "mri"),
        ({"Modality": "CR", "BodyPartExamined": "CHEST"}, "chest_xray"),
        ({"Modality": "CR", "BodyPartExamined": "KNEE"}, "other"),
        ({"Modality": "SM"}, "histology"),
        ({"Modality": "US"}, "other"),
        ({}, "other"),
    ],
)
def test_modality_of_header(values, label):
    assert modality_of_header(values) == label
