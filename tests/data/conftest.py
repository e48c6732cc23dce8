"""Shared pieces of the data-layer tests: real fixture records, crafted image files, a corpus of bad inputs."""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# Demonstration domain -> a fixture image of the same domain. The demonstrations' PMC images are not
# available offline, so these real images stand in for them (marked as stand-ins in the tests).
STAND_IN_FOR_DOMAIN = {
    "ct_scan": "pydicom_ct_small",
    "mri": "itk_brain_t1_slice",
    "chest_xray": "pydicomdata_cr_chest_rg1",
    "histology": "skimage_ihc",
    "gross": "itk_visiblewoman_head",
}


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def huge_png_bytes(width: int = 20_000, height: int = 10_000) -> bytes:
    """A valid-looking 1-bit PNG header announcing width x height pixels, with almost no data.

    Opening it reads only the header, so the bomb limit must trigger without allocating pixels.
    """
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressed = zlib.compress(row * 4)  # a few rows only: the file is truncated on purpose
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", compressed)
        + png_chunk(b"IEND", b"")
    )


def fixture_records(fixtures_dir: Path) -> list[dict]:
    return [
        json.loads(line) for line in (fixtures_dir / "images.jsonl").read_text().splitlines() if line.strip()
    ]


def demonstrations(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def fixture_images(fixtures_dir: Path) -> dict[str, Path]:
    """id -> path of the 22 real fixture images."""
    return {record["id"]: fixtures_dir / record["image"] for record in fixture_records(fixtures_dir)}


@pytest.fixture
def bad_corpus(
    tmp_path: Path, fixtures_dir: Path, fixture_images: dict[str, Path]
) -> tuple[Path, dict[str, str]]:
    """An image folder whose metadata.jsonl mixes good rows with every kind of bad image.

    Returns the folder and, for each row id, the expected error cause ("" for rows that must load).
    Captions are copied from the fixtures' real source text; bad rows have empty captions.
    """
    root = tmp_path / "corpus"
    images = root / "images"
    images.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    records_by_id = {record["id"]: record for record in fixture_records(fixtures_dir)}

    shutil.copy(fixture_images["skimage_ihc"], images / "ihc.png")
    shutil.copy(fixture_images["pydicom_ct_small"], outside / "secret.png")
    (images / "empty.png").write_bytes(b"")
    ihc_bytes = fixture_images["skimage_ihc"].read_bytes()
    (images / "truncated.png").write_bytes(ihc_bytes[: len(ihc_bytes) // 2])
    retina_bytes = fixture_images["skimage_retina"].read_bytes()
    (images / "truncated.jpg").write_bytes(retina_bytes[: len(retina_bytes) // 3])
    (images / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (images / "not_an_image.png").write_text("this file is plain text saved with a .png name\n")
    (images / "huge.png").write_bytes(huge_png_bytes())
    (images / "link_out.png").symlink_to(outside / "secret.png")

    # Real pixels in the modes that need care when converting to RGB.
    gray = np.asarray(Image.open(fixture_images["pydicom_ct_small"]).convert("L"), dtype=np.uint16)
    Image.fromarray(gray * 200 + 1000).save(images / "sixteen_bit.png")  # I;16 values 1000..52000
    palette = Image.open(fixture_images["itk_brain_pd_slice"]).convert("P")
    palette.info["transparency"] = 0
    palette.save(images / "palette_transparent.png", transparency=0)
    Image.open(fixture_images["skimage_retina"]).convert("CMYK").save(images / "cmyk.jpg")
    Image.open(fixture_images["skimage_microaneurysms"]).convert("LA").save(images / "gray_alpha.png")
    rgba = Image.open(fixture_images["skimage_ihc"]).convert("RGBA")
    rgba.putalpha(128)
    rgba.save(images / "rgba.png")

    rows = [
        ("good_ihc", "images/ihc.png", records_by_id["skimage_ihc"]["caption"], ""),
        ("sixteen_bit", "images/sixteen_bit.png", "", ""),
        ("palette", "images/palette_transparent.png", "", ""),
        ("cmyk", "images/cmyk.jpg", records_by_id["skimage_retina"]["caption"], ""),
        ("gray_alpha", "images/gray_alpha.png", records_by_id["skimage_microaneurysms"]["caption"], ""),
        ("rgba", "images/rgba.png", "", ""),
        ("missing", "images/does_not_exist.png", "", "image not found"),
        ("empty", "images/empty.png", "", "image file is empty"),
        ("truncated_png", "images/truncated.png", "", "image is truncated or corrupt"),
        ("truncated_jpg", "images/truncated.jpg", "", "image is truncated or corrupt"),
        ("corrupt", "images/corrupt.png", "", "image is truncated or corrupt"),
        ("not_an_image", "images/not_an_image.png", "", "not an image"),
        ("huge", "images/huge.png", "", "image too large"),
        ("dot_dot", "../outside/secret.png", "", "image path escapes the image root"),
        ("absolute_outside", str(outside / "secret.png"), "", "image path escapes the image root"),
        ("symlink_out", "images/link_out.png", "", "image path escapes the image root"),
    ]
    with open(root / "metadata.jsonl", "w", encoding="utf-8") as stream:
        for identifier, file_name, caption, _ in rows:
            stream.write(json.dumps({"id": identifier, "file_name": file_name, "caption": caption}) + "\n")
    return root, {identifier: cause for identifier, _, _, cause in rows}
