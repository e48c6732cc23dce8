"""LFS on the fake Hub and its byte-range downloads, through the HTTP routes."""

from __future__ import annotations

import hashlib

import httpx2

from biomed_vital.testing.fake_hub.lfs import lfs_object_url
from biomed_vital.testing.fake_hub.routes import HubRoutes
from biomed_vital.testing.fake_hub.storage import HubStorage

CONTENT = b"0123456789 synthetic LFS object"
OID = hashlib.sha256(CONTENT).hexdigest()


def test_uploads_are_checked_against_their_sha256_and_stored_objects_need_no_upload():
    storage = HubStorage()
    routes = HubRoutes(storage, user="user")
    batch = {"operation": "upload", "objects": [{"oid": OID, "size": len(CONTENT)}]}
    url = "https://huggingface.co/datasets/user/repo.git/info/lfs/objects/batch"
    first = routes.handle(httpx2.Request("POST", url, json=batch)).json()
    assert first["objects"][0]["actions"]["upload"]["href"] == lfs_object_url(OID)
    wrong = routes.handle(httpx2.Request("PUT", lfs_object_url(OID), content=b"other bytes"))
    assert wrong.status_code == 400 and OID not in storage.lfs_objects
    assert routes.handle(httpx2.Request("PUT", lfs_object_url(OID), content=CONTENT)).status_code == 200
    again = routes.handle(httpx2.Request("POST", url, json=batch)).json()
    assert "actions" not in again["objects"][0]


def test_downloads_serve_byte_ranges_and_head_requests():
    storage = HubStorage()
    storage.lfs_objects[OID] = CONTENT
    routes = HubRoutes(storage, user="user")

    def get(method: str = "GET", byte_range: str | None = None) -> httpx2.Response:
        headers = {"range": byte_range} if byte_range else {}
        return routes.handle(httpx2.Request(method, lfs_object_url(OID), headers=headers))

    assert get().content == CONTENT
    assert get(byte_range="bytes=2-5").content == b"2345" and get(byte_range="bytes=2-5").status_code == 206
    assert get(byte_range="bytes=-7").content == CONTENT[-7:]
    assert (
        get(byte_range="bytes=20-").headers["content-range"] == f"bytes 20-{len(CONTENT) - 1}/{len(CONTENT)}"
    )
    head = get("HEAD")
    assert head.content == b"" and head.headers["content-length"] == str(len(CONTENT))
