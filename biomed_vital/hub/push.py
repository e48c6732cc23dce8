"""Pushes to the Hugging Face Hub: a stage's dataset with its card, a model with its card.

Example:
    >>> from biomed_vital.hub import push_dataset_to_hub
    >>> push_dataset_to_hub(candidates, "user/vital-candidates", stage="candidates")   # doctest: +SKIP
    'https://huggingface.co/datasets/user/vital-candidates/commit/...'
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from biomed_vital.hub.dataset_cards import check_stage, dataset_card, dataset_splits

if TYPE_CHECKING:  # pragma: no cover
    from huggingface_hub import CommitInfo, ModelCard

__all__ = ["push_dataset_to_hub", "push_model_to_hub"]


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
    :func:`~biomed_vital.hub.dataset_card` (its ``description`` key becomes the card's description).
    Returns the URL of the card commit.

    Example:
        >>> push_dataset_to_hub(candidates, "user/vital-candidates", stage="candidates")   # doctest: +SKIP
        'https://huggingface.co/datasets/user/vital-candidates/commit/...'
    """
    from huggingface_hub import DatasetCard

    check_stage(stage)
    dataset_splits(dataset)  # reject a wrong type before anything is uploaded
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


def push_model_to_hub(
    model: Any,
    repo_id: str,
    *,
    card: ModelCard | Callable[[str], ModelCard],
    processor: Any = None,
    commit_message: str = "Upload BioMed-VITAL model",
    private: bool | None = None,
    token: str | None = None,
    revision: str | None = None,
    create_pr: bool = False,
    **save_kwargs: Any,
) -> CommitInfo:
    """Upload a model's weights and config, its processor (if given) and its card in one commit.

    ``model`` and ``processor`` are anything with ``save_pretrained`` (transformers models and
    processors, peft adapters); ``save_kwargs`` go to the model's ``save_pretrained``. The repository
    is created if needed. ``card`` is the model card, or a function that builds it from the full
    repository id (``namespace/name``, also when ``repo_id`` gave only the name), so the card's
    usage snippet names the repository the model is in. Returns the commit info.

    Example:
        >>> from biomed_vital.hub import model_card, push_model_to_hub
        >>> card = model_card(repo_id="user/vital-vlm", model_kind="vlm", description="...")  # doctest: +SKIP
        >>> push_model_to_hub(model, "user/vital-vlm", card=card, processor=processor)       # doctest: +SKIP
    """
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder, **save_kwargs)
        if processor is not None:
            processor.save_pretrained(folder)
        (card(repo_id) if callable(card) else card).save(os.path.join(folder, "README.md"))
        return api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            commit_message=commit_message,
            revision=revision,
            create_pr=create_pr,
        )
