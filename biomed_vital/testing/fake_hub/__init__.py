"""A fake Hugging Face Hub at the HTTP layer, for pushes and downloads in offline tests.

* :mod:`~biomed_vital.testing.fake_hub.hub`: :class:`FakeHub`, which installs it and reads back what was pushed;
* :mod:`~biomed_vital.testing.fake_hub.routes`: the Hub endpoints it answers;
* :mod:`~biomed_vital.testing.fake_hub.storage`: repos, their commit history and the LFS objects;
* :mod:`~biomed_vital.testing.fake_hub.lfs`: the LFS batch API and the fake storage host;
* :mod:`~biomed_vital.testing.fake_hub.responses`: JSON answers, the Hub's 404s and byte ranges.

Implemented endpoints: repo create (409 when it exists, which ``exist_ok`` handles), repo info
(also at a revision), whoami, refs, commits, preupload (``lfs`` for binary and large files,
``regular`` otherwise), the LFS batch API with uploads to a fake storage host, commits
(NDJSON, gzip), validate-yaml, tree listings, paths-info and ``resolve/{revision}/{path}``
(HEAD and GET, with ``X-Repo-Commit``, ``ETag``, ``X-Linked-Etag``, ``X-Linked-Size`` and a
redirect to the storage host for LFS files). Anything else is a 404 with
``X-Error-Code: RepoNotFound`` / ``EntryNotFound`` / ``RevisionNotFound``.

Example:
    >>> from datasets import Dataset
    >>> from biomed_vital.testing.fake_hub import FakeHub
    >>> with FakeHub() as hub:                                          # doctest: +SKIP
    ...     Dataset.from_dict({"id": ["a"]}).push_to_hub("user/figures")
    ...     sorted(hub.files("user/figures", repo_type="dataset"))
    ['README.md', 'data/train-00000-of-00001.parquet']
"""

from __future__ import annotations

from biomed_vital._lazy import attach

_LAZY_ATTRIBUTES: dict[str, str] = {
    "FakeHub": "biomed_vital.testing.fake_hub.hub",
    "FAKE_TOKEN": "biomed_vital.testing.fake_hub.hub",
    "LFS_HOST": "biomed_vital.testing.fake_hub.lfs",
    "REPO_TYPES": "biomed_vital.testing.fake_hub.storage",
    "LFS_SUFFIXES": "biomed_vital.testing.fake_hub.storage",
    "LFS_SIZE_THRESHOLD": "biomed_vital.testing.fake_hub.storage",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY_ATTRIBUTES)
