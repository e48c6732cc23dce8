"""The dataset card of every pipeline stage.

Each stage's ``datasets.Dataset`` goes to the Hub with a card that says what the stage is and what
is in it: rows, columns and types (the stage's contract columns from :data:`biomed_vital.schema.STAGES`
marked), counts by modality / status / source, the generator and prompt hashes, score summaries,
image sources and licences, how to load it back, and how to cite BioMed-VITAL. Anything that looks
like a key or a token is redacted.

Example:
    >>> from datasets import Dataset
    >>> from biomed_vital.hub import dataset_card
    >>> figures = Dataset.from_dict({"id": ["f1"], "caption": ["(caption text)"], "modality": ["ct_scan"]})
    >>> card = dataset_card(figures, stage="figures", repo_id="user/figures")
    >>> card.data.tags
    ['biomed_vital', 'figures', 'biomedical']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from biomed_vital import schema
from biomed_vital.hub.citation import citation_section
from biomed_vital.hub.markdown import card_file_text, cell, key_value_table
from biomed_vital.hub.redaction import redact, redact_items

if TYPE_CHECKING:  # pragma: no cover
    from huggingface_hub import DatasetCard

__all__ = ["check_stage", "dataset_card", "dataset_splits"]

_TASK_CATEGORIES: dict[str, list[str]] = {
    "figures": ["image-to-text"],
    "candidates": ["visual-question-answering", "image-text-to-text"],
    "judged": ["visual-question-answering", "image-text-to-text"],
    "preferences": ["image-text-to-text"],
    "selected": ["visual-question-answering", "image-text-to-text"],
    "training": ["visual-question-answering", "image-text-to-text"],
}

# Columns whose value counts are worth a table in the card, in display order.
_COUNTED_COLUMNS = (
    schema.MODALITY,
    schema.STATUS,
    schema.JUDGE_STATUS,
    schema.SOURCE,
    schema.GENERATOR,
    schema.PROMPT_SHA,
    schema.ANNOTATOR,
)
# Numeric columns summarised (count, missing, min, mean, max) in the card.
_SCORE_COLUMNS = (schema.JUDGE_SCORE, schema.SELECTOR_SCORE, schema.WEIGHT)
# Keys of ``extra`` that are dataset card fields and go to the YAML header.
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
_NOT_RECORDED = "(not recorded)"
_TOP_VALUES = 20


def check_stage(stage: str) -> None:
    """Raise a ``ValueError`` naming the stages when ``stage`` is not one of :data:`biomed_vital.schema.STAGES`.

    Example:
        >>> check_stage("candidate")
        Traceback (most recent call last):
        ...
        ValueError: unknown stage 'candidate'; use one of figures, candidates, judged, preferences, selected, training
    """
    if stage not in schema.STAGES:
        raise ValueError(f"unknown stage {stage!r}; use one of {', '.join(schema.STAGES)}")


def dataset_splits(dataset: Any) -> dict[str, Any]:
    """``{split: Dataset}`` for a ``Dataset`` (its split, else ``train``) or a ``DatasetDict``.

    Anything else raises a ``TypeError`` that says what to pass.

    Example:
        >>> from datasets import Dataset
        >>> list(dataset_splits(Dataset.from_dict({"id": ["a"]})))
        ['train']
    """
    if hasattr(dataset, "features") and hasattr(dataset, "num_rows") and not isinstance(dataset, Mapping):
        return {str(getattr(dataset, "split", None) or "train"): dataset}
    if isinstance(dataset, Mapping) and dataset:
        return {str(name): split for name, split in dataset.items()}
    raise TypeError(
        f"expected a datasets.Dataset or DatasetDict with rows, got {type(dataset).__name__}; "
        "build one with datasets.Dataset.from_dict / from_list"
    )


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


def _contract_columns(stage: str) -> set[str]:
    """The stage's contract columns, with those of the stages it builds on (figures -> ... -> selected)."""
    chain = schema.STAGE_CHAIN
    names = chain[: chain.index(stage) + 1] if stage in chain else (stage,)
    return {column for name in names for column in schema.STAGES[name].columns}


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
        lines.append(f"| {cell(value)} | {count:,} | {count / max(total, 1):.1%} |")
    if len(counts) > _TOP_VALUES:
        rest = sum(count for _, count in counts.most_common()[_TOP_VALUES:])
        lines.append(f"| ({len(counts) - _TOP_VALUES} more values) | {rest:,} | {rest / max(total, 1):.1%} |")
    return [*lines, ""]


