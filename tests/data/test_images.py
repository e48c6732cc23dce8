"""Safe image loading: root confinement, bomb limit, every mode to RGB, DICOM."""

from __future__ import annotations

import base64
import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from biomed_vital.data import ImageLoadError, image_to_data_url, load_image
from biomed_vital.data.images import check_image, to_rgb
from tests.data.conftest import huge_png_bytes

pytestmark = pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")


def test_fixture_images_load_as_rgb_with_their_sizes(fixtures_dir, fixture_images):
    from tests.data.conftest import fixture_records

    for record in fixture_records(fixtures_dir):
        image = load_image(record["image"], image_root=fixtures_dir)
        assert image.mode == "RGB"
        assert list(image.size) == record["png_size"], record["id"]


@pytest.mark.dicom
@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm"])
def test_dicom_fixtures_load_with_a_sensible_window(fixtures_dir, name):
    pytest.importorskip("pydicom")
    image = load_image(fixtures_dir / "dicom" / name)
    pixels = np.asarray(image)
    assert image.mode == "RGB"
    assert pixels.shape[2] == 3
    # a usable window spreads the values: neither a flat image nor one saturated at the ends
    assert pixels.std() > 10
    assert np.percentile(pixels, 99) - np.percentile(pixels, 1) > 50
    assert (pixels == 0).mean() < 0.9 and (pixels == 255).mean() < 0.5


@pytest.mark.dicom
def test_dicom_is_recognised_by_magic_bytes_without_suffix(fixtures_dir, tmp_path):
    pytest.importorskip("pydicom")
    renamed = tmp_path / "scan.bin"
    shutil.copy(fixtures_dir / "dicom" / "MR_small.dcm", renamed)
    from_file = load_image(renamed)
    from_bytes = load_image(renamed.read_bytes())
    assert from_file.size == (64, 64)
    assert np.array_equal(np.asarray(from_file), np.asarray(from_bytes))


@pytest.mark.dicom
def test_dicom_window_follows_the_header(fixtures_dir):
    """MR_small.dcm carries WindowCenter 600 / WindowWidth 1600: values below 600-800 are black."""
    pydicom = pytest.importorskip("pydicom")
    header = pydicom.dcmread(fixtures_dir / "dicom" / "MR_small.dcm")
    raw = header.pixel_array.astype(float)
    pixels = np.asarray(load_image(fixtures_dir / "dicom" / "MR_small.dcm"))[..., 0]
    assert pixels[raw <= 600 - 0.5 - 1599 / 2].max(initial=0) == 0
    inside = (raw > 0) & (raw < 1300)
    expected = np.clip(((raw[inside] - 599.5) / 1599 + 0.5) * 255, 0, 255)
    assert np.abs(pixels[inside] - expected).max() <= 1


def test_mode_conversions_give_rgb_with_real_content(fixture_images):
    gray = np.asarray(Image.open(fixture_images["pydicom_ct_small"]).convert("L"), dtype=np.uint16)
    sixteen = to_rgb(Image.fromarray(gray * 200 + 1000))
    assert sixteen.mode == "RGB"
    array = np.asarray(sixteen)
    assert array.min() == 0 and array.max() == 255  # stretched, not clipped to white

    as_float = Image.fromarray(gray.astype(np.float32) / 255.0, mode="F")
    assert np.asarray(to_rgb(as_float)).max() == 255

    rgba = Image.open(fixture_images["skimage_ihc"]).convert("RGBA")
    rgba.putalpha(0)
    assert np.asarray(to_rgb(rgba)).min() == 255  # fully transparent on white
    assert np.asarray(to_rgb(rgba, background="black")).max() == 0

    for mode in ("1", "L", "P", "CMYK", "YCbCr", "LA", "PA", "I"):
        converted = to_rgb(Image.open(fixture_images["skimage_retina"]).convert(mode))
        assert converted.mode == "RGB", mode
        assert np.asarray(converted).std() > 5, mode


def test_palette_with_transparency_is_composited(fixture_images):
    palette = Image.open(fixture_images["itk_brain_pd_slice"]).convert("P")
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG", transparency=int(np.asarray(palette)[0, 0]))
    image = load_image(buffer.getvalue())
    assert image.mode == "RGB"
    assert tuple(np.asarray(image)[0, 0]) == (255, 255, 255)


