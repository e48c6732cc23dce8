"""`SelectorProcessor`: turns (image, text) pairs into the inputs of a `SelectorModel`."""

from __future__ import annotations

import os
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image as PILImage
from transformers import BatchFeature, ProcessorMixin

from biomed_vital.paths import check_local_path
from biomed_vital.selection.configuration import ENCODER_CHECKPOINT, SAVED_SELECTOR

# Per tokenizer, its backend configured for the selector's padded, truncated batches (see `_encode_padded`).
_PADDED_BACKENDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

# Backend parts under which a text cut at a space (one that follows a non-space character) tokenizes into a
# suffix (or prefix) of the whole text's tokens: every piece before and after such a space is normalised and
# split on its own. Anything else (SentencePiece-style "Prepend"/"Strip" normalizers, Unigram, a byte-level
# split without its regex, added tokens with spaces or that swallow the space after them) is never cut.
_LOCAL_NORMALIZERS = frozenset({"BertNormalizer", "Lowercase", "NFC", "NFD", "NFKC", "NFKD", "StripAccents"})
_SPACE_SPLITTING_PRE_TOKENIZERS = frozenset({"BertPreTokenizer", "Whitespace", "WhitespaceSplit"})
_LOCAL_PRE_TOKENIZERS = _SPACE_SPLITTING_PRE_TOKENIZERS | {"Punctuation", "Digits"}
_WORD_MODELS = frozenset({"BPE", "WordPiece", "WordLevel"})
#: Characters per token a cut starts from; grown to what the texts show when a cut piece comes out short.
_START_CHARS_PER_TOKEN = 2.0


def _cuts_at_spaces(serialized: str) -> bool:
    """Whether a backend (its JSON) tokenizes a text cut at a space into the matching part of the whole's tokens."""
    import json

    spec = json.loads(serialized)

    def parts(node: Any, key: str) -> list[dict[str, Any]]:
        if node is None:
            return []
        return (
            [p for child in node[key] for p in parts(child, key)]
            if node.get("type") == "Sequence"
            else [node]
        )

    normalizers = parts(spec.get("normalizer"), "normalizers")
    pre_tokenizers = parts(spec.get("pre_tokenizer"), "pretokenizers")

    def splits_at_spaces(part: dict[str, Any]) -> bool:
        return (
            part["type"] in _SPACE_SPLITTING_PRE_TOKENIZERS
            or (part["type"] == "ByteLevel" and part.get("use_regex", True))
            or (part["type"] == "Metaspace" and part.get("split", True))
        )

    splits = any(splits_at_spaces(part) for part in pre_tokenizers)
    local = all(splits_at_spaces(part) or part["type"] in _LOCAL_PRE_TOKENIZERS for part in pre_tokenizers)
    model = spec.get("model") or {}
    return (
        splits
        and local
        and all(part["type"] in _LOCAL_NORMALIZERS for part in normalizers)
        and model.get("type") in _WORD_MODELS
        and model.get("dropout") is None
        and not any(
            token.get("rstrip") or any(character.isspace() for character in token["content"])
            for token in spec.get("added_tokens") or []
        )
    )


def _cut_point(text: str, budget: int, side: str) -> int | None:
    """Where to cut `text` to about `budget` characters, at a space after a non-space; None: no such space."""
    if side == "left":  # keep the end: the first such space at or after len - budget
        position = text.find(" ", max(1, len(text) - budget))
        while position != -1 and text[position - 1].isspace():
            position = text.find(" ", position + 1)
        return None if position == -1 else position
    position = text.rfind(" ", 1, budget + 1)  # keep the start: the last such space up to budget
    while position > 0 and text[position - 1].isspace():
        position = text.rfind(" ", 1, position)
    return None if position <= 0 else position


