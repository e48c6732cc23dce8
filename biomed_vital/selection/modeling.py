"""`SelectorModel`: scores how good a text (caption + context + question + answer) is for an image.

An image encoder and a text encoder (any Hugging Face encoders, built with `AutoModel`) produce pooled
features; both are projected to a shared size, combined (`[img, txt, img*txt, |img-txt|]` by default) and an
MLP head maps the result to one scalar per (image, text) pair (through a sigmoid when the config says so, as
the paper's selector does). `SelectorModel.from_biomedclip` starts from BiomedCLIP's open_clip checkpoint. The model returns a
`SequenceClassifierOutput` with `logits` of shape `(batch, 1)`, which is what `trl.RewardTrainer` expects.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PreTrainedConfig, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

from biomed_vital.paths import check_local_path
from biomed_vital.selection.configuration import ENCODER_CHECKPOINT, SAVED_SELECTOR, SelectorConfig


def _encoder_config_and_class(name_or_path: str | os.PathLike, side: str, **load_kwargs: Any):
    """Resolve the encoder config of one side of a checkpoint and the `AutoModel` class that builds it.

    A dual-encoder checkpoint (CLIP, SigLIP, ...) holds both towers; its `vision_config` / `text_config` is
    used, so `openai/clip-vit-base-patch16` gives a `CLIPVisionModel` for the image side.
    """
    config = AutoConfig.from_pretrained(name_or_path, **load_kwargs)
    sub_config = getattr(config, f"{side}_config", None)
    if isinstance(sub_config, PreTrainedConfig) and sub_config is not config:
        config = sub_config
    model_class = AutoModel._model_mapping[type(config)]
    return config, model_class


def _projection(kind: str, width: int, size: int, bias: bool) -> nn.Module:
    """A tower's projection: one linear layer, or open_clip's two-layer MLP (hidden width halfway between)."""
    if kind == "mlp":
        hidden = (width + size) // 2
        return nn.Sequential(
            nn.Linear(width, hidden, bias=bias), nn.GELU(), nn.Linear(hidden, size, bias=bias)
        )
    return nn.Linear(width, size, bias=bias)


class SelectorModel(PreTrainedModel):
    """Multimodal reward model that scores (image, text) pairs; the BioMed-VITAL selection model.

    `forward` takes the usual encoder inputs (`pixel_values`, `input_ids`, `attention_mask`) or precomputed
    pooled encoder features (`image_features`, `text_features`, e.g. from `compute_features`), in which case the
    encoders are skipped and only the projections and the head run.

    Example:
        >>> from biomed_vital.testing import tiny_selector
        >>> model, processor = tiny_selector()
        >>> from PIL import Image
        >>> batch = processor(images=[Image.new("RGB", (40, 40))], text=["An example text."], return_tensors="pt")
        >>> model(**batch).logits.shape
        torch.Size([1, 1])
    """

    config_class = SelectorConfig
    base_model_prefix = "selector"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _supports_sdpa = True

    def __init__(self, config: SelectorConfig):
        super().__init__(config)
        self.vision_model = AutoModel.from_config(config.vision_config)
        self.text_model = AutoModel.from_config(config.text_config)
        vision_width = config.vision_config.hidden_size  # type: ignore[union-attr]
        text_width = config.text_config.hidden_size  # type: ignore[union-attr]
        self.vision_projection = _projection(
            config.vision_projection, vision_width, config.projection_dim, config.projection_bias
        )
        self.text_projection = _projection(
            config.text_projection, text_width, config.projection_dim, config.projection_bias
        )

        layers: list[nn.Module] = []
        width = config.projection_dim * len(config.feature_combination)
        activation = {"gelu": nn.GELU, "relu": nn.ReLU}[config.head_activation]
        for _ in range(config.head_layers):
            layers += [
                nn.Linear(width, config.head_hidden_size),
                activation(),
                nn.Dropout(config.head_dropout),
            ]
            width = config.head_hidden_size
        layers.append(nn.Linear(width, 1))
        if config.score_activation == "sigmoid":
            layers.append(nn.Sigmoid())
        self.score_head = nn.Sequential(*layers)

        # Some text towers (CLIP's) reject token_type_ids; decide once instead of per call.
        self._text_takes_token_types = (
            "token_type_ids" in inspect.signature(self.text_model.forward).parameters
        )
        self.post_init()
        self.set_frozen()

    # ------------------------------------------------------------------ construction helpers
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Any, *model_args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """`PreTrainedModel.from_pretrained`, with a one-line error for a local path that is not a saved selector.

        Example:
            >>> model = SelectorModel.from_pretrained("runs/selector")          # doctest: +SKIP
        """
        if pretrained_model_name_or_path is not None and not kwargs.get("subfolder"):
            check_local_path(
                pretrained_model_name_or_path, expected=SAVED_SELECTOR, required_file="config.json"
            )
        return super().from_pretrained(pretrained_model_name_or_path, *model_args, **kwargs)

    @classmethod
    def from_encoders(
        cls,
        vision_name_or_path: str | os.PathLike,
        text_name_or_path: str | os.PathLike,
        **head_kwargs: Any,
    ) -> SelectorModel:
        """Build a selector from two pretrained encoder checkpoints (Hub ids or local folders).

        The head is freshly initialised; `head_kwargs` go to `SelectorConfig` (`projection_dim`,
        `freeze_vision`, ...). Loading keyword arguments such as `revision` or `cache_dir` can be passed as
        `load_kwargs={...}`. Dual-encoder checkpoints (CLIP, SigLIP) contribute the matching tower.

        Example:
            >>> model = SelectorModel.from_encoders(                      # doctest: +SKIP
            ...     "openai/clip-vit-base-patch16",
            ...     "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext",
            ...     projection_dim=256, freeze_vision=True)
        """
        load_kwargs = dict(head_kwargs.pop("load_kwargs", None) or {})
        check_local_path(vision_name_or_path, expected=ENCODER_CHECKPOINT.format(side="vision"))
        check_local_path(text_name_or_path, expected=ENCODER_CHECKPOINT.format(side="text"))
        vision_config, vision_class = _encoder_config_and_class(vision_name_or_path, "vision", **load_kwargs)
        text_config, text_class = _encoder_config_and_class(text_name_or_path, "text", **load_kwargs)
        vision = vision_class.from_pretrained(vision_name_or_path, config=vision_config, **load_kwargs)
        text = text_class.from_pretrained(text_name_or_path, config=text_config, **load_kwargs)

        # Local folders are not useful on a model card; Hub ids are.
        sources = [str(p) for p in (vision_name_or_path, text_name_or_path) if not os.path.isdir(str(p))]
        head_kwargs.setdefault("encoder_sources", sources or None)
        config = SelectorConfig(vision_config=vision.config, text_config=text.config, **head_kwargs)
        model = cls(config)
        # Copy weights (rather than adopt the modules) so the selector owns plain encoders of its own class.
        model.vision_model.load_state_dict(vision.state_dict())
        model.text_model.load_state_dict(text.state_dict())
        return model

    @classmethod
    def from_biomedclip(
        cls,
        path_or_hub_id: str | os.PathLike = "microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224",
        *,
        vision_num_heads: int | None = None,
        text_num_heads: int | None = None,
        load_kwargs: dict[str, Any] | None = None,
        **head_kwargs: Any,
    ) -> SelectorModel:
        """The paper's selector: BiomedCLIP's towers and projections (open_clip format) with the paper's head.

        Reads an open_clip checkpoint (a folder or a Hub id) and maps its timm ViT and BERT towers onto this
        model's towers, so the projected features equal open_clip's embeddings; the head is the `biomed-vital`
        preset's (`head_kwargs` change it). Pair it with `SelectorProcessor.from_biomedclip`. See
        `biomed_vital.selection.biomedclip` for the layout it reads and what it refuses.

        Example:
            >>> model = SelectorModel.from_biomedclip()                                   # doctest: +SKIP
            >>> model = SelectorModel.from_biomedclip("path/to/BiomedCLIP", head_layers=1)  # doctest: +SKIP
        """
        from biomed_vital.selection.biomedclip import biomedclip_selector

        return biomedclip_selector(
            path_or_hub_id,
            vision_num_heads=vision_num_heads,
            text_num_heads=text_num_heads,
            load_kwargs=load_kwargs,
            **head_kwargs,
        )

    # ------------------------------------------------------------------ Hub
    def model_card(
        self,
        repo_id: str | None = None,
        *,
        description: str | None = None,
        metrics: dict[str, Any] | None = None,
        training: dict[str, Any] | None = None,
        datasets: Sequence[str] = (),
    ):
        """The selector's model card (`huggingface_hub.ModelCard`): towers, head, usage, metrics, citation.

        Example:
            >>> card = model.model_card("user/vital-selector", metrics={"eval_clinician_alignment": 0.8})  # doctest: +SKIP
            >>> card.save("selector/README.md")                                                          # doctest: +SKIP
        """
        from biomed_vital.hub import model_card

        config = self.config
        architecture = {
            "vision tower": f"{config.vision_config.model_type} (hidden size {config.vision_config.hidden_size})",
            "text tower": f"{config.text_config.model_type} (hidden size {config.text_config.hidden_size})",
            "projection_dim": config.projection_dim,
            "head": f"{config.head_layers} hidden layer(s) of {config.head_hidden_size} ({config.head_activation})"
            + (", sigmoid output" if config.score_activation == "sigmoid" else ""),
            "feature_combination": ", ".join(config.feature_combination),
            "frozen": ", ".join(
                n for n, f in (("vision", config.freeze_vision), ("text", config.freeze_text)) if f
            )
            or "none",
        }
        default_description = (
            "A BioMed-VITAL selection model: it scores how well a question/answer about a biomedical figure "
            "agrees with clinician preferences, from the image and the text (caption, mentions, question, "
            "answer). Use it with `biomed_vital.selection.scoring` to keep the best generated instruction data."
        )
        return model_card(
            repo_id=repo_id,
            model_kind="selector",
            description=description or default_description,
            base_models=config.encoder_sources or (),
            datasets=datasets,
            metrics=metrics,
            training={**architecture, **(training or {})},
        )

    def push_to_hub(  # type: ignore[override]
        self,
        repo_id: str,
        *,
        processor: Any = None,
        description: str | None = None,
        metrics: dict[str, Any] | None = None,
        training: dict[str, Any] | None = None,
        datasets: Sequence[str] = (),
        commit_message: str = "Upload BioMed-VITAL selector",
        private: bool | None = None,
        token: str | None = None,
        revision: str | None = None,
        create_pr: bool = False,
        **kwargs: Any,
    ):
        """Upload the weights, config, processor (if given) and a model card in one commit.

        Returns the commit info. Extra keyword arguments go to `save_pretrained`.

        Example:
            >>> model.push_to_hub("user/vital-selector", processor=processor,        # doctest: +SKIP
            ...                   metrics=trainer.evaluate(), datasets=["user/vital-preferences"])
        """
        from biomed_vital.hub import push_model_to_hub

        def card(full_repo_id: str) -> Any:
            return self.model_card(
                full_repo_id, description=description, metrics=metrics, training=training, datasets=datasets
            )

        where: dict[str, Any] = {
            "private": private,
            "token": token,
            "revision": revision,
            "create_pr": create_pr,
        }
        return push_model_to_hub(
            self, repo_id, card=card, processor=processor, commit_message=commit_message, **where, **kwargs
        )

    def set_frozen(self, *, vision: bool | None = None, text: bool | None = None) -> SelectorModel:
        """Freeze or unfreeze the encoders (``None`` keeps the configured setting); returns the model.

        Frozen encoders get no gradient and stay in eval mode; the setting is saved with the config.

        Example:
            >>> model = model.set_frozen(vision=True)          # doctest: +SKIP
            >>> model.config.freeze_vision                     # doctest: +SKIP
            True
        """
        if vision is not None:
            self.config.freeze_vision = vision
        if text is not None:
            self.config.freeze_text = text
        self.vision_model.requires_grad_(not self.config.freeze_vision)
        self.text_model.requires_grad_(not self.config.freeze_text)
        self.train(self.training)
        return self

    def train(self, mode: bool = True) -> SelectorModel:
        """Switch train/eval mode; frozen encoders stay in eval mode so their dropout and norms stay fixed."""
        super().train(mode)
        if self.config.freeze_vision:
            self.vision_model.eval()
        if self.config.freeze_text:
            self.text_model.eval()
        return self

    # ------------------------------------------------------------------ encoders
    @staticmethod
    def _pool(outputs: Any, strategy: str, attention_mask: torch.Tensor | None) -> torch.Tensor:
        hidden = outputs.last_hidden_state
        pooled = getattr(outputs, "pooler_output", None)
        if strategy == "auto":
            strategy = "pooler" if pooled is not None else "cls"
        if strategy == "pooler":
            if pooled is None:
                raise ValueError(
                    "pooling='pooler' but this encoder returns no pooler_output; use 'cls' or 'mean'."
                )
            return pooled
        if strategy == "cls":
            return hidden[:, 0]
        if hidden.dim() == 4:  # convolutional encoders: (B, C, H, W)
            return hidden.mean(dim=(2, 3))
        if attention_mask is None:
            return hidden.mean(dim=1)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)

    def encode_image(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Pooled image-encoder features `(batch, vision hidden size)`, before projection.

        Example:
            >>> features = model.encode_image(batch["pixel_values"])      # doctest: +SKIP
        """
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.config.freeze_vision):
            outputs = self.vision_model(pixel_values=pixel_values)
            return self._pool(outputs, self.config.vision_pooling, None)

    def encode_text(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Pooled text-encoder features `(batch, text hidden size)`, before projection.

        Example:
            >>> features = model.encode_text(batch["input_ids"], batch["attention_mask"])  # doctest: +SKIP
        """
        kwargs: dict[str, Any] = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None and self._text_takes_token_types:
            kwargs["token_type_ids"] = token_type_ids
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.config.freeze_text):
            outputs = self.text_model(**kwargs)
            return self._pool(outputs, self.config.text_pooling, attention_mask)

    def get_image_features(self, pixel_values: torch.Tensor, *, normalize: bool = False) -> torch.Tensor:
        """Projected image features `(batch, projection_dim)` (what CLIP's `get_image_features` returns).

        Example:
            >>> embeddings = model.get_image_features(batch["pixel_values"], normalize=True)  # doctest: +SKIP
        """
        projection = self.vision_projection
        features = projection(self.encode_image(pixel_values).to(next(projection.parameters()).dtype))
        return nn.functional.normalize(features, dim=-1) if normalize else features

    def get_text_features(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        *,
        normalize: bool = False,
    ) -> torch.Tensor:
        """Projected text features `(batch, projection_dim)` (what CLIP's `get_text_features` returns).

        Example:
            >>> embeddings = model.get_text_features(batch["input_ids"], batch["attention_mask"])  # doctest: +SKIP
        """
        projection = self.text_projection
        pooled = self.encode_text(input_ids, attention_mask, token_type_ids)
        features = projection(pooled.to(next(projection.parameters()).dtype))
        return nn.functional.normalize(features, dim=-1) if normalize else features

    def score_features(self, image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        """Scores `(batch, 1)` from pooled encoder features (the cached-features path).

        Example:
            >>> scores = model.score_features(torch.randn(4, 32), torch.randn(4, 32))  # doctest: +SKIP
        """
        head_dtype = next(self.score_head.parameters()).dtype
        image = self.vision_projection(image_features.to(head_dtype))
        text = self.text_projection(text_features.to(head_dtype))
        if self.config.normalize_features:
            image = nn.functional.normalize(image, dim=-1)
            text = nn.functional.normalize(text, dim=-1)
        parts = {
            "img": lambda: image,
            "txt": lambda: text,
            "img*txt": lambda: image * text,
            "|img-txt|": lambda: (image - text).abs(),
            "img-txt": lambda: image - text,
        }
        combined = torch.cat([parts[name]() for name in self.config.feature_combination], dim=-1)
        return self.score_head(combined)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        image_features: torch.Tensor | None = None,
        text_features: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> SequenceClassifierOutput:
        """Score each (image, text) pair of the batch; `logits` has shape `(batch, 1)`.

        Precomputed `image_features` / `text_features` replace `pixel_values` / `input_ids`. Extra keyword
        arguments that trainers pass by convention (`use_cache`, `return_dict`, ...) are accepted and ignored.

        Example:
            >>> out = model(input_ids=ids, attention_mask=mask, pixel_values=pixels)  # doctest: +SKIP
            >>> out.logits.shape                                                       # doctest: +SKIP
            torch.Size([8, 1])
        """
        if image_features is None:
            if pixel_values is None:
                raise ValueError("SelectorModel needs `pixel_values` or precomputed `image_features`.")
            image_features = self.encode_image(pixel_values)
        if text_features is None:
            if input_ids is None:
                raise ValueError("SelectorModel needs `input_ids` or precomputed `text_features`.")
            text_features = self.encode_text(input_ids, attention_mask, token_type_ids)
        return SequenceClassifierOutput(logits=self.score_features(image_features, text_features))


__all__ = ["SelectorModel"]

# Registrations that waited while this module was importing transformers can run now.
from biomed_vital.selection.auto import retry_pending_registrations  # noqa: E402

retry_pending_registrations()
