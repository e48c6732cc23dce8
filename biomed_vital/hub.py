"""Dataset and model cards for every stage, and pushes to the Hugging Face Hub.

Each stage's ``datasets.Dataset`` goes to the Hub with a card that says what the stage is,
what is in it (rows, columns and types, counts by modality / status / source, the generator
and prompt hashes, image sources and licences), how to load it back, and how to cite
BioMed-VITAL. Cards never carry API keys or tokens: values that look like one are redacted.

Example:
    >>> from datasets import Dataset
    >>> from biomed_vital.hub import dataset_card
    >>> figures = Dataset.from_dict({"id": ["f1"], "caption": ["(caption text)"], "modality": ["ct_scan"]})
    >>> card = dataset_card(figures, stage="figures", repo_id="user/figures")
    >>> card.data.tags
    ['biomed_vital', 'figures', 'biomedical']
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from biomed_vital.schema import STAGE_CHAIN, STAGES

if TYPE_CHECKING:  # pragma: no cover
    from huggingface_hub import DatasetCard, ModelCard

CITATION = """@inproceedings{cui2024biomedvital,
  title     = {Biomedical Visual Instruction Tuning with Clinician Preference Alignment},
  author    = {Cui, Hejie and Mao, Lingjun and Liang, Xin and Zhang, Jieyu and Ren, Hui and
               Li, Quanzheng and Li, Xiang and Yang, Carl},
  booktitle = {Advances in Neural Information Processing Systems (NeurIPS), Datasets and Benchmarks Track},
  year      = {2024},
  eprint    = {2406.13173},
  archivePrefix = {arXiv},
  url       = {https://arxiv.org/abs/2406.13173}
}"""

_TASK_CATEGORIES: dict[str, list[str]] = {
    "figures": ["image-to-text"],
    "candidates": ["visual-question-answering", "image-text-to-text"],
    "judged": ["visual-question-answering", "image-text-to-text"],
    "preferences": ["image-text-to-text"],
    "selected": ["visual-question-answering", "image-text-to-text"],
    "training": ["visual-question-answering", "image-text-to-text"],
}

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

# Columns whose value counts are worth a table in the card, in display order.
_COUNTED_COLUMNS = ("modality", "status", "judge_status", "source", "generator", "prompt_sha", "annotator")
_YAML_KEYS = frozenset(
    {
        "license",
        "license_name",
        "license_link",
        "language",
        "pretty_name",
        "source_datasets",
        "annotations_creators",
        "language_creators",
        "multilinguality",
        "task_ids",
    }
)
_SECRET_KEY = re.compile(
    r"(api[_-]?key|token|secret|password|passwd|authori[sz]ation|credential|bearer)", re.I
)
_SECRET_VALUE = re.compile(
    r"(sk-[A-Za-z0-9_\-]{8,}|hf_[A-Za-z0-9]{8,}|Bearer\s+[A-Za-z0-9._\-]{8,}|(?:ghp|gho|github_pat)_[A-Za-z0-9_]{8,}"
    r"|AKIA[0-9A-Z]{12,}|eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{5,})"
)
REDACTED = "[redacted]"
_TOP_VALUES = 20


def redact(text: str) -> str:
    """Replace anything that looks like an API key or token with ``[redacted]``.

    Example:
        >>> redact("key sk-abcdefghijklmnop and hf_AbCdEfGhIjKlMnOp")
        'key [redacted] and [redacted]'
    """
    return _SECRET_VALUE.sub(REDACTED, text)


def _safe_items(values: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    items = []
    for key, value in (values or {}).items():
        if _SECRET_KEY.search(str(key)):
            items.append((str(key), REDACTED))
        elif isinstance(value, str):
            items.append((str(key), redact(value)))
        else:
            items.append((str(key), value))
    return items


def _check_stage(stage: str) -> None:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; use one of {', '.join(STAGES)}")


def _size_category(rows: int) -> str:
    bounds = [
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
        (100_000_000, "10M<n<100M"),
        (1_000_000_000, "100M<n<1B"),
    ]
    for bound, label in bounds:
        if rows < bound:
            return label
    return "n>1T" if rows >= 10**12 else "1B<n<10B"


def _feature_type(feature: Any) -> str:
    """A short, readable type for a ``datasets`` feature."""
    if isinstance(feature, Mapping):
        inner = ", ".join(f"{name}: {_feature_type(value)}" for name, value in feature.items())
        return f"struct<{inner}>"
    if isinstance(feature, list | tuple) and len(feature) == 1:
        return f"list<{_feature_type(feature[0])}>"
    kind = type(feature).__name__
    if kind == "Value":
        return str(feature.dtype)
    if kind in ("List", "Sequence", "LargeList"):
        return f"list<{_feature_type(feature.feature)}>"
    if kind == "ClassLabel":
        return f"class label ({', '.join(feature.names[:6])}{', ...' if len(feature.names) > 6 else ''})"
    if kind in ("Image", "Audio", "Video", "Pdf"):
        return kind.lower()
    return kind


def _splits(dataset: Any) -> dict[str, Any]:
    """``{split: Dataset}`` for a Dataset or a DatasetDict."""
    if hasattr(dataset, "features") and hasattr(dataset, "num_rows") and not isinstance(dataset, Mapping):
        return {str(getattr(dataset, "split", None) or "train"): dataset}
    if isinstance(dataset, Mapping) and dataset:
        return {str(name): split for name, split in dataset.items()}
    raise TypeError(
        f"expected a datasets.Dataset or DatasetDict with rows, got {type(dataset).__name__}; "
        "build one with datasets.Dataset.from_dict / from_list"
    )


def _string_counts(splits: Mapping[str, Any], column: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for split in splits.values():
        if column not in split.column_names:
            continue
        feature = split.features[column]
        if type(feature).__name__ != "Value" or feature.dtype not in ("string", "large_string", "bool"):
            continue
        counts.update("(empty)" if value in (None, "") else str(value) for value in split[column])
    return counts


def _count_table(title: str, counts: Counter[str], total: int) -> list[str]:
    lines = [f"**{title}**", "", "| value | rows | share |", "|---|---:|---:|"]
    for value, count in counts.most_common(_TOP_VALUES):
        lines.append(f"| {_cell(value)} | {count:,} | {count / max(total, 1):.1%} |")
    if len(counts) > _TOP_VALUES:
        rest = sum(count for _, count in counts.most_common()[_TOP_VALUES:])
        lines.append(f"| ({len(counts) - _TOP_VALUES} more values) | {rest:,} | {rest / max(total, 1):.1%} |")
    return [*lines, ""]


def _cell(value: Any) -> str:
    text = redact(str(value)).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 120 else text[:117] + "..."


def _domain_counts(splits: Mapping[str, Any]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for split in splits.values():
        if "domain" not in split.column_names or not isinstance(split.features["domain"], Mapping):
            continue
        for row in split["domain"]:
            for flag, value in (row or {}).items():
                if value is True:
                    counts[flag] += 1
    return counts


def _numeric_summary(splits: Mapping[str, Any], column: str) -> str | None:
    values: list[float] = []
    missing = 0
    for split in splits.values():
        if column not in split.column_names:
            continue
        for value in split[column]:
            if isinstance(value, int | float) and value == value:  # NaN != NaN
                values.append(float(value))
            else:
                missing += 1
    if not values and not missing:
        return None
    if not values:
        return f"| `{column}` | 0 | {missing:,} | - | - | - |"
    mean = sum(values) / len(values)
    return (
        f"| `{column}` | {len(values):,} | {missing:,} | {min(values):.3g} | {mean:.3g} | {max(values):.3g} |"
    )


def _sources_and_licences(splits: Mapping[str, Any], stage: str) -> list[str]:
    columns = set().union(*(split.column_names for split in splits.values()))
    if "license" not in columns and (stage == "preferences" or "source" not in columns):
        return []
    pairs: Counter[tuple[str, str]] = Counter()
    for split in splits.values():
        if stage == "preferences":  # here `source` is clinician/judge, not where the image came from
            sources = ["(not recorded)"] * split.num_rows
        else:
            sources = (
                split["source"] if "source" in split.column_names else ["(not recorded)"] * split.num_rows
            )
        licences = (
            split["license"] if "license" in split.column_names else ["(not recorded)"] * split.num_rows
        )
        pairs.update(
            (str(s or "(not recorded)"), str(lic or "(not recorded)"))
            for s, lic in zip(sources, licences, strict=True)
        )
    lines = [
        "## Image sources and licences",
        "",
        "Images keep the terms of their sources. Check each licence before redistributing.",
        "",
        "| source | licence | rows |",
        "|---|---|---:|",
    ]
    for (source, licence), count in pairs.most_common(_TOP_VALUES):
        lines.append(f"| {_cell(source)} | {_cell(licence)} | {count:,} |")
    if len(pairs) > _TOP_VALUES:
        lines.append(f"| ({len(pairs) - _TOP_VALUES} more pairs) | | |")
    return [*lines, ""]


def dataset_card(
    dataset: Any,
    *,
    stage: str,
    repo_id: str | None = None,
    description: str = "",
    extra: Mapping[str, Any] | None = None,
) -> DatasetCard:
    """Build the dataset card of one pipeline stage.

    The YAML header carries the licence (``extra["license"]``, else ``other``), task
    categories, the tags ``biomed_vital`` and the stage, the size category and the ``configs``
    that ``load_dataset`` reads. The body says what the stage is and shows the row count, the
    columns with their types (contract columns marked), counts by modality / status / source
    and other categorical columns, score summaries, generator and prompt-hash values, image
    sources and licences, how to load the data back, and the citation. Keys in ``extra`` that
    are YAML card fields (``license``, ``language``, ``pretty_name``, ...) go to the header,
    the rest into a details table; anything that looks like a key or token is redacted.

    Example:
        >>> from datasets import Dataset
        >>> ds = Dataset.from_dict({"id": ["a"], "modality": ["mri"], "status": ["ok"]})
        >>> card = dataset_card(ds, stage="candidates", repo_id="user/candidates")
        >>> "| mri | 1 | 100.0% |" in card.text
        True
    """
    from huggingface_hub import DatasetCard, DatasetCardData

    _check_stage(stage)
    splits = _splits(dataset)
    total = sum(split.num_rows for split in splits.values())
    extra_items = _safe_items(extra)
    yaml_extra = {key: value for key, value in extra_items if key in _YAML_KEYS}
    details = [(key, value) for key, value in extra_items if key not in _YAML_KEYS]
    title = f"BioMed-VITAL {stage}" + (f": {repo_id.split('/')[-1]}" if repo_id else "")

    card_data = DatasetCardData(
        license=yaml_extra.pop("license", "other"),
        task_categories=_TASK_CATEGORIES[stage],
        tags=["biomed_vital", stage, "biomedical"],
        size_categories=[_size_category(total)],
        pretty_name=yaml_extra.pop("pretty_name", title),
        configs=[
            {
                "config_name": "default",
                "data_files": [{"split": name, "path": f"data/{name}-*"} for name in splits],
            }
        ],
        **yaml_extra,
    )

    lines = [f"# {title}", ""]
    if description:
        lines += [redact(description.strip()), ""]
    lines += [
        "Made with `biomed_vital`, an implementation of BioMed-VITAL (Cui, Mao et al., NeurIPS 2024; "
        "<https://BioMed-VITAL.github.io>).",
        "",
        f"## Stage: `{stage}`",
        "",
        STAGES[stage].description,
        "",
        "## Size",
        "",
        "| split | rows |",
        "|---|---:|",
        *[f"| {name} | {split.num_rows:,} |" for name, split in splits.items()],
        "",
    ]

    first = next(iter(splits.values()))
    contract: set[str] = set()
    for name in STAGE_CHAIN[: STAGE_CHAIN.index(stage) + 1] if stage in STAGE_CHAIN else (stage,):
        contract.update(STAGES[name].columns)
    lines += ["## Columns", "", "| column | type | part of the stage contract |", "|---|---|:---:|"]
    for column, feature in first.features.items():
        lines.append(
            f"| `{column}` | {_cell(_feature_type(feature))} | {'yes' if column in contract else ''} |"
        )
    lines.append("")

    counted = [(column, _string_counts(splits, column)) for column in _COUNTED_COLUMNS]
    counted = [(column, counts) for column, counts in counted if counts]
    domains = _domain_counts(splits)
    if counted or domains:
        lines += ["## Counts", ""]
        for column, counts in counted:
            lines += _count_table(f"by `{column}`", counts, total)
        if domains:
            lines += _count_table("by `domain` flag (a figure can have several)", domains, total)

    summaries = [
        summary
        for summary in (_numeric_summary(splits, c) for c in ("judge_score", "selector_score", "weight"))
        if summary
    ]
    if summaries:
        lines += [
            "## Scores",
            "",
            "| column | values | missing | min | mean | max |",
            "|---|---:|---:|---:|---:|---:|",
            *summaries,
            "",
        ]

    lines += _sources_and_licences(splits, stage)

    if details:
        lines += ["## Details", "", "| key | value |", "|---|---|"]
        lines += [f"| {_cell(key)} | {_cell(value)} |" for key, value in details]
        lines.append("")

    split_name = next(iter(splits))
    if repo_id:
        load = [
            "```python",
            "from datasets import load_dataset",
            "",
            f'{stage} = load_dataset("{repo_id}", split="{split_name}")',
            "```",
        ]
    else:
        load = [
            "```python",
            "from datasets import load_from_disk",
            "",
            f'{stage} = load_from_disk("path/to/{stage}")',
            "```",
        ]
    lines += ["## How to load", "", *load, ""]
    lines += ["## Citation", "", "```bibtex", CITATION, "```", ""]

    return DatasetCard(f"---\n{card_data.to_yaml()}\n---\n\n" + "\n".join(lines))


def push_dataset_to_hub(
    dataset: Any,
    repo_id: str,
    *,
    stage: str,
    private: bool = False,
    token: str | None = None,
    commit_message: str | None = None,
    card_extra: Mapping[str, Any] | None = None,
    **push_kwargs: Any,
) -> str:
    """Push a stage's dataset with ``Dataset.push_to_hub``, then replace its README with the stage card.

    The ``dataset_info`` and ``configs`` that ``datasets`` wrote are kept in the card, so
    ``load_dataset(repo_id)`` reads the data exactly as pushed. ``card_extra`` goes to
    :func:`dataset_card` (its ``description`` key becomes the card's description). Returns the
    URL of the card commit.

    Example:
        >>> push_dataset_to_hub(candidates, "user/vital-candidates", stage="candidates")   # doctest: +SKIP
        'https://huggingface.co/datasets/user/vital-candidates/commit/...'
    """
    from huggingface_hub import DatasetCard

    _check_stage(stage)
    _splits(dataset)  # reject a wrong type before anything is uploaded
    extra = dict(card_extra or {})
    description = str(extra.pop("description", ""))
    dataset.push_to_hub(
        repo_id,
        private=private,
        token=token,
        commit_message=commit_message or f"Upload the BioMed-VITAL {stage} dataset",
        **push_kwargs,
    )
    card = dataset_card(dataset, stage=stage, repo_id=repo_id, description=description, extra=extra)
    try:
        try:
            pushed = DatasetCard.load(repo_id, repo_type="dataset", token=token).data.to_dict()
        except Exception:  # no README from datasets (older versions): keep our own configs
            pushed = {}
        for key in ("dataset_info", "configs"):
            if pushed.get(key):
                setattr(card.data, key, pushed[key])
        card = DatasetCard(f"---\n{card.data.to_yaml()}\n---\n{card.text}")
        commit = card.push_to_hub(
            repo_id,
            repo_type="dataset",
            token=token,
            commit_message=f"Add the BioMed-VITAL {stage} dataset card",
        )
    except Exception as error:
        raise RuntimeError(
            f"the {stage} data is on the Hub at {repo_id}, but uploading its card failed ({error}); the data "
            f"is safe. Retry the card alone with biomed_vital.hub.dataset_card(dataset, stage={stage!r}, "
            f"repo_id={repo_id!r}).push_to_hub({repo_id!r}, repo_type='dataset')"
        ) from error
    return str(commit)


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

    if not usage:
        if model_kind == "selector":
            usage = (
                "import biomed_vital.selection  # registers the selector with the Auto classes\n"
                "from transformers import AutoModel, AutoProcessor\n\n"
                f'model = AutoModel.from_pretrained("{target}")\n'
                f'processor = AutoProcessor.from_pretrained("{target}")'
            )
        elif model_kind == "vlm":
            usage = (
                "from transformers import AutoModelForImageTextToText, AutoProcessor\n\n"
                f'model = AutoModelForImageTextToText.from_pretrained("{target}")\n'
                f'processor = AutoProcessor.from_pretrained("{target}")'
            )
        else:
            base = base_models[0] if base_models else "path/to/base-model"
            usage = (
                "from peft import PeftModel\n"
                "from transformers import AutoModelForImageTextToText, AutoProcessor\n\n"
                f'base = AutoModelForImageTextToText.from_pretrained("{base}")\n'
                f'model = PeftModel.from_pretrained(base, "{target}")\n'
                f'processor = AutoProcessor.from_pretrained("{base}")'
            )
    lines += ["## Usage", "", "```python", redact(usage.strip()), "```", ""]

    if training:
        lines += ["## Training", "", "| setting | value |", "|---|---|"]
        lines += [f"| {_cell(key)} | {_cell(value)} |" for key, value in _safe_items(training)]
        lines.append("")
    if metrics:
        lines += ["## Evaluation", "", "| metric | value |", "|---|---:|"]
        for key, value in _safe_items(metrics):
            shown = f"{value:.4g}" if isinstance(value, float) else _cell(value)
            lines.append(f"| {_cell(key)} | {shown} |")
        lines.append("")
    lines += [
        "## Intended use",
        "",
        "For research on biomedical vision-language models. Not a medical device and not validated for "
        "clinical decisions.",
        "",
        "## Citation",
        "",
        "```bibtex",
        CITATION,
        "```",
        "",
    ]
    return ModelCard(f"---\n{card_data.to_yaml()}\n---\n\n" + "\n".join(lines))
