"""The data contract: the columns each stage writes for the next, their ``datasets.Features``, and
one loader for any stage's saved output.

Stages talk to each other only through ``datasets.Dataset`` objects with these columns. A stage
may add columns freely; it never renames these. Code refers to a column through its constant
(``schema.MESSAGES``), never through a string literal, so that a search for the constant finds
every reader and writer of the column.

=============  ===========================================================================
stage          columns it adds (its *contract* columns are marked in :data:`STAGES`)
=============  ===========================================================================
figures        ``id`` ``image`` ``caption`` ``mentions`` ``modality`` ``domain`` ``pmid``
               ``fig_label`` ``source`` ``error`` ``extra`` (+ ``messages`` when the source
               holds conversations)
candidates     + ``candidate_id`` ``candidate_index`` ``messages`` ``generator``
               ``prompt_sha`` ``usage`` ``status`` ``error`` ``raw_response``
               (+ ``pair_id`` ``answer_variant`` in two-answer mode)
judged         + ``judge_score`` ``judge_status`` ``judge_rationale`` ``judge_error``
               ``judge_turn_scores`` ``judge_model`` ``judge_usage``
preferences    ``chosen_image`` ``rejected_image`` ``chosen_text`` ``rejected_text``
               ``weight`` ``source`` ``annotator`` ``figure_id`` and provenance columns
selected       candidates + ``selector_score``
training       ``images`` (a list of images) + ``messages`` (TRL's vision format)
=============  ===========================================================================

``docs/data-formats.md`` has a table of every stage's columns; a test checks it against this module.

Example:
    >>> from biomed_vital import schema
    >>> schema.STAGES["judged"].columns
    ('judge_score', 'judge_status', 'judge_rationale')
    >>> list(schema.judge_features())[:2]
    ['judge_score', 'judge_status']
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import datasets

__all__ = [
    "DOMAIN_KEYS",
    "MODALITIES",
    "STAGES",
    "Stage",
    "candidate_features",
    "figure_features",
    "is_saved_dataset",
    "judge_features",
    "load_stage",
    "preference_features",
    "selected_features",
    "training_features",
]

#: The modality labels used in the ``modality`` column of every stage.
MODALITIES: tuple[str, ...] = ("chest_xray", "mri", "ct_scan", "histology", "gross", "other")

#: LLaVA-Med's five domain flags (the ``domain`` struct), in the priority order its evaluation uses
#: to give a figure one domain: the first flag that is true.
DOMAIN_KEYS: tuple[str, ...] = ("chest_xray", "mri", "histology", "gross", "ct_scan")

# ----------------------------------------------------------------------------------------- figures
ID = "id"
IMAGE = "image"
CAPTION = "caption"
MENTIONS = "mentions"
MODALITY = "modality"
DOMAIN = "domain"
PMID = "pmid"
FIG_LABEL = "fig_label"
SOURCE = "source"
ERROR = "error"
EXTRA = "extra"
MESSAGES = "messages"
#: Optional figure columns, written where the source records them (the demo figures do).
LICENSE = "license"
CAPTION_SOURCE = "caption_source"

# -------------------------------------------------------------------------------------- candidates
CANDIDATE_ID = "candidate_id"
CANDIDATE_INDEX = "candidate_index"
GENERATOR = "generator"
PROMPT_SHA = "prompt_sha"
USAGE = "usage"
STATUS = "status"
RAW_RESPONSE = "raw_response"
PAIR_ID = "pair_id"
ANSWER_VARIANT = "answer_variant"

#: ``status`` values: the row holds a usable result, or it says in ``error`` why not.
STATUS_OK = "ok"
STATUS_ERROR = "error"

# ------------------------------------------------------------------------------------------ judged
JUDGE_SCORE = "judge_score"
JUDGE_STATUS = "judge_status"
JUDGE_RATIONALE = "judge_rationale"
JUDGE_ERROR = "judge_error"
JUDGE_TURN_SCORES = "judge_turn_scores"
JUDGE_MODEL = "judge_model"
JUDGE_USAGE = "judge_usage"

# ------------------------------------------------------------------------------------- preferences
CHOSEN_IMAGE = "chosen_image"
REJECTED_IMAGE = "rejected_image"
CHOSEN_TEXT = "chosen_text"
REJECTED_TEXT = "rejected_text"
WEIGHT = "weight"
ANNOTATOR = "annotator"
FIGURE_ID = "figure_id"
QUESTION = "question"
PAIR_KIND = "pair_kind"
CHOSEN_CANDIDATE_ID = "chosen_candidate_id"
REJECTED_CANDIDATE_ID = "rejected_candidate_id"
CHOSEN_SCORE = "chosen_score"
REJECTED_SCORE = "rejected_score"
CHOSEN_FIGURE_ID = "chosen_figure_id"
REJECTED_FIGURE_ID = "rejected_figure_id"
VOTES = "votes"
TIMESTAMP = "timestamp"

#: ``source`` values of a preference pair.
SOURCE_CLINICIAN = "clinician"
SOURCE_JUDGE = "judge"

# ---------------------------------------------------------------------------------------- selected
SELECTOR_SCORE = "selector_score"

# ---------------------------------------------------------------------------------------- training
IMAGES = "images"


def figure_features(with_messages: bool = False) -> datasets.Features:
    """The ``datasets.Features`` of a *figures* Dataset (column order included).

    Example:
        >>> figure_features()["domain"]["ct_scan"]
        Value('bool')
    """
    from datasets import Features, Image, List, Value

    columns: dict[str, Any] = {
        ID: Value("string"),
        IMAGE: Image(mode="RGB"),
        CAPTION: Value("string"),
        MENTIONS: List(Value("string")),
        MODALITY: Value("string"),
        DOMAIN: {key: Value("bool") for key in DOMAIN_KEYS},
        PMID: Value("string"),
        FIG_LABEL: Value("string"),
        SOURCE: Value("string"),
        ERROR: Value("string"),
        EXTRA: Value("string"),
    }
    if with_messages:
        columns[MESSAGES] = _messages_feature()
    return Features(columns)


def candidate_features(two_answers: bool = False) -> datasets.Features:
    """The ``datasets.Features`` of the columns the generator adds to the figure columns.

    Example:
        >>> "pair_id" in candidate_features(two_answers=True)
        True
    """
    from datasets import Features, Value

    features: dict[str, Any] = {
        CANDIDATE_ID: Value("string"),
        CANDIDATE_INDEX: Value("int32"),
        MESSAGES: _messages_feature(),
        GENERATOR: Value("string"),
        PROMPT_SHA: Value("string"),
        USAGE: _usage_feature(),
        STATUS: Value("string"),
        ERROR: Value("string"),
        RAW_RESPONSE: Value("string"),
    }
    if two_answers:
        features[PAIR_ID] = Value("string")
        features[ANSWER_VARIANT] = Value("string")
    return Features(features)


def judge_features() -> datasets.Features:
    """The ``datasets.Features`` of the columns the judge adds to the candidate columns.

    Example:
        >>> judge_features()["judge_score"]
        Value('float64')
    """
    from datasets import Features, List, Value

    return Features(
        {
            JUDGE_SCORE: Value("float64"),
            JUDGE_STATUS: Value("string"),
            JUDGE_RATIONALE: Value("string"),
            JUDGE_ERROR: Value("string"),
            JUDGE_TURN_SCORES: List(Value("float64")),
            JUDGE_MODEL: Value("string"),
            JUDGE_USAGE: _usage_feature(),
        }
    )


def preference_features(decode_images: bool = True) -> datasets.Features:
    """The ``datasets.Features`` of a *preferences* Dataset (column order included).

    Example:
        >>> list(preference_features())[:4]
        ['chosen_image', 'rejected_image', 'chosen_text', 'rejected_text']
    """
    from datasets import Features, Image, Value

    string = Value("string")
    return Features(
        {
            CHOSEN_IMAGE: Image(decode=decode_images),
            REJECTED_IMAGE: Image(decode=decode_images),
            CHOSEN_TEXT: string,
            REJECTED_TEXT: string,
            WEIGHT: Value("float64"),
            SOURCE: string,
            ANNOTATOR: string,
            FIGURE_ID: string,
            QUESTION: string,
            PAIR_KIND: string,
            CHOSEN_CANDIDATE_ID: string,
            REJECTED_CANDIDATE_ID: string,
            CHOSEN_SCORE: Value("float64"),
            REJECTED_SCORE: Value("float64"),
            CHOSEN_FIGURE_ID: string,
            REJECTED_FIGURE_ID: string,
            VOTES: Value("int32"),
            TIMESTAMP: string,
        }
    )


def selected_features() -> datasets.Features:
    """The ``datasets.Features`` of the column ``select()`` adds to the candidate columns.

    Example:
        >>> selected_features()["selector_score"]
        Value('float64')
    """
    from datasets import Features, Value

    return Features({SELECTOR_SCORE: Value("float64")})


def training_features() -> datasets.Features:
    """The ``datasets.Features`` of *training* rows: TRL's vision format, ``images`` + ``messages``.

    Example:
        >>> list(training_features())
        ['images', 'messages']
    """
    from datasets import Features, Image, List

    return Features({IMAGES: List(Image()), MESSAGES: _messages_feature()})


def _messages_feature() -> Any:
    from datasets import List, Value

    return List({"role": Value("string"), "content": Value("string")})


def _usage_feature() -> dict[str, Any]:
    from datasets import Value

    return {"prompt_tokens": Value("int64"), "completion_tokens": Value("int64")}


@dataclass(frozen=True)
class Stage:
    """One stage's part of the contract: what its Dataset is, and the columns it promises the next stage."""

    name: str
    description: str
    columns: tuple[str, ...]


