"""`SelectorConfig`: the configuration of the selection model (image encoder + text encoder + MLP head).

`SelectorConfig.from_preset("biomed-vital")` is the authors' selector: BiomedCLIP-shaped towers (ViT-B/16 and
PubMedBERT, with BiomedCLIP's projections), L2-normalised text and image features concatenated, and an MLP
1,024 -> 512 -> 512 -> 512 -> 1 with ReLU and a sigmoid on the output (`biomed_vital.presets.selection`).
"""

from __future__ import annotations

from huggingface_hub.dataclasses import strict
from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from biomed_vital.presets.registry import FromPreset

FEATURE_PARTS = ("img", "txt", "img*txt", "|img-txt|", "img-txt")
POOLING_CHOICES = ("auto", "pooler", "cls", "mean")
PROJECTION_CHOICES = ("linear", "mlp")
HEAD_ACTIVATIONS = ("gelu", "relu")
SCORE_ACTIVATIONS = ("none", "sigmoid")

#: What a saved selector folder and an encoder folder hold, for the error of a path that is not there.
SAVED_SELECTOR = (
    "a saved selector, with config.json and weights from save_pretrained or SelectorTrainer.save_model"
)
ENCODER_CHECKPOINT = "a {side} encoder checkpoint, a folder with config.json and weights from save_pretrained"


@strict
class SelectorConfig(PreTrainedConfig, FromPreset):
    """Configuration of a [`SelectorModel`]: two encoder configs plus the options of the scoring head.

    The vision and text encoders can be any Hugging Face configs that `AutoModel.from_config` turns into an
    encoder (ViT, CLIP / SigLIP vision towers, BERT / PubMedBERT, ...). Each sub-config is saved with its own
    `model_type`, so a saved selector records exactly which encoders it was built from.

    Args:
        vision_config: config (or dict with `model_type`) of the image encoder. Defaults to a ViT.
        text_config: config (or dict with `model_type`) of the text encoder. Defaults to a BERT.
        projection_dim: size both pooled encoder outputs are projected to before they are combined.
        vision_projection / text_projection: `linear` (one layer) or `mlp` (linear, GELU, linear, with a hidden
            width of (encoder width + projection_dim) // 2, as open_clip's text towers have).
        projection_bias: give the projection layers a bias (BiomedCLIP's have none).
        head_hidden_size: width of the hidden layers of the MLP head.
        head_layers: number of hidden layers of the MLP head (0 gives a linear head).
        head_activation: `gelu` or `relu` after each hidden layer of the head.
        head_dropout: dropout inside the head.
        score_activation: `none` (the head's output is the score) or `sigmoid` (scores in (0, 1), as the paper's
            selector has).
        feature_combination: how image and text features are joined before the head; any of
            `img`, `txt`, `img*txt`, `|img-txt|`, `img-txt`.
        normalize_features: L2-normalise the projected features (as CLIP does) before combining them.
        vision_pooling / text_pooling: `auto` (the encoder's `pooler_output` when it has one, else the first
            token), `pooler`, `cls` (first token) or `mean` (mask-aware mean over tokens).
        freeze_vision / freeze_text: keep the encoder weights fixed during training.
        encoder_sources: the Hub ids the encoders were loaded from (`from_encoders` fills it); model cards
            list them as base models.

    Example:
        >>> from transformers import BertConfig, ViTConfig
        >>> config = SelectorConfig(
        ...     vision_config=ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        ...                             intermediate_size=64, image_size=32, patch_size=8),
        ...     text_config=BertConfig(vocab_size=300, hidden_size=32, num_hidden_layers=1,
        ...                            num_attention_heads=2, intermediate_size=64),
        ...     projection_dim=16, freeze_vision=True)
        >>> config.num_labels
        1
    """

    model_type = "biomed_vital_selector"
    sub_configs_defaults = {
        "vision_config": SubConfigSpec(config_class=AutoConfig, model_type="vit"),
        "text_config": SubConfigSpec(config_class=AutoConfig, model_type="bert"),
    }

    vision_config: PreTrainedConfig | dict | None = None
    text_config: PreTrainedConfig | dict | None = None
    projection_dim: int = 256
    vision_projection: str = "linear"
    text_projection: str = "linear"
    projection_bias: bool = True
    head_hidden_size: int = 256
    head_layers: int = 1
    head_activation: str = "gelu"
    head_dropout: float = 0.1
    score_activation: str = "none"
    feature_combination: list[str] | tuple[str, ...] = ("img", "txt", "img*txt", "|img-txt|")
    normalize_features: bool = True
    vision_pooling: str = "auto"
    text_pooling: str = "cls"
    freeze_vision: bool = False
    freeze_text: bool = False
    encoder_sources: list[str] | None = None

    def __post_init__(self, **kwargs):
        # A reward model outputs one scalar; RewardTrainer refuses anything else.
        kwargs.setdefault("num_labels", 1)
        super().__post_init__(**kwargs)
        self.feature_combination = list(self.feature_combination)

    def validate_architecture(self):
        """Check the head options; raises `ValueError` naming the bad option and the allowed values."""
        unknown = [part for part in self.feature_combination if part not in FEATURE_PARTS]
        if unknown or not self.feature_combination:
            raise ValueError(
                f"feature_combination={list(self.feature_combination)!r} is invalid: use a non-empty list of "
                f"{list(FEATURE_PARTS)}."
            )
        for name in ("vision_pooling", "text_pooling"):
            if getattr(self, name) not in POOLING_CHOICES:
                raise ValueError(
                    f"{name}={getattr(self, name)!r} is invalid: use one of {list(POOLING_CHOICES)}."
                )
        if self.projection_dim < 1 or self.head_hidden_size < 1 or self.head_layers < 0:
            raise ValueError(
                "projection_dim and head_hidden_size must be >= 1 and head_layers >= 0; got "
                f"{self.projection_dim}, {self.head_hidden_size}, {self.head_layers}."
            )
        if not 0.0 <= self.head_dropout < 1.0:
            raise ValueError(f"head_dropout must be in [0, 1); got {self.head_dropout}.")
        for name, choices in (
            ("vision_projection", PROJECTION_CHOICES),
            ("text_projection", PROJECTION_CHOICES),
            ("head_activation", HEAD_ACTIVATIONS),
            ("score_activation", SCORE_ACTIVATIONS),
        ):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name}={getattr(self, name)!r} is invalid: use one of {list(choices)}.")


__all__ = ["SelectorConfig"]

# Registrations that waited while this module was importing transformers can run now.
from biomed_vital.selection.auto import retry_pending_registrations  # noqa: E402

retry_pending_registrations()
