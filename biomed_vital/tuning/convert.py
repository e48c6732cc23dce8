"""Convert checkpoints in the original LLaVA code layout to transformers' `LlavaForConditionalGeneration`.

LLaVA, LLaVA-Med and BioMed-VITAL released their models in the layout of the original LLaVA code: a
`config.json` with `model_type` `llava` (Llama / Vicuna) or `llava_mistral` and the `mm_*` settings, `.bin`
(or safetensors) weights, single or sharded with an index, with keys `model.embed_tokens.*`, `model.layers.*`,
`model.norm.*`, `lm_head.*`, `model.mm_projector.*` and, for LLaVA-1.5-style models, the vision tower under
`model.vision_tower.vision_tower.*`. Stage-1 runs saved only the projector (`mm_projector.bin`, or
`mm_projector/checkpoint-*.bin` for intermediate steps). :func:`convert_llava_checkpoint` writes the same model
in the transformers layout (safetensors shards, a `LlavaProcessor` with the chat template it was trained with),
so `LlavaForConditionalGeneration.from_pretrained(folder)` computes what the original code computed:

* the projector: `mlp2x_gelu` maps to `linear_1` / GELU / `linear_2`; a `linear` projector (the original
  LLaVA-Med) becomes `linear_1`, an identity activation and an identity `linear_2`, which is exact;
* the vision features: `mm_vision_select_layer` and `mm_vision_select_feature` (patch tokens, or with CLS);
* the image: LLaVA's padding to a square in the image mean colour (`image_aspect_ratio: pad`);
* the tokenizer gets an `<image>` token (and a pad token when it has none); their embedding rows are the mean
  of the others. They never reach the language model: image tokens are replaced by image features.

Weights are read memory-mapped and assigned without a second copy, so a 7B model converts in about the memory
of its weights.

Example:
    >>> from biomed_vital.tuning import convert_llava_checkpoint
    >>> convert_llava_checkpoint("llava-med-v1.5-mistral-7b", "llava-med-v1.5-hf",          # doctest: +SKIP
    ...                          vision_tower="openai/clip-vit-large-patch14-336")
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["ConversionError", "KEY_RULES", "convert_llava_checkpoint", "read_original_checkpoint"]

logger = logging.getLogger("biomed_vital.tuning")

_TEXT_TYPES = {"llava": "llama", "llava_llama": "llama", "llava_mistral": "mistral"}
_PROJECTOR = "model.mm_projector."
_VISION = "model.vision_tower.vision_tower."
# Buffers that old checkpoints saved and transformers recomputes.
_DROPPED_BUFFERS = re.compile(r"(\.position_ids|rotary_emb\.inv_freq)$")

#: Original key prefix -> transformers Llava key prefix, applied in order (the first that matches wins).
#: The vision tower's prefix is completed at conversion time (see `_vision_prefix`).
KEY_RULES: list[tuple[str, str]] = [
    ("model.mm_projector.0.", "model.multi_modal_projector.linear_1."),
    ("model.mm_projector.2.", "model.multi_modal_projector.linear_2."),
    ("model.mm_projector.", "model.multi_modal_projector.linear_1."),  # a linear projector
    (_VISION, "model.vision_tower."),
    ("model.", "model.language_model."),
    ("lm_head.", "lm_head."),
]


class ConversionError(ValueError):
    """A checkpoint cannot be converted as asked; the message says what is missing or unsupported."""


# ------------------------------------------------------------------------------------------ reading
def _load_file(path: Path) -> dict[str, Any]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError:  # files written without the zip format cannot be memory-mapped
        return torch.load(path, map_location="cpu", weights_only=True)


def _checkpoint_step(path: Path) -> int:
    match = re.search(r"checkpoint-(\d+)", path.name)
    return int(match.group(1)) if match else -1


def _weight_files(source: Path) -> list[Path]:
    """The weight files of an original checkpoint folder or file, in load order."""
    if source.is_file():
        return [source]
    for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        index = source / index_name
        if index.is_file():
            weight_map = json.loads(index.read_text())["weight_map"]
            files = sorted(set(weight_map.values()))
            missing = [name for name in files if not (source / name).is_file()]
            if missing:
                raise ConversionError(f"{index} lists shards that are not in {source}: {missing}")
            return [source / name for name in files]
    for name in ("model.safetensors", "pytorch_model.bin", "mm_projector.bin"):
        if (source / name).is_file():
            return [source / name]
    steps = sorted((source / "mm_projector").glob("checkpoint-*.bin"), key=_checkpoint_step)
    if steps:
        logger.info("using the latest projector checkpoint %s", steps[-1])
        return [steps[-1]]
    raise ConversionError(
        f"no weights in {source}: expected pytorch_model.bin / model.safetensors (or a sharded index), "
        "mm_projector.bin or mm_projector/checkpoint-*.bin"
    )


def _config_folder(source: Path) -> Path:
    folder = source if source.is_dir() else source.parent
    if not (folder / "config.json").is_file() and folder.name == "mm_projector":
        folder = folder.parent  # mm_projector/checkpoint-*.bin sits under the run folder
    return folder


def read_original_checkpoint(source: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any], Path]:
    """(original config, state dict, config folder) of an original-layout checkpoint folder or weight file.

    The config is `{}` when the folder has no `config.json` (a bare projector file).

    Example:
        >>> config, state, folder = read_original_checkpoint("llava-med-7b-pretrain/mm_projector.bin")  # doctest: +SKIP
    """
    path = Path(os.fspath(source)).expanduser()
    if not path.exists():
        raise ConversionError(f"checkpoint not found: {path}")
    state: dict[str, Any] = {}
    for file in _weight_files(path):
        state.update(_load_file(file))
    folder = _config_folder(path)
    config_file = folder / "config.json"
    config = json.loads(config_file.read_text()) if config_file.is_file() else {}
    return config, state, folder


# ------------------------------------------------------------------------------------------ parts
def _projector_type(config: dict[str, Any], state: dict[str, Any]) -> str:
    keys = {key[len(_PROJECTOR) :] for key in state if key.startswith(_PROJECTOR)}
    if not keys:
        raise ConversionError(
            "the checkpoint has no model.mm_projector.* weights; it is not a LLaVA checkpoint"
        )
    declared = config.get("mm_projector_type")
    found = (
        "mlp2x_gelu" if "0.weight" in keys and "2.weight" in keys else "linear" if "weight" in keys else None
    )
    if declared and declared != found:
        raise ConversionError(
            f"mm_projector_type is {declared!r} but the projector weights {sorted(keys)} are those of {found!r}; "
            "only 'linear' and 'mlp2x_gelu' projectors map onto transformers' Llava"
        )
    if found is None:
        raise ConversionError(
            f"projector weights {sorted(keys)} are neither 'linear' nor 'mlp2x_gelu'; deeper projectors "
            f"({declared or 'mlpNx_gelu'}) have no transformers Llava equivalent"
        )
    return found


def _text_config(config: dict[str, Any], language_model: str | None) -> Any:
    from transformers import CONFIG_MAPPING, AutoConfig

    model_type = config.get("model_type")
    if model_type in _TEXT_TYPES:
        text_type = _TEXT_TYPES[model_type]
        text_class = CONFIG_MAPPING[text_type]
        known = set(text_class().to_dict())
        values = {key: value for key, value in config.items() if key in known and key != "model_type"}
        return text_class(**values)
    if language_model is None:
        raise ConversionError(
            f"model_type {model_type!r} is not an original LLaVA text model ({sorted(_TEXT_TYPES)}); for a "
            "projector-only checkpoint pass language_model=<folder or Hub id of the base language model>"
        )
    return AutoConfig.from_pretrained(language_model)


def _vision_config(vision_tower: str) -> Any:
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(vision_tower)
    except Exception as error:
        raise ConversionError(
            f"cannot read the vision tower's config from {vision_tower!r} ({error}); pass vision_tower=<folder "
            "or Hub id of the CLIP vision model the checkpoint was trained with>"
        ) from error
    return getattr(config, "vision_config", config)


def _image_processor(vision_tower: str, vision_config: Any, pad_to_square: bool) -> Any:
    from transformers import LlavaImageProcessorPil
    from transformers.image_utils import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

    settings: dict[str, Any] = {
        "size": {"shortest_edge": vision_config.image_size},
        "crop_size": {"height": vision_config.image_size, "width": vision_config.image_size},
        "image_mean": list(OPENAI_CLIP_MEAN),
        "image_std": list(OPENAI_CLIP_STD),
    }
    folder = Path(vision_tower)
    if (folder / "preprocessor_config.json").is_file():
        saved = json.loads((folder / "preprocessor_config.json").read_text())
        settings.update(
            {key: saved[key] for key in ("size", "crop_size", "image_mean", "image_std") if key in saved}
        )
    return LlavaImageProcessorPil(do_pad=pad_to_square, **settings)


def _vision_prefix(target_keys: set[str]) -> Callable[[str], str]:
    """Maps a CLIP key as original checkpoints store it (`vision_model.…`) to the target naming."""
    nested = any(key.startswith("model.vision_tower.vision_model.") for key in target_keys)

    def rename(rest: str) -> str:
        rest = rest[len("vision_model.") :] if rest.startswith("vision_model.") else rest
        return f"model.vision_tower.{'vision_model.' if nested else ''}{rest}"

    return rename


def _map_keys(state: dict[str, Any], target_keys: set[str]) -> dict[str, Any]:
    vision = _vision_prefix(target_keys)
    mapped: dict[str, Any] = {}
    unknown = []
    for key, tensor in state.items():
        if _DROPPED_BUFFERS.search(key):
            continue
        for old, new in KEY_RULES:
            if key.startswith(old):
                rest = key[len(old) :]
                mapped[vision(rest) if old == _VISION else new + rest] = tensor
                break
        else:
            unknown.append(key)
    if unknown:
        raise ConversionError(f"{len(unknown)} weights have no place in the Llava layout: {unknown[:8]}")
    return mapped


def _chat_template(name: str, text_type: str, tokenizer: Any, use_start_end: bool) -> str | None:
    from biomed_vital.tuning.templates import chat_template

    if name == "none":
        return getattr(tokenizer, "chat_template", None)
    if name.endswith((".jinja", ".j2")):
        return Path(name).read_text()
    if name == "auto":
        name = "mistral_instruct" if text_type == "mistral" else "vicuna_v1"
    wrapper = ("", "")
    if use_start_end:
        ids = tokenizer.convert_tokens_to_ids(["<im_start>", "<im_end>"])
        if tokenizer.unk_token_id in ids or None in ids:
            raise ConversionError(
                "the checkpoint was trained with image start / end tokens (mm_use_im_start_end), but its "
                "tokenizer has no <im_start> / <im_end>"
            )
        wrapper = ("<im_start>", "<im_end>")
    return chat_template(name, image_wrapper=wrapper)


# ------------------------------------------------------------------------------------------ convert
def convert_llava_checkpoint(
    source: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    language_model: str | None = None,
    vision_tower: str | None = None,
    chat_template: str = "auto",
    dtype: str | None = None,
    max_shard_size: str | int = "5GB",
) -> Path:
    """Convert an original-layout LLaVA / LLaVA-Med / BioMed-VITAL checkpoint to the transformers Llava layout.

    Args:
        source: the original checkpoint: a folder (single or sharded weights with `config.json`), a weight file,
            or a projector-only run (`mm_projector.bin`, or `mm_projector/checkpoint-*.bin`: the latest step).
        output_dir: where the converted model and processor are written (safetensors shards).
        language_model: the base language model (folder or Hub id) for a projector-only checkpoint (default:
            the `_name_or_path` its config records).
        vision_tower: the CLIP vision model (folder or Hub id; default: the config's `mm_vision_tower`). Its
            config is always needed; its weights only when the checkpoint does not hold them.
        chat_template: `auto` (`mistral_instruct` for Mistral models, else `vicuna_v1`), a template name, a
            `.jinja` file, or `none` to keep the tokenizer's.
        dtype: `float16`, `bfloat16` or `float32` (default: the language model's dtype in the checkpoint).
        max_shard_size: the largest safetensors shard.

    Returns:
        The output folder; `LlavaForConditionalGeneration.from_pretrained` and `AutoProcessor.from_pretrained`
        load it.

    Example:
        >>> convert_llava_checkpoint("BioMed-VITAL-checkpoint", "biomed-vital-hf",           # doctest: +SKIP
        ...                          vision_tower="openai/clip-vit-large-patch14")
    """
    import torch
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        CLIPVisionModel,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    config, state, folder = read_original_checkpoint(source)
    projector_type = _projector_type(config, state)
    projector_only = not any(key.startswith(("model.layers.", "lm_head.")) for key in state)
    vision_tower = vision_tower or config.get("mm_vision_tower")
    if not vision_tower:
        raise ConversionError(
            "the checkpoint does not name its vision tower (mm_vision_tower); pass vision_tower="
        )

    text_source: str | None = None
    if projector_only:
        text_source = language_model or config.get("_name_or_path")
        if not text_source:
            raise ConversionError(
                "this is a projector-only checkpoint; pass language_model=<folder or Hub id of the base model>"
            )
        base = AutoModelForCausalLM.from_pretrained(text_source, dtype="auto")
        text_config = base.config
        state = {**base.state_dict(), **state}  # the projector run may also carry tuned embeddings
        del base
    else:
        text_config = _text_config(config, language_model)
    text_type = text_config.model_type
    vision_config = _vision_config(vision_tower)
    if not any(key.startswith(_VISION) for key in state):
        tower = CLIPVisionModel.from_pretrained(vision_tower, dtype="auto")
        state.update({f"{_VISION}vision_model.{key}": value for key, value in tower.state_dict().items()})
        del tower

    tokenizer = AutoTokenizer.from_pretrained(text_source or str(folder))
    added = []
    if "<image>" not in tokenizer.get_vocab():
        tokenizer.add_special_tokens({"additional_special_tokens": ["<image>"]})
        added.append("<image>")
    if tokenizer.pad_token is None:
        if tokenizer.unk_token is not None:
            tokenizer.pad_token = tokenizer.unk_token  # what LLaVA's training code does
        else:
            tokenizer.add_special_tokens({"pad_token": "<pad>"})
            added.append("<pad>")

    embed_key = "model.embed_tokens.weight"
    if embed_key not in state:
        raise ConversionError(f"the checkpoint has no {embed_key}")
    vocab_size = max(len(tokenizer), state[embed_key].shape[0])
    text_config.vocab_size = vocab_size
    select_feature = config.get("mm_vision_select_feature", "patch")
    if select_feature not in ("patch", "cls_patch"):
        raise ConversionError(
            f"mm_vision_select_feature {select_feature!r} is not supported (patch or cls_patch)"
        )
    patches = (vision_config.image_size // vision_config.patch_size) ** 2
    image_token_id = tokenizer.convert_tokens_to_ids("<image>")
    if not isinstance(image_token_id, int):
        raise ConversionError("the tokenizer does not map <image> to a single token")
    llava_config = LlavaConfig(
        vision_config=vision_config,
        text_config=text_config,
        image_token_index=image_token_id,
        image_seq_length=patches + (1 if select_feature == "cls_patch" else 0),
        projector_hidden_act="gelu" if projector_type == "mlp2x_gelu" else "linear",
        vision_feature_layer=int(config.get("mm_vision_select_layer", -1)),
        vision_feature_select_strategy="default" if select_feature == "patch" else "full",
        multimodal_projector_bias=True,
        tie_word_embeddings=bool(getattr(text_config, "tie_word_embeddings", False)),
    )

    target_dtype = getattr(torch, dtype) if dtype else state[embed_key].dtype
    with torch.device("meta"):
        model = LlavaForConditionalGeneration(llava_config)
    target_keys = set(model.state_dict())
    mapped = _map_keys(state, target_keys)
    mapped = {key: value.to(target_dtype) for key, value in mapped.items()}
    if projector_type == "linear":
        # LLaVA-Med's linear projector: linear_1 is the projection, GELU is replaced by identity, and linear_2
        # passes it through unchanged.
        size = text_config.hidden_size
        mapped["model.multi_modal_projector.linear_2.weight"] = torch.eye(size, dtype=target_dtype)
        mapped["model.multi_modal_projector.linear_2.bias"] = torch.zeros(size, dtype=target_dtype)
    for key in ("model.language_model.embed_tokens.weight", "lm_head.weight"):
        if key in mapped and mapped[key].shape[0] < vocab_size:
            rows = mapped[key]
            extra = (
                rows.float().mean(dim=0, keepdim=True).to(rows.dtype).expand(vocab_size - rows.shape[0], -1)
            )
            mapped[key] = torch.cat([rows, extra])
    if llava_config.tie_word_embeddings:
        mapped.pop("lm_head.weight", None)
    missing = sorted(
        target_keys - set(mapped) - ({"lm_head.weight"} if llava_config.tie_word_embeddings else set())
    )
    unexpected = sorted(set(mapped) - target_keys)
    if missing or unexpected:
        raise ConversionError(
            f"the mapped weights do not fit LlavaForConditionalGeneration: missing {missing[:8]}, unexpected "
            f"{unexpected[:8]}"
        )
    model.load_state_dict(mapped, strict=False, assign=True)
    if llava_config.tie_word_embeddings:
        model.tie_weights()
    # Non-persistent buffers (rotary frequencies, position ids) were created on the meta device: rebuild them.
    _materialize_buffers(model)
    model.config.dtype = target_dtype

    template = _chat_template(chat_template, text_type, tokenizer, bool(config.get("mm_use_im_start_end")))
    processor = LlavaProcessor(
        image_processor=_image_processor(
            vision_tower, vision_config, config.get("image_aspect_ratio", "pad") == "pad"
        ),
        tokenizer=tokenizer,
        patch_size=vision_config.patch_size,
        vision_feature_select_strategy=llava_config.vision_feature_select_strategy,
        num_additional_image_tokens=1,
        chat_template=template,
    )
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(output, max_shard_size=max_shard_size)
    processor.save_pretrained(output)
    record = {
        "source": os.fspath(source),
        "original_model_type": config.get("model_type"),
        "projector_only": projector_only,
        "language_model": text_source,
        "vision_tower": vision_tower,
        "projector_type": projector_type,
        "added_tokens": added,
        "chat_template": chat_template,
    }
    (output / "conversion.json").write_text(json.dumps(record, indent=2))
    return output


def _materialize_buffers(model: Any) -> None:
    """Rebuild buffers left on the meta device (computed, never stored: rotary frequencies, position ids).

    Each module holding one is built again from its config on the CPU and its buffers are copied over; these
    modules are small (embeddings, rotary tables).
    """
    import torch

    for name, module in model.named_modules():
        meta = [key for key, buffer in module.named_buffers(recurse=False) if buffer.is_meta]
        if not meta:
            continue
        module_config = getattr(module, "config", None)
        if module_config is None:
            raise ConversionError(f"cannot rebuild the buffers {meta} of {name} ({type(module).__name__})")
        with torch.device("cpu"):
            fresh = type(module)(module_config)
        for key in meta:
            module.register_buffer(key, getattr(fresh, key), persistent=False)
