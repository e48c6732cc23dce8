"""A fake Hugging Face Hub at the HTTP layer, for pushes and downloads in offline tests.

``huggingface_hub`` sends every request through one ``httpx2`` client made by a factory;
:class:`FakeHub` installs a factory whose transport answers in memory. The real code of
``Dataset.push_to_hub``, ``PreTrainedModel.push_to_hub``, ``HfApi.upload_folder``,
``hf_hub_download``, ``snapshot_download``, ``from_pretrained("user/repo")`` and
``load_dataset("user/repo")`` then runs end to end without a socket.

Implemented endpoints: repo create (409 when it exists, which ``exist_ok`` handles), repo info
(also at a revision), whoami, refs, commits, preupload (``lfs`` for binary and large files,
``regular`` otherwise), the LFS batch API with uploads to a fake storage host, commits
(NDJSON, gzip), validate-yaml, tree listings, paths-info and ``resolve/{revision}/{path}``
(HEAD and GET, with ``X-Repo-Commit``, ``ETag``, ``X-Linked-Etag``, ``X-Linked-Size`` and a
redirect to the storage host for LFS files). Anything else is a 404 with
``X-Error-Code: RepoNotFound`` / ``EntryNotFound`` / ``RevisionNotFound``.

Example:
    >>> from datasets import Dataset
    >>> from biomed_vital.testing import FakeHub
    >>> with FakeHub() as hub:                                          # doctest: +SKIP
    ...     Dataset.from_dict({"id": ["a"]}).push_to_hub("user/figures")
    ...     sorted(hub.files("user/figures", repo_type="dataset"))
    ['README.md', 'data/train-00000-of-00001.parquet']
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

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
LFS_HOST = "fake-hub-lfs.local"
FAKE_TOKEN = "hf_offline_fake_hub_token"


def _git_blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class _Commit:
    oid: str
    title: str
    message: str
    date: str
    files: dict[str, bytes]  # the full snapshot after this commit
    added: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


@dataclass
class _Repo:
    repo_id: str
    repo_type: str
    private: bool = False
    commits: list[_Commit] = field(default_factory=list)
    lfs_paths: set[str] = field(default_factory=set)

    @property
    def head(self) -> _Commit:
        return self.commits[-1]


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Any:
    import httpx2

    return httpx2.Response(status, json=payload, headers=headers or {})


def _not_found(code: str, message: str) -> Any:
    return _json(404, {"error": message}, {"x-error-code": code})


class FakeHub:
    """An in-memory Hugging Face Hub that the real ``huggingface_hub`` client talks to.

    As a context manager it installs itself as the HTTP client factory of ``huggingface_hub``,
    turns offline mode off where it is read (``huggingface_hub.constants.HF_HUB_OFFLINE``,
    ``datasets.config.HF_HUB_OFFLINE``, the ``HF_HUB_OFFLINE`` variable), disables Xet uploads,
    sets a dummy token and points the Hub and datasets caches at a temporary folder; all of it
    is restored on exit. The dummy token never leaves the process.

    Args:
        user: the account ``whoami`` returns, and the namespace of repo ids without one.
        token: the dummy token put into ``HF_TOKEN`` while active.
        cache_dir: where downloads are cached while active (default: a temporary folder,
            removed on exit; datasets loaded inside the block are memory-mapped from it, which
            stays readable after exit on Linux and macOS; pass a folder to keep them anywhere).

    Example:
        >>> with FakeHub() as hub:                                       # doctest: +SKIP
        ...     model.push_to_hub("user/tiny")
        ...     reloaded = AutoModel.from_pretrained("user/tiny")
        ...     hub.commits("user/tiny")[-1]["title"]
        'Upload model'
    """

    def __init__(self, *, user: str = "user", token: str = FAKE_TOKEN, cache_dir: str | None = None) -> None:
        self.user = user
        self.token = token
        self._cache_dir_arg = cache_dir
        self._repos: dict[tuple[str, str], _Repo] = {}
        self._lfs_objects: dict[str, bytes] = {}
        self._lock = threading.RLock()
        self._requests: list[str] = []
        self._saved: list[tuple[Any, str, Any]] = []
        self._saved_env: dict[str, str | None] = {}
        self._temporary_cache: str | None = None
        self.cache_dir: str | None = None
        self.active = False

    # ------------------------------------------------------------------ inspection
    def _repo(self, repo_id: str, repo_type: str) -> _Repo:
        if repo_type not in REPO_TYPES:
            raise ValueError(f"repo_type must be one of {REPO_TYPES}, got {repo_type!r}")
        repo = self._repos.get((repo_type, repo_id))
        if repo is None:
            known = ", ".join(f"{t}:{i}" for t, i in sorted(self._repos)) or "none"
            raise KeyError(f"no {repo_type} repo {repo_id!r} on the fake Hub (repos: {known})")
        return repo

    def repos(self) -> list[tuple[str, str]]:
        """``(repo_type, repo_id)`` of every repo created so far."""
        with self._lock:
            return sorted(self._repos)

    def files(self, repo_id: str, repo_type: str = "model", revision: str | None = None) -> dict[str, bytes]:
        """Path -> bytes of every file in a repo at ``revision`` (default: the latest commit).

        Example:
            >>> hub.files("user/figures", repo_type="dataset")["README.md"][:3]    # doctest: +SKIP
            b'---'
        """
        with self._lock:
            repo = self._repo(repo_id, repo_type)
            commit = self._find_commit(repo, revision or "main")
            if commit is None:
                raise KeyError(f"{repo_type} repo {repo_id!r} has no revision {revision!r}")
            return dict(commit.files)

    def read_text(self, repo_id: str, path: str, repo_type: str = "model") -> str:
        """The UTF-8 text of one file at the latest commit.

        Example:
            >>> hub.read_text("user/figures", "README.md", repo_type="dataset")     # doctest: +SKIP
        """
        files = self.files(repo_id, repo_type)
        if path not in files:
            raise KeyError(f"{path!r} is not in {repo_type} repo {repo_id!r}; it has {sorted(files)}")
        return files[path].decode("utf-8")

    def commits(self, repo_id: str, repo_type: str = "model") -> list[dict[str, Any]]:
        """The commits of a repo, oldest first: ``oid``, ``title``, ``message``, ``added``, ``deleted``."""
        with self._lock:
            repo = self._repo(repo_id, repo_type)
            return [
                {"oid": c.oid, "title": c.title, "message": c.message, "added": c.added, "deleted": c.deleted}
                for c in repo.commits
            ]

    def is_private(self, repo_id: str, repo_type: str = "model") -> bool:
        """Whether the repo was created private."""
        with self._lock:
            return self._repo(repo_id, repo_type).private

    def requests(self) -> list[str]:
        """Every request received, as ``"METHOD /path"`` (no headers, so no token)."""
        with self._lock:
            return list(self._requests)

    # ------------------------------------------------------------------ activation
    def _set(self, owner: Any, name: str, value: Any) -> None:
        if hasattr(owner, name):
            self._saved.append((owner, name, getattr(owner, name)))
            setattr(owner, name, value)

    def _set_env(self, name: str, value: str) -> None:
        self._saved_env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def start(self) -> FakeHub:
        """Install the fake Hub (see the class docstring); returns ``self``."""
        if self.active:
            raise RuntimeError("this FakeHub is already active")
        import httpx2
        import huggingface_hub
        from huggingface_hub import constants
        from huggingface_hub.utils import _http

        if self._cache_dir_arg is None:
            self._temporary_cache = tempfile.mkdtemp(prefix="biomed-vital-fake-hub-")
            self.cache_dir = self._temporary_cache
        else:
            self.cache_dir = self._cache_dir_arg
        hub_cache = os.path.join(self.cache_dir, "hub")
        datasets_cache = os.path.join(self.cache_dir, "datasets")

        for name, value in {
            "HF_HUB_OFFLINE": "0",
            "HF_DATASETS_OFFLINE": "0",
            "TRANSFORMERS_OFFLINE": "0",
            "HF_HUB_DISABLE_XET": "1",
            "HF_TOKEN": self.token,
            "HF_HUB_CACHE": hub_cache,
            "HF_DATASETS_CACHE": datasets_cache,
        }.items():
            self._set_env(name, value)
        self._set(constants, "HF_HUB_OFFLINE", False)
        self._set(constants, "HF_HUB_DISABLE_XET", True)
        self._set(constants, "HF_HUB_CACHE", hub_cache)
        with contextlib.suppress(ImportError):
            import datasets.config

            self._set(datasets.config, "HF_HUB_OFFLINE", False)
            self._set(datasets.config, "HF_DATASETS_OFFLINE", False)
            self._set(datasets.config, "HF_DATASETS_CACHE", datasets_cache)
            self._set(datasets.config, "HF_HUB_CACHE", hub_cache)
            self._set(datasets.config, "DOWNLOADED_DATASETS_PATH", os.path.join(datasets_cache, "downloads"))
            self._set(
                datasets.config,
                "EXTRACTED_DATASETS_PATH",
                os.path.join(datasets_cache, "downloads", "extracted"),
            )
        # remembered so stop() can put the async factory back (huggingface_hub has no getter)
        self._set(_http, "_GLOBAL_ASYNC_CLIENT_FACTORY", _http._GLOBAL_ASYNC_CLIENT_FACTORY)
        original_factory = _http._GLOBAL_CLIENT_FACTORY
        self._original_factory = original_factory

        transport = httpx2.MockTransport(self._handle)
        huggingface_hub.set_client_factory(
            lambda: httpx2.Client(
                transport=transport,
                event_hooks={"request": [_http.hf_request_event_hook]},
                follow_redirects=True,
                timeout=None,
            )
        )
        huggingface_hub.set_async_client_factory(
            lambda: httpx2.AsyncClient(
                transport=transport,
                event_hooks={
                    "request": [_http.async_hf_request_event_hook],
                    "response": [_http.async_hf_response_event_hook],
                },
                follow_redirects=True,
                timeout=None,
            )
        )
        self.active = True
        return self

    def stop(self) -> None:
        """Restore the real client factories, flags, environment and caches (idempotent)."""
        if not self.active:
            return
        import huggingface_hub

        huggingface_hub.set_client_factory(self._original_factory)
        for owner, name, value in reversed(self._saved):
            setattr(owner, name, value)
        self._saved.clear()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        if self._temporary_cache is not None:
            shutil.rmtree(self._temporary_cache, ignore_errors=True)
            self._temporary_cache = None
        self.active = False

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ repository state
    @staticmethod
    def _find_commit(repo: _Repo, revision: str) -> _Commit | None:
        revision = unquote(revision)
        if revision in ("main", "refs/heads/main", "HEAD"):
            return repo.head
        for commit in repo.commits:
            if commit.oid == revision or (len(revision) >= 7 and commit.oid.startswith(revision)):
                return commit
        return None

    def _create(self, repo_id: str, repo_type: str, private: bool) -> _Repo:
        repo = _Repo(repo_id, repo_type, private)
        oid = hashlib.sha1(f"{repo_type}/{repo_id}/initial".encode()).hexdigest()
        attributes = "".join(f"*{suffix} filter=lfs diff=lfs merge=lfs -text\n" for suffix in LFS_SUFFIXES)
        files = {".gitattributes": attributes.encode()}
        repo.commits.append(_Commit(oid, "initial commit", "", _now(), files, [".gitattributes"]))
        self._repos[(repo_type, repo_id)] = repo
        return repo

    def _commit(self, repo: _Repo, header: dict[str, Any], operations: list[dict[str, Any]]) -> _Commit:
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
                if oid not in self._lfs_objects:
                    raise _CommitError(f"LFS object {oid} for {path!r} was never uploaded")
                files[path] = self._lfs_objects[oid]
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
        commit = _Commit(oid, summary, description, _now(), files, added, deleted)
        repo.commits.append(commit)
        return commit

    # ------------------------------------------------------------------ HTTP
    def _handle(self, request: Any) -> Any:
        with self._lock:
            self._requests.append(f"{request.method} {request.url.path}")
            try:
                return self._route(request)
            except _CommitError as error:
                return _json(400, {"error": str(error)})

    def _route(self, request: Any) -> Any:
        import httpx2

        method, path = request.method, unquote(request.url.path)
        if request.url.host == LFS_HOST:
            return self._lfs_storage(request, method, path)
        if path.startswith("/api/whoami"):
            return _json(
                200,
                {
                    "type": "user",
                    "name": self.user,
                    "fullname": self.user,
                    "orgs": [],
                    "auth": {"type": "access_token", "accessToken": {"displayName": "fake", "role": "write"}},
                },
            )
        if method == "POST" and path == "/api/repos/create":
            return self._create_endpoint(json.loads(request.content or b"{}"))
        if method == "POST" and path == "/api/validate-yaml":
            return _json(200, {"errors": [], "warnings": []})
        if method == "POST" and path.endswith(".git/info/lfs/objects/batch"):
            return self._lfs_batch(json.loads(request.content))

        api = re.match(r"^/api/(models|datasets|spaces)/([^/]+/[^/]+)(?:/(.*))?$", path)
        if api:
            repo_type, repo_id, rest = api.group(1)[:-1], api.group(2), api.group(3) or ""
            repo = self._repos.get((repo_type, repo_id))
            if repo is None:
                return _not_found("RepoNotFound", f"Repository Not Found for url: {request.url}.")
            return self._api(request, method, repo, rest)

        resolve = re.match(r"^/(?:(datasets|spaces)/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", path)
        if resolve and method in ("GET", "HEAD"):
            repo_type = (resolve.group(1) or "models")[:-1]
            repo = self._repos.get((repo_type, resolve.group(2)))
            if repo is None:
                return _not_found("RepoNotFound", f"Repository Not Found for url: {request.url}.")
            return self._resolve(request, repo, resolve.group(3), resolve.group(4))
        return httpx2.Response(
            404, json={"error": f"not found: {method} {path}"}, headers={"x-error-code": "EntryNotFound"}
        )

    def _create_endpoint(self, body: dict[str, Any]) -> Any:
        repo_type = body.get("type") or "model"
        namespace = body.get("organization") or self.user
        repo_id = f"{namespace}/{body['name']}"
        url = f"https://huggingface.co/{'' if repo_type == 'model' else repo_type + 's/'}{repo_id}"
        if (repo_type, repo_id) in self._repos:
            return _json(409, {"error": "You already created this repo", "url": url})
        self._create(repo_id, repo_type, _is_private(body))
        return _json(200, {"url": url, "name": repo_id, "id": repo_id})

    def _api(self, request: Any, method: str, repo: _Repo, rest: str) -> Any:
        if method == "GET" and (rest == "" or rest.startswith("revision/")):
            revision = rest.split("/", 1)[1] if rest else "main"
            commit = self._find_commit(repo, revision)
            if commit is None:
                return _not_found("RevisionNotFound", f"Invalid rev id: {revision}")
            return _json(200, self._info(repo, commit))
        if method == "POST" and rest.startswith("preupload/"):
            files = json.loads(request.content)["files"]
            return _json(
                200,
                {
                    "files": [
                        {
                            "path": f["path"],
                            "uploadMode": "lfs"
                            if f["path"].lower().endswith(LFS_SUFFIXES)
                            or int(f.get("size", 0)) > LFS_SIZE_THRESHOLD
                            else "regular",
                            "shouldIgnore": False,
                        }
                        for f in files
                    ],
                    "commitOid": repo.head.oid,
                },
            )
        if method == "POST" and rest.startswith("commit/"):
            raw = request.content
            if request.headers.get("content-encoding") == "gzip":
                raw = gzip.decompress(raw)
            lines = [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]
            header = next((line.get("value") or {} for line in lines if line.get("key") == "header"), {})
            parent = header.get("parentCommit")
            if parent and parent != repo.head.oid:
                return _json(412, {"error": "A commit has happened since. Please refresh and try again."})
            commit = self._commit(repo, header, [line for line in lines if line.get("key") != "header"])
            prefix = "" if repo.repo_type == "model" else repo.repo_type + "s/"
            return _json(
                200,
                {
                    "success": True,
                    "commitOid": commit.oid,
                    "commitUrl": f"https://huggingface.co/{prefix}{repo.repo_id}/commit/{commit.oid}",
                    "pullRequestUrl": None,
                    "commitMessage": commit.title,
                },
            )
        if method == "GET" and rest.startswith("tree/"):
            revision, _, folder = rest[len("tree/") :].partition("/")
            return self._tree(request, repo, revision, folder.strip("/"))
        if method == "POST" and rest.startswith("paths-info/"):
            return self._paths_info(request, repo, rest[len("paths-info/") :])
        if method == "GET" and rest == "refs":
            return _json(
                200,
                {
                    "branches": [{"name": "main", "ref": "refs/heads/main", "targetCommit": repo.head.oid}],
                    "converts": [],
                    "tags": [],
                },
            )
        if method == "GET" and rest.startswith("commits/"):
            return _json(
                200,
                [
                    {
                        "id": c.oid,
                        "title": c.title,
                        "message": c.message,
                        "authors": [{"user": self.user}],
                        "date": c.date,
                    }
                    for c in reversed(repo.commits)
                ],
            )
        if method == "PUT" and rest == "settings":
            body = json.loads(request.content or b"{}")
            if "private" in body or "visibility" in body:
                repo.private = _is_private(body)
            return _json(200, {})
        return _not_found("EntryNotFound", f"{method} /api/.../{rest} is not served by the fake Hub")

    def _info(self, repo: _Repo, commit: _Commit) -> dict[str, Any]:
        siblings = []
        for path, content in sorted(commit.files.items()):
            sibling: dict[str, Any] = {"rfilename": path, "size": len(content)}
            if path in repo.lfs_paths:
                sibling["lfs"] = {
                    "sha256": hashlib.sha256(content).hexdigest(),
                    "size": len(content),
                    "pointerSize": 134,
                }
            siblings.append(sibling)
        card_data = _front_matter(commit.files.get("README.md", b""))
        return {
            "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "author": repo.repo_id.split("/")[0],
            "sha": commit.oid,
            "lastModified": commit.date,
            "createdAt": repo.commits[0].date,
            "private": repo.private,
            "gated": False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": list(card_data.get("tags") or []) if isinstance(card_data, dict) else [],
            "cardData": card_data,
            "siblings": siblings,
            "usedStorage": sum(len(c) for c in commit.files.values()),
        }

    def _entry(self, repo: _Repo, path: str, content: bytes) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "type": "file",
            "oid": _git_blob_sha(content),
            "size": len(content),
            "path": path,
        }
        if path in repo.lfs_paths:
            entry["lfs"] = {
                "oid": hashlib.sha256(content).hexdigest(),
                "size": len(content),
                "pointerSize": 134,
            }
        return entry

    def _tree_entries(
        self, repo: _Repo, commit: _Commit, folder: str, recursive: bool
    ) -> list[dict[str, Any]] | None:
        prefix = folder + "/" if folder else ""
        entries: dict[str, dict[str, Any]] = {}
        found = not folder
        for path, content in sorted(commit.files.items()):
            if not path.startswith(prefix):
                continue
            found = True
            relative = path[len(prefix) :]
            parts = relative.split("/")
            # every folder on the way is listed (only the first level unless recursive)
            for depth in range(1, len(parts)):
                if depth > 1 and not recursive:
                    break
                directory = prefix + "/".join(parts[:depth])
                entries.setdefault(
                    directory,
                    {
                        "type": "directory",
                        "oid": hashlib.sha1(directory.encode()).hexdigest(),
                        "size": 0,
                        "path": directory,
                    },
                )
            if len(parts) == 1 or recursive:
                entries[path] = self._entry(repo, path, content)
        return list(entries.values()) if found else None

    def _tree(self, request: Any, repo: _Repo, revision: str, folder: str) -> Any:
        commit = self._find_commit(repo, revision)
        if commit is None:
            return _not_found("RevisionNotFound", f"Invalid rev id: {revision}")
        query = parse_qs(
            request.url.query.decode() if isinstance(request.url.query, bytes) else request.url.query
        )
        recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
        entries = self._tree_entries(repo, commit, folder, recursive)
        if entries is None:
            return _not_found("EntryNotFound", f"{folder} does not exist on {revision}")
        if query.get("expand", ["false"])[0].lower() in ("1", "true"):
            for entry in entries:
                entry["lastCommit"] = {"id": commit.oid, "title": commit.title, "date": commit.date}
        return _json(200, entries)

    def _paths_info(self, request: Any, repo: _Repo, revision: str) -> Any:
        commit = self._find_commit(repo, revision)
        if commit is None:
            return _not_found("RevisionNotFound", f"Invalid rev id: {revision}")
        content_type = request.headers.get("content-type", "")
        if "json" in content_type:
            paths = json.loads(request.content).get("paths", [])
        else:
            paths = parse_qs(request.content.decode()).get("paths", [])
        results = []
        for path in paths:
            path = path.strip("/")
            if path in commit.files:
                results.append(self._entry(repo, path, commit.files[path]))
            elif any(p.startswith(path + "/") for p in commit.files):
                results.append(
                    {
                        "type": "directory",
                        "oid": hashlib.sha1(path.encode()).hexdigest(),
                        "size": 0,
                        "path": path,
                    }
                )
        return _json(200, results)

    def _resolve(self, request: Any, repo: _Repo, revision: str, path: str) -> Any:
        import httpx2

        commit = self._find_commit(repo, revision)
        if commit is None:
            return _not_found("RevisionNotFound", f"Invalid rev id: {revision}")
        if path not in commit.files:
            return _not_found("EntryNotFound", f"Entry not found: {path} at {revision}")
        content = commit.files[path]
        headers = {"x-repo-commit": commit.oid, "accept-ranges": "bytes"}
        if path in repo.lfs_paths:
            sha256 = hashlib.sha256(content).hexdigest()
            self._lfs_objects.setdefault(sha256, content)
            headers.update(
                {
                    "x-linked-etag": f'"{sha256}"',
                    "x-linked-size": str(len(content)),
                    "etag": f'"{_git_blob_sha(content)}"',
                    "location": f"https://{LFS_HOST}/objects/{sha256}",
                    "content-length": "0",
                }
            )
            return httpx2.Response(302, headers=headers)
        headers["etag"] = f'"{_git_blob_sha(content)}"'
        return _content_response(request, content, headers)

    def _lfs_batch(self, body: dict[str, Any]) -> Any:
        objects = []
        for obj in body.get("objects", []):
            entry: dict[str, Any] = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if obj["oid"] not in self._lfs_objects:  # already stored objects need no upload
                entry["actions"] = {"upload": {"href": f"https://{LFS_HOST}/objects/{obj['oid']}"}}
            objects.append(entry)
        return _json(
            200, {"transfer": "basic", "objects": objects}, {"content-type": "application/vnd.git-lfs+json"}
        )

    def _lfs_storage(self, request: Any, method: str, path: str) -> Any:
        import httpx2

        oid = path.rsplit("/", 1)[-1]
        if method == "PUT":
            content = request.read()
            if hashlib.sha256(content).hexdigest() != oid:
                return httpx2.Response(400, text=f"uploaded bytes do not match sha256 {oid}")
            self._lfs_objects[oid] = content
            return httpx2.Response(200)
        if method in ("GET", "HEAD") and oid in self._lfs_objects:
            content = self._lfs_objects[oid]
            return _content_response(request, content, {"etag": f'"{oid}"', "accept-ranges": "bytes"})
        return httpx2.Response(404, text="no such object")


class _CommitError(Exception):
    pass


def _is_private(body: dict[str, Any]) -> bool:
    # huggingface_hub 2.x sends "visibility"; older clients send "private"
    if "visibility" in body:
        return body["visibility"] != "public"
    return bool(body.get("private"))


def _now() -> str:
    return datetime.fromtimestamp(time.time(), UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _content_response(request: Any, content: bytes, headers: dict[str, str]) -> Any:
    import httpx2

    status = 200
    byte_range = request.headers.get("range", "")
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", byte_range.strip())
    if match and (match.group(1) or match.group(2)):
        if match.group(1):
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else len(content) - 1
        else:  # a suffix range: the last N bytes
            start, end = max(0, len(content) - int(match.group(2))), len(content) - 1
        end = min(end, len(content) - 1)
        headers = {**headers, "content-range": f"bytes {start}-{end}/{len(content)}"}
        content, status = content[start : end + 1], 206
    headers = {**headers, "content-length": str(len(content))}
    if request.method == "HEAD":
        return httpx2.Response(status, headers=headers)
    return httpx2.Response(status, content=content, headers=headers)


def _front_matter(readme: bytes) -> dict[str, Any] | None:
    text = readme.decode("utf-8", "replace")
    match = re.match(r"^---\s*\n(.*?)\n---\s*\n", text, flags=re.DOTALL)
    if not match:
        return None
    try:
        import yaml

        data = yaml.safe_load(match.group(1))
    except Exception:
        return None
    return data if isinstance(data, dict) else None
