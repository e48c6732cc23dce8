"""Tiny, deterministic models built from configs, for tests, examples and benchmarks (no Hub access).

* `build_tiny_tokenizer` trains a byte-level BPE tokenizer in about 0.1 s on a small corpus: the texts you give
  (for instance the captions and conversations of real fixtures) or a built-in list of plain, non-medical
  English sentences.
* `tiny_llava` builds a LLaVA-style vision-language model (CLIP or SigLIP vision tower, Llama or Qwen2 language
  model) and its `LlavaProcessor`, with a chat template carrying `{% generation %}` markers so TRL's
  `assistant_only_loss` trains on answers only.
* `tiny_idefics3` builds an Idefics3 model and processor, a second image-text-to-text architecture.
* `tiny_original_llava` writes a checkpoint in the original LLaVA code layout, for checkpoint conversion.
* `tiny_selector` builds a `SelectorModel` (ViT / CLIP / SigLIP vision tower + BERT text tower) and its
  `SelectorProcessor`.
* `tiny_image_encoder` / `tiny_text_encoder` build a plain vision tower (ViT / CLIP / SigLIP) with its image
  processor and a BERT text tower with its tokenizer, saved so that `AutoModel.from_pretrained` reads them as
  it reads a Hub encoder (for `DemonstrationSampler` and other code that takes any Hugging Face encoder).

All weights are random; these models only make code paths run quickly and reproducibly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>", "<image>"]

# Plain sentences for the tokenizer when no corpus is given; deliberately general English, not medical text.
BUILTIN_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "A figure shows a picture with a short caption below it.",
    "Question: what is shown in the picture? Answer: a small house next to a tall tree.",
    "Caption: a map of the river and the two bridges that cross it.",
    "Mention: as the second figure shows, the numbers rise every year.",
    "The left panel and the right panel compare the same scene in summer and in winter.",
    "Please describe the image in one or two sentences.",
    "There are three red boxes, one blue circle and a green line in the diagram.",
    "The table lists the name, the size and the colour of each item.",
    "Yes. No. Maybe. I am not sure. It is on the left side. It is on the right side.",
    "USER: ASSISTANT: SYSTEM: the user asks a question and the assistant answers it.",
    "Numbers such as 1, 2, 3, 10, 25, 100 and 2024 appear in many captions.",
]

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}ASSISTANT: {% generation %}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}"
    "{% endif %}{{ eos_token }}{% endgeneration %}{{ '\\n' }}"
    "{% else %}{{ message['role'] | upper }}: "
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>{{ '\\n' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}"
    "{% endif %}{{ '\\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT: {% endif %}"
)


def build_tiny_tokenizer(
    texts: Iterable[str] | None = None,
    *,
    vocab_size: int = 400,
    model_max_length: int = 256,
    image_token: bool = True,
    extra_special_tokens: Iterable[str] = (),
):
    """Train a byte-level BPE tokenizer locally and wrap it as a transformers fast tokenizer.

    Special tokens: `<unk> <s> </s> <pad> <image>` (`tokenizer.image_token`), plus a LLaVA-style chat template.
    Training is deterministic: the same texts give the same vocabulary.

    Args:
        texts: the training corpus; defaults to a built-in list of plain English sentences.
        vocab_size: target vocabulary size (byte alphabet and specials included).
        model_max_length: the truncation limit the tokenizer reports.
        image_token: include `<image>`; False gives a text-only tokenizer, as original LLaVA checkpoints ship.
        extra_special_tokens: further special tokens (a model's image start / end tokens, for instance).

    Example:
        >>> tokenizer = build_tiny_tokenizer(["Caption: a figure with two panels."])
        >>> tokenizer.pad_token, tokenizer.image_token
        ('<pad>', '<image>')
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = [text for text in (texts if texts is not None else BUILTIN_CORPUS) if text]
    if not corpus:
        raise ValueError("build_tiny_tokenizer got an empty corpus; pass some non-empty texts or None.")
    specials = [token for token in SPECIAL_TOKENS if image_token or token != "<image>"]
    specials += [token for token in extra_special_tokens if token not in specials]
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        extra_special_tokens={"image_token": "<image>"} if image_token else {},
        model_max_length=model_max_length,
    )
    extra = [token for token in extra_special_tokens if token not in SPECIAL_TOKENS]
    if extra:
        wrapped.add_special_tokens({"additional_special_tokens": extra})
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def _save(out_dir: str | os.PathLike | None, model: Any, processor: Any) -> None:
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        model.save_pretrained(out_dir)
        processor.save_pretrained(out_dir)


