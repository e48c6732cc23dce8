"""Sharding a pool over workers and merging their outputs."""

from __future__ import annotations

import pytest

from biomed_vital.engine import merge_shards, select_shard, shard_of
from biomed_vital.generation import GPT4VGenerator
from tests.generation.helpers import make_figures


def test_shards_are_disjoint_and_cover_the_pool() -> None:
    pool = make_figures(60)
    shards = [select_shard(pool, 4, k) for k in range(4)]
    ids = [set(shard["id"][:]) for shard in shards]
    assert sum(len(s) for s in ids) == 60
    assert set().union(*ids) == set(pool["id"][:])
    assert all(len(ids[a] & ids[b]) == 0 for a in range(4) for b in range(a + 1, 4))


def test_the_split_depends_on_the_id_not_the_row_order() -> None:
    pool = make_figures(30)
    reversed_pool = pool.select(range(29, -1, -1))
    assert set(select_shard(pool, 3, 1)["id"][:]) == set(select_shard(reversed_pool, 3, 1)["id"][:])
    assert shard_of("fig0001", 3) == shard_of("fig0001", 3)


def test_a_bad_shard_index_is_refused() -> None:
    with pytest.raises(ValueError, match="shard_index must be in 0..1"):
        select_shard(make_figures(2), 2, 2)


def test_sharded_generation_merges_into_the_whole_run(server, tmp_path) -> None:
    pool = make_figures(20)
    options = {"base_url": server.base_url, "api_key": "sk-local", "show_progress": False}
    whole = GPT4VGenerator("gpt-4o", cache_dir=str(tmp_path / "whole"), **options).generate(pool)
    parts = []
    for k in range(3):
        generator = GPT4VGenerator("gpt-4o", cache_dir=str(tmp_path / f"shard{k}"), **options)
        part = generator.generate(pool, num_shards=3, shard_index=k)
        part.save_to_disk(str(tmp_path / f"out{k}"))
        parts.append(str(tmp_path / f"out{k}"))
    merged = merge_shards(parts)
    by_id = {r["candidate_id"]: r["messages"] for r in merged.select_columns(["candidate_id", "messages"])}
    assert by_id == {
        r["candidate_id"]: r["messages"] for r in whole.select_columns(["candidate_id", "messages"])
    }
    with pytest.raises(ValueError, match="more than one shard"):
        merge_shards([parts[0], parts[0]])
