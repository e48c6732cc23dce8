"""DemonstrationSampler: the draw (clusters, modality balance, caps), embeddings and their cache, the plot."""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter

import numpy as np
import pytest

from biomed_vital.sampling import (
    SAMPLER_PRESETS,
    DemonstrationSampler,
    EmbeddingCache,
    LightweightEncoders,
    SamplerConfig,
    figure_text,
)
from biomed_vital.sampling.sampler import _shares
from tests.sampling.conftest import make_pool


def lightweight(cache_dir: str, **overrides) -> DemonstrationSampler:
    return DemonstrationSampler(embedding="lightweight", cache_dir=cache_dir, **overrides)


def test_sample_draws_k_figures_with_cluster_ids_in_pool_order(pool, cache_dir) -> None:
    drawn = lightweight(cache_dir, n_clusters=6).sample(pool, k=12)
    assert len(drawn) == 12
    assert len(set(drawn["id"])) == 12
    assert "cluster" in drawn.column_names
    assert set(drawn["cluster"]) <= set(range(6))
    positions = [pool["id"].index(i) for i in drawn["id"]]
    assert positions == sorted(positions)


def test_modality_balancing_reaches_a_rare_modality(pool, cache_dir) -> None:
    balanced = lightweight(cache_dir, n_clusters=6).sample(pool, k=12)
    counts = Counter(balanced["modality"])
    # 12 over 4 modalities: 3 each, but chest_xray has only 2 figures; its remainder goes to the others
    assert counts["chest_xray"] == 2
    assert sorted(counts[m] for m in ("ct_scan", "mri", "histology")) == [3, 3, 4]


def test_without_balancing_the_draw_follows_the_clusters_only(pool, cache_dir) -> None:
    sampler = lightweight(cache_dir, n_clusters=4, stratify_by=None)
    drawn = sampler.sample(pool, k=8)
    per_cluster = Counter(drawn["cluster"])
    sizes = Counter(sampler.last.labels.tolist())
    assert set(per_cluster) == set(sizes)  # every cluster is drawn from
    # round-robin: a cluster gives more than another only when the other has run out of figures
    for label, count in per_cluster.items():
        for other, other_count in per_cluster.items():
            if count > other_count + 1:
                assert other_count == sizes[other], (label, other)


def test_same_seed_same_draw_other_seed_other_draw(pool, cache_dir) -> None:
    first = lightweight(cache_dir, n_clusters=5).sample(pool, k=10)["id"]
    again = lightweight(cache_dir, n_clusters=5).sample(pool, k=10)["id"]
    other = lightweight(cache_dir, n_clusters=5, seed=3).sample(pool, k=10)["id"]
    assert first == again
    assert first != other


def test_per_cluster_caps_the_draw_and_k_defaults_to_clusters_times_cap(pool, cache_dir, caplog) -> None:
    sampler = lightweight(cache_dir, n_clusters=3, per_cluster=2, stratify_by=None)
    assert len(sampler.sample(pool)) == 6
    with caplog.at_level(logging.WARNING):
        drawn = sampler.sample(pool, k=10)
    assert len(drawn) == 6 and max(Counter(drawn["cluster"]).values()) == 2
    assert "could not be drawn" in caplog.text


def test_nearest_takes_the_figures_closest_to_the_centres(pool, cache_dir) -> None:
    sampler = lightweight(
        cache_dir, n_clusters=4, stratify_by=None, within_cluster="nearest", reduce_dims=None
    )
    drawn = sampler.sample(pool, k=4)
    last = sampler.last
    assert last is not None
    centres = {
        label: last.embeddings[last.labels == label].mean(axis=0) for label in set(last.labels.tolist())
    }
    for position in last.selected:
        label = last.labels[position]
        members = np.flatnonzero(last.labels == label)
        distances = np.linalg.norm(last.embeddings[members] - centres[label], axis=1)
        # MiniBatchKMeans centres are close to, not exactly, the member means
        assert (
            np.linalg.norm(last.embeddings[position] - centres[label]) <= np.quantile(distances, 0.5) + 1e-6
        )
    assert len(drawn) == 4


def test_a_pool_smaller_than_k_gives_every_figure(cache_dir, caplog) -> None:
    small = make_pool({"ct_scan": 3, "mri": 2})
    with caplog.at_level(logging.WARNING):
        drawn = lightweight(cache_dir, n_clusters=60).sample(small, k=20)
    assert len(drawn) == 5
    assert "all of them are drawn" in caplog.text


