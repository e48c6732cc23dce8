"""The public face of the fake Hugging Face Hub: :class:`FakeHub` installs it into ``huggingface_hub`` and
lets a test read what was pushed.

``huggingface_hub`` sends every request through one ``httpx2`` client made by a factory;
:class:`FakeHub` installs a factory whose transport answers in memory
(:class:`~biomed_vital.testing.fake_hub.routes.HubRoutes`). The real code of
``Dataset.push_to_hub``, ``PreTrainedModel.push_to_hub``, ``HfApi.upload_folder``,
``hf_hub_download``, ``snapshot_download``, ``from_pretrained("user/repo")`` and
``load_dataset("user/repo")`` then runs end to end without a socket.

Example:
    >>> from datasets import Dataset
    >>> from biomed_vital.testing import FakeHub
    >>> with FakeHub() as hub:                                          # doctest: +SKIP
    ...     Dataset.from_dict({"id": ["a"]}).push_to_hub("user/figures")
    ...     sorted(hub.files("user/figures", repo_type="dataset"))
    ['README.md', 'data/train-00000-of-00001.parquet']
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from typing import Any

import httpx2

from biomed_vital.testing.fake_hub.routes import HubRoutes
from biomed_vital.testing.fake_hub.storage import HubStorage

__all__ = ["FAKE_TOKEN", "FakeHub"]

FAKE_TOKEN = "hf_offline_fake_hub_token"


class FakeHub:
    """An in-memory Hugging Face Hub that the real ``huggingface_hub`` client talks to.

    As a context manager it installs itself as the HTTP client factory of ``huggingface_hub``,
    turns offline mode off where it is read (``huggingface_hub.constants.HF_HUB_OFFLINE``,
    ``datasets.config.HF_HUB_OFFLINE``, the ``HF_HUB_OFFLINE`` variable), disables Xet uploads,
    sets a dummy token and points the Hub and datasets caches at a temporary folder; all of it
    is restored on exit. Like the Hub, it refuses writes that do not carry that token. The dummy
    token never leaves the process, and the fake Hub keeps it nowhere (not in :meth:`requests`,
    files or commits).

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
        self._storage = HubStorage()
        self._routes = HubRoutes(self._storage, user, token)
        self._lock = threading.RLock()
        self._requests: list[str] = []
        self._saved: list[tuple[Any, str, Any]] = []
        self._saved_env: dict[str, str | None] = {}
        self._temporary_cache: str | None = None
        self.cache_dir: str | None = None
        self.active = False

    # ------------------------------------------------------------------ inspection
    def repos(self) -> list[tuple[str, str]]:
        """``(repo_type, repo_id)`` of every repo created so far."""
        with self._lock:
            return sorted(self._storage.repos)

    def files(self, repo_id: str, repo_type: str = "model", revision: str | None = None) -> dict[str, bytes]:
        """Path -> bytes of every file in a repo at ``revision`` (default: the latest commit).

        Example:
            >>> hub.files("user/figures", repo_type="dataset")["README.md"][:3]    # doctest: +SKIP
            b'---'
        """
        with self._lock:
            repo = self._storage.get(repo_id, repo_type)
            commit = repo.find_commit(revision or "main")
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
            repo = self._storage.get(repo_id, repo_type)
            return [
                {"oid": c.oid, "title": c.title, "message": c.message, "added": c.added, "deleted": c.deleted}
                for c in repo.commits
            ]

    def is_private(self, repo_id: str, repo_type: str = "model") -> bool:
        """Whether the repo was created private."""
        with self._lock:
            return self._storage.get(repo_id, repo_type).private

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

    def _handle(self, request: Any) -> Any:
        with self._lock:
            self._requests.append(f"{request.method} {request.url.path}")
            return self._routes.handle(request)
