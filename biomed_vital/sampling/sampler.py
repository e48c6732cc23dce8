"""``DemonstrationSampler``: a diverse set of figures for clinicians to annotate (stage 1 of BioMed-VITAL).

The paper drew the figures clinicians annotated by clustering joint image and text embeddings of the
pool and sampling across the clusters. The sampler does the same at pool scale: :meth:`~DemonstrationSampler.embed`
computes (and caches) the joint embedding, :meth:`~DemonstrationSampler.sample` clusters it with
scikit-learn's ``MiniBatchKMeans`` (a 100,000-figure pool fits in memory and time; see
``benchmarks/results/sampling.md``) and draws ``k`` figures spread over the clusters and, by default,
balanced over modalities; :meth:`~DemonstrationSampler.plot` shows the draw on a 2-D projection.
After annotation, :meth:`~DemonstrationSampler.select_demonstrations` keeps the approved conversations.

Example:
    >>> from biomed_vital.sampling import DemonstrationSampler
    >>> sampler = DemonstrationSampler(embedding="lightweight", n_clusters=4)
    >>> drawn = sampler.sample(load_demo_figures(), k=4)          # doctest: +SKIP
    >>> sampler.plot("sampling.png")                               # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from biomed_vital import schema
from biomed_vital.sampling.embedding_cache import EmbeddingCache, default_embedding_cache_dir, text_key
from biomed_vital.sampling.encoders import (
    FigureEncoders,
    HuggingFaceEncoders,
    LightweightEncoders,
    SelectorEncoders,
)
from biomed_vital.sampling.sampler_config import SamplerConfig

__all__ = ["CLUSTER", "DemonstrationSampler", "SampleResult", "figure_text"]

logger = logging.getLogger(__name__)

#: The column :meth:`DemonstrationSampler.sample` adds: the figure's cluster id.
CLUSTER = "cluster"
_READ_BATCH = 1024
_SHOWN_PROBLEMS = 5


def figure_text(caption: str | None, mentions: Sequence[str] | str | None, max_mentions: int = 1) -> str:
    """The text that represents a figure in the joint embedding: the caption, then the first mentions.

    Example:
        >>> figure_text("Axial CT of the chest.", ["Figure 1 shows a nodule.", "A second mention."])
        'Axial CT of the chest.\\nFigure 1 shows a nodule.'
    """
    if isinstance(mentions, str):
        mentions = [mentions]
    parts = [" ".join(str(caption or "").split())]
    parts += [" ".join(str(m).split()) for m in list(mentions or [])[:max_mentions]]
    return "\n".join(part for part in parts if part)


@dataclass
class SampleResult:
    """What the last :meth:`DemonstrationSampler.sample` saw: the pool's embedding, clusters and the draw."""

    embeddings: np.ndarray  # (pool rows kept, dims)
    rows: np.ndarray  # row of each embedding in the figures passed to sample()
    labels: np.ndarray  # cluster of each embedding
    strata: list[str]  # modality (or stratify_by value) of each embedding
    selected: np.ndarray  # positions (into embeddings) of the drawn figures