STAGES: dict[str, Stage] = {
    stage.name: stage
    for stage in (
        Stage(
            "figures",
            "Biomedical figures: one row per image with its caption and the sentences of the article that "
            "mention it (`mentions`), its modality and, where known, the five LLaVA-Med domain flags. This "
            "is the input of candidate generation and of diverse demonstration sampling.",
            (ID, IMAGE, CAPTION, MENTIONS, MODALITY, DOMAIN),
        ),
        Stage(
            "candidates",
            "Candidate instruction-following conversations generated for each figure by a GPT-4V-class "
            "model prompted with clinician-selected demonstrations. `messages` holds the conversation in "
            "TRL's conversational format; `status` / `error` record failed requests instead of dropping them.",
            (CANDIDATE_ID, MESSAGES, GENERATOR, PROMPT_SHA, USAGE, STATUS, ERROR),
        ),
        Stage(
            "judged",
            "Candidate conversations scored 0-10 by a model judge on fixed criteria. `judge_score` is null "
            "where the judge failed or its reply could not be read (see `judge_status`); such rows are kept, "
            "never scored as 0 or 5.",
            (JUDGE_SCORE, JUDGE_STATUS, JUDGE_RATIONALE),
        ),
        Stage(
            "preferences",
            "Pairwise preferences for training the selection model: a chosen and a rejected text (caption, "
            "mentions, question and answer, laid out the same way for both sources) with their images, a "
            "`weight`, and whether the pair comes from a clinician or from judge scores (`source`).",
            (
                CHOSEN_IMAGE,
                REJECTED_IMAGE,
                CHOSEN_TEXT,
                REJECTED_TEXT,
                WEIGHT,
                SOURCE,
                ANNOTATOR,
                FIGURE_ID,
            ),
        ),
        Stage(
            "selected",
            "The candidates kept by the trained selection model: the top-scoring fraction of the generated "
            "pool, with the selector's score in `selector_score`.",
            (SELECTOR_SCORE,),
        ),
        Stage(
            "training",
            "Visual instruction-tuning data in TRL's vision format: `images` (a list of images) and "
            "`messages` (user and assistant turns), read by `VisualInstructionTrainer`.",
            (IMAGES, MESSAGES),
        ),
    )
}

