"""A reference forward pass written from the original LLaVA architecture's definition, for conversion tests.

The original code (LLaVA's ``llava_arch.py``) computes: the CLIP vision tower's hidden state at
``mm_vision_select_layer``, without the CLS token for ``patch`` features; the projector (``linear``, or
``Linear -> GELU -> Linear`` for ``mlp2x_gelu``); the image features spliced into the token embeddings where
``IMAGE_TOKEN_INDEX`` (-200) stands; the language model on those embeddings. Images are first padded to a
square in the image processor's mean colour (``image_aspect_ratio: pad``). Nothing here uses the converter.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from PIL import Image
from transformers import (
    CLIPImageProcessorPil,
    CLIPVisionConfig,
    CLIPVisionModel,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
)

IMAGE_TOKEN_INDEX = -200


def _state(folder: Path) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = {}
    index = folder / "pytorch_model.bin.index.json"
    files = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.is_file() else []
    files = files or [name for name in ("pytorch_model.bin", "mm_projector.bin") if (folder / name).is_file()]
    if not files:
        files = [str(max((folder / "mm_projector").glob("checkpoint-*.bin")).relative_to(folder))]
    for name in files:
        state.update(torch.load(folder / name, map_location="cpu", weights_only=True))
    return state


def expand_to_square(image: Image.Image, background: tuple[int, ...]) -> Image.Image:
    width, height = image.size
    if width == height:
        return image
    side = max(width, height)
    result = Image.new(image.mode, (side, side), background)
    result.paste(image, ((side - width) // 2, (side - height) // 2))
    return result


class OriginalLlava(torch.nn.Module):
    """The original model, assembled from an original-layout checkpoint folder (and its base parts)."""

    def __init__(self, paths: dict[str, Path]):
        super().__init__()
        checkpoint = paths["checkpoint"]
        self.config = json.loads((checkpoint / "config.json").read_text())
        state = _state(checkpoint)
        if "language_model" in paths:  # a stage-1 run: the base language model plus the projector
            from transformers import AutoModelForCausalLM

            language_state = AutoModelForCausalLM.from_pretrained(paths["language_model"]).state_dict()
            state = {**language_state, **state}
        text_class, config_class = (
            (LlamaForCausalLM, LlamaConfig)
            if self.config["model_type"] == "llava"
            else (MistralForCausalLM, MistralConfig)
        )
        known = set(config_class().to_dict())
        self.text = text_class(
            config_class(**{k: v for k, v in self.config.items() if k in known and k != "model_type"})
        )
        self.text.load_state_dict(
            {
                k: v
                for k, v in state.items()
                if k.startswith(("model.embed", "model.layers", "model.norm", "lm_head"))
            }
        )

        self.vision = CLIPVisionModel(CLIPVisionConfig.from_pretrained(paths["vision_tower"]))
        prefix = "model.vision_tower.vision_tower.vision_model."
        vision_state = {
            k[len(prefix) :]: v
            for k, v in state.items()
            if k.startswith(prefix) and not k.endswith("position_ids")
        }
        if vision_state:
            self.vision.load_state_dict(vision_state)
        else:  # the original LLaVA-Med kept the tower out of the checkpoint and loaded it from mm_vision_tower
            self.vision = CLIPVisionModel.from_pretrained(paths["vision_tower"])
        self.image_processor = CLIPImageProcessorPil.from_pretrained(paths["vision_tower"])

        if self.config["mm_projector_type"] == "mlp2x_gelu":
            self.projector = torch.nn.Sequential(
                torch.nn.Linear(*state["model.mm_projector.0.weight"].shape[::-1]),
                torch.nn.GELU(),
                torch.nn.Linear(*state["model.mm_projector.2.weight"].shape[::-1]),
            )
        else:
            self.projector = torch.nn.Linear(*state["model.mm_projector.weight"].shape[::-1])
        self.projector.load_state_dict(
            {
                k[len("model.mm_projector.") :]: v
                for k, v in state.items()
                if k.startswith("model.mm_projector.")
            }
        )
        self.eval()

    def pixel_values(self, image: Image.Image) -> torch.Tensor:
        background = tuple(int(x * 255) for x in self.image_processor.image_mean)
        return self.image_processor(expand_to_square(image.convert("RGB"), background), return_tensors="pt")[
            "pixel_values"
        ]

    @torch.no_grad()
    def logits(self, input_ids: list[int], image: Image.Image) -> torch.Tensor:
        """Logits for one sequence whose image position is marked by IMAGE_TOKEN_INDEX."""
        hidden = self.vision(self.pixel_values(image), output_hidden_states=True).hidden_states
        features = hidden[self.config["mm_vision_select_layer"]]
        if self.config.get("mm_vision_select_feature", "patch") == "patch":
            features = features[:, 1:]
        features = self.projector(features)[0]
        at = input_ids.index(IMAGE_TOKEN_INDEX)
        embed = self.text.get_input_embeddings()
        before = embed(torch.tensor(input_ids[:at]))
        after = embed(torch.tensor(input_ids[at + 1 :]))
        embeds = torch.cat([before, features, after])[None]
        return self.text(inputs_embeds=embeds).logits[0]