class DemonstrationSampler:
    """Draw diverse figures from a pool by clustering joint image and text embeddings.

    Args:
        config: a :class:`~biomed_vital.sampling.SamplerConfig`; keyword arguments naming its fields
            override it (``DemonstrationSampler(n_clusters=20, embedding="lightweight")``).
        preset: start from a named preset instead of the defaults (``"biomed-vital"``: the paper's setting).
        encoders: ready encoders (anything with ``encode_images`` / ``encode_texts`` and identities)
            instead of the ones ``config.embedding`` names.

    Example:
        >>> sampler = DemonstrationSampler(preset="biomed-vital", image_encoder="path/to/vit")  # doctest: +SKIP
        >>> drawn = sampler.sample(figures, k=60)                                              # doctest: +SKIP
        >>> sorted(set(drawn["modality"]))                                                     # doctest: +SKIP
        ['chest_xray', 'ct_scan', 'mri']
    """

    def __init__(
        self,
        config: SamplerConfig | None = None,
        *,
        preset: str | None = None,
        encoders: FigureEncoders | None = None,
        **overrides: Any,
    ) -> None:
        if config is not None and preset is not None:
            raise ValueError("pass either config or preset, not both")
        if preset is not None:
            config = SamplerConfig.from_preset(preset, **overrides)
        elif config is None:
            config = SamplerConfig(**overrides)
        elif overrides:
            import dataclasses

            config = dataclasses.replace(config, **overrides)
        self.config = config
        self._encoders = encoders
        self.last: SampleResult | None = None

    # ------------------------------------------------------------------ embeddings
    @property
    def encoders(self) -> FigureEncoders:
        """The encoders ``config.embedding`` names (built on first use)."""
        if self._encoders is None:
            config = self.config
            if config.embedding == "lightweight":
                self._encoders = LightweightEncoders(
                    text_dims=config.lightweight_text_dims,
                    thumbnail=config.lightweight_thumbnail,
                    seed=config.seed,
                )
            elif config.embedding == "selector":
                assert config.selector is not None  # checked by SamplerConfig
                self._encoders = SelectorEncoders(config.selector, device=config.device)
            else:
                self._encoders = HuggingFaceEncoders(
                    config.image_encoder, config.text_encoder, device=config.device
                )
        return self._encoders

    def _cache(self, identity: str) -> EmbeddingCache | None:
        if not self.config.use_cache:
            return None
        root = self.config.cache_dir or default_embedding_cache_dir()
        return EmbeddingCache(root, identity)

    def embed(self, figures: Any) -> np.ndarray:
        """The joint embedding of every figure: unit image vector x ``image_weight`` next to unit text vector x ``text_weight``.

        The text is :func:`figure_text` (caption + the first ``max_mentions`` mentions). Vectors are
        cached by encoder identity and image fingerprint / text, so a rerun computes nothing. A figure
        whose image is missing or does not decode gets a row of NaN (and is left out by :meth:`sample`);
        the log names the first few.

        Args:
            figures: a figures Dataset (``image``, ``caption``, ``mentions``).

        Returns:
            ``float32`` array of shape ``(len(figures), image dims + text dims)``.

        Example:
            >>> vectors = DemonstrationSampler(embedding="lightweight").embed(figures)   # doctest: +SKIP
            >>> vectors.shape                                                             # doctest: +SKIP
            (9, 272)
        """
        from datasets import Image as ImageFeature

        for column in (schema.IMAGE, schema.CAPTION):
            if column not in figures.column_names:
                raise ValueError(
                    f"the figures have no {column!r} column (they have {figures.column_names}); load them "
                    "with biomed_vital.data.load_figures"
                )
        columns = [
            c for c in (schema.ID, schema.IMAGE, schema.CAPTION, schema.MENTIONS) if c in figures.column_names
        ]
        view = figures.select_columns(columns)
        if isinstance(view.features[schema.IMAGE], ImageFeature):
            view = view.cast_column(schema.IMAGE, ImageFeature(decode=False))
        images: list[Any] = []
        texts: list[str] = []
        ids: list[str] = []
        for batch in view.iter(batch_size=_READ_BATCH):
            images.extend(batch[schema.IMAGE])
            mentions = batch.get(schema.MENTIONS) or [None] * len(batch[schema.IMAGE])
            texts.extend(
                figure_text(c, m, self.config.max_mentions)
                for c, m in zip(batch[schema.CAPTION], mentions, strict=True)
            )
            ids.extend(
                str(i) for i in batch.get(schema.ID) or range(len(ids), len(ids) + len(batch[schema.IMAGE]))
            )
        image_vectors = self._embed_images(images, ids)
        text_vectors = self._embed_texts(texts)
        return np.concatenate(
            [_unit(image_vectors) * self.config.image_weight, _unit(text_vectors) * self.config.text_weight],
            axis=1,
        ).astype(np.float32)

    def _embed_images(self, images: Sequence[Any], ids: Sequence[str]) -> np.ndarray:
        from biomed_vital.data import image_fingerprint

        fingerprints: list[str | None] = []
        problems: list[str] = []
        for figure_id, value in zip(ids, images, strict=True):
            try:
                fingerprints.append(image_fingerprint(value))
            except (OSError, TypeError) as error:
                fingerprints.append(None)
                problems.append(f"figure {figure_id!r}: {error}")
            else:
                if fingerprints[-1] is None:
                    problems.append(f"figure {figure_id!r}: no image")
        unique: dict[str, int] = {}
        first_row: list[int] = []
        for row, fingerprint in enumerate(fingerprints):
            if fingerprint is not None and fingerprint not in unique:
                unique[fingerprint] = len(first_row)
                first_row.append(row)
        keys = list(unique)
        cache = self._cache(self.encoders.image_identity())
        cached, found = cache.get(keys) if cache is not None else (None, np.zeros(len(keys), bool))
        vectors = cached
        missing = [i for i in range(len(keys)) if not found[i]]
        if missing:
            computed, failed = self._encode_image_rows(
                [images[first_row[i]] for i in missing], "Embedding images"
            )
            good = [j for j in range(len(missing)) if j not in failed]
            for j, message in failed.items():
                problems.append(f"figure {ids[first_row[missing[j]]]!r}: {message}")
            if good:
                width = computed.shape[1]
                if vectors is None:
                    vectors = np.full((len(keys), width), np.nan, np.float32)
                vectors[[missing[j] for j in good]] = computed[good]
                if cache is not None:
                    cache.put([keys[missing[j]] for j in good], computed[good])
            if failed and vectors is not None:
                vectors[[missing[j] for j in failed]] = np.nan
        if problems:
            shown = "; ".join(problems[:_SHOWN_PROBLEMS])
            more = f" and {len(problems) - _SHOWN_PROBLEMS} more" if len(problems) > _SHOWN_PROBLEMS else ""
            logger.warning(
                "%d figure(s) without a usable image are left out: %s%s", len(problems), shown, more
            )
        width = vectors.shape[1] if vectors is not None else 1
        out = np.full((len(images), width), np.nan, np.float32)
        for row, fingerprint in enumerate(fingerprints):
            if fingerprint is not None and vectors is not None:
                out[row] = vectors[unique[fingerprint]]
        return out

    def _encode_image_rows(
        self, values: Sequence[Any], description: str
    ) -> tuple[np.ndarray, dict[int, str]]:
        """Decode (in threads) and encode images in batches; failures are reported by position, not raised."""
        from tqdm.auto import tqdm

        from biomed_vital.data import load_image

        def decode(value: Any) -> Any:
            try:
                return load_image(value)
            except Exception as error:  # any undecodable file is reported, never fatal
                return error

        batch_size = self.config.batch_size
        chunks: list[np.ndarray] = []
        failed: dict[int, str] = {}
        width = 0
        workers = min(4, os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for start in tqdm(range(0, len(values), batch_size), desc=description, unit="batch", leave=False):
                decoded = list(pool.map(decode, values[start : start + batch_size]))
                good = [i for i, image in enumerate(decoded) if not isinstance(image, Exception)]
                for i, image in enumerate(decoded):
                    if isinstance(image, Exception):
                        failed[start + i] = str(image)
                block = None
                if good:
                    block = self.encoders.encode_images([decoded[i] for i in good])
                    width = block.shape[1]
                chunk = np.full((len(decoded), max(width, 1)), np.nan, np.float32)
                if block is not None:
                    chunk[good] = block
                chunks.append(chunk)
        if not chunks:
            return np.zeros((0, 1), np.float32), failed
        width = max(chunk.shape[1] for chunk in chunks)
        return (
            np.concatenate(
                [c if c.shape[1] == width else np.full((len(c), width), np.nan, np.float32) for c in chunks]
            ),
            failed,
        )

    def _embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        from tqdm.auto import tqdm

        identity = self.encoders.text_identity()
        if identity is None:  # fitted on the pool itself: nothing to cache per text
            return self.encoders.encode_texts(texts)
        unique = list(dict.fromkeys(texts))
        keys = [text_key(text) for text in unique]
        cache = self._cache(identity)
        cached, found = cache.get(keys) if cache is not None else (None, np.zeros(len(keys), bool))
        missing = [i for i in range(len(keys)) if not found[i]]
        vectors = cached
        if missing:
            batch_size = self.config.batch_size
            blocks = [
                self.encoders.encode_texts([unique[i] for i in missing[start : start + batch_size]])
                for start in tqdm(
                    range(0, len(missing), batch_size), desc="Embedding texts", unit="batch", leave=False
                )
            ]
            computed = np.concatenate(blocks)
            if vectors is None:
                vectors = np.zeros((len(keys), computed.shape[1]), np.float32)
            vectors[missing] = computed
            if cache is not None:
                cache.put([keys[i] for i in missing], computed)
        assert vectors is not None
        position = {text: i for i, text in enumerate(unique)}
        return vectors[[position[text] for text in texts]]

    # ------------------------------------------------------------------ the draw
    def sample(self, figures: Any, k: int | None = None, *, embeddings: np.ndarray | None = None) -> Any:
        """Draw ``k`` diverse figures: clusters of the joint embedding, spread over clusters and strata.

        Figures outside ``config.modalities`` and figures without a usable image are left out first.
        ``MiniBatchKMeans`` clusters the rest into ``n_clusters`` (on a ``reduce_dims``-d PCA projection
        unless that is empty); with ``stratify_by`` (default
        ``"modality"``) each value gets an equal share of ``k`` (a value with fewer figures gives its
        remainder to the others), so rare modalities are drawn too. Within a share, figures are taken one
        cluster at a time in turn (at most ``per_cluster`` from one cluster), at random or nearest to the
        cluster centre (``within_cluster``).

        Args:
            figures: a figures Dataset.
            k: how many figures; ``None``: ``n_clusters x (per_cluster or 1)``. A pool smaller than ``k``
                gives all its figures (with a warning).
            embeddings: precomputed :meth:`embed` output (one row per figure); computed when ``None``.

        Returns:
            The drawn rows of ``figures`` (in pool order) with a ``cluster`` column.

        Example:
            >>> drawn = DemonstrationSampler(embedding="lightweight", n_clusters=3).sample(figures, k=3)  # doctest: +SKIP
            >>> drawn["cluster"]                                                                         # doctest: +SKIP
            [0, 2, 1]
        """
        from sklearn.cluster import MiniBatchKMeans

        config = self.config
        if k is not None and k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        k = k if k is not None else config.n_clusters * (config.per_cluster or 1)
        rows = np.arange(len(figures))
        if config.modalities is not None:
            if schema.MODALITY not in figures.column_names:
                raise ValueError("modalities is set but the figures have no 'modality' column")
            wanted = set(config.modalities)
            rows = np.flatnonzero([m in wanted for m in figures[schema.MODALITY]])
            if len(rows) == 0:
                raise ValueError(
                    f"no figure has a modality in {config.modalities}; the pool has "
                    f"{sorted(set(figures[schema.MODALITY]))}"
                )
        if embeddings is None:
            pool = figures.select(rows) if len(rows) != len(figures) else figures
            vectors = self.embed(pool)
        else:
            if len(embeddings) != len(figures):
                raise ValueError(f"embeddings has {len(embeddings)} rows but the figures have {len(figures)}")
            vectors = np.asarray(embeddings, dtype=np.float32)[rows]
        usable = ~np.isnan(vectors).any(axis=1)
        rows, vectors = rows[usable], vectors[usable]
        if len(rows) == 0:
            raise ValueError("no figure has a usable image; check the image column (see the warnings above)")
        if config.stratify_by is not None and config.stratify_by not in figures.column_names:
            raise ValueError(
                f"stratify_by={config.stratify_by!r} is not a column of the figures; pass stratify_by=None "
                "for no balancing"
            )
        strata_column = config.stratify_by or (
            schema.MODALITY if schema.MODALITY in figures.column_names else None
        )
        all_strata = figures[strata_column] if strata_column else ["all"] * len(figures)
        strata = [str(all_strata[row]) for row in rows]
        if k >= len(rows):
            logger.warning(
                "the pool has %d usable figures, not more than k=%d: all of them are drawn", len(rows), k
            )

        n_clusters = min(config.n_clusters, len(rows))
        space = vectors
        if config.reduce_dims is not None and min(vectors.shape) > config.reduce_dims:
            from sklearn.decomposition import PCA

            space = PCA(config.reduce_dims, svd_solver="randomized", random_state=config.seed).fit_transform(
                vectors
            )
        kmeans = MiniBatchKMeans(
            n_clusters=n_clusters,
            batch_size=min(config.kmeans_batch_size, len(rows)),
            random_state=config.seed,
            n_init=3,
        )
        labels = kmeans.fit_predict(space)
        distances = np.linalg.norm(space - kmeans.cluster_centers_[labels], axis=1)
        selected = _draw(
            labels,
            strata if config.stratify_by else ["all"] * len(rows),
            distances,
            k=min(k, len(rows)),
            per_cluster=config.per_cluster,
            nearest=config.within_cluster == "nearest",
            seed=config.seed,
        )
        self.last = SampleResult(vectors, rows, labels, strata, selected)
        order = np.argsort(rows[selected], kind="stable")
        picked = selected[order]
        drawn = figures.select(rows[picked].tolist())
        if CLUSTER in drawn.column_names:
            drawn = drawn.remove_columns(CLUSTER)
        return drawn.add_column(CLUSTER, labels[picked].astype(np.int64).tolist())

    # ------------------------------------------------------------------ after annotation
    def select_demonstrations(
        self, candidates: Any, annotations: Any, *, per_modality: int | Mapping[str, int] = 1
    ) -> Any:
        """The clinician-approved conversations, in the form ``GPT4VGenerator(demonstrations=...)`` takes.

        See :func:`biomed_vital.sampling.select_demonstrations`.

        Example:
            >>> demonstrations = sampler.select_demonstrations(candidates, "annotations.jsonl")  # doctest: +SKIP
        """
        from biomed_vital.sampling.demonstrations import select_demonstrations

        return select_demonstrations(candidates, annotations, per_modality=per_modality)

    # ------------------------------------------------------------------ the picture
    def plot(
        self, path: str | os.PathLike[str], *, title: str | None = None, max_points: int = 20_000
    ) -> Path:
        """A PNG of the last :meth:`sample`: a 2-D PCA projection coloured by modality, the drawn figures marked.

        Args:
            path: where the PNG goes.
            title: the plot title (default: pool size, clusters and draw size).
            max_points: the background shows at most this many pool figures (a seeded subset); drawn
                figures are always shown.

        Example:
            >>> sampler.plot("sampling.png")   # doctest: +SKIP
            PosixPath('sampling.png')
        """
        if self.last is None:
            raise ValueError("nothing to plot yet: call sample(figures, k) first")
        from biomed_vital.sampling.plotting import plot_projection

        last = self.last
        return plot_projection(
            last.embeddings,
            last.strata,
            last.selected,
            path,
            title=title
            or f"{len(last.rows)} figures, {len(set(last.labels.tolist()))} clusters, {len(last.selected)} drawn",
            max_points=max_points,
            seed=self.config.seed,
        )


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, vectors / np.where(norms > 0, norms, 1.0), vectors)