def _domain_counts(splits: Mapping[str, Any]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for split in splits.values():
        if schema.DOMAIN not in split.column_names or not isinstance(split.features[schema.DOMAIN], Mapping):
            continue
        for row in split[schema.DOMAIN]:
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


def _column_or_not_recorded(split: Any, column: str) -> list[Any]:
    return split[column] if column in split.column_names else [_NOT_RECORDED] * split.num_rows


def _sources_and_licences(splits: Mapping[str, Any], stage: str) -> list[str]:
    # In preferences, `source` says clinician or judge, not where the image came from.
    image_sources = stage != "preferences"
    columns = set().union(*(split.column_names for split in splits.values()))
    if schema.LICENSE not in columns and (not image_sources or schema.SOURCE not in columns):
        return []
    pairs: Counter[tuple[str, str]] = Counter()
    for split in splits.values():
        sources = (
            _column_or_not_recorded(split, schema.SOURCE)
            if image_sources
            else [_NOT_RECORDED] * split.num_rows
        )
        licences = _column_or_not_recorded(split, schema.LICENSE)
        pairs.update(
            (str(source or _NOT_RECORDED), str(licence or _NOT_RECORDED))
            for source, licence in zip(sources, licences, strict=True)
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
        lines.append(f"| {cell(source)} | {cell(licence)} | {count:,} |")
    if len(pairs) > _TOP_VALUES:
        lines.append(f"| ({len(pairs) - _TOP_VALUES} more pairs) | | |")
    return [*lines, ""]


def _how_to_load(stage: str, repo_id: str | None, split_name: str) -> list[str]:
    if repo_id:
        code = [
            "from datasets import load_dataset",
            "",
            f'{stage} = load_dataset("{repo_id}", split="{split_name}")',
        ]
    else:
        code = ["from datasets import load_from_disk", "", f'{stage} = load_from_disk("path/to/{stage}")']
    return ["## How to load", "", "```python", *code, "```", ""]


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

    check_stage(stage)
    splits = dataset_splits(dataset)
    total = sum(split.num_rows for split in splits.values())
    extra_items = redact_items(extra)
    yaml_extra = {key: value for key, value in extra_items if key in _YAML_KEYS}
    details = {key: value for key, value in extra_items if key not in _YAML_KEYS}
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
        schema.STAGES[stage].description,
        "",
        "## Size",
        "",
        "| split | rows |",
        "|---|---:|",
        *[f"| {name} | {split.num_rows:,} |" for name, split in splits.items()],
        "",
    ]

    contract = _contract_columns(stage)
    lines += ["## Columns", "", "| column | type | part of the stage contract |", "|---|---|:---:|"]
    for column, feature in next(iter(splits.values())).features.items():
        lines.append(
            f"| `{column}` | {cell(_feature_type(feature))} | {'yes' if column in contract else ''} |"
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
            lines += _count_table(f"by `{schema.DOMAIN}` flag (a figure can have several)", domains, total)

    summaries = [summary for summary in (_numeric_summary(splits, c) for c in _SCORE_COLUMNS) if summary]
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
        lines += key_value_table("Details", ("key", "value"), details)
    lines += _how_to_load(stage, repo_id, next(iter(splits)))
    lines += citation_section()
    return DatasetCard(card_file_text(card_data.to_yaml(), lines))