def test_bomb_limit_refuses_a_200_megapixel_header_without_decoding():
    with pytest.raises(ImageLoadError, match="image too large") as caught:
        load_image(huge_png_bytes())
    assert "200,000,000" in str(caught.value)
    assert caught.value.cause == "image too large"


def test_bomb_limit_is_configurable(fixture_images):
    path = fixture_images["skimage_ihc"]
    with pytest.raises(ImageLoadError, match="exceeds the limit of 1,000"):
        load_image(path, max_pixels=1000)
    assert load_image(path, max_pixels=None).size == (512, 512)


def test_our_limit_governs_even_above_pils_own(fixture_images, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # PIL alone would refuse a 512x512 image
    assert load_image(fixture_images["skimage_ihc"], max_pixels=10**6).size == (512, 512)
    assert Image.MAX_IMAGE_PIXELS == 1000  # restored afterwards


def test_paths_escaping_the_root_are_refused(tmp_path, fixture_images):
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside.png"
    shutil.copy(fixture_images["skimage_cell"], outside)
    shutil.copy(fixture_images["skimage_cell"], root / "inside.png")
    (root / "link.png").symlink_to(outside)
    (root / "sub").mkdir()

    assert load_image("inside.png", image_root=root).size == (550, 660)
    assert load_image(root / "inside.png", image_root=root).size == (550, 660)  # absolute, but inside
    assert load_image("sub/../inside.png", image_root=root).size == (550, 660)
    for escaping in ("../outside.png", str(outside), "link.png", "sub/../../outside.png"):
        with pytest.raises(ImageLoadError, match="escapes the image root") as caught:
            load_image(escaping, image_root=root)
        assert escaping in str(caught.value)
    with pytest.raises(ImageLoadError, match="symlink points outside"):
        load_image("link.png", image_root=root)


def test_missing_empty_and_non_image_files_name_the_file(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.png").write_text("plain text")
    cases = {
        "missing.png": "image not found: missing.png (resolved under",
        "empty.png": "image file is empty: empty.png",
        "notes.png": "not an image: notes.png",
    }
    for name, message in cases.items():
        with pytest.raises(ImageLoadError) as caught:
            load_image(name, image_root=tmp_path)
        assert message in str(caught.value)
        assert isinstance(caught.value, ValueError)


def test_truncated_files_raise_instead_of_returning_partial_images(fixture_images):
    data = fixture_images["skimage_retina"].read_bytes()
    with pytest.raises(ImageLoadError, match="truncated or corrupt"):
        load_image(data[: len(data) // 2])


def test_missing_pydicom_gives_an_install_hint(fixtures_dir, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def without_pydicom(name, *args, **kwargs):
        if name == "pydicom" or name.startswith("pydicom."):
            raise ImportError("No module named 'pydicom'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_pydicom)
    with pytest.raises(ImageLoadError, match=r'pip install "biomed_vital\[dicom\]"'):
        load_image(fixtures_dir / "dicom" / "CT_small.dcm")


def test_check_image_keeps_plain_files_as_references_and_converts_the_rest(fixtures_dir, fixture_images):
    resolved, converted = check_image("images/skimage_ihc.png", image_root=fixtures_dir)
    assert converted is None and resolved == fixture_images["skimage_ihc"].resolve()
    _, converted = check_image("dicom/CT_small.dcm", image_root=fixtures_dir)
    assert converted is not None and Image.open(io.BytesIO(converted)).mode == "RGB"


def test_image_to_data_url_shrinks_and_encodes(fixture_images):
    image = Image.open(fixture_images["skimage_retina"])
    url = image_to_data_url(image, max_side=256)
    assert url.startswith("data:image/jpeg;base64,")
    decoded = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert decoded.size == (256, 256) and decoded.mode == "RGB"
    png = image_to_data_url(Image.open(fixture_images["skimage_microaneurysms"]), format="PNG", max_side=None)
    assert Image.open(io.BytesIO(base64.b64decode(png.split(",", 1)[1]))).size == (102, 102)
    with pytest.raises(ValueError, match="format"):
        image_to_data_url(image, format="GIF")  # type: ignore[arg-type]


def test_data_url_size_is_readable_by_the_token_estimator(fixture_images):
    from biomed_vital.engine.tokens import image_size_from_data_url

    url = image_to_data_url(Image.open(fixture_images["skimage_ihc"]), max_side=128)
    assert image_size_from_data_url(url) == (128, 128)


def test_image_records_and_pil_images_are_accepted(fixture_images):
    path = fixture_images["skimage_cell"]
    assert load_image({"bytes": path.read_bytes(), "path": "cell.png"}).size == (550, 660)
    assert load_image({"bytes": None, "path": os.fspath(path)}).size == (550, 660)
    assert load_image(Image.open(path)).mode == "RGB"
    assert Path(path).exists()


@pytest.mark.dicom
def test_monochrome1_is_inverted(fixtures_dir, tmp_path):
    pydicom = pytest.importorskip("pydicom")
    header = pydicom.dcmread(fixtures_dir / "dicom" / "MR_small.dcm")
    header.PhotometricInterpretation = "MONOCHROME1"
    header.save_as(tmp_path / "mono1.dcm")
    normal = np.asarray(load_image(fixtures_dir / "dicom" / "MR_small.dcm")).astype(int)
    inverted = np.asarray(load_image(tmp_path / "mono1.dcm")).astype(int)
    assert np.array_equal(inverted, 255 - normal)


@pytest.mark.dicom
def test_multi_frame_dicom_gives_the_middle_frame_and_palette_uses_its_lut():
    pydicom = pytest.importorskip("pydicom")
    from pydicom.data import get_testdata_file

    multi_frame = get_testdata_file("examples_ybr_color.dcm")  # 30 frames, YBR_FULL_422, inside the wheel
    frames = pydicom.dcmread(multi_frame).pixel_array
    image = np.asarray(load_image(multi_frame))
    assert image.shape == frames.shape[1:]
    assert np.array_equal(image, frames[15])

    palette = get_testdata_file("examples_palette.dcm")
    rendered = np.asarray(load_image(palette))
    assert rendered.shape[2] == 3
    assert not np.array_equal(rendered[..., 0], rendered[..., 2])  # colours from the LUT, not grey


def test_exif_rotation_is_applied(fixture_images):
    image = Image.open(fixture_images["skimage_cell"]).convert("RGB")  # 550 wide, 660 high
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    assert load_image(buffer.getvalue()).size == (660, 550)


@pytest.mark.dicom
@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("test-SR.dcm", "DICOM file has no pixel data"),  # a structured report: text only
        ("MR_truncated.dcm", "DICOM pixel data could not be decoded"),
    ],
)
def test_dicom_files_without_usable_pixels_raise_a_named_error(name, cause):
    pytest.importorskip("pydicom")
    from pydicom.data import get_testdata_file

    with pytest.raises(ImageLoadError, match=cause) as caught:
        load_image(get_testdata_file(name))
    assert name in str(caught.value)


def test_a_converted_dicom_stored_under_its_dcm_path_decodes_as_the_stored_png(fixtures_dir):
    # load_figures stores a DICOM file's converted PNG as bytes and keeps the original .dcm path;
    # the one decoder used at generation, training and selection time must read the bytes as PNG.
    path = fixtures_dir / "dicom" / "CT_small.dcm"
    _, converted = check_image(path)
    assert converted is not None and converted.startswith(b"\x89PNG")
    stored = {"bytes": converted, "path": str(path)}
    image = load_image(stored)
    assert image.mode == "RGB"
    assert np.array_equal(np.asarray(image), np.asarray(load_image(path)))


def test_keep_greyscale_returns_a_grey_image_as_it_is_and_converts_the_rest():
    rng = np.random.default_rng(0)
    grey = Image.fromarray(rng.integers(0, 256, (20, 30), dtype=np.uint8), mode="L")
    buffer = io.BytesIO()
    grey.save(buffer, format="PNG")
    kept = load_image(buffer.getvalue(), keep_greyscale=True)
    assert kept.mode == "L" and np.array_equal(np.asarray(kept), np.asarray(grey))
    assert load_image(buffer.getvalue()).mode == "RGB"  # the default stays RGB
    assert load_image(grey, keep_greyscale=True).mode == "L"
    with_alpha = Image.new("LA", (4, 4), (10, 0))  # transparent grey: composited, so converted
    assert load_image(with_alpha, keep_greyscale=True).mode == "RGB"
