"""Build the tiny BiomedCLIP-layout checkpoint and its reference embeddings, with open_clip itself.

The real BiomedCLIP (``microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224``) cannot be downloaded in the
test environment, so the converter is tested on a checkpoint of the same layout, built here by open_clip from a
tiny model config: a timm ViT image tower (``timm_pool=""``, ``timm_proj="linear"``) and a Hugging Face BERT text
tower with an MLP projection and class-token pooling (``hf_proj_type="mlp"``,
``hf_pooler_type="cls_last_hidden_state_pooler"``), exactly as BiomedCLIP's ``open_clip_config.json`` has them,
only smaller (width 64, 2 layers, 2 heads, images of 32 pixels). Every weight is randomised (layer norms
included) so that a wrong mapping shows, and stored in float16 to keep the fixture small; the references are
computed by open_clip from the weights as saved.

open_clip and timm need torchvision, which cannot sit beside the main environment's torch; run this in a
separate environment (x86_64), from the repository root:

    python -m venv .venv-openclip
    .venv-openclip/bin/pip install torch==2.14.1 torchvision==0.29.1
    .venv-openclip/bin/pip install open-clip-torch==3.3.0 timm==1.0.31 transformers==5.24.0 safetensors
    .venv-openclip/bin/python tests/fixtures_build/make_tiny_biomedclip.py

It writes ``tests/selection/data/tiny_biomedclip/``: the checkpoint (``open_clip_config.json``,
``open_clip_model.safetensors``, the text tower's ``config.json`` and tokenizer files), three synthetic images
(``image_*.png``), ``texts.json`` (synthetic texts) and ``reference_embeddings.safetensors`` (open_clip's
``pixel_values``, ``input_ids``, ``image_features`` and ``text_features``, before and after L2 normalisation).
``tests/selection/test_biomedclip.py`` converts the checkpoint in the main environment and compares.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "selection" / "data" / "tiny_biomedclip"
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
TIMM_NAME = "vit_fixture_patch8_32"  # registered below; not a timm model
WIDTH, LAYERS, HEADS, PATCH, IMAGE = 64, 2, 2, 8, 32
EMBED_DIM, CONTEXT = 32, 48

# Synthetic texts in the selector's layout; not medical content.
TEXTS = [
    "Caption: synthetic test figure one (stand-in text, not medical content).\nMentions:\n- a short mention.\n"
    "Question: what is shown in the picture?\nAnswer: a grey square with a lighter band.",
    "Caption: synthetic test figure two (stand-in text).\nQuestion: which side is brighter?\nAnswer: the left.",
    "a short synthetic text",
]
CORPUS = TEXTS + [
    "The quick brown fox jumps over the lazy dog.",
    "A figure shows a picture with a short caption below it.",
    "There are three red boxes, one blue circle and a green line in the diagram.",
    "Yes. No. Maybe. It is on the left side. It is on the right side.",
]


def _register_tiny_vit() -> None:
    from timm.models import register_model
    from timm.models.vision_transformer import _create_vision_transformer

    @register_model
    def vit_fixture_patch8_32(pretrained: bool = False, **kwargs):  # noqa: ANN202
        settings = dict(
            img_size=IMAGE, patch_size=PATCH, embed_dim=WIDTH, depth=LAYERS, num_heads=HEADS, mlp_ratio=2.0
        )
        return _create_vision_transformer(TIMM_NAME, pretrained=pretrained, **dict(settings, **kwargs))


def _write_text_tower(folder: Path) -> None:
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertTokenizerFast

    trainer = BertWordPieceTokenizer(lowercase=True)
    trainer.train_from_iterator(CORPUS, vocab_size=160, min_frequency=1)
    trainer.save_model(str(folder))
    tokenizer = BertTokenizerFast(vocab=str(folder / "vocab.txt"), do_lower_case=True)
    tokenizer.model_max_length = CONTEXT
    tokenizer.save_pretrained(str(folder))
    BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=WIDTH,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=2 * WIDTH,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
    ).save_pretrained(str(folder))


def _write_images(folder: Path) -> list[Path]:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    paths = []
    # sizes whose resize-and-crop is the same in torchvision and in transformers' PIL processor
    for index, (width, height) in enumerate([(40, 32), (32, 32), (64, 48)]):
        gradient = np.linspace(0, 255, width)[None, :, None] * np.ones((height, 1, 3))
        noise = rng.integers(0, 60, size=(height, width, 3))
        pixels = np.clip(gradient * (0.5 + 0.2 * index) + noise, 0, 255).astype(np.uint8)
        path = folder / f"image_{index}.png"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


def main() -> None:
    import open_clip
    import torch
    from PIL import Image
    from safetensors.torch import save_file

    _register_tiny_vit()
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    config = {
        "model_cfg": {
            "embed_dim": EMBED_DIM,
            "vision_cfg": {
                "timm_model_name": TIMM_NAME,
                "timm_model_pretrained": False,
                "timm_pool": "",
                "timm_proj": "linear",
                "image_size": IMAGE,
            },
            "text_cfg": {
                # the text tower's config and tokenizer sit in this folder (BiomedCLIP names a Hub id)
                "hf_model_name": ".",
                "hf_tokenizer_name": ".",
                "hf_proj_type": "mlp",
                "hf_pooler_type": "cls_last_hidden_state_pooler",
                "context_length": CONTEXT,
            },
        },
        "preprocess_cfg": {"mean": CLIP_MEAN, "std": CLIP_STD},
    }
    (OUT / "open_clip_config.json").write_text(json.dumps(config, indent=2) + "\n")
    _write_text_tower(OUT)
    images = _write_images(OUT)
    (OUT / "texts.json").write_text(json.dumps(TEXTS, indent=2) + "\n")

    os.chdir(OUT)  # hf_model_name "." resolves here
    torch.manual_seed(0)
    model = open_clip.create_model(f"local-dir:{OUT}", pretrained_text=False)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name != "logit_scale":  # random layer norms and biases too, so a wrong mapping shows
                parameter.add_(0.05 * torch.randn_like(parameter))
    state = {
        name: tensor.detach().to(torch.float16).contiguous() for name, tensor in model.state_dict().items()
    }
    save_file(state, str(OUT / "open_clip_model.safetensors"))

    model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{OUT}")
    tokenizer = open_clip.get_tokenizer(f"local-dir:{OUT}")
    model.eval()
    pixel_values = torch.stack([preprocess(Image.open(path)) for path in images])
    input_ids = tokenizer(TEXTS)
    with torch.no_grad():
        image_features = model.encode_image(pixel_values)
        text_features = model.encode_text(input_ids)
        reference = {
            "pixel_values": pixel_values.contiguous(),
            "input_ids": input_ids.contiguous(),
            "image_features": image_features.contiguous(),
            "text_features": text_features.contiguous(),
            "image_features_normalized": model.encode_image(pixel_values, normalize=True).contiguous(),
            "text_features_normalized": model.encode_text(input_ids, normalize=True).contiguous(),
        }
    save_file(reference, str(OUT / "reference_embeddings.safetensors"))
    total = sum(path.stat().st_size for path in OUT.iterdir())
    print(f"wrote {len(list(OUT.iterdir()))} files, {total / 1024:.0f} KiB, to {OUT}")
    print({name: tuple(tensor.shape) for name, tensor in reference.items()})


if __name__ == "__main__":
    main()
