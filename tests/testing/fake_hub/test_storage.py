"""The fake Hub's storage: commit operations, revisions and refused commits."""

from __future__ import annotations

import base64

import pytest

from biomed_vital.testing.fake_hub.storage import CommitError, HubStorage


def _file(path: str, text: str) -> dict:
    return {
        "key": "file",
        "value": {"path": path, "content": base64.b64encode(text.encode()).decode(), "encoding": "base64"},
    }


def test_commits_add_delete_files_and_folders_and_keep_every_snapshot():
    storage = HubStorage()
    repo = storage.create("user/repo", "model", private=False)
    first = storage.commit(
        repo, {"summary": "Add"}, [_file("a/x.txt", "x"), _file("a/y.txt", "y"), _file("b.txt", "b")]
    )
    second = storage.commit(
        repo,
        {"summary": "Remove"},
        [
            {"key": "deletedFolder", "value": {"path": "a/"}},
            {"key": "deletedFile", "value": {"path": "nope"}},
        ],
    )
    assert sorted(first.files) == [".gitattributes", "a/x.txt", "a/y.txt", "b.txt"]
    assert sorted(second.files) == [".gitattributes", "b.txt"]
    assert second.deleted == ["a/x.txt", "a/y.txt"] and first.oid != second.oid
    assert repo.find_commit("main") is second and repo.find_commit(first.oid[:7]) is first
    assert repo.find_commit(first.oid[:6]) is None and repo.find_commit("no-such-revision") is None


def test_an_lfs_file_must_be_uploaded_before_it_is_committed():
    storage = HubStorage()
    repo = storage.create("user/repo", "dataset", private=True)
    with pytest.raises(CommitError, match="never uploaded"):
        storage.commit(repo, {}, [{"key": "lfsFile", "value": {"path": "d.parquet", "oid": "0" * 64}}])
    storage.lfs_objects["1" * 64] = b"parquet bytes"
    storage.commit(repo, {}, [{"key": "lfsFile", "value": {"path": "d.parquet", "oid": "1" * 64}}])
    assert repo.head.files["d.parquet"] == b"parquet bytes" and repo.lfs_paths == {"d.parquet"}


def test_unknown_repos_name_the_existing_ones():
    storage = HubStorage()
    storage.create("user/known", "model", private=False)
    with pytest.raises(KeyError, match="model:user/known"):
        storage.get("user/unknown", "model")
    with pytest.raises(ValueError, match="repo_type"):
        storage.get("user/known", "weights")
