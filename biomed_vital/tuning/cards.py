"""The model card of a tuned vision-language model or adapter: its data, its recipe and its metrics.

Built on :func:`biomed_vital.hub.model_card`; this module only gathers what the tuning stage knows: which
Datasets went in (paths or Hub ids, rows used and available, mixing ratios, the selector and selection ratio
when the data came from `select()`), the training recipe and the logged metrics.

Example:
    >>> card = tuning_model_card(repo_id="user/llava-vital", base_model="llava-hf/llava-1.5-7b-hf", adapter=True,
    ...     sources=[{"source": "user/vital-selected", "stage": "selected", "rows": 800, "rows_available": 800,
    ...               "selector": "user/vital-selector", "selection_ratio": 0.1}],
    ...     recipe={"stage": "instruction", "method": "lora"}, metrics={"train_loss": 1.25})
    >>> card.data.datasets, card.data.base_model
    (['user/vital-selected'], 'llava-hf/llava-1.5-7b-hf')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from biomed_vital.paths import looks_like_hub_id, looks_like_local_path

if TYPE_CHECKING:  # pragma: no cover
    from huggingface_hub import ModelCard

__all__ = ["tuning_model_card"]

_DATA_COLUMNS = (
    ("source", "source"),
    ("stage", "stage"),
    ("rows", "rows used"),
    ("rows_available", "rows available"),
    ("ratio", "mixing ratio"),
    ("selector", "selector"),
    ("selection_ratio", "selection ratio"),
)


def _is_hub_id(name: str | None) -> bool:
    """An ``owner/name`` Hub id (what a card's YAML header links), not a local path."""
    text = str(name or "")
    return "/" in text and looks_like_hub_id(text) and not looks_like_local_path(text)


def _cell(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def _data_table(sources: Sequence[Mapping[str, Any]]) -> list[str]:
    shown = [(key, title) for key, title in _DATA_COLUMNS if any(key in source for source in sources)]
    lines = [
        "## Training data",
        "",
        "| " + " | ".join(title for _, title in shown) + " |",
        "|" + "|".join("---" if key in ("source", "stage", "selector") else "---:" for key, _ in shown) + "|",
    ]
    for source in sources:
        lines.append("| " + " | ".join(_cell(source.get(key)) for key, _ in shown) + " |")
    total = sum(int(source.get("rows") or 0) for source in sources)
    lines += ["", f"{total:,} training conversations in all.", ""]
    return lines


def tuning_model_card(
    *,
    repo_id: str | None,
    base_model: str | None,
    adapter: bool,
    sources: Sequence[Mapping[str, Any]],
    recipe: Mapping[str, Any],
    metrics: Mapping[str, Any] | None = None,
    description: str = "",
) -> ModelCard:
    """The model card of a tuned model (`adapter=False`) or a LoRA / QLoRA adapter (`adapter=True`).

    Hub ids among the base model and the data sources are linked in the card's metadata; local paths are listed
    in the body. The data table shows each source's rows, mixing ratio, selector and selection ratio.

    Example:
        >>> card = tuning_model_card(repo_id=None, base_model="path/to/base", adapter=False,
        ...                          sources=[{"source": "selected/data", "rows": 10}], recipe={"stage": "alignment"})
        >>> "| selected/data |" in card.text
        True
    """
    from biomed_vital.hub import model_card

    text = description.strip() or (
        "A vision-language model tuned on biomedical visual instruction data with biomed_vital's "
        "VisualInstructionTrainer (the LLaVA-Med recipe)."
    )
    lines = [text, ""]
    if base_model and not _is_hub_id(base_model):
        lines += [f"Base model: `{base_model}`.", ""]
    lines += _data_table(sources)
    hub_datasets = [str(source["source"]) for source in sources if _is_hub_id(source.get("source"))]
    return model_card(
        repo_id=repo_id,
        model_kind="vlm-adapter" if adapter else "vlm",
        description="\n".join(lines),
        base_models=[base_model] if base_model and _is_hub_id(base_model) else [],
        datasets=hub_datasets,
        metrics=dict(metrics or {}),
        training=dict(recipe),
    )
