"""``biomed-vital sample`` end to end on a pool saved to disk."""

from __future__ import annotations

import pytest
from datasets import load_from_disk

from biomed_vital.cli.commands.sample import main
from tests.sampling.conftest import make_pool


def test_sample_saves_the_draw_and_its_plot(tmp_path, capsys, cache_dir) -> None:
    make_pool().save_to_disk(tmp_path / "pool")
    out = tmp_path / "drawn"
    argv = [str(tmp_path / "pool"), "--k", "8", "--out", str(out), "--embedding", "lightweight"]
    assert main([*argv, "--n-clusters", "4", "--cache-dir", cache_dir]) == 0
    drawn = load_from_disk(str(out))
    assert len(drawn) == 8 and "cluster" in drawn.column_names
    assert (out / "sampling.png").is_file()
    assert "drew 8 of 54 figures" in capsys.readouterr().out


def test_the_preset_sets_the_papers_modalities_and_flags_override_it(tmp_path, cache_dir) -> None:
    make_pool().save_to_disk(tmp_path / "pool")
    out = tmp_path / "drawn"
    argv = [
        str(tmp_path / "pool"),
        "--out",
        str(out),
        "--preset",
        "biomed-vital",
        "--embedding",
        "lightweight",
    ]
    assert main([*argv, "--n-clusters", "3", "--k", "6", "--cache-dir", cache_dir]) == 0
    drawn = load_from_disk(str(out))
    assert set(drawn["modality"]) <= {"ct_scan", "mri", "chest_xray"}
    assert len(set(drawn["cluster"])) <= 3


def test_an_unknown_preset_is_a_one_line_usage_error(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path), "--out", str(tmp_path / "o"), "--preset", "paper"])
    assert exit_info.value.code == 2
    assert "unknown; choose from biomed-vital" in capsys.readouterr().err


def test_a_hand_made_folder_of_file_references_is_drawn_from_the_allowed_image_folder(
    tmp_path, cache_dir
) -> None:
    """A saved folder may name image files instead of holding bytes; sample reads them only where allowed."""
    import json

    from datasets import Features, Value

    pool = make_pool({"ct_scan": 4, "mri": 4})
    images = tmp_path / "images"
    images.mkdir()
    paths = []
    for row in pool:
        path = images / f"{row['id']}.png"
        row["image"].save(path)
        paths.append(str(path))
    # save_to_disk embeds an Image column's files, so a folder of references is made as anyone can: a plain
    # struct column, then declared an Image column
    record = Features({"bytes": Value("binary"), "path": Value("string")})
    references = pool.remove_columns("image").add_column("image", [{"bytes": None, "path": p} for p in paths])
    references = references.cast_column("image", record)
    references.save_to_disk(tmp_path / "pool")
    info_file = tmp_path / "pool" / "dataset_info.json"
    info = json.loads(info_file.read_text())
    info["features"]["image"] = {"_type": "Image"}
    info_file.write_text(json.dumps(info))
    out = tmp_path / "drawn"
    argv = [str(tmp_path / "pool"), "--k", "4", "--out", str(out), "--embedding", "lightweight"]
    argv += ["--n-clusters", "2", "--cache-dir", cache_dir]

    from biomed_vital.data import FigureLoadError

    with pytest.raises(
        FigureLoadError, match=r"row 0 .*outside the allowed image folders.*allowed_image_roots"
    ):
        main(argv)  # nothing is read outside the allowed folders by default
    assert main([*argv, "--allowed_image_roots", str(images)]) == 0
    drawn = load_from_disk(str(out))
    assert len(drawn) == 4 and all(image is not None for image in drawn["image"])
