"""The fake Hub's HTTP routes: the Hub API (repos, preupload, commits, refs, settings), file listings
and ``resolve/{revision}/{path}`` downloads, answered from a :class:`HubStorage`.

Like the Hub, it refuses a write (any ``POST``, ``PUT`` or ``DELETE`` of the Hub API) and ``whoami``
without the account's token in ``Authorization: Bearer ...``: a 401 the client raises as
``HfHubHTTPError``.

Anything not served is a 404 with ``X-Error-Code: RepoNotFound`` / ``EntryNotFound`` /
``RevisionNotFound``, so the real client raises its usual errors.

Example:
    >>> import httpx2
    >>> routes = HubRoutes(HubStorage(), user="user", token="hf_example")
    >>> whoami = "https://huggingface.co/api/whoami-v2"
    >>> routes.handle(httpx2.Request("GET", whoami, headers={"authorization": "Bearer hf_example"})).json()["name"]
    'user'
    >>> routes.handle(httpx2.Request("GET", whoami)).status_code
    401
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx2

from biomed_vital.testing.fake_hub.lfs import (
    LFS_HOST,
    lfs_batch,
    lfs_object_url,
    serve_lfs_storage,
    upload_mode,
)
from biomed_vital.testing.fake_hub.responses import content_response, json_response, not_found
from biomed_vital.testing.fake_hub.storage import Commit, CommitError, HubStorage, Repo, git_blob_sha

__all__ = ["HubRoutes"]


class HubRoutes:
    """Answers the requests of ``huggingface_hub``'s HTTP client from ``storage``, as the Hub would for ``user``
    whose token is ``token`` (``None``: any request is accepted)."""

    def __init__(self, storage: HubStorage, user: str, token: str | None = None) -> None:
        self.storage = storage
        self.user = user
        self.token = token

    def _refuses(self, request: Any, method: str, path: str) -> bool:
        """Whether the request needs the account's token and lacks it (writes and ``whoami``)."""
        if self.token is None or request.url.host == LFS_HOST:  # LFS uploads go to presigned URLs
            return False
        needs_token = path.startswith("/api/whoami") or (
            method in ("POST", "PUT", "DELETE") and path.startswith("/api/") and path != "/api/validate-yaml"
        )
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return needs_token and not (scheme.lower() == "bearer" and token == self.token)

    def handle(self, request: Any) -> httpx2.Response:
        """The response to one request (a refused commit is a 400)."""
        try:
            return self.route(request)
        except CommitError as error:
            return json_response(400, {"error": str(error)})

    def route(self, request: Any) -> Any:
        method, path = request.method, unquote(request.url.path)
        if self._refuses(request, method, path):
            return json_response(401, {"error": "Invalid credentials in Authorization header"})
        if request.url.host == LFS_HOST:
            return serve_lfs_storage(self.storage, request, method, path)
        if path.startswith("/api/whoami"):
            return json_response(
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
            return json_response(200, {"errors": [], "warnings": []})
        if method == "POST" and path.endswith(".git/info/lfs/objects/batch"):
            return lfs_batch(self.storage, json.loads(request.content))

        api = re.match(r"^/api/(models|datasets|spaces)/([^/]+/[^/]+)(?:/(.*))?$", path)
        if api:
            repo_type, repo_id, rest = api.group(1)[:-1], api.group(2), api.group(3) or ""
            repo = self.storage.find(repo_type, repo_id)
            if repo is None:
                return not_found("RepoNotFound", f"Repository Not Found for url: {request.url}.")
            return self._api(request, method, repo, rest)

        resolve = re.match(r"^/(?:(datasets|spaces)/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", path)
        if resolve and method in ("GET", "HEAD"):
            repo_type = (resolve.group(1) or "models")[:-1]
            repo = self.storage.find(repo_type, resolve.group(2))
            if repo is None:
                return not_found("RepoNotFound", f"Repository Not Found for url: {request.url}.")
            return self._resolve(request, repo, resolve.group(3), resolve.group(4))
        return httpx2.Response(
            404, json={"error": f"not found: {method} {path}"}, headers={"x-error-code": "EntryNotFound"}
        )

    def _create_endpoint(self, body: dict[str, Any]) -> Any:
        repo_type = body.get("type") or "model"
        namespace = body.get("organization") or self.user
        repo_id = f"{namespace}/{body['name']}"
        url = f"https://huggingface.co/{'' if repo_type == 'model' else repo_type + 's/'}{repo_id}"
        if self.storage.find(repo_type, repo_id) is not None:
            return json_response(409, {"error": "You already created this repo", "url": url})
        self.storage.create(repo_id, repo_type, _is_private(body))
        return json_response(200, {"url": url, "name": repo_id, "id": repo_id})

    def _api(self, request: Any, method: str, repo: Repo, rest: str) -> Any:
        if method == "GET" and (rest == "" or rest.startswith("revision/")):
            revision = rest.split("/", 1)[1] if rest else "main"
            commit = repo.find_commit(revision)
            if commit is None:
                return not_found("RevisionNotFound", f"Invalid rev id: {revision}")
            return json_response(200, self._info(repo, commit))
        if method == "POST" and rest.startswith("preupload/"):
            files = json.loads(request.content)["files"]
            return json_response(
                200,
                {
                    "files": [
                        {
                            "path": f["path"],
                            "uploadMode": upload_mode(f["path"], int(f.get("size", 0))),
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
                return json_response(
                    412, {"error": "A commit has happened since. Please refresh and try again."}
                )
            commit = self.storage.commit(
                repo, header, [line for line in lines if line.get("key") != "header"]
            )
            prefix = "" if repo.repo_type == "model" else repo.repo_type + "s/"
            return json_response(
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
            return json_response(
                200,
                {
                    "branches": [{"name": "main", "ref": "refs/heads/main", "targetCommit": repo.head.oid}],
                    "converts": [],
                    "tags": [],
                },
            )
        if method == "GET" and rest.startswith("commits/"):
            return json_response(
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
            return json_response(200, {})
        return not_found("EntryNotFound", f"{method} /api/.../{rest} is not served by the fake Hub")

    def _info(self, repo: Repo, commit: Commit) -> dict[str, Any]:
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

    def _entry(self, repo: Repo, path: str, content: bytes) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "type": "file",
            "oid": git_blob_sha(content),
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
        self, repo: Repo, commit: Commit, folder: str, recursive: bool
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

    def _tree(self, request: Any, repo: Repo, revision: str, folder: str) -> Any:
        commit = repo.find_commit(revision)
        if commit is None:
            return not_found("RevisionNotFound", f"Invalid rev id: {revision}")
        query = parse_qs(
            request.url.query.decode() if isinstance(request.url.query, bytes) else request.url.query
        )
        recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
        entries = self._tree_entries(repo, commit, folder, recursive)
        if entries is None:
            return not_found("EntryNotFound", f"{folder} does not exist on {revision}")
        if query.get("expand", ["false"])[0].lower() in ("1", "true"):
            for entry in entries:
                entry["lastCommit"] = {"id": commit.oid, "title": commit.title, "date": commit.date}
        return json_response(200, entries)

    def _paths_info(self, request: Any, repo: Repo, revision: str) -> Any:
        commit = repo.find_commit(revision)
        if commit is None:
            return not_found("RevisionNotFound", f"Invalid rev id: {revision}")
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
        return json_response(200, results)

    def _resolve(self, request: Any, repo: Repo, revision: str, path: str) -> Any:
        commit = repo.find_commit(revision)
        if commit is None:
            return not_found("RevisionNotFound", f"Invalid rev id: {revision}")
        if path not in commit.files:
            return not_found("EntryNotFound", f"Entry not found: {path} at {revision}")
        content = commit.files[path]
        headers = {"x-repo-commit": commit.oid, "accept-ranges": "bytes"}
        if path in repo.lfs_paths:
            sha256 = hashlib.sha256(content).hexdigest()
            self.storage.lfs_objects.setdefault(sha256, content)
            headers.update(
                {
                    "x-linked-etag": f'"{sha256}"',
                    "x-linked-size": str(len(content)),
                    "etag": f'"{git_blob_sha(content)}"',
                    "location": lfs_object_url(sha256),
                    "content-length": "0",
                }
            )
            return httpx2.Response(302, headers=headers)
        headers["etag"] = f'"{git_blob_sha(content)}"'
        return content_response(request, content, headers)


def _is_private(body: dict[str, Any]) -> bool:
    # huggingface_hub 2.x sends "visibility"; older clients send "private"
    if "visibility" in body:
        return body["visibility"] != "public"
    return bool(body.get("private"))


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