#: The order in which the generation stages build on each other (each adds to the previous one's columns).
STAGE_CHAIN: tuple[str, ...] = ("figures", "candidates", "judged", "selected")


def is_saved_dataset(source: str | os.PathLike[str]) -> bool:
    """Whether ``source`` is a folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``.

    Example:
        >>> is_saved_dataset("no/such/folder")
        False
    """
    folder = os.fspath(source)
    return os.path.isdir(folder) and any(
        os.path.isfile(os.path.join(folder, name)) for name in ("dataset_info.json", "dataset_dict.json")
    )


def load_stage(source: str | os.PathLike[str], *, split: str = "train") -> datasets.Dataset:
    """Load a stage's Dataset (figures, candidates, judged, preferences, selected) as it was saved.

    ``source`` is a ``save_to_disk`` folder, a JSON / JSONL / Parquet file, or a Hub dataset id. A
    name that looks like a local path and is not there raises ``FileNotFoundError`` (never a Hub
    lookup; see :mod:`biomed_vital.paths`). Unlike :func:`~biomed_vital.data.load_figures` nothing is re-parsed or validated, so large
    pools load memory-mapped. A ``DatasetDict`` gives its ``split``.

    Example:
        >>> candidates = load_stage("outputs/demo/candidates")      # doctest: +SKIP
    """
    import datasets

    from biomed_vital.paths import check_local_path

    path = os.path.expanduser(os.fspath(source))
    check_local_path(source, expected="a stage's save_to_disk folder or a .json/.jsonl/.parquet file")
    if is_saved_dataset(path):
        loaded = datasets.load_from_disk(path)
    elif os.path.isfile(path) and path.endswith((".json", ".jsonl")):
        loaded = datasets.load_dataset("json", data_files=path, split=split)
    elif os.path.isfile(path) and path.endswith(".parquet"):
        loaded = datasets.load_dataset("parquet", data_files=path, split=split)
    elif os.path.exists(path):
        raise ValueError(
            f"{path} is neither a save_to_disk folder nor a .json/.jsonl/.parquet file; "
            "load figures from other formats with biomed_vital.data.load_figures"
        )
    else:
        loaded = datasets.load_dataset(path, split=split)
    if isinstance(loaded, datasets.DatasetDict):
        if split not in loaded:
            raise ValueError(f"{path} holds the splits {list(loaded)}, not {split!r}; pass split=...")
        loaded = loaded[split]
    return loaded
