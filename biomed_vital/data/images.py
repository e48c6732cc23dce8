"""Safe image loading: paths confined to a root, a decompression-bomb limit, every mode to RGB, DICOM.

Every image that enters the library goes through :func:`load_image` (or, for whole datasets,
:func:`check_image`), so the rules are the same everywhere:

* a relative or absolute path must resolve (symlinks followed) inside ``image_root``;
* an image whose header announces more than ``max_pixels`` pixels is refused before any pixel
  is decoded;
* the result is always RGB: 16-bit and float images are stretched min-max to 0-255, alpha is
  composited on a white (or black) background, palette and CMYK images are converted;
* DICOM files (``.dcm`` or the ``DICM`` magic) are decoded with pydicom: Modality LUT (rescale
  slope / intercept), then the VOI window from WindowCenter / WindowWidth when present, else
  min-max; MONOCHROME1 is inverted; multi-frame files give their middle frame.

Anything that goes wrong raises :class:`ImageLoadError`, whose message starts with the cause and
names the file, so a dataset loader can store it as a row error.
"""

from __future__ import annotations

import base64
import functools
import io
import os
import re
import struct
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: PIL's own default limit (about 89.5 megapixels), used unless a caller sets another one.
DEFAULT_MAX_IMAGE_PIXELS = 89_478_485

DICOM_SUFFIXES = (".dcm", ".dicom")
DICOM_INSTALL_HINT = 'install DICOM support with: pip install "biomed_vital[dicom]"'

# Modes that PIL converts to RGB the same way this module would, so a dataset may keep a plain
# file reference for them and let `datasets.Image(mode="RGB")` convert on access.
PASSTHROUGH_MODES = frozenset({"RGB", "L", "1", "CMYK", "YCbCr"})

# Magic numbers of common image formats: a file starting with one is a damaged image, not a non-image.
_IMAGE_SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*", b"BM", b"RIFF")

Background = Literal["white", "black"]
ImageSource = str | os.PathLike | bytes | bytearray | Image.Image | Mapping[str, Any]

_PIL_LIMIT_LOCK = threading.Lock()


class ImageLoadError(ValueError):
    """An image could not be loaded; the message names the cause and the file.

    Attributes:
        cause: a short, stable description such as ``"image not found"``, used to group errors.
        source: the file (as given) or ``"<bytes>"``.
        detail: what exactly happened and, where it helps, what to do.

    Example:
        >>> str(ImageLoadError("image not found", "images/x.png", "resolved under /data"))
        'image not found: images/x.png (resolved under /data)'
    """

    def __init__(self, cause: str, source: str, detail: str = "") -> None:
        self.cause = cause
        self.source = source
        self.detail = detail
        super().__init__(f"{cause}: {source}" + (f" ({detail})" if detail else ""))


def resolve_image_path(path: str | os.PathLike, image_root: str | os.PathLike | None) -> Path:
    """Resolve ``path`` under ``image_root`` and refuse anything that leaves it.

    Relative paths are joined to the root; absolute paths are accepted only when they lie inside
    it. Symlinks are followed before the check, so a link that points out of the root is refused.
    Without a root the path is taken as given.

    Example:
        >>> resolve_image_path("images/a.png", "/data")          # doctest: +SKIP
        PosixPath('/data/images/a.png')
        >>> resolve_image_path("../etc/passwd", "/data")         # doctest: +SKIP
        Traceback (most recent call last):
        ImageLoadError: image path escapes the image root: ../etc/passwd (root: /data)
    """
    given = os.fspath(path)
    if not given.strip():
        raise ImageLoadError("no image", "<empty path>", "the row names no image file")
    if image_root is None:
        candidate = Path(given).expanduser()
        if not candidate.exists():
            raise ImageLoadError("image not found", given)
        return candidate
    root = _resolved_root(os.fspath(image_root))
    # os.path is used instead of pathlib here: this runs once per row of large datasets.
    joined = given if os.path.isabs(given) else os.path.join(root, given)
    resolved = os.path.realpath(joined)
    if not _inside(resolved, root):
        reason = "symlink points outside the root" if os.path.islink(joined) else f"root: {root}"
        raise ImageLoadError(
            "image path escapes the image root",
            given,
            f"{reason}; if the file is trusted, pass an image_root that contains it",
        )
    if not os.path.isfile(resolved):
        if os.path.isdir(resolved):
            raise ImageLoadError("not an image", given, "it is a folder, not a file")
        raise ImageLoadError("image not found", given, f"resolved under {root}")
    return Path(resolved)