def _shares(sizes: Mapping[str, int], k: int) -> dict[str, int]:
    """Split ``k`` equally over strata; a stratum smaller than its share gives the rest to the others.

    A remainder goes to the smaller strata first.
    """
    shares = dict.fromkeys(sizes, 0)
    left = k
    open_strata = sorted((s for s in sizes if sizes[s] > 0), key=lambda s: (sizes[s], s))
    while left > 0 and open_strata:
        each = max(left // len(open_strata), 1)
        for stratum in open_strata:
            give = min(each, sizes[stratum] - shares[stratum], left)
            shares[stratum] += give
            left -= give
        open_strata = [s for s in open_strata if shares[s] < sizes[s]]
    return shares


def _draw(
    labels: np.ndarray,
    strata: Sequence[str],
    distances: np.ndarray,
    *,
    k: int,
    per_cluster: int | None,
    nearest: bool,
    seed: int,
) -> np.ndarray:
    """Positions of the drawn figures: each stratum's share taken one cluster at a time in turn."""
    rng = np.random.default_rng(seed)
    by_stratum: dict[str, dict[int, list[int]]] = {}
    for position, (label, stratum) in enumerate(zip(labels.tolist(), strata, strict=True)):
        by_stratum.setdefault(stratum, {}).setdefault(label, []).append(position)
    for clusters in by_stratum.values():
        for label, members in clusters.items():
            if nearest:
                members.sort(key=lambda p: (distances[p], p))
            else:
                clusters[label] = [members[i] for i in rng.permutation(len(members))]
    sizes = {s: sum(len(m) for m in clusters.values()) for s, clusters in by_stratum.items()}
    taken_per_cluster: dict[int, int] = {}
    drawn: list[int] = []
    cap = per_cluster if per_cluster is not None else len(labels)
    shortfall = 0
    for stratum, share in sorted(_shares(sizes, k).items()):
        clusters = by_stratum[stratum]
        # larger clusters first, ties in a seeded order, so repeated draws are reproducible
        order = sorted(clusters, key=lambda c: (-len(clusters[c]), rng.random()))
        cursor = dict.fromkeys(order, 0)
        got = 0
        while got < share:
            progressed = False
            for label in order:
                if got >= share:
                    break
                if cursor[label] < len(clusters[label]) and taken_per_cluster.get(label, 0) < cap:
                    drawn.append(clusters[label][cursor[label]])
                    cursor[label] += 1
                    taken_per_cluster[label] = taken_per_cluster.get(label, 0) + 1
                    got += 1
                    progressed = True
            if not progressed:
                break
        shortfall += share - got
    if shortfall:
        logger.warning(
            "%d of k=%d figures could not be drawn: per_cluster=%s caps the clusters; raise per_cluster or "
            "n_clusters",
            shortfall,
            k,
            per_cluster,
        )
    return np.asarray(drawn, dtype=np.int64)
