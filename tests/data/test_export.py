"""to_llava_json: any stage's output back to LLaVA-Med JSON, and back again through load_figures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import datasets
import numpy as np
import pytest

from biomed_vital.data import load_figures, modality_from_domain, to_llava_json
from tests.data.conftest import STAND_IN_FOR_DOMAIN, demonstrations


@pytest.fixture
def demonstration_figures(tmp_path, clinician_demonstrations_path, fixture_images) -> datasets.Dataset:
    """The 58 demonstrations, each paired with a real fixture image of its domain as a stand-in."""
    folder = tmp_path / "source"
    (folder / "stand_in_images").mkdir(parents=True)
    records = demonstrations(clinician_demonstrations_path)
    for record in records:
        image_id = STAND_IN_FOR_DOMAIN[modality_from_domain(record["domain"])]
        target = folder / "stand_in_images" / f"{image_id}.png"
        if not target.exists():
            shutil.copy(fixture_images[image_id], target)
        record["imgs"] = f"stand_in_images/{image_id}.png"
    (folder / "demonstrations.jsonl").write_text("\n".join(json.dumps(record) for record in records))
    return load_figures(folder / "demonstrations.jsonl")


def test_export_then_load_gives_identical_figures(
    tmp_path, demonstration_figures, clinician_demonstrations_path
):
    out = to_llava_json(demonstration_figures, tmp_path / "out" / "llava_med_train.json")

    written = json.loads(out.read_text())
    raw = demonstrations(clinician_demonstrations_path)
    assert len(written) == 58
    first = written[0]
    assert first["conversations"][0]["value"] == "<image>\n" + raw[0]["conversations"][0]["value"]
    assert first["conversations"][1:] == raw[0]["conversations"][1:]
    assert first["image"].startswith("llava_med_train_images/")
    for key in ("fig_caption", "in_text_mention", "pmid", "fig_label", "pair_id", "domain", "graphic_ref"):
        assert first[key] == raw[0][key], key

    reloaded = load_figures(out)
    for column in (
        "id",
        "caption",
        "mentions",
        "pmid",
        "fig_label",
        "domain",
        "modality",
        "messages",
        "error",
    ):
        assert reloaded[column] == demonstration_figures[column], column
    assert [json.loads(e) for e in reloaded["extra"]] == [
        json.loads(e) for e in demonstration_figures["extra"]
    ]
    assert np.array_equal(np.asarray(reloaded[3]["image"]), np.asarray(demonstration_figures[3]["image"]))
    assert len(list((tmp_path / "out" / "llava_med_train_images").iterdir())) == 58


def test_candidates_export_one_record_per_candidate_and_one_image_per_figure(tmp_path, demonstration_figures):
    figures = demonstration_figures.select(range(3))
    rows = []
    for row in figures:
        for number in range(2):
            rows.append({**row, "candidate_id": f"{row['id']}-c{number}", "selector_score": float(number)})
    features = figures.features.copy()
    features["candidate_id"] = datasets.Value("string")
    features["selector_score"] = datasets.Value("float64")
    candidates = datasets.Dataset.from_list(rows, features=features)

    out = to_llava_json(candidates, tmp_path / "selected.jsonl", image_folder=tmp_path / "imgs")

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == candidates["candidate_id"]
    assert [line["figure_id"] for line in lines] == candidates["id"]
    assert [line["selector_score"] for line in lines] == [0.0, 1.0] * 3
    assert len(list((tmp_path / "imgs").iterdir())) == 3
    reloaded = load_figures(out)
    assert reloaded["messages"] == candidates["messages"]
    assert reloaded["error"] == [""] * 6


def test_dicom_images_are_exported_as_png(tmp_path):
    pytest.importorskip("pydicom")
    pytest.importorskip("skimage")
    from biomed_vital.data import load_demo_figures
    from biomed_vital.data.conversations import conversations_to_messages

    figures = load_demo_figures().select(range(2))
    # a minimal conversation made only of the figure's own caption, to give the export something to write
    messages = [
        conversations_to_messages([{"from": "human", "value": "<image>\n"}, {"from": "gpt", "value": c}])
        for c in figures["caption"]
    ]
    figures = figures.add_column("messages", messages)

    out = to_llava_json(figures, tmp_path / "demo.json")

    records = json.loads(out.read_text())
    assert all(record["image"].endswith(".png") for record in records)
    reloaded = load_figures(out)
    assert reloaded["messages"] == figures["messages"]
    assert [im.size for im in reloaded["image"]] == [im.size for im in figures["image"]]


def test_export_refuses_datasets_it_cannot_write(tmp_path, fixtures_dir):
    figures = load_figures(fixtures_dir / "images.jsonl")
    with pytest.raises(ValueError, match="needs a 'messages'"):
        to_llava_json(figures, tmp_path / "x.json")
    duplicated = datasets.Dataset.from_dict(
        {"id": ["a", "a"], "messages": [[{"role": "user", "content": "q"}]] * 2}
    )
    with pytest.raises(ValueError, match="occur more than once"):
        to_llava_json(duplicated, tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


def test_text_only_rows_have_no_image_field(tmp_path):
    conversations = datasets.Dataset.from_dict(
        {
            "id": ["t1"],
            "messages": [[{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]],
        }
    )
    out = to_llava_json(conversations, tmp_path / "text.json")
    record = json.loads(out.read_text())[0]
    assert "image" not in record
    assert record["conversations"] == [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]
    assert Path(out).parent == tmp_path


def test_an_image_that_cannot_be_written_names_the_row(tmp_path):
    from datasets import Features, Image, List, Value

    features = Features(
        {
            "id": Value("string"),
            "image": Image(),
            "messages": List({"role": Value("string"), "content": Value("string")}),
        }
    )
    broken = datasets.Dataset.from_dict(
        {
            "id": ["gone"],
            "image": [{"bytes": None, "path": str(tmp_path / "moved_away.png")}],
            "messages": [[{"role": "user", "content": "q"}]],
        },
        features=features,
    )
    with pytest.raises(ValueError, match=r"row 0 \(id 'gone'\).*moved_away.png"):
        to_llava_json(broken, tmp_path / "out.json")
    assert not (tmp_path / "out.json").exists()


def _image_rows(ids, images):
    from datasets import Features, Image, List, Value

    features = Features(
        {
            "id": Value("string"),
            "image": Image(),
            "messages": List({"role": Value("string"), "content": Value("string")}),
        }
    )
    messages = [
        [{"role": "user", "content": "synthetic question"}, {"role": "assistant", "content": "synthetic"}]
    ]
    return datasets.Dataset.from_dict(
        {"id": ids, "image": images, "messages": messages * len(ids)}, features=features
    )


def test_ids_that_sanitise_alike_get_their_own_stable_files(tmp_path):
    from PIL import Image

    ids = ["a/b", "a b", "a_b", "../a_b", "a_b-0123456789"]
    # synthetic one-colour images, one per id, so an overwritten file shows up as the wrong colour
    images = [Image.new("RGB", (4, 4), (40 * i, 0, 0)) for i in range(len(ids))]
    rows = _image_rows(ids, images)
    first = json.loads(to_llava_json(rows, tmp_path / "one" / "x.json").read_text())
    again = json.loads(to_llava_json(rows, tmp_path / "two" / "x.json").read_text())
    names = [record["image"] for record in first]
    assert len(set(names)) == len(ids)
    assert names == [record["image"] for record in again]  # the same names on every export
    assert names[2] == "x_images/a_b.png"  # a safe id keeps its own name
    for index, name in enumerate(names):
        with Image.open(tmp_path / "one" / name) as written:
            assert written.getpixel((0, 0))[0] == 40 * index


def test_export_keeps_the_decompression_bomb_limit(tmp_path):
    import io

    from PIL import Image

    def encoded(kind):
        buffer = io.BytesIO()
        Image.new("RGB", (40, 40), (1, 2, 3)).save(buffer, format=kind)  # synthetic 1,600-pixel images
        return {"bytes": buffer.getvalue(), "path": None}

    for kind in ("PNG", "TIFF"):  # copied as it is, and converted to PNG
        rows = _image_rows(["big"], [encoded(kind)])
        with pytest.raises(ValueError, match=r"row 0 \(id 'big'\).*1,600 pixels exceeds the limit of 1,000"):
            to_llava_json(rows, tmp_path / f"{kind}.json", max_image_pixels=1000)
        assert not (tmp_path / f"{kind}.json").exists()
        assert to_llava_json(rows, tmp_path / f"{kind}.json", max_image_pixels=1600).exists()