def _tiny_vision_tower(kind: str, hidden_size: int, num_layers: int, image_size: int, patch_size: int):
    """A tiny ViT / CLIP / SigLIP vision config and its PIL image processor (no torchvision)."""
    from transformers import (
        CLIPImageProcessorPil,
        CLIPVisionConfig,
        SiglipImageProcessorPil,
        SiglipVisionConfig,
        ViTConfig,
        ViTImageProcessorPil,
    )

    kwargs: dict[str, Any] = dict(
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        image_size=image_size,
        patch_size=patch_size,
    )
    square = {"height": image_size, "width": image_size}
    if kind == "vit":
        return ViTConfig(**kwargs), ViTImageProcessorPil(size=square)
    if kind == "clip":
        return CLIPVisionConfig(**kwargs), CLIPImageProcessorPil(
            size={"shortest_edge": image_size}, crop_size=square
        )
    return SiglipVisionConfig(**kwargs), SiglipImageProcessorPil(size=square)


def tiny_llava(
    vision: Literal["clip", "siglip"] = "clip",
    text: Literal["llama", "qwen2"] = "llama",
    out_dir: str | os.PathLike | None = None,
    *,
    tokenizer: Any = None,
    texts: Iterable[str] | None = None,
    image_size: int = 32,
    patch_size: int = 8,
    vision_hidden_size: int = 64,
    text_hidden_size: int = 64,
    num_layers: int = 2,
    seed: int = 0,
):
    """Build a tiny LLaVA (`LlavaForConditionalGeneration`) and its `LlavaProcessor` from configs.

    Layers are 64 wide by default so 4-bit bitsandbytes quantisation works on CPU. With `out_dir`, both are
    saved there and reload with `AutoModelForImageTextToText` / `AutoProcessor`.

    Example:
        >>> model, processor = tiny_llava("siglip", "qwen2")
        >>> processor.image_token
        '<image>'
    """
    import torch
    from transformers import (
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        Qwen2Config,
    )

    if vision not in ("clip", "siglip") or text not in ("llama", "qwen2"):
        raise ValueError(
            f"tiny_llava supports vision in ('clip', 'siglip') and text in ('llama', 'qwen2'); "
            f"got vision={vision!r}, text={text!r}."
        )
    tokenizer = tokenizer or build_tiny_tokenizer(texts, model_max_length=1024)
    num_patches = (image_size // patch_size) ** 2
    vision_config, image_processor = _tiny_vision_tower(
        vision, vision_hidden_size, num_layers, image_size, patch_size
    )
    # CLIP's CLS token is added by the tower and dropped again; SigLIP has none
    strategy: Literal["default", "full"] = "default" if vision == "clip" else "full"
    extra_tokens = 1 if vision == "clip" else 0
    text_kwargs: dict[str, Any] = dict(
        vocab_size=len(tokenizer),
        hidden_size=text_hidden_size,
        intermediate_size=2 * text_hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    text_config: Any = LlamaConfig(**text_kwargs) if text == "llama" else Qwen2Config(**text_kwargs)
    config = LlavaConfig(
        vision_config=vision_config,
        text_config=text_config,
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        image_seq_length=num_patches,
        vision_feature_select_strategy=strategy,
        vision_feature_layer=-1,
    )
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config)
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=patch_size,
        vision_feature_select_strategy=strategy,
        num_additional_image_tokens=extra_tokens,
        chat_template=CHAT_TEMPLATE,
    )
    _save(out_dir, model, processor)
    return model, processor


# Idefics3's processor expands a bare <image> into its own image tokens; roles are written "User:" / "Assistant:".
IDEFICS3_CHAT_TEMPLATE = (
    CHAT_TEMPLATE.replace("ASSISTANT: ", "Assistant: ")
    .replace("| upper", "| capitalize")
    .replace("<image>{{ '\\n' }}", "<image>")
)


