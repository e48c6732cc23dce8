"""load_figures: every source format, the clinician demonstrations, bad input, strict mode."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import datasets
import numpy as np
import pytest
from PIL import Image

from biomed_vital.data import FigureLoadError, load_figures, modality_from_domain
from biomed_vital.data.figures import FIGURE_COLUMNS, figure_features
from tests.data.conftest import STAND_IN_FOR_DOMAIN, demonstrations, fixture_records


def _caption_records(clinician_demonstrations_path: Path, count: int = 6) -> list[dict]:
    """LLaVA-Med figure-caption records (no conversations) built from the real demonstrations."""
    fields = ("pair_id", "pmid", "fig_label", "fig_caption", "in_text_mention", "domain")
    return [
        {key: record[key] for key in fields}
        for record in demonstrations(clinician_demonstrations_path)[:count]
    ]


def _stand_in_images(records: list[dict], fixture_images: dict[str, Path], folder: Path) -> None:
    """Write <pair_id>.jpg stand-in images (real fixture images of the same domain)."""
    folder.mkdir(parents=True, exist_ok=True)
    for record in records:
        image_id = STAND_IN_FOR_DOMAIN[modality_from_domain(record["domain"])]
        Image.open(fixture_images[image_id]).convert("RGB").save(folder / f"{record['pair_id']}.jpg")


def _assert_figures_contract(figures: datasets.Dataset) -> None:
    assert list(figures.column_names[: len(FIGURE_COLUMNS)]) == list(FIGURE_COLUMNS)
    for name, feature in figure_features().items():
        assert figures.features[name] == feature, name
    assert len(set(figures["id"])) == len(figures)


# ------------------------------------------------------------------------------------ formats


def test_llava_med_caption_list_with_pair_id_images(tmp_path, clinician_demonstrations_path, fixture_images):
    records = _caption_records(clinician_demonstrations_path)
    (tmp_path / "captions.json").write_text(json.dumps(records))
    _stand_in_images(records, fixture_images, tmp_path / "pmc")

    figures = load_figures(tmp_path / "captions.json", image_root=tmp_path / "pmc")

    _assert_figures_contract(figures)
    assert figures["id"] == [r["pair_id"] for r in records]
    assert figures["caption"] == [r["fig_caption"] for r in records]
    assert figures["mentions"] == [[m["tokens"] for m in r["in_text_mention"]] for r in records]
    assert figures["pmid"] == [r["pmid"] for r in records]
    assert figures["modality"] == [modality_from_domain(r["domain"]) for r in records]
    assert figures["error"] == [""] * len(records)
    assert all(image.mode == "RGB" for image in figures["image"])
    assert "messages" not in figures.column_names


def test_llava_med_per_domain_object_sets_the_domain_from_its_key(tmp_path, clinician_demonstrations_path):
    records = _caption_records(clinician_demonstrations_path, count=58)
    grouped: dict[str, list[dict]] = {}
    for record in records:
        key = modality_from_domain(record["domain"])
        grouped.setdefault(key, []).append({k: v for k, v in record.items() if k != "domain"})
    (tmp_path / "llava_med_instruct_fig_captions.json").write_text(json.dumps(grouped))

    figures = load_figures(tmp_path / "llava_med_instruct_fig_captions.json")

    assert len(figures) == 58
    by_id = {row["id"]: row for row in figures.select_columns(["id", "modality", "domain"])}
    for key, group in grouped.items():
        for record in group:
            assert by_id[record["pair_id"]]["modality"] == key
            assert by_id[record["pair_id"]]["domain"][key] is True
    # no image_root and no image field: text kept, image honestly missing
    assert set(figures["image"]) == {None}
    assert all(error.startswith("no image") for error in figures["error"])


def test_jsonl_and_plain_string_mentions(tmp_path, clinician_demonstrations_path, fixture_images):
    records = _caption_records(clinician_demonstrations_path, count=3)
    for record in records:
        record["in_text_mention"] = [m["tokens"] for m in record["in_text_mention"]]
    (tmp_path / "captions.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n\n")
    _stand_in_images(records, fixture_images, tmp_path)

    figures = load_figures(tmp_path / "captions.jsonl", image_root=tmp_path)

    assert figures["mentions"] == [r["in_text_mention"] for r in records]
    assert figures["error"] == ["", "", ""]


def test_clinician_demonstrations_load_without_loss(clinician_demonstrations_path):
    raw = demonstrations(clinician_demonstrations_path)

    figures = load_figures(clinician_demonstrations_path)

    assert len(figures) == 58
    assert "messages" in figures.column_names
    for row, record in zip(figures, raw, strict=True):
        assert row["id"] == str(record["id"])
        assert row["caption"] == record["fig_caption"]
        assert row["mentions"] == [m["tokens"] for m in record["in_text_mention"]]
        assert row["pmid"] == record["pmid"]
        assert row["fig_label"] == record["fig_label"]
        assert row["domain"] == {key: record["domain"][key] for key in row["domain"]}
        assert row["modality"] == modality_from_domain(record["domain"])
        assert [m["content"] for m in row["messages"]] == [t["value"] for t in record["conversations"]]
        assert [m["role"] for m in row["messages"]] == [
            {"human": "user", "gpt": "assistant"}[t["from"]] for t in record["conversations"]
        ]
        extra = json.loads(row["extra"])
        assert extra["pair_id"] == record["pair_id"]
        assert extra["in_text_mention"] == record["in_text_mention"]  # entity offsets kept
        assert extra["_source"] == record["_source"]
        # PMC images are not shipped: a clear row error, not an exception
        assert row["image"] is None
        assert (
            row["error"]
            == f"image not found: {record['imgs']} (resolved under {clinician_demonstrations_path.parent.resolve()})"
        )


def test_fixture_image_list_loads_22_rgb_images(fixtures_dir):
    records = fixture_records(fixtures_dir)

    figures = load_figures(fixtures_dir / "images.jsonl")

    assert len(figures) == 22
    assert figures["error"] == [""] * 22
    for row, record in zip(figures, records, strict=True):
        assert row["id"] == record["id"]
        assert row["image"].mode == "RGB"
        assert list(row["image"].size) == record["png_size"]
        assert row["caption"] == record["caption"]
        assert row["source"] == record["source"]
        assert (
            json.loads(row["extra"])["modality_text"] == record["modality"]
        )  # free text kept beside the label
    assert set(figures["modality"]) == {"ct_scan", "mri", "chest_xray", "histology", "gross", "other"}


def test_image_folder_with_metadata_jsonl(tmp_path, fixtures_dir):
    folder = tmp_path / "folder"
    shutil.copytree(fixtures_dir / "images", folder / "images")
    with open(folder / "metadata.jsonl", "w") as stream:
        for record in fixture_records(fixtures_dir):
            stream.write(
                json.dumps(
                    {"file_name": record["image"], "caption": record["caption"], "domain": record["domain"]}
                )
                + "\n"
            )

    figures = load_figures(folder)

    assert len(figures) == 22
    assert figures["error"] == [""] * 22
    assert figures["id"] == [record["id"] for record in fixture_records(fixtures_dir)]  # ids from file names


def test_image_folder_without_metadata_lists_its_images(tmp_path, fixture_images):
    for name in ("skimage_cell", "skimage_ihc"):
        shutil.copy(fixture_images[name], tmp_path / f"{name}.png")

    figures = load_figures(tmp_path)

    assert figures["id"] == ["skimage_cell", "skimage_ihc"]
    assert figures["caption"] == ["", ""]
    assert figures["error"] == ["", ""]


def test_instruction_json_with_image_field_and_dicom(tmp_path, fixtures_dir, clinician_demonstrations_path):
    pytest.importorskip("pydicom")
    raw = demonstrations(clinician_demonstrations_path)[:2]
    shutil.copytree(fixtures_dir / "dicom", tmp_path / "dicom")
    instructions = [
        # stand-in images: real CT DICOM files for the first (CT) demonstration, marked as such
        {
            "id": f"{r['pair_id']}-stand-in",
            "image": "dicom/CT_small.dcm",
            "domain": r["domain"],
            "conversations": r["conversations"],
        }
        for r in raw
    ]
    instructions[0]["conversations"] = [
        {"from": "human", "value": "<image>\n" + instructions[0]["conversations"][0]["value"]},
        *instructions[0]["conversations"][1:],
    ]
    (tmp_path / "llava_med_instruct.json").write_text(json.dumps(instructions))

    figures = load_figures(tmp_path / "llava_med_instruct.json")

    assert figures["error"] == ["", ""]
    assert figures[0]["messages"][0]["content"] == raw[0]["conversations"][0]["value"]
    assert np.asarray(figures[0]["image"]).std() > 10  # the DICOM was windowed, not blank
    assert figures["caption"] == ["CT, e+1", "CT, e+1"]  # the header's values: Modality, StudyDescription
    assert figures["modality"] == [modality_from_domain(r["domain"]) for r in raw]  # the record's domain wins


def test_save_to_disk_folder_and_dataset_passthrough(tmp_path, fixtures_dir):
    figures = load_figures(fixtures_dir / "images.jsonl", embed_images=True)
    figures = figures.add_column("split", ["train"] * len(figures))
    figures.save_to_disk(tmp_path / "saved")

    reloaded = load_figures(tmp_path / "saved")
    passed = load_figures(figures)

    for loaded in (reloaded, passed):
        _assert_figures_contract(loaded)
        assert loaded["id"] == figures["id"]
        assert loaded["caption"] == figures["caption"]
        assert [json.loads(e) for e in loaded["extra"]] == [json.loads(e) for e in figures["extra"]]
        assert loaded["split"] == ["train"] * 22  # other columns are kept
        assert loaded["error"] == [""] * 22
        assert np.array_equal(np.asarray(loaded[5]["image"]), np.asarray(figures[5]["image"]))


def test_passthrough_keeps_earlier_errors(clinician_demonstrations_path):
    figures = load_figures(clinician_demonstrations_path)
    again = load_figures(figures)
    assert again["error"] == figures["error"]
    assert again["messages"] == figures["messages"]


def test_hub_id_fails_fast_offline_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FigureLoadError, match="HF_HUB_OFFLINE=1") as caught:
        load_figures("biomed-vital/pmc-figures-that-are-not-here")
    assert "biomed-vital/pmc-figures-that-are-not-here" in str(caught.value)


def test_missing_local_path_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does-not-exist.json"):
        load_figures(tmp_path / "does-not-exist.json")
    with pytest.raises(FileNotFoundError, match="image_root is not a folder"):
        load_figures(tmp_path, image_root=tmp_path / "nowhere")


def test_num_proc_gives_the_same_result(tmp_path, bad_corpus):
    root, _ = bad_corpus
    single = load_figures(root)
    parallel = load_figures(root, num_proc=2)
    assert parallel["id"] == single["id"]
    assert parallel["error"] == single["error"]


# ------------------------------------------------------------------------------------ bad input


def test_bad_corpus_each_row_gets_its_cause_and_good_rows_survive(bad_corpus, caplog):
    root, expected = bad_corpus

    with caplog.at_level(logging.WARNING, logger="biomed_vital.data"):
        figures = load_figures(root)

    assert figures["id"] == list(expected)
    for row in figures:
        cause = expected[row["id"]]
        if cause:
            assert row["error"].startswith(cause + ":"), (row["id"], row["error"])
            assert row["image"] is None
        else:
            assert row["error"] == "", (row["id"], row["error"])
            assert row["image"].mode == "RGB"
            assert np.asarray(row["image"]).std() > 5
    by_id = {row["id"]: row for row in figures}
    assert (
        by_id["missing"]["error"]
        == f"image not found: images/does_not_exist.png (resolved under {root.resolve()})"
    )
    assert "symlink points outside the root" in by_id["symlink_out"]["error"]
    assert "200,000,000 pixels" in by_id["huge"]["error"]
    assert by_id["good_ihc"]["caption"].startswith("Immunohistochemical (IHC) staining")
    # the summary groups errors by cause and counts empty captions
    summary = " ".join(record.getMessage() for record in caplog.records)
    assert "16 rows, 10 with errors" in summary
    assert "image path escapes the image root: 3" in summary
    assert "image is truncated or corrupt: 3" in summary
    assert "13 empty captions" in summary


def test_alpha_rows_are_composited_on_white(bad_corpus):
    root, _ = bad_corpus
    figures = load_figures(root)
    rgba = next(row for row in figures if row["id"] == "rgba")
    corner = np.asarray(rgba["image"]).astype(int)[0, 0]
    assert corner.min() >= 127  # half-transparent pixels blended towards white


def test_strict_mode_raises_one_error_naming_the_first_bad_row(bad_corpus):
    root, _ = bad_corpus
    with pytest.raises(FigureLoadError) as caught:
        load_figures(root, strict=True)
    error = caught.value
    assert error.row_id == "missing" and error.row_index == 6
    assert "row 6 (line 7, id 'missing')" in str(error)
    assert "image not found: images/does_not_exist.png" in str(error)


def test_duplicate_ids_are_an_error_unless_deduplicated(tmp_path, clinician_demonstrations_path):
    records = _caption_records(clinician_demonstrations_path, count=4)
    records.append(dict(records[1]))
    records.append(dict(records[1]))
    (tmp_path / "dup.json").write_text(json.dumps(records))

    with pytest.raises(FigureLoadError, match=r"'20041026_fig1' \(rows \[1, 4, 5\]\)"):
        load_figures(tmp_path / "dup.json")
    figures = load_figures(tmp_path / "dup.json", deduplicate=True)
    assert figures["id"] == [r["pair_id"] for r in records[:4]]


def test_missing_fields_and_bad_lines_are_row_errors(tmp_path, clinician_demonstrations_path):
    record = _caption_records(clinician_demonstrations_path, count=1)[0]
    no_id = {key: value for key, value in record.items() if key != "pair_id"}
    lines = [
        json.dumps(record),
        json.dumps(no_id),
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({**record, "pair_id": "x", "conversations": [{"from": "nurse", "value": "?"}]}),
    ]
    (tmp_path / "mixed.jsonl").write_text("\n".join(lines))

    figures = load_figures(tmp_path / "mixed.jsonl")

    errors = figures["error"]
    assert errors[0].startswith("no image")
    assert "missing required field 'id'" in errors[1]
    assert "invalid JSON on line 3" in errors[2]
    assert "expected a JSON object, got list" in errors[3]
    assert "invalid conversations" in errors[4] and "'nurse'" in errors[4]
    assert figures[0]["caption"] == record["fig_caption"]
    with pytest.raises(FigureLoadError, match=r"row 1 \(line 2, id 'line 2'\).*missing required field 'id'"):
        load_figures(tmp_path / "mixed.jsonl", strict=True)


def test_non_utf8_caption_file_falls_back_with_a_warning(tmp_path, caplog):
    import inspect

    skimage_data = pytest.importorskip("skimage.data")
    caption = inspect.getdoc(skimage_data.cell).split("\n\n")[2].replace("\n", " ")  # contains "µm"
    assert "µm" in caption
    (tmp_path / "cp1252.json").write_bytes(
        json.dumps([{"id": "cell", "caption": caption}], ensure_ascii=False).encode("cp1252")
    )

    with caplog.at_level(logging.WARNING, logger="biomed_vital.data"):
        figures = load_figures(tmp_path / "cp1252.json")
    assert figures["caption"] == [caption]
    assert any("not valid UTF-8" in r.getMessage() and "cp1252" in r.getMessage() for r in caplog.records)

    with pytest.raises(ValueError, match=r"cp1252.json: not valid utf-8 at byte offset \d+"):
        load_figures(tmp_path / "cp1252.json", encoding="utf-8")


def test_invalid_json_file_names_line_and_column(tmp_path):
    (tmp_path / "broken.json").write_text('[{"id": "a"},\n {"id": }]')
    with pytest.raises(ValueError, match=r"broken.json: invalid JSON at line 2, column"):
        load_figures(tmp_path / "broken.json")


def test_empty_captions_are_allowed_and_counted(fixtures_dir):
    from biomed_vital.data import summarize_figures

    figures = load_figures(fixtures_dir / "images.jsonl")
    empty = sum(1 for caption in figures["caption"] if caption == "")
    assert empty == sum(1 for r in fixture_records(fixtures_dir) if r["caption"] == "")
    summary = summarize_figures(figures)
    assert f"{empty} empty captions" in summary
    assert "22 figures" in summary and "0 with errors" in summary
    for identifier in figures["id"]:
        assert identifier in summary


def test_summary_plot_is_written_as_png(bad_corpus, tmp_path):
    from biomed_vital.data import plot_figure_summary

    root, _ = bad_corpus
    path = plot_figure_summary(load_figures(root), tmp_path / "plots" / "figures.png")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 500


def test_wrong_typed_fields_are_row_errors_and_the_other_rows_load(tmp_path, fixtures_dir):
    # A caption file as a script writes it by mistake: numbers where text belongs. The texts are synthetic.
    shutil.copy(fixtures_dir / "images" / "skimage_ihc.png", tmp_path / "ihc.png")
    rows = [
        {"id": "good", "file_name": "ihc.png", "caption": "(synthetic caption)", "pmid": 12345},
        {"id": "caption-number", "file_name": "ihc.png", "caption": 42},
        {"id": "label-number", "file_name": "ihc.png", "fig_label": 2},
        {"id": "mentions-number", "file_name": "ihc.png", "in_text_mention": 5},
        {"id": "modality-number", "file_name": "ihc.png", "modality": 3},
        {"id": 1.5, "file_name": "ihc.png"},
    ]
    (tmp_path / "metadata.jsonl").write_text("\n".join(json.dumps(row) for row in rows))

    figures = load_figures(tmp_path)

    errors = dict(zip(figures["id"], figures["error"], strict=True))
    assert errors["good"] == "" and figures[0]["pmid"] == "12345"  # identifiers may be integers
    assert errors["caption-number"] == "invalid record: field 'caption' must be text, got int 42"
    assert errors["label-number"] == "invalid record: field 'fig_label' must be text, got int 2"
    assert (
        errors["mentions-number"]
        == "invalid record: field 'in_text_mention' must be a list of text, got int 5"
    )
    assert errors["modality-number"] == "invalid record: field 'modality' must be text, got int 3"
    assert errors["ihc"].startswith("invalid record: field 'id' must be text or an integer, got float 1.5")
    assert figures["caption"][1] == ""  # never the string "42"
    with pytest.raises(FigureLoadError, match=r"id 'caption-number'.*field 'caption' must be text"):
        load_figures(tmp_path, strict=True)


def test_an_id_taken_from_a_file_name_that_clashes_is_a_row_error_next_to_the_others(
    tmp_path, fixture_images
):
    # Two scans called ct_head.png in different folders, one row naming its id, one row with a bad image.
    for folder, image in (("ct", "pydicom_ct_small"), ("mr", "itk_brain_t1_slice")):
        (tmp_path / folder).mkdir()
        shutil.copy(fixture_images[image], tmp_path / folder / "ct_head.png")
    rows = [
        {"id": "ct_head", "file_name": "ct/ct_head.png"},
        {"file_name": "mr/ct_head.png"},
        {"file_name": "mr/missing.png"},
        {"id": "typed", "file_name": "ct/ct_head.png", "caption": 7},
    ]
    (tmp_path / "metadata.jsonl").write_text("\n".join(json.dumps(row) for row in rows))

    figures = load_figures(tmp_path)  # no exception: every row is there with its own problem

    _assert_figures_contract(figures)  # ids stay unique
    assert figures["id"] == ["ct_head", "mr/ct_head.png", "missing", "typed"]
    errors = figures["error"]
    assert errors[0] == ""
    assert errors[1] == (
        "duplicate id: 'ct_head', taken from the image file name mr/ct_head.png, is also the id of "
        "row 0 (line 1); give the row an 'id' of its own"
    )
    assert errors[2].startswith("image not found: mr/missing.png")
    assert errors[3] == "invalid record: field 'caption' must be text, got int 7"
    with pytest.raises(FigureLoadError, match=r"row 1 \(line 2, id 'mr/ct_head.png'\) of .*: duplicate id"):
        load_figures(tmp_path, strict=True)


def test_a_folder_whose_file_names_clash_loads_with_the_clash_as_row_errors(tmp_path, fixture_images):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copy(fixture_images["skimage_cell"], tmp_path / folder / "scan.png")

    figures = load_figures(tmp_path)

    assert figures["id"] == ["a/scan.png", "b/scan.png"]
    assert all(
        error.startswith("duplicate id: 'scan', taken from the image file name") for error in figures["error"]
    )


# ------------------------------------------------------------------ file references of dataset sources


def _dataset_naming(paths: list[str], *, image_feature: bool) -> datasets.Dataset:
    captions = [f"Synthetic caption {index}." for index in range(len(paths))]
    rows = {"id": [f"row{index}" for index in range(len(paths))], "image": paths, "caption": captions}
    if image_feature:  # the {"bytes": None, "path": ...} records a Hub dataset or save_to_disk folder holds
        features = datasets.Features(
            {"id": datasets.Value("string"), "image": datasets.Image(), "caption": datasets.Value("string")}
        )
        return datasets.Dataset.from_dict(rows, features=features)
    return datasets.Dataset.from_dict(rows)


@pytest.fixture
def allowed_and_private(tmp_path, fixture_images) -> tuple[Path, Path]:
    """A folder the user allows (``ihc.png``) and a private one beside it (``secret.png``), both real images."""
    allowed, private = tmp_path / "allowed", tmp_path / "private"
    for folder, name in ((allowed, "ihc.png"), (private, "secret.png")):
        folder.mkdir()
        shutil.copy(fixture_images["skimage_ihc"], folder / name)
    return allowed, private


@pytest.mark.parametrize("image_feature", [False, True])
def test_a_datasets_file_references_are_read_only_inside_the_allowed_folders(
    allowed_and_private, image_feature
):
    allowed, outside = allowed_and_private
    (allowed / "link.png").symlink_to(outside / "secret.png")
    paths = [
        str(allowed / "ihc.png"),
        str(outside / "secret.png"),
        str(allowed / "../private/secret.png"),
        str(allowed / "link.png"),
    ]
    source = _dataset_naming(paths, image_feature=image_feature)

    # nothing is read by default: a dataset can name any file on this machine
    figures = load_figures(source)
    assert all("outside the allowed image folders" in error for error in figures["error"])
    assert figures["image"] == [None] * 4

    figures = load_figures(source, allowed_image_roots=[str(allowed)])
    assert figures["error"][0] == "" and figures["image"][0] is not None
    for error in figures["error"][1:]:  # the path outside, the climb out with ../ and the link out
        assert error.startswith("image file reference outside the allowed image folders")
    with pytest.raises(FigureLoadError, match=r"row 1 .*outside the allowed image folders"):
        load_figures(source, allowed_image_roots=[str(allowed)], strict=True)

    # image_root is an allowed folder too, and relative references resolve against it
    relative = load_figures(
        _dataset_naming(["ihc.png", "../private/secret.png"], image_feature=False), image_root=allowed
    )
    assert relative["error"][0] == ""
    assert "escapes the image root" in relative["error"][1]


def _saved_with_references(folder: Path, paths: list[str], *, as_image: bool) -> None:
    """A save_to_disk folder whose image column holds file references, not bytes.

    ``save_to_disk`` embeds the files an Image column points to, so such a folder is made by hand (as anyone
    can make one): saved as a plain struct, then, for ``as_image``, declared an Image column.
    """
    record = datasets.Features({"bytes": datasets.Value("binary"), "path": datasets.Value("string")})
    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "image": record,
            "caption": datasets.Value("string"),
            "error": datasets.Value("string"),
        }
    )
    rows = {
        "id": [f"row{index}" for index in range(len(paths))],
        "image": [{"bytes": None, "path": path} for path in paths],
        "caption": ["Synthetic caption."] * len(paths),
        "error": [""] * len(paths),
    }
    datasets.Dataset.from_dict(rows, features=features).save_to_disk(folder)
    if as_image:
        info_file = folder / "dataset_info.json"
        info = json.loads(info_file.read_text())
        info["features"]["image"] = {"_type": "Image"}
        info_file.write_text(json.dumps(info))


@pytest.mark.parametrize("as_image", [True, False])
def test_a_saved_folders_file_references_are_confined_when_it_is_read_back(
    tmp_path, allowed_and_private, as_image
):
    from biomed_vital.data import load_figure_source, load_image

    allowed, outside = allowed_and_private
    _saved_with_references(
        tmp_path / "saved", [str(allowed / "ihc.png"), str(outside / "secret.png")], as_image=as_image
    )

    refused = load_figure_source(tmp_path / "saved")
    assert refused["id"] == ["row0", "row1"]
    assert refused["image"] == [None, None]
    assert all(
        error.startswith("image file reference outside the allowed image folders")
        for error in refused["error"]
    )

    allowed_rows = load_figure_source(tmp_path / "saved", allowed)
    assert allowed_rows["error"][0] == "" and allowed_rows["image"][0] is not None
    assert (
        allowed_rows["image"][1] is None and "outside the allowed image folders" in allowed_rows["error"][1]
    )
    assert load_image(allowed_rows[0]["image"]).size == Image.open(allowed / "ihc.png").size


def test_save_to_disk_embeds_the_images_so_a_saved_stage_needs_no_allowed_folder(tmp_path, fixture_images):
    from biomed_vital.data import load_figure_source

    images = tmp_path / "images"
    images.mkdir()
    shutil.copy(fixture_images["skimage_ihc"], images / "ihc.png")
    figures = load_figures(images)  # file references into the folder the user named
    figures.save_to_disk(tmp_path / "saved")
    assert load_figure_source(tmp_path / "saved")["error"] == [""]