def test_modalities_filter_keeps_only_those(pool, cache_dir) -> None:
    drawn = lightweight(cache_dir, n_clusters=4, modalities=["ct_scan", "chest_xray"]).sample(pool, k=6)
    assert set(drawn["modality"]) == {"ct_scan", "chest_xray"}
    with pytest.raises(ValueError, match="no figure has a modality in"):
        lightweight(cache_dir, modalities=["gross"]).sample(pool, k=2)


def test_figures_whose_image_does_not_decode_are_left_out_not_fatal(cache_dir, caplog) -> None:
    pool = make_pool(broken=2)
    with caplog.at_level(logging.WARNING):
        drawn = lightweight(cache_dir, n_clusters=5).sample(pool, k=len(pool))
    assert len(drawn) == len(pool) - 2
    assert pool["id"][0] not in drawn["id"] and pool["id"][3] not in drawn["id"]
    assert "without a usable image" in caplog.text and repr(pool["id"][0]) in caplog.text


def test_precomputed_embeddings_skip_the_encoders(pool, cache_dir) -> None:
    class Refusing(LightweightEncoders):
        def encode_images(self, images):
            raise AssertionError("the encoders were called although embeddings were given")

    vectors = np.random.default_rng(0).normal(size=(len(pool), 8)).astype(np.float32)
    sampler = DemonstrationSampler(encoders=Refusing(), n_clusters=3, cache_dir=cache_dir)
    assert len(sampler.sample(pool, k=5, embeddings=vectors)) == 5
    with pytest.raises(ValueError, match="rows but the figures have"):
        sampler.sample(pool, k=5, embeddings=vectors[:3])


def test_figure_text_is_caption_then_first_mentions() -> None:
    assert figure_text("Synthetic caption.", ["m1", "m2", "m3"], 2) == "Synthetic caption.\nm1\nm2"
    assert figure_text(None, None) == ""


def test_shares_split_k_equally_and_pass_on_what_a_small_stratum_cannot_take() -> None:
    assert _shares({"a": 10, "b": 10, "c": 1}, 9) == {"a": 4, "b": 4, "c": 1}
    assert _shares({"a": 10, "b": 10}, 3) == {"a": 2, "b": 1}
    assert _shares({"a": 2, "b": 1}, 10) == {"a": 2, "b": 1}
    assert sum(_shares({"a": 7, "b": 5, "c": 3, "d": 1}, 11).values()) == 11


