"""``SamplerConfig``: the options of :class:`~biomed_vital.sampling.DemonstrationSampler`.

Defaults follow BioMed-VITAL where the paper gives a value (60 clusters of joint image and text
embeddings, a ViT image tower, the caption plus the first in-text mention as the text); the rest
are choices of this library. The ``biomed-vital`` preset (:data:`SAMPLER_PRESETS`) reproduces the
paper's run, which also kept only the CT, MRI and chest X-ray figures of the pool.

Changed defaults relative to the paper: ``modalities`` keeps every modality (the paper: CT, MRI and
chest X-ray only), ``stratify_by="modality"`` balances the draw over modalities so that rare ones
are reachable (the paper drew from the clusters alone), and ``reduce_dims=128`` clusters a PCA
projection of the joint embedding (the paper clustered the full embedding; at pool scale the
projection is many times faster). The paper names no text encoder; ours is PubMedBERT.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["SAMPLER_PRESETS", "SamplerConfig"]

EmbeddingKind = Literal["encoders", "selector", "lightweight"]


@dataclass
class SamplerConfig:
    """How :class:`~biomed_vital.sampling.DemonstrationSampler` embeds, clusters and draws figures.

    Example:
        >>> SamplerConfig(n_clusters=8, embedding="lightweight").n_clusters
        8
        >>> SamplerConfig.from_preset("biomed-vital").modalities
        ['ct_scan', 'mri', 'chest_xray']
    """

    n_clusters: int = field(
        default=60, metadata={"help": "Clusters of the joint embedding (MiniBatchKMeans); the paper used 60."}
    )
    per_cluster: int | None = field(
        default=None,
        metadata={
            "help": "Most figures drawn from one cluster; empty: no cap (the draw still spreads over the "
            "clusters). Without k, n_clusters x per_cluster figures are drawn."
        },
    )
    stratify_by: str | None = field(
        default="modality",
        metadata={
            "help": "Column whose values share the draw equally (rare values are reachable); empty: no balancing."
        },
    )
    modalities: list[str] | None = field(
        default=None,
        metadata={"help": "Keep only figures of these modalities (e.g. ct_scan mri chest_xray); empty: all."},
    )
    within_cluster: Literal["random", "nearest"] = field(
        default="random",
        metadata={"help": "Which figures of a cluster are drawn: at random, or the nearest to its centre."},
    )
    embedding: EmbeddingKind = field(
        default="encoders",
        metadata={
            "help": "encoders: Hugging Face image and text encoders; selector: the towers of a trained "
            "selector; lightweight: TF-IDF of the text and a small image descriptor, no model (the lighter, "
            "offline choice)."
        },
    )
    image_encoder: str = field(
        default="google/vit-base-patch16-224-in21k",
        metadata={"help": "Image encoder (Hub id or folder): ViT, CLIP, SigLIP, ... (embedding=encoders)."},
    )
    text_encoder: str = field(
        default="microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext",
        metadata={"help": "Text encoder (Hub id or folder): BERT, PubMedBERT, ... (embedding=encoders)."},
    )
    selector: str | None = field(
        default=None,
        metadata={"help": "A trained selector (folder or Hub id) whose towers embed (embedding=selector)."},
    )
    max_mentions: int = field(
        default=1,
        metadata={"help": "In-text mentions joined to the caption for the text embedding (the paper: 1)."},
    )
    image_weight: float = field(
        default=1.0, metadata={"help": "Weight of the (unit-length) image part of the joint embedding."}
    )
    text_weight: float = field(
        default=1.0, metadata={"help": "Weight of the (unit-length) text part of the joint embedding."}
    )
    batch_size: int = field(default=32, metadata={"help": "Images or texts per encoder batch."})
    device: str | None = field(
        default=None, metadata={"help": "Device of the encoders; empty: cuda when there is one, else cpu."}
    )
    cache_dir: str | None = field(
        default=None,
        metadata={
            "help": "Embedding cache folder (keyed by encoder and image fingerprint / text); empty: "
            "$BIOMED_VITAL_CACHE/embeddings."
        },
    )
    use_cache: bool = field(default=True, metadata={"help": "Read and write the embedding cache."})
    lightweight_text_dims: int = field(
        default=128, metadata={"help": "TF-IDF dimensions kept after truncated SVD (embedding=lightweight)."}
    )
    lightweight_thumbnail: int = field(
        default=16,
        metadata={"help": "Side of the greyscale thumbnail in the image descriptor (embedding=lightweight)."},
    )
    reduce_dims: int | None = field(
        default=128,
        metadata={
            "help": "PCA dimensions the joint embedding is reduced to before clustering (faster at pool scale, "
            "little lost); empty: cluster the full embedding, as the paper did."
        },
    )
    kmeans_batch_size: int = field(default=4096, metadata={"help": "Rows per MiniBatchKMeans step."})
    seed: int = field(default=0, metadata={"help": "Seed of the clustering and of the draw."})

    def __post_init__(self) -> None:
        if self.n_clusters < 1:
            raise ValueError(f"n_clusters must be >= 1, got {self.n_clusters}")
        if self.per_cluster is not None and self.per_cluster < 1:
            raise ValueError(f"per_cluster must be >= 1 or empty, got {self.per_cluster}")
        if self.embedding not in ("encoders", "selector", "lightweight"):
            raise ValueError(
                f"embedding must be 'encoders', 'selector' or 'lightweight', got {self.embedding!r}"
            )
        if self.embedding == "selector" and not self.selector:
            raise ValueError("embedding='selector' needs selector=<folder or Hub id of a trained selector>")
        if self.within_cluster not in ("random", "nearest"):
            raise ValueError(f"within_cluster must be 'random' or 'nearest', got {self.within_cluster!r}")
        if self.max_mentions < 0:
            raise ValueError(f"max_mentions must be >= 0, got {self.max_mentions}")
        if self.image_weight < 0 or self.text_weight < 0 or self.image_weight + self.text_weight == 0:
            raise ValueError("image_weight and text_weight must be >= 0 and not both 0")
        if self.reduce_dims is not None and self.reduce_dims < 2:
            raise ValueError(f"reduce_dims must be >= 2 or empty, got {self.reduce_dims}")
        for name in ("batch_size", "lightweight_text_dims", "lightweight_thumbnail", "kmeans_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.modalities is not None:
            self.modalities = list(self.modalities)
        self.stratify_by = self.stratify_by or None

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> SamplerConfig:
        """The config of a named preset (see :data:`SAMPLER_PRESETS`), with ``overrides`` on top.

        Example:
            >>> SamplerConfig.from_preset("biomed-vital", embedding="lightweight").n_clusters
            60
        """
        if name not in SAMPLER_PRESETS:
            raise ValueError(f"unknown sampler preset {name!r}; choose from {', '.join(SAMPLER_PRESETS)}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"SamplerConfig has no option(s) {', '.join(unknown)}")
        return cls(**{**SAMPLER_PRESETS[name], **overrides})


#: Named settings. ``biomed-vital``: the paper's sampling (caption + first mention text and a ViT image
#: embedding, concatenated, 60 clusters on the full embedding, only CT, MRI and chest X-ray figures, no
#: modality balancing).
SAMPLER_PRESETS: dict[str, dict[str, Any]] = {
    "biomed-vital": {
        "n_clusters": 60,
        "modalities": ["ct_scan", "mri", "chest_xray"],
        "stratify_by": None,
        "embedding": "encoders",
        "image_encoder": "google/vit-base-patch16-224-in21k",
        "max_mentions": 1,
        "reduce_dims": None,
    },
}
