"""BiomedCLIP's open_clip checkpoint as the towers of a `SelectorModel`, the selector the paper started from.

BiomedCLIP (`microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224`) is stored in open_clip's layout, which
`transformers` does not read: `open_clip_config.json` plus `open_clip_pytorch_model.bin` (or
`open_clip_model.safetensors`), holding a timm ViT image tower (`visual.trunk.*`, a bias-free linear projection
`visual.head.proj`) and a Hugging Face BERT text tower (`text.transformer.*`) with an MLP projection
(`text.proj.0` / `text.proj.2`), class-token pooling on both sides, context 256. This module maps those weights
onto a `ViTModel` and a `BertModel` (the selector's towers) and its projection layers, so that the selector's
projected features equal open_clip's `encode_image` / `encode_text` on the same inputs; the processor pairs a
`CLIPImageProcessorPil` with open_clip's preprocessing (shortest side resized bicubic, centre crop, its mean and
std) and the checkpoint's tokenizer (256 tokens, cut from the end as open_clip cuts).

Head counts are not stored in the weights: they come from the timm model name (`vit_base_*`: 12) and otherwise
from the width (64 per head, as in every ViT-B and BERT-base); pass `vision_num_heads` / `text_num_heads` for
anything else. Layouts this module does not know (other poolings, other towers, layer scale, register tokens)
are refused with the weights or options at fault named, never loaded half-way.

Example:
    >>> from biomed_vital.selection import SelectorModel, SelectorProcessor
    >>> model = SelectorModel.from_biomedclip("microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224")  # doctest: +SKIP
    >>> processor = SelectorProcessor.from_biomedclip("microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "BiomedCLIPCheckpoint",
    "biomedclip_processor",
    "biomedclip_selector",
    "biomedclip_tower_configs",
    "convert_biomedclip",
    "convert_biomedclip_state_dict",
    "read_biomedclip",
]

CONFIG_FILE = "open_clip_config.json"
#: Weight files open_clip writes, in the order they are looked for.
WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
_TOKENIZER_FILES = ("tokenizer.json", "vocab.txt")
# The head counts of timm's ViT families (they are not in the weights).
_TIMM_VIT_HEADS = {"tiny": 3, "small": 6, "medium": 8, "base": 12, "large": 16, "huge": 16, "giant": 16}
# Weights open_clip keeps that the selector has no use for.
_UNUSED = re.compile(r"^(logit_scale|logit_bias|text\.transformer\.embeddings\.position_ids)$")
_TIMM_BLOCK = re.compile(r"^visual\.trunk\.blocks\.(\d+)\.(.+)$")


@dataclass
class BiomedCLIPCheckpoint:
    """An open_clip checkpoint read from a folder or the Hub: its config, its weights and where it lies."""

    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    folder: Path
    source: str

    @property
    def model_config(self) -> dict[str, Any]:
        """The ``model_cfg`` part of ``open_clip_config.json``."""
        return self.config["model_cfg"]


def read_biomedclip(
    path_or_hub_id: str | os.PathLike,
    *,
    revision: str | None = None,
    cache_dir: str | None = None,
    token: Any = None,
) -> BiomedCLIPCheckpoint:
    """Read an open_clip checkpoint: a local folder, or a Hub repository (``hf-hub:`` prefix allowed).

    Raises ``FileNotFoundError`` naming the folder or repository and the files looked for.

    Example:
        >>> checkpoint = read_biomedclip("path/to/BiomedCLIP")              # doctest: +SKIP
        >>> checkpoint.model_config["text_cfg"]["context_length"]           # doctest: +SKIP
        256
    """
    source = str(path_or_hub_id)
    if source.startswith("hf-hub:"):
        source = source[len("hf-hub:") :]
    folder = Path(source)
    if folder.is_dir():
        config_path = folder / CONFIG_FILE
        if not config_path.is_file():
            raise FileNotFoundError(f"{folder} has no {CONFIG_FILE}; is it an open_clip checkpoint folder?")
        weights_path = next((folder / name for name in WEIGHT_FILES if (folder / name).is_file()), None)
        if weights_path is None:
            raise FileNotFoundError(f"{folder} has none of the open_clip weight files {list(WEIGHT_FILES)}")
    else:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError

        where = {"revision": revision, "cache_dir": cache_dir, "token": token}
        try:
            config_path = Path(hf_hub_download(source, CONFIG_FILE, **where))
        except Exception as error:
            raise FileNotFoundError(
                f"{source!r} is neither a local folder nor a readable Hub repository with {CONFIG_FILE} ({error})"
            ) from None
        weights_path = None
        for name in WEIGHT_FILES:
            try:
                weights_path = Path(hf_hub_download(source, name, **where))
                break
            except EntryNotFoundError:
                continue
        if weights_path is None:
            raise FileNotFoundError(f"the Hub repository {source!r} has none of {list(WEIGHT_FILES)}")
        folder = config_path.parent
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if "model_cfg" not in config:
        raise ValueError(f"{config_path} has no 'model_cfg'; it is not an open_clip model config")
    if weights_path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state_dict = load_file(str(weights_path))
    else:
        state_dict = torch.load(str(weights_path), map_location="cpu", weights_only=True)
        state_dict = state_dict.get("state_dict", state_dict)
    # checkpoints saved from DataParallel carry a "module." prefix
    state_dict = {name.removeprefix("module."): tensor for name, tensor in state_dict.items()}
    return BiomedCLIPCheckpoint(config, state_dict, folder, source)


def _heads(width: int, given: int | None, family_heads: int | None, side: str) -> int:
    heads = given or family_heads or max(1, width // 64)
    if width % heads:
        raise ValueError(
            f"the {side} tower is {width} wide, which {heads} attention heads do not divide; pass {side}_num_heads"
        )
    return heads


def biomedclip_tower_configs(
    model_config: Mapping[str, Any],
    state_dict: Mapping[str, torch.Tensor],
    *,
    vision_num_heads: int | None = None,
    text_num_heads: int | None = None,
) -> tuple[Any, Any]:
    """The `ViTConfig` and `BertConfig` of a BiomedCLIP-layout checkpoint, read from its config and weight shapes.

    Raises ``ValueError`` for a layout the converter does not handle, naming the option or weight.

    Example:
        >>> checkpoint = read_biomedclip("path/to/BiomedCLIP")                                  # doctest: +SKIP
        >>> vision, text = biomedclip_tower_configs(checkpoint.model_config, checkpoint.state_dict)  # doctest: +SKIP
        >>> vision.num_attention_heads, text.num_attention_heads                                 # doctest: +SKIP
        (12, 12)
    """
    from transformers import BertConfig, ViTConfig

    vision_cfg, text_cfg = model_config.get("vision_cfg", {}), model_config.get("text_cfg", {})
    timm_name = str(vision_cfg.get("timm_model_name") or "")
    problems = []
    if not timm_name.startswith("vit_"):
        problems.append(f"vision_cfg.timm_model_name={timm_name!r} (a timm ViT is needed)")
    if vision_cfg.get("timm_pool", "") not in ("", "token"):
        problems.append(
            f"vision_cfg.timm_pool={vision_cfg.get('timm_pool')!r} (class-token pooling is needed)"
        )
    if vision_cfg.get("timm_proj", "linear") != "linear":
        problems.append(
            f"vision_cfg.timm_proj={vision_cfg.get('timm_proj')!r} (a linear projection is needed)"
        )
    if "hf_model_name" not in text_cfg:
        problems.append("text_cfg has no hf_model_name (a Hugging Face BERT text tower is needed)")
    if text_cfg.get("hf_pooler_type") != "cls_last_hidden_state_pooler":
        problems.append(
            f"text_cfg.hf_pooler_type={text_cfg.get('hf_pooler_type')!r} (cls_last_hidden_state_pooler is needed)"
        )
    if text_cfg.get("hf_proj_type", "mlp") not in ("mlp", "linear"):
        problems.append(f"text_cfg.hf_proj_type={text_cfg.get('hf_proj_type')!r} (mlp or linear is needed)")
    unknown_vision = sorted(
        name
        for name in state_dict
        if name.startswith("visual.trunk.")
        and re.search(r"(reg_token|norm_pre|fc_norm|\.ls\d|q_norm|k_norm|attn_pool|head\.weight$)", name)
    )
    if unknown_vision:
        problems.append(
            f"image-tower weights of a ViT variant this converter does not map: {unknown_vision[:4]}"
        )
    if problems:
        raise ValueError("not a BiomedCLIP-layout open_clip checkpoint: " + "; ".join(problems))

    pos_embed = state_dict["visual.trunk.pos_embed"]
    patch = state_dict["visual.trunk.patch_embed.proj.weight"]
    width, channels, patch_size = patch.shape[0], patch.shape[1], patch.shape[-1]
    grid = int(round((pos_embed.shape[1] - 1) ** 0.5))
    if grid * grid != pos_embed.shape[1] - 1:
        raise ValueError(
            f"visual.trunk.pos_embed has {pos_embed.shape[1]} positions; a class token and a square grid are needed"
        )
    vision_layers = 1 + max(int(m.group(1)) for m in map(_TIMM_BLOCK.match, state_dict) if m)
    family = re.match(r"vit_([a-z]+)_", timm_name)
    vision = ViTConfig(
        hidden_size=width,
        num_hidden_layers=vision_layers,
        num_attention_heads=_heads(
            width, vision_num_heads, _TIMM_VIT_HEADS.get(family.group(1)) if family else None, "vision"
        ),
        intermediate_size=state_dict["visual.trunk.blocks.0.mlp.fc1.weight"].shape[0],
        image_size=grid * patch_size,
        patch_size=patch_size,
        num_channels=channels,
        layer_norm_eps=1e-6,  # timm's ViTs
        qkv_bias="visual.trunk.blocks.0.attn.qkv.bias" in state_dict,
        hidden_act="gelu",
    )
    words = state_dict["text.transformer.embeddings.word_embeddings.weight"]
    text_layers = 1 + max(
        int(m.group(1))
        for m in (re.match(r"^text\.transformer\.encoder\.layer\.(\d+)\.", n) for n in state_dict)
        if m
    )
    text = BertConfig(
        vocab_size=words.shape[0],
        hidden_size=words.shape[1],
        num_hidden_layers=text_layers,
        num_attention_heads=_heads(words.shape[1], text_num_heads, None, "text"),
        intermediate_size=state_dict["text.transformer.encoder.layer.0.intermediate.dense.weight"].shape[0],
        max_position_embeddings=state_dict["text.transformer.embeddings.position_embeddings.weight"].shape[0],
        type_vocab_size=state_dict["text.transformer.embeddings.token_type_embeddings.weight"].shape[0],
        pad_token_id=0,
    )
    return vision, text


def convert_biomedclip_state_dict(
    state_dict: Mapping[str, torch.Tensor], num_vision_layers: int
) -> dict[str, torch.Tensor]:
    """Rename (and split) open_clip's BiomedCLIP weights into `SelectorModel` weight names.

    timm's fused ``qkv`` becomes the ViT's separate query, key and value projections; the text tower keeps
    BERT's names under ``text_model.``; the projections become ``vision_projection`` / ``text_projection``.
    Weights the selector does not use (``logit_scale``) are left out; any other weight it cannot place is a
    ``ValueError`` naming it.

    Example:
        >>> weights = convert_biomedclip_state_dict(read_biomedclip("BiomedCLIP").state_dict, 12)  # doctest: +SKIP
        >>> weights["vision_model.layers.0.attention.q_proj.weight"].shape                          # doctest: +SKIP
        torch.Size([768, 768])
    """
    converted: dict[str, torch.Tensor] = {}
    unplaced = []
    fixed = {
        "visual.trunk.cls_token": "vision_model.embeddings.cls_token",
        "visual.trunk.pos_embed": "vision_model.embeddings.position_embeddings",
        "visual.trunk.patch_embed.proj.weight": "vision_model.embeddings.patch_embeddings.projection.weight",
        "visual.trunk.patch_embed.proj.bias": "vision_model.embeddings.patch_embeddings.projection.bias",
        "visual.trunk.norm.weight": "vision_model.layernorm.weight",
        "visual.trunk.norm.bias": "vision_model.layernorm.bias",
        "visual.head.proj.weight": "vision_projection.weight",
    }
    block_parts = {
        "norm1": "layernorm_before",
        "norm2": "layernorm_after",
        "attn.proj": "attention.o_proj",
        "mlp.fc1": "mlp.fc1",
        "mlp.fc2": "mlp.fc2",
    }
    for name, tensor in state_dict.items():
        if _UNUSED.match(name):
            continue
        if name in fixed:
            converted[fixed[name]] = tensor
            continue
        block = _TIMM_BLOCK.match(name)
        if block:
            index, rest = int(block.group(1)), block.group(2)
            if index >= num_vision_layers:
                unplaced.append(name)
                continue
            prefix = f"vision_model.layers.{index}."
            if rest in ("attn.qkv.weight", "attn.qkv.bias"):
                kind = rest.rsplit(".", 1)[1]
                for part, chunk in zip(("q_proj", "k_proj", "v_proj"), tensor.chunk(3, dim=0), strict=True):
                    converted[f"{prefix}attention.{part}.{kind}"] = chunk.clone()
                continue
            module, _, kind = rest.rpartition(".")
            if module in block_parts:
                converted[f"{prefix}{block_parts[module]}.{kind}"] = tensor
                continue
        elif name.startswith("text.transformer."):
            converted["text_model." + name[len("text.transformer.") :]] = tensor
            continue
        elif name.startswith("text.proj."):
            converted["text_projection." + name[len("text.proj.") :]] = tensor
            continue
        elif name == "text.proj.weight":
            converted["text_projection.weight"] = tensor
            continue
        unplaced.append(name)
    if unplaced:
        raise ValueError(
            f"the checkpoint has weights the selector's towers have no place for: {unplaced[:6]}"
        )
    return converted


def biomedclip_selector(
    path_or_hub_id: str | os.PathLike,
    *,
    vision_num_heads: int | None = None,
    text_num_heads: int | None = None,
    load_kwargs: Mapping[str, Any] | None = None,
    **config_overrides: Any,
) -> Any:
    """A `SelectorModel` whose towers and projections are BiomedCLIP's, with the paper's head.

    The config is `SelectorConfig.from_preset("biomed-vital")` with the checkpoint's tower shapes and embedding
    size; `config_overrides` change the head (`head_layers=1`, `feature_combination=[...]`, `freeze_vision=True`,
    ...). Every tower weight of the checkpoint must find its place and every tower weight of the selector must be
    filled (the text tower's unused pooler aside), or a ``ValueError`` says which.

    Example:
        >>> model = biomedclip_selector("microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224")  # doctest: +SKIP
    """
    from biomed_vital.selection.configuration import SelectorConfig
    from biomed_vital.selection.modeling import SelectorModel

    checkpoint = read_biomedclip(path_or_hub_id, **dict(load_kwargs or {}))
    vision, text = biomedclip_tower_configs(
        checkpoint.model_config,
        checkpoint.state_dict,
        vision_num_heads=vision_num_heads,
        text_num_heads=text_num_heads,
    )
    text_projection = checkpoint.model_config["text_cfg"].get("hf_proj_type", "mlp")
    sources = [] if Path(str(path_or_hub_id)).is_dir() else [checkpoint.source]
    config = SelectorConfig.from_preset(
        "biomed-vital",
        vision_config=vision,
        text_config=text,
        projection_dim=int(checkpoint.model_config["embed_dim"]),
        text_projection=text_projection,
        encoder_sources=sources or None,
        **config_overrides,
    )
    if (
        config.vision_projection != "linear"
        or config.text_projection != text_projection
        or config.projection_bias
    ):
        raise ValueError(
            "BiomedCLIP's projections are fixed by the checkpoint (image: linear, text: "
            f"{text_projection}, no bias); do not override vision_projection, text_projection or projection_bias"
        )
    converted = convert_biomedclip_state_dict(checkpoint.state_dict, vision.num_hidden_layers)
    model = SelectorModel(config)
    targets = model.state_dict()
    tower_names = [
        n
        for n in targets
        if n.startswith(("vision_model.", "text_model.", "vision_projection", "text_projection"))
    ]
    # the text tower's pooler is unused (class-token pooling) and absent from the checkpoint, as is the ViT's
    not_in_checkpoint = {
        n for n in tower_names if n.startswith(("text_model.pooler.", "vision_model.pooler."))
    }
    missing = sorted(set(tower_names) - set(converted) - not_in_checkpoint)
    extra = sorted(set(converted) - set(tower_names))
    if missing or extra:
        raise ValueError(
            "the converted BiomedCLIP weights do not match the selector's towers: "
            f"missing {missing[:6]}, unexpected {extra[:6]}"
        )
    wrong_shape = [n for n, t in converted.items() if tuple(t.shape) != tuple(targets[n].shape)]
    if wrong_shape:
        raise ValueError(f"converted weights with the wrong shape: {wrong_shape[:6]}")
    model.load_state_dict({**targets, **{n: t.to(targets[n].dtype) for n, t in converted.items()}})
    return model


def biomedclip_processor(
    path_or_hub_id: str | os.PathLike,
    *,
    truncation_side: str = "right",
    load_kwargs: Mapping[str, Any] | None = None,
) -> Any:
    """The `SelectorProcessor` that prepares inputs as open_clip does for a BiomedCLIP-layout checkpoint.

    Images: shortest side resized (bicubic) to the checkpoint's image size, centre-cropped, scaled with its mean
    and std. Text: the checkpoint's tokenizer (its folder or repository, else ``text_cfg.hf_tokenizer_name``),
    cut at ``context_length`` tokens from the end (``truncation_side="right"``, open_clip's; the library's
    default elsewhere is ``"left"``, which keeps the answer). open_clip also unescapes HTML entities and fixes
    broken Unicode before tokenizing; this processor tokenizes the text as given.

    Example:
        >>> processor = biomedclip_processor("microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224")  # doctest: +SKIP
    """
    from transformers import AutoTokenizer, CLIPImageProcessorPil

    from biomed_vital.selection.processing import SelectorProcessor

    load_kwargs = dict(load_kwargs or {})
    checkpoint_config = _read_config_only(path_or_hub_id, load_kwargs)
    model_config = checkpoint_config["model_cfg"]
    preprocess = checkpoint_config.get("preprocess_cfg", {})
    size = int(model_config["vision_cfg"].get("image_size", 224))
    image_processor_options: dict[str, Any] = {
        "size": {"shortest_edge": size},
        "crop_size": {"height": size, "width": size},
        "resample": 3,  # bicubic
    }
    if "mean" in preprocess:
        image_processor_options["image_mean"] = list(preprocess["mean"])
    if "std" in preprocess:
        image_processor_options["image_std"] = list(preprocess["std"])
    image_processor = CLIPImageProcessorPil(**image_processor_options)
    folder = Path(str(path_or_hub_id).removeprefix("hf-hub:"))
    if folder.is_dir() and any((folder / name).is_file() for name in _TOKENIZER_FILES):
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    elif not folder.is_dir() and _hub_has_tokenizer(str(folder), load_kwargs):
        tokenizer = AutoTokenizer.from_pretrained(str(folder), **load_kwargs)
    else:
        tokenizer = AutoTokenizer.from_pretrained(
            model_config["text_cfg"]["hf_tokenizer_name"], **load_kwargs
        )
    tokenizer.model_max_length = int(model_config["text_cfg"].get("context_length", 256))
    return SelectorProcessor(
        image_processor=image_processor, tokenizer=tokenizer, truncation_side=truncation_side
    )


def convert_biomedclip(
    path_or_hub_id: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    vision_num_heads: int | None = None,
    text_num_heads: int | None = None,
    **config_overrides: Any,
) -> Path:
    """Convert a BiomedCLIP-layout checkpoint and save the selector and its processor to ``output_dir``.

    The saved folder loads with `SelectorModel.from_pretrained` / `SelectorProcessor.from_pretrained` (and the
    Auto classes) like any selector; `biomed-vital convert-biomedclip` runs this.

    Example:
        >>> convert_biomedclip("microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224", "biomedclip-selector")  # doctest: +SKIP
    """
    model = biomedclip_selector(
        path_or_hub_id, vision_num_heads=vision_num_heads, text_num_heads=text_num_heads, **config_overrides
    )
    processor = biomedclip_processor(path_or_hub_id)
    output = Path(output_dir)
    model.save_pretrained(str(output))
    processor.save_pretrained(str(output))
    return output


def _read_config_only(path_or_hub_id: str | os.PathLike, load_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    folder = Path(str(path_or_hub_id).removeprefix("hf-hub:"))
    if folder.is_dir():
        path = folder / CONFIG_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{folder} has no {CONFIG_FILE}; is it an open_clip checkpoint folder?")
    else:
        from huggingface_hub import hf_hub_download

        path = Path(hf_hub_download(str(folder), CONFIG_FILE, **load_kwargs))
    return json.loads(path.read_text(encoding="utf-8"))


def _hub_has_tokenizer(repo_id: str, load_kwargs: Mapping[str, Any]) -> bool:
    from huggingface_hub import hf_hub_download

    for name in _TOKENIZER_FILES:
        try:
            hf_hub_download(repo_id, name, **load_kwargs)
            return True
        except Exception:  # absent, or offline without it in the cache
            continue
    return False