def tiny_idefics3(
    out_dir: str | os.PathLike | None = None,
    *,
    tokenizer: Any = None,
    texts: Iterable[str] | None = None,
    image_size: int = 32,
    patch_size: int = 8,
    hidden_size: int = 64,
    num_layers: int = 2,
    seed: int = 0,
):
    """Build a tiny Idefics3 (`Idefics3ForConditionalGeneration`: SigLIP-style vision, pixel-shuffle connector,
    Llama text model) and its `Idefics3Processor`, the second architecture the tuning stage is tested on.

    Images are not split into tiles, so each image is one 32x32 view of 4 image tokens after the connector.

    Example:
        >>> model, processor = tiny_idefics3()
        >>> type(model).__name__, processor.image_token
        ('Idefics3ForConditionalGeneration', '<image>')
    """
    import torch
    from transformers import (
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3ImageProcessorPil,
        Idefics3Processor,
    )

    tokenizer = tokenizer or build_tiny_tokenizer(
        texts,
        model_max_length=1024,
        extra_special_tokens=("<fake_token_around_image>", "<global-img>", "<end_of_utterance>"),
    )
    tokenizer.chat_template = IDEFICS3_CHAT_TEMPLATE
    scale_factor = 2
    image_seq_len = (image_size // patch_size) ** 2 // scale_factor**2
    config = Idefics3Config(
        text_config={
            "model_type": "llama",
            "vocab_size": len(tokenizer),
            "hidden_size": hidden_size,
            "intermediate_size": 2 * hidden_size,
            "num_hidden_layers": num_layers,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 1024,
            "pad_token_id": tokenizer.pad_token_id,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
        },
        vision_config={
            "hidden_size": hidden_size,
            "intermediate_size": 2 * hidden_size,
            "num_hidden_layers": num_layers,
            "num_attention_heads": 2,
            "image_size": image_size,
            "patch_size": patch_size,
        },
        scale_factor=scale_factor,
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
    )
    torch.manual_seed(seed)
    model = Idefics3ForConditionalGeneration(config)
    image_processor = Idefics3ImageProcessorPil(
        do_image_splitting=False,
        size={"longest_edge": image_size},
        max_image_size={"longest_edge": image_size},
    )
    processor = Idefics3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_len=image_seq_len,
        chat_template=IDEFICS3_CHAT_TEMPLATE,
    )
    _save(out_dir, model, processor)
    return model, processor


