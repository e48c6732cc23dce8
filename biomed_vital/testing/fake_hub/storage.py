"""What the fake Hub stores: repos with their full commit history, and the uploaded LFS objects.

Every commit keeps a snapshot of the repo, so earlier revisions stay downloadable.

Example:
    >>> storage = HubStorage()
    >>> repo = storage.create("user/figures", "dataset", private=False)
    >>> storage.commit(repo, {"summary": "Add a file"}, [{"key": "file", "value": {"path": "a.txt", "content": "hi"}}]).title
    'Add a file'
    >>> sorted(repo.head.files)
    ['.gitattributes', 'a.txt']
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

__all__ = [
    "LFS_SIZE_THRESHOLD",
    "LFS_SUFFIXES",
    "REPO_TYPES",
    "Commit",
    "CommitError",
    "HubStorage",
    "Repo",
    "git_blob_sha",
]

REPO_TYPES = ("model", "dataset", "space")
# Files that go through the LFS protocol, as the real Hub decides from .gitattributes.
LFS_SUFFIXES = (
    ".parquet",
    ".arrow",
    ".safetensors",
    ".bin",
    ".pt",
    ".pth",
    ".ckpt",
    ".h5",
    ".onnx",
    ".msgpack",
    ".npy",
    ".npz",
    ".gz",
    ".zip",
    ".tar",
    ".png",
    ".jpg",
    ".jpeg",
    ".dcm",
)
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024


def git_blob_sha(content: bytes) -> str:
    """The git blob id of ``content`` (what the Hub reports as a regular file's ``oid`` and ``ETag``).

    Example:
        >>> git_blob_sha(b"")
        'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391'
    """
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def _now() -> str:
    return datetime.fromtimestamp(time.time(), UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class CommitError(Exception):
    """A commit the fake Hub refuses (answered with a 400)."""


@dataclass
class Commit:
    """One commit of a repo: its id, message and the full snapshot of the files after it."""

    oid: str
    title: str
    message: str
    date: str
    files: dict[str, bytes]  # the full snapshot after this commit
    added: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


@dataclass
class Repo:
    """A repo on the fake Hub: its commits (oldest first) and which of its paths are LFS files."""

    repo_id: str
    repo_type: str
    private: bool = False
    commits: list[Commit] = field(default_factory=list)
    lfs_paths: set[str] = field(default_factory=set)

    @property
    def head(self) -> Commit:
        """The latest commit (``main``)."""
        return self.commits[-1]

    def find_commit(self, revision: str) -> Commit | None:
        """The commit ``revision`` names (``main``, ``HEAD``, a full or 7+ character oid), or None."""
        revision = unquote(revision)
        if revision in ("main", "refs/heads/main", "HEAD"):
            return self.head
        for commit in self.commits:
            if commit.oid == revision or (len(revision) >= 7 and commit.oid.startswith(revision)):
                return commit
        return None


class HubStorage:
    """Every repo of the fake Hub, by ``(repo_type, repo_id)``, and the LFS objects by sha256."""

    def __init__(self) -> None:
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}

    def find(self, repo_type: str, repo_id: str) -> Repo | None:
        """The repo, or None when it does not exist."""
        return self.repos.get((repo_type, repo_id))

    def get(self, repo_id: str, repo_type: str) -> Repo:
        """The repo; a ``KeyError`` that lists the existing repos when it does not exist."""
        if repo_type not in REPO_TYPES:
            raise ValueError(f"repo_type must be one of {REPO_TYPES}, got {repo_type!r}")
        repo = self.find(repo_type, repo_id)
        if repo is None:
            known = ", ".join(f"{t}:{i}" for t, i in sorted(self.repos)) or "none"
            raise KeyError(f"no {repo_type} repo {repo_id!r} on the fake Hub (repos: {known})")
        return repo

    def create(self, repo_id: str, repo_type: str, private: bool) -> Repo:
        """A new repo with an initial commit holding ``.gitattributes`` (the LFS file patterns)."""
        repo = Repo(repo_id, repo_type, private)
        oid = hashlib.sha1(f"{repo_type}/{repo_id}/initial".encode()).hexdigest()
        attributes = "".join(f"*{suffix} filter=lfs diff=lfs merge=lfs -text\n" for suffix in LFS_SUFFIXES)
        files = {".gitattributes": attributes.encode()}
        repo.commits.append(Commit(oid, "initial commit", "", _now(), files, [".gitattributes"]))
        self.repos[(repo_type, repo_id)] = repo
        return repo

    def commit(self, repo: Repo, header: dict[str, Any], operations: list[dict[str, Any]]) -> Commit:
        """Apply a commit's operations (``file``, ``lfsFile``, ``deletedFile``, ``deletedFolder``) to ``repo``."""
        files = dict(repo.head.files)
        added, deleted = [], []
        for operation in operations:
            key, value = operation.get("key"), operation.get("value") or {}
            path = value.get("path", "")
            if key == "file":
                content = value.get("content", "")
                data = base64.b64decode(content) if value.get("encoding") == "base64" else content.encode()
                files[path] = data
                repo.lfs_paths.discard(path)
                added.append(path)
            elif key == "lfsFile":
                oid = value["oid"]
                if oid not in self.lfs_objects:
                    raise CommitError(f"LFS object {oid} for {path!r} was never uploaded")
                files[path] = self.lfs_objects[oid]
                repo.lfs_paths.add(path)
                added.append(path)
            elif key == "deletedFile":
                if files.pop(path, None) is not None:
                    deleted.append(path)
            elif key == "deletedFolder":
                prefix = path.rstrip("/") + "/"
                for existing in [p for p in files if p.startswith(prefix)]:
                    del files[existing]
                    deleted.append(existing)
        parent = repo.head.oid
        summary = str(header.get("summary") or "Upload files")
        description = str(header.get("description") or "")
        oid = hashlib.sha1(
            f"{parent}\n{summary}\n{len(repo.commits)}\n{sorted(added)}\n{sorted(deleted)}".encode()
        ).hexdigest()
        commit = Commit(oid, summary, description, _now(), files, added, deleted)
        repo.commits.append(commit)
        return commit
