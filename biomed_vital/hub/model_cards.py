"""The model card of a selection model, a tuned VLM or a VLM adapter.

Example:
    >>> from biomed_vital.hub import model_card
    >>> card = model_card(repo_id="user/vital-selector", model_kind="selector",
    ...                   description="Selection model for BioMed-VITAL data.")
    >>> card.data.library_name
    'transformers'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from biomed_vital.hub.citation import citation_section
from biomed_vital.hub.markdown import card_file_text, key_value_table
from biomed_vital.hub.redaction import redact

if TYPE_CHECKING:  # pragma: no cover
    from huggingface_hub import ModelCard

__all__ = ["MODEL_KINDS", "model_card"]

#: What each kind of model is, as the card's "Model" section says it.
MODEL_KINDS: dict[str, str] = {
    "selector": (
        "A BioMed-VITAL selection model: a multimodal reward model (image encoder, text encoder and an "
        "MLP head) that scores an image with its instruction-following text. It was trained with a "
        "weighted pairwise loss on a mixture of clinician preference pairs and model-judge pairs, and "
        "is used to keep the top-scoring fraction of generated instruction data."
    ),
    "vlm": (
        "A LLaVA-style vision-language model tuned on BioMed-VITAL visual instruction data (selected "
        "with a clinician-aligned selection model)."
    ),
    "vlm-adapter": (
        "A LoRA / QLoRA adapter for a LLaVA-style vision-language model, tuned on BioMed-VITAL visual "
        "instruction data. Load it on top of its base model with peft."
    ),
}


def _default_usage(model_kind: str, target: str, base_models: list[str]) -> str:
    """A snippet that loads the model of ``model_kind`` from ``target``."""
    if model_kind == "selector":
        return (
            "import biomed_vital.selection  # registers the selector with the Auto classes\n"
            "from transformers import AutoModel, AutoProcessor\n\n"
            f'model = AutoModel.from_pretrained("{target}")\n'
            f'processor = AutoProcessor.from_pretrained("{target}")'
        )
    if model_kind == "vlm":
        return (
            "from transformers import AutoModelForImageTextToText, AutoProcessor\n\n"
            f'model = AutoModelForImageTextToText.from_pretrained("{target}")\n'
            f'processor = AutoProcessor.from_pretrained("{target}")'
        )
    base = base_models[0] if base_models else "path/to/base-model"
    return (
        "from peft import PeftModel\n"
        "from transformers import AutoModelForImageTextToText, AutoProcessor\n\n"
        f'base = AutoModelForImageTextToText.from_pretrained("{base}")\n'
        f'model = PeftModel.from_pretrained(base, "{target}")\n'
        f'processor = AutoProcessor.from_pretrained("{base}")'
    )


def model_card(
    *,
    repo_id: str | None,
    model_kind: str,
    description: str,
    base_models: Iterable[str] = (),
    datasets: Iterable[str] = (),
    metrics: Mapping[str, Any] | None = None,
    training: Mapping[str, Any] | None = None,
    usage: str = "",
) -> ModelCard:
    """Build the model card of a selection model (``"selector"``), a tuned VLM (``"vlm"``) or a VLM adapter.

    The YAML header names the base models and datasets (so the Hub links them), the
    library, the pipeline tag and the tags ``biomed_vital`` and ``model_kind``. The body has
    the description, what kind of model it is, how to use it (``usage``, else a snippet for the
    kind), the training settings and the evaluation metrics as tables (values that look like
    keys or tokens are redacted), intended use, and the citation.

    Example:
        >>> card = model_card(repo_id="user/vital-selector", model_kind="selector",
        ...                   description="Selection model for BioMed-VITAL data.", metrics={"eval_accuracy": 0.81})
        >>> card.data.tags
        ['biomed_vital', 'selector', 'biomedical']
    """
    from huggingface_hub import ModelCard, ModelCardData

    if model_kind not in MODEL_KINDS:
        raise ValueError(f"unknown model_kind {model_kind!r}; use one of {', '.join(MODEL_KINDS)}")
    base_models = list(base_models)
    datasets = list(datasets)
    card_data = ModelCardData(
        library_name="peft" if model_kind == "vlm-adapter" else "transformers",
        base_model=(base_models[0] if len(base_models) == 1 else base_models) or None,
        datasets=datasets or None,
        tags=["biomed_vital", model_kind, "biomedical"],
        pipeline_tag=None if model_kind == "selector" else "image-text-to-text",
        license="other",
    )
    name = repo_id.split("/")[-1] if repo_id else f"BioMed-VITAL {model_kind}"
    target = repo_id or "path/to/model"
    lines = [f"# {name}", "", redact(description.strip()), "", "## Model", "", MODEL_KINDS[model_kind], ""]
    if base_models:
        lines += ["Base models:", "", *[f"- [{m}](https://huggingface.co/{m})" for m in base_models], ""]
    if datasets:
        lines += [
            "Training data:",
            "",
            *[f"- [{d}](https://huggingface.co/datasets/{d})" for d in datasets],
            "",
        ]
    usage = usage or _default_usage(model_kind, target, base_models)
    lines += ["## Usage", "", "```python", redact(usage.strip()), "```", ""]
    if training:
        lines += key_value_table("Training", ("setting", "value"), training)
    if metrics:
        lines += key_value_table("Evaluation", ("metric", "value"), metrics, numbers_right=True)
    lines += [
        "## Intended use",
        "",
        "For research on biomedical vision-language models. Not a medical device and not validated for "
        "clinical decisions.",
        "",
        *citation_section(),
    ]
    return ModelCard(card_file_text(card_data.to_yaml(), lines))