# ------------------------------------------------------------------------------ embeddings and the cache
def test_encoders_embedding_has_image_then_text_parts_of_unit_length(
    pool, cache_dir, tiny_encoder_dirs
) -> None:
    vit, bert = tiny_encoder_dirs
    sampler = DemonstrationSampler(image_encoder=vit, text_encoder=bert, cache_dir=cache_dir, batch_size=16)
    vectors = sampler.embed(pool)
    assert vectors.shape == (len(pool), 32 + 32)
    np.testing.assert_allclose(np.linalg.norm(vectors[:, :32], axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(vectors[:, 32:], axis=1), 1.0, atol=1e-5)


def test_a_rerun_reads_every_vector_from_the_cache(pool, cache_dir, tiny_encoder_dirs, monkeypatch) -> None:
    from biomed_vital.sampling.encoders import HuggingFaceEncoders

    vit, bert = tiny_encoder_dirs
    first = DemonstrationSampler(image_encoder=vit, text_encoder=bert, cache_dir=cache_dir).embed(pool)

    def refuse(self, batch):
        raise AssertionError("computed although cached")

    monkeypatch.setattr(HuggingFaceEncoders, "encode_images", refuse)
    monkeypatch.setattr(HuggingFaceEncoders, "encode_texts", refuse)
    again = DemonstrationSampler(image_encoder=vit, text_encoder=bert, cache_dir=cache_dir).embed(pool)
    np.testing.assert_allclose(again, first, atol=1e-6)


def test_the_cache_is_keyed_by_the_encoder_weights(tmp_path, pool, cache_dir) -> None:
    from biomed_vital.testing import tiny_image_encoder, tiny_text_encoder

    tiny_text_encoder(tmp_path / "bert")
    tiny_image_encoder("vit", tmp_path / "vit", seed=0)
    before = DemonstrationSampler(
        image_encoder=str(tmp_path / "vit"), text_encoder=str(tmp_path / "bert"), cache_dir=cache_dir
    ).embed(pool)
    tiny_image_encoder("vit", tmp_path / "vit", seed=1)  # new weights in the same folder
    after = DemonstrationSampler(
        image_encoder=str(tmp_path / "vit"), text_encoder=str(tmp_path / "bert"), cache_dir=cache_dir
    ).embed(pool)
    assert not np.allclose(before[:, :32], after[:, :32], atol=1e-4)
    np.testing.assert_allclose(before[:, 32:], after[:, 32:], atol=1e-6)


def test_a_dual_clip_style_image_tower_works_too(tmp_path, pool, cache_dir, tiny_encoder_dirs) -> None:
    from biomed_vital.testing import tiny_image_encoder

    tiny_image_encoder("clip", tmp_path / "clip")
    sampler = DemonstrationSampler(
        image_encoder=str(tmp_path / "clip"),
        text_encoder=tiny_encoder_dirs[1],
        cache_dir=cache_dir,
        n_clusters=4,
    )
    assert len(sampler.sample(pool, k=4)) == 4


def test_a_trained_selectors_towers_embed(tmp_path, pool, cache_dir) -> None:
    from biomed_vital.testing import tiny_selector

    tiny_selector("vit", tmp_path / "selector", hidden_size=32)
    sampler = DemonstrationSampler(
        embedding="selector", selector=str(tmp_path / "selector"), cache_dir=cache_dir, n_clusters=3
    )
    assert sampler.embed(pool).shape == (len(pool), 64)


def test_an_encoder_that_cannot_load_says_so_in_one_line(pool, cache_dir) -> None:
    sampler = DemonstrationSampler(image_encoder="no/such-encoder-here", cache_dir=cache_dir)
    with pytest.raises(ValueError, match="cannot load the image encoder 'no/such-encoder-here'") as error:
        sampler.embed(pool)
    assert "\n" not in str(error.value)


def test_embedding_cache_round_trip_and_width_check(tmp_path) -> None:
    cache = EmbeddingCache(tmp_path, "encoder-1")
    cache.put(["a", "b"], np.arange(6, dtype=np.float32).reshape(2, 3))
    fresh = EmbeddingCache(tmp_path, "encoder-1")  # a new process reads the shard back
    vectors, found = fresh.get(["b", "x", "a"])
    assert found.tolist() == [True, False, True]
    np.testing.assert_array_equal(vectors[[0, 2]], [[3, 4, 5], [0, 1, 2]])
    assert EmbeddingCache(tmp_path, "encoder-2").get(["a"])[0] is None
    with pytest.raises(ValueError, match="width 3"):
        fresh.put(["c"], np.zeros((1, 4), np.float32))
    assert not list(cache.folder.glob(".*.tmp"))


# ------------------------------------------------------------------------------ config, preset, plot
def test_preset_is_the_papers_setting() -> None:
    config = SamplerConfig.from_preset("biomed-vital")
    expected = {
        "n_clusters": 60,
        "modalities": ["ct_scan", "mri", "chest_xray"],
        "stratify_by": None,
        "embedding": "encoders",
        "image_encoder": "google/vit-base-patch16-224-in21k",
        "max_mentions": 1,
        "reduce_dims": None,
    }
    assert {name: getattr(config, name) for name in expected} == expected
    assert set(SAMPLER_PRESETS) == {"biomed-vital"}
    assert SamplerConfig.from_preset("biomed-vital", n_clusters=10).n_clusters == 10
    with pytest.raises(ValueError, match="unknown sampler preset"):
        SamplerConfig.from_preset("nope")
    with pytest.raises(ValueError, match="no option"):
        SamplerConfig.from_preset("biomed-vital", clusters=3)


def test_defaults_are_defined_once_in_the_config() -> None:
    defaults = {f.name: f.default for f in dataclasses.fields(SamplerConfig)}
    assert defaults["n_clusters"] == 60 and defaults["stratify_by"] == "modality"
    assert all("help" in f.metadata for f in dataclasses.fields(SamplerConfig))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_clusters": 0}, "n_clusters"),
        ({"embedding": "clip"}, "embedding must be"),
        ({"embedding": "selector"}, "needs selector"),
        ({"per_cluster": 0}, "per_cluster"),
        ({"image_weight": 0, "text_weight": 0}, "not both 0"),
    ],
)
def test_bad_options_are_refused_with_the_option_named(options, message) -> None:
    with pytest.raises(ValueError, match=message):
        SamplerConfig(**options)


def test_plot_marks_the_drawn_figures(pool, cache_dir, tmp_path) -> None:
    sampler = lightweight(cache_dir, n_clusters=4)
    with pytest.raises(ValueError, match="call sample"):
        sampler.plot(tmp_path / "early.png")
    sampler.sample(pool, k=6)
    path = sampler.plot(tmp_path / "plots" / "sampling.png")
    from PIL import Image

    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 400