class _PaddedBackend:
    """A tokenizer's backend set up to truncate and pad like the selector, and what cutting it has learnt."""

    def __init__(self, backend: Any, max_length: int, truncation_side: str, padding: tuple[Any, ...]):
        from tokenizers import Tokenizer

        serialized = backend.to_str()
        self.tokenizer = Tokenizer.from_str(serialized)
        self.tokenizer.enable_truncation(
            max_length, stride=0, strategy="longest_first", direction=truncation_side
        )
        side, pad_id, pad_token, pad_type_id = padding
        self.tokenizer.enable_padding(
            direction=side, pad_id=pad_id, pad_token=pad_token, pad_type_id=pad_type_id
        )
        self.max_length, self.side = max_length, truncation_side
        self.cuttable = _cuts_at_spaces(serialized)
        self.chars_per_token = _START_CHARS_PER_TOKEN

    def encode(self, texts: list[str]) -> list[Any]:
        """Encodings of `texts`, each exactly the whole text's, tokenizing only what truncation can keep.

        A text longer than the characters `max_length` tokens can span is cut at a space and only the end
        (left truncation) or the start (right truncation) is tokenized. A piece that fills the token limit
        holds every token the whole text keeps; if any piece falls short, the batch is tokenized whole and
        later cuts keep more characters.
        """
        if not self.cuttable:
            return self.tokenizer.encode_batch_fast(texts, add_special_tokens=True)
        budget = int(self.max_length * self.chars_per_token) + 16
        pieces, cut = list(texts), []
        for row, text in enumerate(texts):
            if len(text) > budget:
                point = _cut_point(text, budget, self.side)
                if point is not None:
                    pieces[row] = text[point:] if self.side == "left" else text[:point]
                    cut.append(row)
        encodings = self.tokenizer.encode_batch_fast(pieces, add_special_tokens=True)
        short = [row for row in cut if sum(encodings[row].attention_mask) < self.max_length]
        if not short:
            return encodings
        # the texts pack more characters into a token than assumed: learn by how much, and start again
        needed = max(len(pieces[row]) / max(1, sum(encodings[row].attention_mask)) for row in short)
        self.chars_per_token = max(self.chars_per_token, needed) * 1.25
        return self.tokenizer.encode_batch_fast(texts, add_special_tokens=True)


