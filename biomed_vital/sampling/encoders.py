"""The figure encoders of :class:`~biomed_vital.sampling.DemonstrationSampler`: image and text towers.

Three kinds, chosen by ``SamplerConfig.embedding``:

* :class:`HuggingFaceEncoders` (``encoders``): any Hugging Face image encoder (ViT, CLIP, SigLIP, DINOv2,
  ...) and text encoder (BERT, PubMedBERT, ...) by Hub id or folder, batched, on GPU when there is one;
* :class:`SelectorEncoders` (``selector``): the two towers of a trained selector
  (``SelectorModel.encode_image`` / ``encode_text``);
* :class:`LightweightEncoders` (``lightweight``): the lighter, offline choice with no model: TF-IDF of the
  text reduced by truncated SVD, and a small image descriptor (a greyscale thumbnail and an intensity
  histogram). Good enough to spread a draw over visibly different figures; not a semantic embedding.

Each has an ``identity`` (the encoder and the fingerprint of its weights) that keys the embedding cache.

Example:
    >>> encoders = LightweightEncoders(thumbnail=8)
    >>> from PIL import Image
    >>> encoders.encode_images([Image.new("RGB", (20, 10))]).shape
    (1, 80)
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

__all__ = ["FigureEncoders", "HuggingFaceEncoders", "LightweightEncoders", "SelectorEncoders", "pick_device"]

_HISTOGRAM_BINS = 16


class FigureEncoders(Protocol):
    """An image tower and a text tower: what the sampler needs of an encoder pair."""

    def image_identity(self) -> str: ...

    def text_identity(self) -> str | None:
        """``None`` when text vectors depend on the whole pool (not cacheable per text)."""

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray: ...

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray: ...


def pick_device(device: str | None) -> str:
    """``device``, or ``cuda`` when a GPU is visible, else ``cpu``.

    Example:
        >>> pick_device("cpu")
        'cpu'
    """
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _weights_fingerprint(name_or_path: str, model: Any) -> str:
    """Name plus what pins the weights: the Hub commit, or the size and mtime of local weight files."""
    commit = getattr(model.config, "_commit_hash", None)
    parts = [name_or_path, type(model).__name__, str(commit or "")]
    folder = Path(name_or_path)
    if folder.is_dir():
        for file in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
            stat = file.stat()
            parts.append(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def _mean_pool(hidden: Any, attention_mask: Any) -> Any:
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


def _load_error(what: str, name: str, error: Exception) -> ValueError:
    hint = (
        " (offline: HF_HUB_OFFLINE is set and the model is not in the local cache; pass a folder, or use "
        "embedding='lightweight')"
        if os.environ.get("HF_HUB_OFFLINE")
        else ""
    )
    first_sentence = str(error).strip().split(". ")[0].rstrip(".")
    return ValueError(f"cannot load the {what} {name!r}: {first_sentence}{hint}")


class HuggingFaceEncoders:
    """Hugging Face image and text encoders, loaded with ``AutoModel`` and run in inference mode.

    Image vectors are the model's image features (``get_image_features`` of a dual encoder such as
    CLIP), else its ``pooler_output``, else the first token; text vectors are ``get_text_features``
    or the attention-masked mean of the last hidden state.

    Args:
        image_encoder / text_encoder: Hub ids or folders (one CLIP/SigLIP checkpoint may serve both).
        device: ``None`` picks cuda when there is one.
        max_length: text truncation (the tokenizer's limit by default, at most 512).
    """

    def __init__(
        self, image_encoder: str, text_encoder: str, *, device: str | None = None, max_length: int = 512
    ) -> None:
        self.image_encoder, self.text_encoder = image_encoder, text_encoder
        self.device = pick_device(device)
        self.max_length = max_length
        self._image: tuple[Any, Any] | None = None
        self._text: tuple[Any, Any] | None = None

    def _image_model(self) -> tuple[Any, Any]:
        if self._image is None:
            from transformers import AutoImageProcessor, AutoModel

            try:
                processor = AutoImageProcessor.from_pretrained(self.image_encoder)
                model = AutoModel.from_pretrained(self.image_encoder)
            except (OSError, ValueError) as error:
                raise _load_error("image encoder", self.image_encoder, error) from None
            self._image = (model.to(self.device).eval(), processor)
        return self._image

    def _text_model(self) -> tuple[Any, Any]:
        if self._text is None:
            from transformers import AutoModel, AutoTokenizer

            try:
                tokenizer = AutoTokenizer.from_pretrained(self.text_encoder)
                model = AutoModel.from_pretrained(self.text_encoder)
            except (OSError, ValueError) as error:
                raise _load_error("text encoder", self.text_encoder, error) from None
            self._text = (model.to(self.device).eval(), tokenizer)
        return self._text

    def image_identity(self) -> str:
        return f"hf-image:{self.image_encoder}:{_weights_fingerprint(self.image_encoder, self._image_model()[0])}"

    def text_identity(self) -> str:
        return f"hf-text:{self.text_encoder}:{_weights_fingerprint(self.text_encoder, self._text_model()[0])}"

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        import torch

        model, processor = self._image_model()
        pixels = processor(images=list(images), return_tensors="pt")["pixel_values"].to(self.device)
        with torch.inference_mode():
            if hasattr(model, "get_image_features"):
                features = model.get_image_features(pixel_values=pixels)
                features = getattr(features, "pooler_output", features)
            else:
                outputs = model(pixel_values=pixels)
                pooled = getattr(outputs, "pooler_output", None)
                features = pooled if pooled is not None else outputs.last_hidden_state[:, 0]
                if features.dim() > 2:  # convolutional encoders: (B, C, 1, 1) or (B, C, H, W)
                    features = features.flatten(2).mean(-1)
        return features.float().cpu().numpy()

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        model, tokenizer = self._text_model()
        limit = min(
            self.max_length, getattr(tokenizer, "model_max_length", self.max_length) or self.max_length
        )
        encoded = tokenizer(list(texts), padding=True, truncation=True, max_length=limit, return_tensors="pt")
        encoded = {key: value.to(self.device) for key, value in encoded.items()}
        with torch.inference_mode():
            if hasattr(model, "get_text_features"):
                features = model.get_text_features(**encoded)
                features = getattr(features, "pooler_output", features)
            else:
                hidden = model(**encoded).last_hidden_state
                features = _mean_pool(hidden, encoded["attention_mask"])
        return features.float().cpu().numpy()


class SelectorEncoders:
    """The image and text towers of a trained selector (pooled features, before the selector's projections).

    Args:
        selector: a folder or Hub id written by ``SelectorModel.save_pretrained`` (with its processor).
        device: ``None`` picks cuda when there is one.
    """

    def __init__(self, selector: str, *, device: str | None = None) -> None:
        self.selector = selector
        self.device = pick_device(device)
        self._loaded: tuple[Any, Any] | None = None

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            from biomed_vital.selection import SelectorModel, SelectorProcessor

            try:
                model = SelectorModel.from_pretrained(self.selector)
                processor = SelectorProcessor.from_pretrained(self.selector)
            except (OSError, ValueError) as error:
                raise _load_error("selector", self.selector, error) from None
            self._loaded = (model.to(self.device).eval(), processor)  # type: ignore[arg-type]
        return self._loaded

    def image_identity(self) -> str:
        return f"selector-image:{self.selector}:{_weights_fingerprint(self.selector, self._load()[0])}"

    def text_identity(self) -> str:
        return f"selector-text:{self.selector}:{_weights_fingerprint(self.selector, self._load()[0])}"

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        import torch

        model, processor = self._load()
        pixels = processor.preprocess_images(list(images), return_tensors="pt")["pixel_values"]
        with torch.inference_mode():
            return model.encode_image(pixels.to(self.device)).float().cpu().numpy()

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        model, processor = self._load()
        encoded = processor.tokenize(list(texts), return_tensors="pt")
        encoded = {key: value.to(self.device) for key, value in encoded.items()}
        with torch.inference_mode():
            features = model.encode_text(
                encoded["input_ids"], encoded.get("attention_mask"), encoded.get("token_type_ids")
            )
        return features.float().cpu().numpy()


class LightweightEncoders:
    """No model: TF-IDF + truncated SVD of the texts, and a thumbnail + histogram descriptor of the images.

    The text vectors are fitted on the texts of one call (the pool), so they are not cached per text;
    the image descriptors are (decoding is the slow part).

    Args:
        text_dims: SVD dimensions kept of the TF-IDF matrix.
        thumbnail: side of the greyscale thumbnail (``thumbnail**2`` values) next to a 16-bin histogram.
        seed: seed of the SVD.
    """

    def __init__(self, *, text_dims: int = 128, thumbnail: int = 16, seed: int = 0) -> None:
        self.text_dims, self.thumbnail, self.seed = text_dims, thumbnail, seed

    def image_identity(self) -> str:
        return f"lightweight-image:thumbnail={self.thumbnail}:bins={_HISTOGRAM_BINS}"

    def text_identity(self) -> None:
        return None

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        rows = []
        for image in images:
            grey = image.convert("L")
            thumbnail = np.asarray(
                grey.resize((self.thumbnail, self.thumbnail), Image.Resampling.BILINEAR), dtype=np.float32
            ).ravel()
            thumbnail = (thumbnail - thumbnail.mean()) / (thumbnail.std() + 1e-6)
            histogram = np.asarray(grey.histogram(), dtype=np.float32).reshape(_HISTOGRAM_BINS, -1).sum(1)
            histogram = np.sqrt(histogram / max(histogram.sum(), 1.0))
            rows.append(
                np.concatenate([thumbnail / np.sqrt(thumbnail.size), histogram * np.sqrt(_HISTOGRAM_BINS)])
            )
        return (
            np.stack(rows).astype(np.float32) if rows else np.zeros((0, self.thumbnail**2 + 16), np.float32)
        )

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = [text or "" for text in texts]
        if not any(t.strip() for t in texts):
            return np.zeros((len(texts), 1), np.float32)
        vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=1, max_features=50_000, stop_words="english")
        try:
            matrix = vectorizer.fit_transform(texts)
        except ValueError:  # only stop words
            return np.zeros((len(texts), 1), np.float32)
        dims = min(self.text_dims, matrix.shape[1] - 1, len(texts) - 1)
        if dims < 1:
            return matrix.toarray().astype(np.float32)
        return (
            TruncatedSVD(n_components=dims, random_state=self.seed).fit_transform(matrix).astype(np.float32)
        )
