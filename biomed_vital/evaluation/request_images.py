"""Images in evaluation requests: a question's image file, read from a folder only when a request is sent.

The cache key holds the file's content hash instead of the encoded image, as the generator's does,
so a moved or re-encoded image folder does not invalidate the cache while changed pixels do.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from biomed_vital.generation.rows import image_key_part, image_part

__all__ = ["image_parts"]


def image_parts(
    image_root: str | None, image_file: str, *, max_side: int, detail: str
) -> tuple[dict[str, Any] | None, Callable[[], dict[str, Any]] | None, str]:
    """``(cache-key part, builder of the real part, problem)`` for one question's image.

    All ``None`` (and no problem) without an image root; a missing file is a problem that names it.

    Example:
        >>> image_parts(None, "x.jpg", max_side=768, detail="auto")
        (None, None, '')
    """
    if not image_root:
        return None, None, ""
    if not image_file:
        return None, None, "the question has no image file"
    from biomed_vital.data import image_fingerprint, load_image

    path = os.path.join(image_root, image_file)
    if not os.path.isfile(path):
        return None, None, f"image not found: {path}"
    key = image_key_part(image_fingerprint(path) or "", max_side=max_side, detail=detail)

    def build() -> dict[str, Any]:
        return image_part(load_image(image_file, image_root=image_root), max_side=max_side, detail=detail)

    return key, build, ""