def tiny_original_llava(
    out_dir: str | os.PathLike,
    *,
    layout: Literal["single", "sharded", "projector", "projector_checkpoints"] = "single",
    text: Literal["llama", "mistral"] = "llama",
    projector: Literal["mlp2x_gelu", "linear"] = "mlp2x_gelu",
    vision_in_checkpoint: bool = True,
    hidden_size: int = 64,
    image_size: int = 32,
    patch_size: int = 8,
    num_layers: int = 2,
    seed: int = 0,
) -> dict[str, Path]:
    """Write a tiny checkpoint in the original LLaVA code layout (random weights), to test checkpoint conversion.

    The layout is that of LLaVA / LLaVA-Med / BioMed-VITAL releases: `config.json` with `model_type` `llava` or
    `llava_mistral` and the `mm_*` settings, `.bin` weights with keys `model.embed_tokens.*`, `model.layers.*`,
    `model.norm.*`, `lm_head.*`, `model.mm_projector.*` and (with `vision_in_checkpoint`)
    `model.vision_tower.vision_tower.vision_model.*`, and a tokenizer without an `<image>` token.

    * `single`: one `pytorch_model.bin`; `sharded`: two shards and `pytorch_model.bin.index.json`;
    * `projector`: a stage-1 run folder with only `mm_projector.bin` and its `config.json` (the base language
      model is written to `language_model/`); `projector_checkpoints`: the same with `mm_projector/checkpoint-1.bin`
      and `checkpoint-2.bin` (the later one holds the returned weights).

    Returns:
        `{"checkpoint": folder, "vision_tower": folder}`, plus `"language_model"` for the projector layouts.

    Example:
        >>> import tempfile
        >>> paths = tiny_original_llava(tempfile.mkdtemp(), layout="sharded")
        >>> sorted(p.name for p in paths["checkpoint"].glob("*.json"))
        ['config.json', 'pytorch_model.bin.index.json', 'tokenizer.json', 'tokenizer_config.json']
    """
    import json

    import torch
    from transformers import CLIPVisionModel, LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM

    root = Path(out_dir)
    paths = {"checkpoint": root / "checkpoint", "vision_tower": root / "vision_tower"}
    tokenizer = build_tiny_tokenizer(image_token=False, model_max_length=1024)
    tokenizer.chat_template = None  # original checkpoints ship none; conversion sets the format
    torch.manual_seed(seed)
    vision_config, image_processor = _tiny_vision_tower(
        "clip", hidden_size, num_layers, image_size, patch_size
    )
    vision = CLIPVisionModel(vision_config)
    vision.save_pretrained(paths["vision_tower"])
    image_processor.save_pretrained(paths["vision_tower"])
    text_kwargs: dict[str, Any] = dict(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    text_config: Any = LlamaConfig(**text_kwargs) if text == "llama" else MistralConfig(**text_kwargs)
    language = (LlamaForCausalLM if text == "llama" else MistralForCausalLM)(text_config)
    generator = torch.Generator().manual_seed(seed + 1)

    def random(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator) * 0.05

    shapes = {"0.weight": (hidden_size, hidden_size), "0.bias": (hidden_size,)}
    if projector == "mlp2x_gelu":
        shapes.update({"2.weight": (hidden_size, hidden_size), "2.bias": (hidden_size,)})
    else:
        shapes = {"weight": shapes["0.weight"], "bias": shapes["0.bias"]}
    projector_state = {f"model.mm_projector.{key}": random(*shape) for key, shape in shapes.items()}
    config = {
        **text_config.to_dict(),
        "model_type": "llava" if text == "llama" else "llava_mistral",
        "architectures": ["LlavaLlamaForCausalLM" if text == "llama" else "LlavaMistralForCausalLM"],
        "mm_vision_tower": str(paths["vision_tower"]),
        "mm_hidden_size": hidden_size,
        "mm_projector_type": projector,
        "mm_vision_select_layer": -2,
        "mm_vision_select_feature": "patch",
        "image_aspect_ratio": "pad",
        "mm_use_im_start_end": False,
        "mm_use_im_patch_token": False,
        "use_mm_proj": True,
    }
    checkpoint = paths["checkpoint"]
    checkpoint.mkdir(parents=True, exist_ok=True)
    if layout in ("projector", "projector_checkpoints"):
        paths["language_model"] = root / "language_model"
        language.save_pretrained(paths["language_model"])
        tokenizer.save_pretrained(paths["language_model"])
        config["_name_or_path"] = str(paths["language_model"])
        (checkpoint / "config.json").write_text(json.dumps(config, indent=2, default=str))
        if layout == "projector":
            torch.save(projector_state, checkpoint / "mm_projector.bin")
        else:
            (checkpoint / "mm_projector").mkdir(exist_ok=True)
            earlier = {key: value + 1.0 for key, value in projector_state.items()}
            torch.save(earlier, checkpoint / "mm_projector" / "checkpoint-1.bin")
            torch.save(projector_state, checkpoint / "mm_projector" / "checkpoint-2.bin")
        return paths

    state = {key: value.clone() for key, value in language.state_dict().items()}
    state.update(projector_state)
    if vision_in_checkpoint:
        for key, value in vision.state_dict().items():
            state[f"model.vision_tower.vision_tower.vision_model.{key}"] = value.clone()
        # checkpoints written by transformers 4.x also hold the CLIP position ids buffer
        state["model.vision_tower.vision_tower.vision_model.embeddings.position_ids"] = torch.arange(
            (image_size // patch_size) ** 2 + 1
        )[None]
    (checkpoint / "config.json").write_text(json.dumps(config, indent=2, default=str))
    tokenizer.save_pretrained(checkpoint)
    if layout == "single":
        torch.save(state, checkpoint / "pytorch_model.bin")
    else:
        keys = sorted(state)
        weight_map = {}
        for number, shard_keys in enumerate((keys[: len(keys) // 2], keys[len(keys) // 2 :]), start=1):
            name = f"pytorch_model-0000{number}-of-00002.bin"
            torch.save({key: state[key] for key in shard_keys}, checkpoint / name)
            weight_map.update(dict.fromkeys(shard_keys, name))
        total = sum(tensor.numel() * tensor.element_size() for tensor in state.values())
        index = {"metadata": {"total_size": total}, "weight_map": weight_map}
        (checkpoint / "pytorch_model.bin.index.json").write_text(json.dumps(index, indent=2))
    return paths


def tiny_selector(
    vision: Literal["vit", "clip", "siglip"] = "vit",
    out_dir: str | os.PathLike | None = None,
    *,
    tokenizer: Any = None,
    texts: Iterable[str] | None = None,
    image_size: int = 32,
    patch_size: int = 8,
    hidden_size: int = 32,
    num_layers: int = 2,
    max_text_length: int = 128,
    seed: int = 0,
    **config_kwargs: Any,
):
    """Build a tiny `SelectorModel` (vision tower + BERT text tower + MLP head) and its `SelectorProcessor`.

    `config_kwargs` go to `SelectorConfig` (`projection_dim`, `head_hidden_size`, `freeze_vision`, ...;
    tiny defaults of 32 are used for the first two). The text tower accepts `max_text_length` tokens.

    Example:
        >>> model, processor = tiny_selector("clip", projection_dim=16)
        >>> model.config.vision_config.model_type, model.config.text_config.model_type
        ('clip_vision_model', 'bert')
    """
    import torch
    from transformers import (
        BertConfig,
    )

    from biomed_vital.selection.configuration import SelectorConfig
    from biomed_vital.selection.modeling import SelectorModel
    from biomed_vital.selection.processing import SelectorProcessor

    tokenizer = tokenizer or build_tiny_tokenizer(texts, model_max_length=max_text_length)
    if vision not in ("vit", "clip", "siglip"):
        raise ValueError(f"tiny_selector supports vision in ('vit', 'clip', 'siglip'); got {vision!r}.")
    vision_config, image_processor = _tiny_vision_tower(
        vision, hidden_size, num_layers, image_size, patch_size
    )
    text_config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        max_position_embeddings=max(max_text_length, tokenizer.model_max_length),
        # the tokenizer's special tokens, so trainers find nothing to align (and say nothing about it)
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    config_kwargs.setdefault("projection_dim", 32)
    config_kwargs.setdefault("head_hidden_size", 32)
    config = SelectorConfig(vision_config=vision_config, text_config=text_config, **config_kwargs)
    torch.manual_seed(seed)
    model = SelectorModel(config)
    processor = SelectorProcessor(image_processor=image_processor, tokenizer=tokenizer)
    _save(out_dir, model, processor)
    return model, processor


def tiny_image_encoder(
    kind: Literal["vit", "clip", "siglip"] = "vit",
    out_dir: str | os.PathLike | None = None,
    *,
    image_size: int = 32,
    patch_size: int = 8,
    hidden_size: int = 32,
    num_layers: int = 2,
    seed: int = 0,
):
    """Build a tiny vision tower (`ViTModel` / `CLIPVisionModel` / `SiglipVisionModel`) and its PIL image processor.

    With `out_dir`, both are saved there and reload with `AutoModel` / `AutoImageProcessor`, exactly as a Hub
    encoder such as `google/vit-base-patch16-224-in21k` does.

    Example:
        >>> model, image_processor = tiny_image_encoder("vit")
        >>> model.config.model_type, model.config.hidden_size
        ('vit', 32)
    """
    import torch
    from transformers import AutoModel

    if kind not in ("vit", "clip", "siglip"):
        raise ValueError(f"tiny_image_encoder supports kind in ('vit', 'clip', 'siglip'); got {kind!r}.")
    config, image_processor = _tiny_vision_tower(kind, hidden_size, num_layers, image_size, patch_size)
    torch.manual_seed(seed)
    model = AutoModel.from_config(config)
    _save(out_dir, model, image_processor)
    return model, image_processor


def tiny_text_encoder(
    out_dir: str | os.PathLike | None = None,
    *,
    tokenizer: Any = None,
    texts: Iterable[str] | None = None,
    hidden_size: int = 32,
    num_layers: int = 2,
    max_length: int = 128,
    seed: int = 0,
):
    """Build a tiny BERT text tower (`BertModel`) and its tokenizer.

    With `out_dir`, both are saved there and reload with `AutoModel` / `AutoTokenizer`, as a Hub text encoder
    (BERT, PubMedBERT) does.

    Example:
        >>> model, tokenizer = tiny_text_encoder()
        >>> model.config.model_type
        'bert'
    """
    import torch
    from transformers import BertConfig, BertModel

    tokenizer = tokenizer or build_tiny_tokenizer(texts, model_max_length=max_length)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        max_position_embeddings=max(max_length, tokenizer.model_max_length),
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = BertModel(config)
    _save(out_dir, model, tokenizer)
    return model, tokenizer


__all__ = [
    "BUILTIN_CORPUS",
    "CHAT_TEMPLATE",
    "IDEFICS3_CHAT_TEMPLATE",
    "build_tiny_tokenizer",
    "tiny_idefics3",
    "tiny_image_encoder",
    "tiny_llava",
    "tiny_original_llava",
    "tiny_selector",
    "tiny_text_encoder",
]