def confine_image_path(path: str | os.PathLike, allowed_roots: Sequence[str | os.PathLike]) -> Path:
    """Resolve a file reference read from a dataset, refusing it unless it lies inside one of ``allowed_roots``.

    A Dataset, a ``save_to_disk`` folder or a Hub dataset can name any file on this machine (an absolute
    path, or ``../../`` out of wherever it is read), so its file references are read only inside folders
    the user named. A relative path resolves against the first root; an absolute one must lie inside one
    of them (symlinks followed). With no root, every file reference is refused.

    Example:
        >>> confine_image_path("/data/pmc/a.png", ["/data/pmc"])   # doctest: +SKIP
        PosixPath('/data/pmc/a.png')
        >>> confine_image_path("/home/me/photo.png", [])           # doctest: +SKIP
        Traceback (most recent call last):
        ImageLoadError: image file reference outside the allowed image folders: /home/me/photo.png (...)
    """
    given = os.fspath(path)
    if not given.strip():
        raise ImageLoadError("no image", "<empty path>", "the row names no image file")
    roots = [_resolved_root(os.fspath(root)) for root in allowed_roots]
    if roots and not os.path.isabs(os.path.expanduser(given)):
        return resolve_image_path(given, roots[0])
    resolved = os.path.realpath(os.path.expanduser(given))
    for root in roots:
        if _inside(resolved, root):
            return resolve_image_path(resolved, root)
    allowed = ", ".join(roots) if roots else "none given"
    raise ImageLoadError(
        "image file reference outside the allowed image folders",
        given,
        f"allowed: {allowed}; a Dataset, save_to_disk folder or Hub dataset can name any file on this machine, "
        "so its file references are read only inside image_root / allowed_image_roots: name the folder that "
        "holds its images if you trust it",
    )


def _inside(resolved: str, root: str) -> bool:
    """Whether the real path ``resolved`` is ``root`` or lies under it (both already resolved)."""
    return resolved == root or resolved.startswith(root.rstrip(os.sep) + os.sep)


@functools.lru_cache(maxsize=64)
def _resolved_root(image_root: str) -> str:
    return os.path.realpath(os.path.expanduser(image_root))


def is_dicom(header: bytes, name: str = "") -> bool:
    """Whether a file is DICOM: the ``DICM`` magic at byte 128, or a DICOM file name on content that no
    image format claims (old DICOM files have no preamble). Content that starts like an image format wins
    over the name, because a Dataset can store a DICOM file's converted PNG under the original ``.dcm`` path.

    Example:
        >>> is_dicom(b"\\0" * 128 + b"DICM")
        True
        >>> is_dicom(b"\\x89PNG\\r\\n\\x1a\\n", "scan.dcm")
        False
    """
    if header[128:132] == b"DICM":
        return True
    return name.lower().endswith(DICOM_SUFFIXES) and not header.startswith(_IMAGE_SIGNATURES)


@contextmanager
def _pil_pixel_limit(max_pixels: int | None) -> Iterator[None]:
    """Let PIL open images up to our own limit; this module performs the bomb check itself."""
    pil_hard_limit = (Image.MAX_IMAGE_PIXELS or 0) * 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        if Image.MAX_IMAGE_PIXELS is not None and (max_pixels is None or max_pixels > pil_hard_limit):
            with _PIL_LIMIT_LOCK:
                previous, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
                try:
                    yield
                finally:
                    Image.MAX_IMAGE_PIXELS = previous
        else:
            yield