def _encode_padded(
    tokenizer: Any, text: str | Sequence[str], max_length: int, truncation_side: str
) -> BatchFeature | None:
    """Token ids of a padded, truncated batch straight from the Rust backend; None where that does not apply.

    Gives exactly what `tokenizer(text, padding=True, truncation=True, max_length=...)` gives, without the
    character offsets and the per-text Python objects that call builds and the selector never reads (a third
    less time per text), and tokenizing only the part of a long text that truncation can keep.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or not hasattr(backend, "encode_batch_fast") or tokenizer.pad_token_id is None:
        return None
    texts = [text] if isinstance(text, str) else list(text)
    if not texts or not all(isinstance(item, str) for item in texts):
        return None
    padding = (
        tokenizer.padding_side,
        tokenizer.pad_token_id,
        tokenizer.pad_token,
        tokenizer.pad_token_type_id,
    )
    key = (max_length, truncation_side, padding, len(tokenizer))
    configured = _PADDED_BACKENDS.get(tokenizer)
    if configured is None or configured[0] != key:
        configured = (key, _PaddedBackend(backend, max_length, truncation_side, padding))
        _PADDED_BACKENDS[tokenizer] = configured
    import torch

    encodings = configured[1].encode(texts)
    names = tokenizer.model_input_names
    data = {"input_ids": torch.from_numpy(np.array([e.ids for e in encodings], dtype=np.int64))}
    if "token_type_ids" in names:
        data["token_type_ids"] = torch.from_numpy(np.array([e.type_ids for e in encodings], dtype=np.int64))
    if "attention_mask" in names:
        data["attention_mask"] = torch.from_numpy(
            np.array([e.attention_mask for e in encodings], dtype=np.int64)
        )
    return BatchFeature(data)


def _stacked_pixel_values(image_processor: Any, images: Sequence[Any]) -> Any:
    """`pixel_values` of RGB or greyscale PIL images for a plain PIL-backend image processor, in few C steps.

    Gives what `image_processor([image.convert("RGB") ...], return_tensors="pt")` gives (resize, centre crop,
    rescale, normalise, with the same dtypes), but resizes each PIL image directly, resizes a greyscale ("L")
    image as one band instead of three identical ones, and rescales/normalises every band through a lookup of
    the 256 values a pixel can take, computed with the processor's own arithmetic. That is several times less
    time per image than converting every image between numpy and PIL and normalising it alone, and image
    preprocessing is most of what reading costs `select()` with a small model.
    Returns None where that does not apply (another backend, a subclass with its own steps, padding, modes
    other than RGB and L, non-PIL inputs, images that come out in different sizes); the caller then uses the
    processor itself.
    """
    try:
        from transformers.image_processing_backends import PilBackend
        from transformers.image_transforms import get_resize_output_image_size
        from transformers.image_utils import ChannelDimension
    except ImportError:
        return None
    kind = type(image_processor)
    if not isinstance(image_processor, PilBackend) or any(
        getattr(kind, step) is not getattr(PilBackend, step)
        for step in ("_preprocess", "process_image", "resize", "center_crop", "rescale", "normalize")
    ):
        return None
    if not images or not all(
        isinstance(image, PILImage.Image) and image.mode in ("RGB", "L") for image in images
    ):
        return None
    settings: Any = image_processor  # its preprocessing settings are attributes of the instance
    if getattr(settings, "do_pad", None) or getattr(settings, "do_convert_rgb", None) is False:
        return None
    size = {key: value for key, value in dict(settings.size or {}).items() if value is not None}
    crop = {key: value for key, value in dict(settings.crop_size or {}).items() if value is not None}
    if settings.do_center_crop and set(crop) != {"height", "width"}:
        return None
    resample = settings.resample if settings.resample is not None else PILImage.Resampling.BILINEAR
    prepared = []
    for image in images:
        # PIL resamples every band alike, so resizing a grey image and then repeating its band gives exactly
        # the pixels of resizing its RGB conversion, at a third of the work.
        if settings.do_resize:
            if set(size) == {"height", "width"}:
                height, width = size["height"], size["width"]
            elif set(size) == {"shortest_edge"}:
                height, width = get_resize_output_image_size(
                    np.empty((3, image.height, image.width), dtype=np.uint8),
                    size=size["shortest_edge"],
                    default_to_square=False,
                    input_data_format=ChannelDimension.FIRST,
                )
            else:
                return None
            image = image.resize((width, height), resample=int(resample))
        if settings.do_center_crop:
            top = (image.height - crop["height"]) // 2
            left = (image.width - crop["width"]) // 2
            if top < 0 or left < 0:  # the processor pads small images first; leave that to it
                return None
            image = image.crop((left, top, left + crop["width"], top + crop["height"]))
        prepared.append(image)
    if len({image.size for image in prepared}) != 1:
        return None
    # Every output value is a function of one uint8 value and its channel, so the processor's own arithmetic
    # (float64 rescale, float32 cast, normalise) runs on the 256 possible values and each band is a lookup.
    levels = np.arange(256, dtype=np.uint8).reshape(256, 1).repeat(3, axis=1)  # (value, channel)
    table: np.ndarray = levels
    if settings.do_rescale:
        table = (table.astype(np.float64) * settings.rescale_factor).astype(np.float32)
    else:
        table = table.astype(np.float32)
    if settings.do_normalize:
        mean = np.broadcast_to(np.asarray(settings.image_mean, dtype=np.float32), (3,))
        std = np.broadcast_to(np.asarray(settings.image_std, dtype=np.float32), (3,))
        table = (table - mean) / std
    # float32 values survive the round trip through Python floats, and PIL's "F" lookup stores float32
    lookups = [table[:, channel].astype(np.float32).tolist() for channel in range(3)]
    width, height = prepared[0].size
    values = np.empty((len(prepared), 3, height, width), dtype=np.float32)
    for position, image in enumerate(prepared):
        bands = [image] * 3 if image.mode == "L" else image.split()
        for channel, band in enumerate(bands):
            if channel and band is bands[channel - 1] and lookups[channel] == lookups[channel - 1]:
                values[position, channel] = values[position, channel - 1]  # a grey image, equal statistics
            else:
                values[position, channel] = np.asarray(band.point(lookups[channel], "F"))
    import torch

    return torch.from_numpy(values)


class SelectorProcessor(ProcessorMixin):
    """Pairs a PIL image processor (`ViTImageProcessorPil`, `CLIPImageProcessorPil`, ...) with a tokenizer.

    It saves next to the model (`save_pretrained`) and reloads with `SelectorProcessor.from_pretrained` or
    `AutoProcessor.from_pretrained` once `biomed_vital` is imported. Text is truncated to the tokenizer's
    `model_max_length` unless `max_length` is given. `truncation_side="left"` (the default) cuts the start of
    long texts, so the answer, which comes last in the selector layout, always survives; it is saved with the
    processor. Images are converted to RGB first, so grayscale scans and RGBA figures work.

    Example:
        >>> from transformers import ViTImageProcessorPil
        >>> from biomed_vital.testing import build_tiny_tokenizer
        >>> processor = SelectorProcessor(ViTImageProcessorPil(size={"height": 32, "width": 32}),
        ...                               build_tiny_tokenizer())
        >>> from PIL import Image
        >>> batch = processor(images=[Image.new("L", (50, 40))], text=["Caption: ..."], return_tensors="pt")
        >>> sorted(batch)
        ['attention_mask', 'input_ids', 'pixel_values']
    """

    def __init__(
        self, image_processor: Any = None, tokenizer: Any = None, truncation_side: str = "left", **kwargs: Any
    ):
        if truncation_side not in ("left", "right"):
            raise ValueError(f"truncation_side={truncation_side!r}; use 'left' or 'right'.")
        # Saved in processor_config.json (tokenizers do not save their truncation side).
        self.truncation_side = truncation_side
        super().__init__(image_processor, tokenizer, **kwargs)
        if tokenizer is not None:
            tokenizer.truncation_side = truncation_side

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """`ProcessorMixin.from_pretrained`, with a one-line error for a local path that is not there.

        Example:
            >>> processor = SelectorProcessor.from_pretrained("runs/selector")  # doctest: +SKIP
        """
        if not kwargs.get("subfolder"):
            check_local_path(
                pretrained_model_name_or_path, expected=SAVED_SELECTOR, required_file="processor_config.json"
            )
        return super().from_pretrained(pretrained_model_name_or_path, **kwargs)

    @classmethod
    def from_encoders(
        cls, vision_name_or_path: str | os.PathLike, text_name_or_path: str | os.PathLike, **load_kwargs: Any
    ) -> SelectorProcessor:
        """Pair the image processor of a vision checkpoint with the tokenizer of a text checkpoint.

        The counterpart of `SelectorModel.from_encoders`; `load_kwargs` (`revision`, `cache_dir`, ...) go to
        both `from_pretrained` calls. Without torchvision the PIL image processor is chosen.

        Example:
            >>> processor = SelectorProcessor.from_encoders(                           # doctest: +SKIP
            ...     "openai/clip-vit-base-patch16",
            ...     "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext")
        """
        from transformers import AutoImageProcessor, AutoTokenizer

        check_local_path(vision_name_or_path, expected=ENCODER_CHECKPOINT.format(side="vision"))
        check_local_path(text_name_or_path, expected=ENCODER_CHECKPOINT.format(side="text"))
        image_processor = AutoImageProcessor.from_pretrained(vision_name_or_path, **load_kwargs)
        tokenizer = AutoTokenizer.from_pretrained(text_name_or_path, **load_kwargs)
        return cls(image_processor=image_processor, tokenizer=tokenizer)

    @classmethod
    def from_biomedclip(
        cls,
        path_or_hub_id: str | os.PathLike = "microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224",
        *,
        truncation_side: str = "right",
        load_kwargs: dict[str, Any] | None = None,
    ) -> SelectorProcessor:
        """The processor of a BiomedCLIP-layout open_clip checkpoint: its preprocessing and tokenizer.

        The counterpart of `SelectorModel.from_biomedclip`: images and texts become the inputs open_clip
        would give the towers (`truncation_side="right"`, open_clip's cut; see
        `biomed_vital.selection.biomedclip.biomedclip_processor`).

        Example:
            >>> processor = SelectorProcessor.from_biomedclip()   # doctest: +SKIP
        """
        from biomed_vital.selection.biomedclip import biomedclip_processor

        return biomedclip_processor(path_or_hub_id, truncation_side=truncation_side, load_kwargs=load_kwargs)

    def __call__(
        self,
        images: Any = None,
        text: str | Sequence[str] | None = None,
        *,
        padding: bool | str = True,
        truncation: bool = True,
        max_length: int | None = None,
        return_tensors: str | None = "pt",
        **kwargs: Any,
    ) -> BatchFeature:
        """Tokenize `text` and preprocess `images` (either may be omitted); returns one `BatchFeature`."""
        if images is None and text is None:
            raise ValueError("SelectorProcessor needs `images`, `text` or both.")
        data: dict[str, Any] = {}
        if text is not None:
            data.update(
                self.tokenize(
                    text,
                    padding=padding,
                    truncation=truncation,
                    max_length=max_length,
                    return_tensors=return_tensors,
                    **kwargs,
                )
            )
        if images is not None:
            data.update(self.preprocess_images(images, return_tensors=return_tensors))
        return BatchFeature(data=data, tensor_type=return_tensors)

    def tokenize(
        self,
        text: str | Sequence[str],
        *,
        padding: bool | str = True,
        truncation: bool = True,
        max_length: int | None = None,
        return_tensors: str | None = "pt",
        **kwargs: Any,
    ) -> BatchFeature:
        """Tokenize texts with the selector's truncation rule.

        Example:
            >>> processor.tokenize(["Caption: a figure."])["input_ids"].shape    # doctest: +SKIP
            torch.Size([1, 7])
        """
        if max_length is None and truncation:
            max_length = self.max_text_length
        fast_path = return_tensors == "pt" and padding in (True, "longest") and truncation is True
        if fast_path and max_length is not None and not kwargs:
            fast = _encode_padded(self.tokenizer, text, max_length, self.truncation_side)
            if fast is not None:
                return fast
        self.tokenizer.truncation_side = self.truncation_side
        encoded = self.tokenizer(
            text,
            padding=padding,
            truncation=truncation,
            max_length=max_length,
            return_tensors=None if return_tensors == "pt" and padding else return_tensors,
            **kwargs,
        )
        if return_tensors == "pt" and padding:
            # Padded ids are rectangular: one numpy conversion is about twice as fast as the tokenizer's own
            # tensor conversion, which matters when scoring large pools with a small model.
            import torch

            return BatchFeature(
                {key: torch.from_numpy(np.asarray(value, dtype=np.int64)) for key, value in encoded.items()}
            )
        return encoded

    def preprocess_images(self, images: Any, *, return_tensors: str | None = "pt") -> BatchFeature:
        """Resize/normalise images (PIL, arrays) into `pixel_values`; non-RGB images are converted first, with
        the data layer's decoder (`biomed_vital.data.to_rgb`: alpha composited on white, 16-bit stretched), so
        an image looks the same at training and at selection time.

        Example:
            >>> processor.preprocess_images([Image.new("L", (64, 64))])["pixel_values"].shape  # doctest: +SKIP
            torch.Size([1, 3, 32, 32])
        """
        if not isinstance(images, (list, tuple)):
            images = [images]
        from biomed_vital.data import to_rgb

        if return_tensors == "pt":
            # greyscale stays one band on the fast path: what it gives equals converting to RGB first
            pixel_values = _stacked_pixel_values(
                self.image_processor,
                [
                    to_rgb(image) if isinstance(image, PILImage.Image) and image.mode != "L" else image
                    for image in images
                ],
            )
            if pixel_values is not None:
                return BatchFeature({"pixel_values": pixel_values})
        images = [to_rgb(image) if isinstance(image, PILImage.Image) else image for image in images]
        return self.image_processor(images=images, return_tensors=return_tensors)

    @property
    def max_text_length(self) -> int:
        """Token budget per text: the tokenizer's `model_max_length`, capped at 512 when it is unset."""
        limit = getattr(self.tokenizer, "model_max_length", None)
        # Tokenizers without a configured limit report a huge sentinel value.
        return int(limit) if limit and limit < 100_000 else 512

    @property
    def model_input_names(self) -> list[str]:
        return [*self.tokenizer.model_input_names, "pixel_values"]


__all__ = ["SelectorProcessor"]

# Registrations that waited while this module was importing transformers can run now.
from biomed_vital.selection.auto import retry_pending_registrations  # noqa: E402

retry_pending_registrations()
