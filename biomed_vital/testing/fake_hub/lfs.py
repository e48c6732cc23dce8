"""Git LFS on the fake Hub: which files go through LFS, the batch API, and the fake storage host that
receives uploads (checked against their sha256) and serves downloads.

Example:
    >>> upload_mode("data/train-00000-of-00001.parquet", 1024), upload_mode("README.md", 1024)
    ('lfs', 'regular')
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx2

from biomed_vital.testing.fake_hub.responses import content_response, json_response
from biomed_vital.testing.fake_hub.storage import LFS_SIZE_THRESHOLD, LFS_SUFFIXES, HubStorage

__all__ = ["LFS_HOST", "lfs_batch", "lfs_object_url", "serve_lfs_storage", "upload_mode"]

LFS_HOST = "fake-hub-lfs.local"


def upload_mode(path: str, size: int) -> str:
    """``"lfs"`` for binary files (by suffix) and files over 10 MB, else ``"regular"``, as the Hub's preupload answers."""
    return "lfs" if path.lower().endswith(LFS_SUFFIXES) or size > LFS_SIZE_THRESHOLD else "regular"


def lfs_object_url(oid: str) -> str:
    """Where the LFS object with sha256 ``oid`` is uploaded and downloaded."""
    return f"https://{LFS_HOST}/objects/{oid}"


def lfs_batch(storage: HubStorage, body: dict[str, Any]) -> httpx2.Response:
    """The LFS batch API: an upload action for each object not stored yet."""
    objects = []
    for obj in body.get("objects", []):
        entry: dict[str, Any] = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
        if obj["oid"] not in storage.lfs_objects:  # already stored objects need no upload
            entry["actions"] = {"upload": {"href": lfs_object_url(obj["oid"])}}
        objects.append(entry)
    return json_response(
        200, {"transfer": "basic", "objects": objects}, {"content-type": "application/vnd.git-lfs+json"}
    )


def serve_lfs_storage(storage: HubStorage, request: Any, method: str, path: str) -> httpx2.Response:
    """The storage host: PUT stores an object whose bytes match its sha256; GET/HEAD serve it."""
    oid = path.rsplit("/", 1)[-1]
    if method == "PUT":
        content = request.read()
        if hashlib.sha256(content).hexdigest() != oid:
            return httpx2.Response(400, text=f"uploaded bytes do not match sha256 {oid}")
        storage.lfs_objects[oid] = content
        return httpx2.Response(200)
    if method in ("GET", "HEAD") and oid in storage.lfs_objects:
        content = storage.lfs_objects[oid]
        return content_response(request, content, {"etag": f'"{oid}"', "accept-ranges": "bytes"})
    return httpx2.Response(404, text="no such object")