def _check_pixels(width: int, height: int, max_pixels: int | None, name: str) -> None:
    if max_pixels is not None and width * height > max_pixels:
        raise ImageLoadError(
            "image too large",
            name,
            f"{width}x{height} = {width * height:,} pixels exceeds the limit of {max_pixels:,}; "
            "raise max_image_pixels if the file is trusted",
        )


def _bomb_error(error: Exception, name: str, max_pixels: int | None) -> ImageLoadError:
    """Our message for PIL's own refusal (it triggers first for sizes above twice its limit)."""
    found = re.search(r"\((\d+) pixels\)", str(error))
    size = f"{int(found.group(1)):,} pixels" if found else "its size"
    limit = f"{max_pixels:,}" if max_pixels is not None else "PIL's own"
    return ImageLoadError(
        "image too large",
        name,
        f"{size} exceeds the limit of {limit}; raise max_image_pixels if the file is trusted",
    )


def _normalise_to_uint8(array: np.ndarray) -> np.ndarray:
    """Stretch any numeric array min-max to 0-255 (a constant image stays at its clipped value)."""
    values = array.astype(np.float64, copy=False)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.zeros(array.shape, dtype=np.uint8)
    low, high = float(finite.min()), float(finite.max())
    if high <= low:
        return np.full(array.shape, np.clip(low, 0, 255), dtype=np.uint8)
    scaled = (np.nan_to_num(values, nan=low) - low) * (255.0 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def to_rgb(image: Image.Image, *, background: Background = "white") -> Image.Image:
    """Convert any PIL mode to RGB sensibly.

    16-bit, 32-bit integer and float images are stretched min-max to 0-255; images with alpha
    (RGBA, LA, PA, palette with transparency) are composited on ``background``; 1, L, P, CMYK and
    YCbCr use PIL's conversion.

    Example:
        >>> to_rgb(Image.new("I;16", (4, 4), 4000)).mode
        'RGB'
    """
    mode = image.mode
    if mode == "RGB":
        return image
    if mode == "P" and "transparency" in image.info:
        image, mode = image.convert("RGBA"), "RGBA"
    if mode in {"RGBA", "LA", "PA", "RGBa", "La"}:
        rgba = image.convert("RGBA")
        fill = (255, 255, 255, 255) if background == "white" else (0, 0, 0, 255)
        return Image.alpha_composite(Image.new("RGBA", rgba.size, fill), rgba).convert("RGB")
    if mode.startswith("I") or mode == "F":
        gray = _normalise_to_uint8(np.asarray(image))
        return Image.fromarray(gray, mode="L").convert("RGB")
    return image.convert("RGB")


def _first_number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        value = value[0] if len(value) else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _apply_window(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """DICOM PS3.3 C.11.2.1.2 linear VOI window to 0-255."""
    width = max(width, 1.0)
    low = center - 0.5 - (width - 1) / 2
    scaled = ((values - (center - 0.5)) / (width - 1 if width > 1 else 1) + 0.5) * 255.0
    scaled = np.where(values <= low, 0.0, scaled)
    scaled = np.where(values > center - 0.5 + (width - 1) / 2, 255.0, scaled)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _dicom_to_rgb(stream: IO[bytes], name: str, max_pixels: int | None) -> Image.Image:
    try:
        import pydicom
    except ImportError:
        raise ImageLoadError("DICOM support not installed", name, DICOM_INSTALL_HINT) from None
    try:
        from pydicom import pixels as lut_functions
    except ImportError:  # pydicom 2.x
        from pydicom.pixel_data_handlers import util as lut_functions  # type: ignore[no-redef]
    apply_color_lut = lut_functions.apply_color_lut
    apply_modality_lut = lut_functions.apply_modality_lut
    apply_voi_lut = lut_functions.apply_voi_lut

    try:
        dataset = pydicom.dcmread(stream, force=True)
    except Exception as error:  # pydicom raises many types for bad files
        raise ImageLoadError("DICOM file unreadable", name, f"{type(error).__name__}: {error}") from None
    if "PixelData" not in dataset:
        raise ImageLoadError(
            "DICOM file has no pixel data", name, f"SOP class {dataset.get('SOPClassUID', '?')}"
        )
    _check_pixels(int(dataset.get("Columns", 0) or 0), int(dataset.get("Rows", 0) or 0), max_pixels, name)
    try:
        pixels = dataset.pixel_array
    except Exception as error:
        message = f"{type(error).__name__}: {error}"
        if "plugin" in message.lower() or "handler" in message.lower():
            message += f"; {DICOM_INSTALL_HINT}"
        raise ImageLoadError("DICOM pixel data could not be decoded", name, message) from None

    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    samples = int(dataset.get("SamplesPerPixel", 1) or 1)
    if frames > 1 and pixels.ndim == (4 if samples > 1 else 3):
        pixels = pixels[frames // 2]
    if photometric == "PALETTE COLOR":
        rgb = np.asarray(apply_color_lut(pixels, dataset))
        rgb = rgb if rgb.dtype == np.uint8 else _normalise_to_uint8(rgb)
        return Image.fromarray(rgb, mode="RGB")
    if samples > 1:  # pydicom already converts YBR to RGB
        rgb = pixels if pixels.dtype == np.uint8 else _normalise_to_uint8(pixels)
        return Image.fromarray(np.ascontiguousarray(rgb[..., :3]), mode="RGB")

    values = np.asarray(apply_modality_lut(pixels, dataset), dtype=np.float64)
    center = _first_number(dataset.get("WindowCenter"))
    width = _first_number(dataset.get("WindowWidth"))
    if center is not None and width is not None and width > 0:
        gray = _apply_window(values, center, width)
    elif "VOILUTSequence" in dataset:
        gray = _normalise_to_uint8(np.asarray(apply_voi_lut(values, dataset)))
    else:
        gray = _normalise_to_uint8(values)
    if photometric == "MONOCHROME1":
        gray = 255 - gray
    return Image.fromarray(np.ascontiguousarray(gray), mode="L").convert("RGB")


def _open_stream(source: ImageSource, image_root: str | os.PathLike | None) -> tuple[IO[bytes], str]:
    """A readable binary stream for ``source`` and the name to report in errors."""
    if isinstance(source, Mapping):  # the {"bytes", "path"} storage of datasets.Image
        if source.get("bytes"):
            return io.BytesIO(source["bytes"]), str(source.get("path") or "<bytes>")
        if source.get("path"):
            return _open_stream(source["path"], image_root)
        raise ImageLoadError("no image", "<empty image record>", "neither bytes nor path is set")
    if isinstance(source, bytes | bytearray):
        return io.BytesIO(bytes(source)), "<bytes>"
    if isinstance(source, Image.Image):
        raise TypeError("_open_stream takes files and bytes; PIL images are converted directly")
    path = resolve_image_path(source, image_root)
    name = os.fspath(source)
    try:
        return open(path, "rb"), str(name)
    except OSError as error:
        raise ImageLoadError("image unreadable", str(name), error.strerror or str(error)) from None


def _read_image(
    stream: IO[bytes],
    name: str,
    *,
    max_pixels: int | None,
    background: Background,
    pixels_needed: bool = True,
    keep_greyscale: bool = False,
) -> tuple[Image.Image | None, bool]:
    """Read ``stream``; return the RGB image and whether it differs from what a plain PIL open gives.

    With ``keep_greyscale=True`` an 8-bit greyscale ("L") image is returned as it is instead of as RGB.

    With ``pixels_needed=False`` a PNG or JPEG that needs no conversion is only verified (PNG: every
    chunk's CRC through to IEND; JPEG: all scan data, decoded at 1/8 scale) and ``None`` is returned
    for the image, which is how datasets of many figures are checked without full decoding.
    """
    header = stream.read(132)
    stream.seek(0)
    if not header:
        raise ImageLoadError("image file is empty", name, "0 bytes")
    if is_dicom(header, name):
        return _dicom_to_rgb(stream, name, max_pixels), True
    with _pil_pixel_limit(max_pixels):
        try:
            image = Image.open(stream)
        except Image.DecompressionBombError as error:
            raise _bomb_error(error, name, max_pixels) from None
        except UnidentifiedImageError:
            if header.startswith(_IMAGE_SIGNATURES):
                raise ImageLoadError(
                    "image is truncated or corrupt", name, "it starts like an image file but cannot be parsed"
                ) from None
            raise ImageLoadError("not an image", name, "no image format recognises its content") from None
        except (OSError, SyntaxError, ValueError) as error:
            raise ImageLoadError("image is truncated or corrupt", name, str(error)) from None
        _check_pixels(image.width, image.height, max_pixels, name)
        opaque_palette = image.mode == "P" and "transparency" not in image.info
        # EXIF rotation does not count: datasets.Image applies it when it decodes a file.
        needs_conversion = not (image.mode in PASSTHROUGH_MODES or opaque_palette)
        try:
            if not pixels_needed and not needs_conversion and image.format in {"PNG", "JPEG"}:
                if image.format == "PNG":
                    image.verify()  # must come straight after open
                else:
                    image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
                    image.load()
                return None, False
            image.load()
        except Image.DecompressionBombError as error:
            raise _bomb_error(error, name, max_pixels) from None
        except (OSError, SyntaxError, ValueError, EOFError, struct.error) as error:
            raise ImageLoadError(
                "image is truncated or corrupt", name, str(error) or type(error).__name__
            ) from None
        try:
            rotated = image.getexif().get(0x0112, 1) not in (1, None)
        except (OSError, SyntaxError, ValueError, struct.error):
            rotated = False  # unreadable EXIF: keep the pixels as stored
    decoded: Image.Image = ImageOps.exif_transpose(image) if rotated else image
    if keep_greyscale and decoded.mode == "L":
        return decoded, needs_conversion
    return to_rgb(decoded, background=background), needs_conversion


def load_image(
    path_or_bytes: ImageSource,
    *,
    image_root: str | os.PathLike | None = None,
    max_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS,
    background: Background = "white",
    keep_greyscale: bool = False,
) -> Image.Image:
    """Load an image file, bytes, ``datasets`` image record or PIL image as an RGB PIL image.

    Args:
        path_or_bytes: a path (resolved under ``image_root`` when given), raw bytes, a
            ``{"bytes", "path"}`` record as stored by ``datasets.Image(decode=False)``, or a PIL image.
        image_root: folder that relative paths resolve against; paths leaving it are refused.
        max_pixels: refuse images whose header announces more pixels (``None`` disables the check).
        background: colour that transparent pixels are composited on.
        keep_greyscale: return an 8-bit greyscale ("L") image as it is; its RGB conversion only repeats the
            band, and a consumer that resizes first (the selector's preprocessing) does a third of the work.

    Raises:
        ImageLoadError: the file is missing, outside the root, empty, truncated, corrupt, not an
            image, too large, or a DICOM file that cannot be decoded. The message names the file.

    Example:
        >>> from biomed_vital.data import load_image
        >>> image = load_image("images/ct.png", image_root="figures/")   # doctest: +SKIP
        >>> image.mode  # doctest: +SKIP
        'RGB'
    """
    if path_or_bytes is None:
        raise ImageLoadError("no image", "<none>", "the row has no image")
    if isinstance(path_or_bytes, Image.Image):
        _check_pixels(path_or_bytes.width, path_or_bytes.height, max_pixels, "<PIL image>")
        if keep_greyscale and path_or_bytes.mode == "L":
            return path_or_bytes
        return to_rgb(path_or_bytes, background=background)
    stream, name = _open_stream(path_or_bytes, image_root)
    with stream:
        image, _ = _read_image(
            stream, name, max_pixels=max_pixels, background=background, keep_greyscale=keep_greyscale
        )
    assert image is not None  # pixels_needed=True always decodes
    return image


def check_image(
    path: str | os.PathLike,
    *,
    image_root: str | os.PathLike | None = None,
    max_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS,
    background: Background = "white",
) -> tuple[Path, bytes | None]:
    """Validate one image file for a dataset: resolve it safely and decode it once.

    Returns the resolved path and, when a plain PIL open would not give the same RGB image
    (DICOM, 16-bit, alpha, EXIF rotation, ...), the converted image as PNG bytes to store instead
    of the file reference. Raises :class:`ImageLoadError` like :func:`load_image`.

    Example:
        >>> resolved, converted = check_image("dicom/CT_small.dcm", image_root="fixtures/")  # doctest: +SKIP
        >>> converted[:4]  # doctest: +SKIP
        b'\\x89PNG'
    """
    resolved = resolve_image_path(path, image_root)
    with open(resolved, "rb") as stream:
        converted = converted_png(stream, os.fspath(path), max_pixels=max_pixels, background=background)
    return resolved, converted


def converted_png(
    stream: IO[bytes], name: str, *, max_pixels: int | None, background: Background = "white"
) -> bytes | None:
    """Validate an open image; return its RGB rendering as PNG bytes, or None when a plain open suffices.

    Plain PNG / JPEG files are verified without a full decode. Raises :class:`ImageLoadError`.

    Example:
        >>> with open("scan.dcm", "rb") as stream:                                  # doctest: +SKIP
        ...     converted_png(stream, "scan.dcm", max_pixels=DEFAULT_MAX_IMAGE_PIXELS)[:4]
        b'\x89PNG'
    """
    image, needs_conversion = _read_image(
        stream, name, max_pixels=max_pixels, background=background, pixels_needed=False
    )
    if not needs_conversion or image is None:
        return None
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def image_fingerprint(value: Any) -> str | None:
    """sha256 of an image's content as a Dataset stores it, without decoding it.

    Accepts a ``datasets`` image record (``{"bytes", "path"}``), raw bytes, a file path or a
    decoded PIL image; ``None`` for a missing image. The same image stored twice gets the same
    fingerprint, so request caches and feature caches can key on it.

    Example:
        >>> image_fingerprint({"bytes": b"abc", "path": None})[:12]
        'ba7816bf8f01'
    """
    import hashlib

    if value is None:
        return None
    if isinstance(value, Mapping):
        if value.get("bytes"):
            return hashlib.sha256(value["bytes"]).hexdigest()
        value = value.get("path")
        if not value:
            return None
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    if isinstance(value, str | os.PathLike):
        with open(value, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    if isinstance(value, Image.Image):
        return hashlib.sha256(value.tobytes() + repr((value.mode, value.size)).encode()).hexdigest()
    raise TypeError(f"cannot read an image from a {type(value).__name__}")


def image_to_data_url(
    image: Image.Image,
    *,
    max_side: int | None = 1024,
    format: Literal["JPEG", "PNG"] = "JPEG",
    quality: int = 90,
) -> str:
    """Encode an image as a ``data:`` URL for an OpenAI-compatible vision request.

    The image is converted to RGB and, when its longer side exceeds ``max_side``, shrunk keeping
    its aspect ratio (fewer image tokens, smaller requests).

    Example:
        >>> url = image_to_data_url(Image.new("L", (2048, 1024)), max_side=512)
        >>> url.startswith("data:image/jpeg;base64,")
        True
    """
    fmt = format.upper()
    if fmt not in {"JPEG", "PNG"}:
        raise ValueError(f"format must be 'JPEG' or 'PNG', got {format!r}")
    rgb = to_rgb(image)
    if max_side is not None and max(rgb.size) > max_side:
        scale = max_side / max(rgb.size)
        size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
        rgb = rgb.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if fmt == "JPEG":
        rgb.save(buffer, format="JPEG", quality=quality)
    else:
        rgb.save(buffer, format="PNG")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/{fmt.lower()};base64,{encoded}"
