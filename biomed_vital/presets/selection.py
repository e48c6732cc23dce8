"""The ``biomed-vital`` preset's selector, training and selection settings, from the authors'
``filter/train_clip_filter.py`` and ``filter/filter.py``.

The selector is BiomedCLIP (``microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224``: a timm ViT-B/16 image
tower and a PubMedBERT text tower, context 256), fine-tuned whole; its L2-normalised text and image features are
concatenated (1,024) and scored by an MLP 1,024 -> 512 -> 512 -> 512 -> 1 with ReLU and a sigmoid on the output.
Load the real towers with ``SelectorModel.from_biomedclip``; ``SelectorConfig.from_preset`` gives the same
architecture with untrained weights.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BIOMED_VITAL", "BIOMED_VITAL_SWEEPS", "BIOMEDCLIP_HUB_ID", "PAPER_TOP_FRACTIONS"]

#: The open_clip checkpoint the authors' selector starts from.
BIOMEDCLIP_HUB_ID = "microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224"

#: The fractions of the ranked pool the authors kept (``filter/filter.py`` writes one file for each).
PAPER_TOP_FRACTIONS: tuple[float, ...] = (0.1, 0.4, 0.8, 0.9)

# BiomedCLIP's towers: timm vit_base_patch16_224 (LayerNorm eps 1e-6, class-token output) and PubMedBERT base.
_VISION_TOWER = {
    "model_type": "vit",
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "image_size": 224,
    "patch_size": 16,
    "layer_norm_eps": 1e-6,
    "qkv_bias": True,
}
_TEXT_TOWER = {
    "model_type": "bert",
    "vocab_size": 30522,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "max_position_embeddings": 512,
}

BIOMED_VITAL: dict[str, dict[str, Any]] = {
    "SelectorConfig": {
        "vision_config": _VISION_TOWER,
        "text_config": _TEXT_TOWER,
        "projection_dim": 512,
        # BiomedCLIP's projections: a bias-free linear layer (image), a two-layer GELU MLP (text)
        "vision_projection": "linear",
        "text_projection": "mlp",
        "projection_bias": False,
        "vision_pooling": "cls",
        "text_pooling": "cls",
        "normalize_features": True,
        "feature_combination": ["txt", "img"],
        "head_layers": 3,
        "head_hidden_size": 512,
        "head_activation": "relu",
        "head_dropout": 0.0,
        "score_activation": "sigmoid",
        "freeze_vision": False,
        "freeze_text": False,
    },
    "SelectorTrainingConfig": {
        # torch.optim.Adam(lr=1e-5): AdamW without weight decay is the same update
        "learning_rate": 1e-5,
        "weight_decay": 0.0,
        "lr_scheduler_type": "constant",
        "warmup_steps": 0,
        "num_train_epochs": 6,
        "per_device_train_batch_size": 64,
        "per_device_eval_batch_size": 32,
        # hinge with margin 1 on the sigmoid outputs, w * loss averaged over the batch
        "loss_type": "hinge",
        "margin": 1.0,
        "loss_reduction": "batch_mean",
        # open_clip's tokenizer: context 256, the end of a longer text cut off
        "max_length": 256,
        "truncation_side": "right",
    },
    "SelectionConfig": {
        "score_by": "first_pair",
        "per_modality": False,
        "fraction_rounding": "floor",
    },
}

BIOMED_VITAL_SWEEPS: dict[str, tuple[Any, ...]] = {"top_fraction": PAPER_TOP_FRACTIONS}
