"""Dataset cards of every stage: header, columns with the stage contract, counts, scores, sources."""

from __future__ import annotations

import json

import pytest
from datasets import Dataset, DatasetDict, Image, List, Value

from biomed_vital.hub import CITATION, dataset_card
from biomed_vital.schema import STAGES
from tests.hub.helpers import front_matter, stand_in_candidates


@pytest.fixture(scope="module")
def real_figures(fixtures_dir):
    """Figures built from the real fixture records (captions, sources and licences as shipped)."""
    records = [json.loads(line) for line in (fixtures_dir / "images.jsonl").read_text().splitlines() if line]
    return (
        Dataset.from_dict(
            {
                "id": [r["id"] for r in records],
                "image": [str(fixtures_dir / r["image"]) for r in records],
                "caption": [r["caption"] for r in records],
                "mentions": [[] for _ in records],
                "modality": [r["modality"] for r in records],
                "domain": [r["domain"] for r in records],
                "source": [r["source"] for r in records],
                "license": [r["license"] for r in records],
            }
        )
        .cast_column("image", Image())
        .cast_column("mentions", List(Value("string")))
    )


def test_figures_card_from_real_fixtures_lists_sources_licences_and_modalities(real_figures):
    card = dataset_card(real_figures, stage="figures", repo_id="user/vital-figures")
    metadata = front_matter(str(card))
    assert metadata["tags"] == ["biomed_vital", "figures", "biomedical"]
    assert metadata["size_categories"] == ["n<1K"]
    assert metadata["configs"][0]["data_files"] == [{"split": "train", "path": "data/train-*"}]
    text = card.text
    assert f"| train | {real_figures.num_rows} |" in text
    assert "| `image` | image | yes |" in text
    assert "| `mentions` | list<string> | yes |" in text
    assert "## Image sources and licences" in text
    assert "PyPI wheel pydicom==3.0.2" in text
    assert "**by `modality`**" in text and "| CT | 2 |" in text
    assert "**by `domain` flag" in text
    assert 'load_dataset("user/vital-figures", split="train")' in text
    assert CITATION in text


def test_candidates_card_counts_status_generator_and_prompt_sha():
    card = dataset_card(stand_in_candidates(), stage="judged", repo_id="user/judged")
    text = card.text
    assert "**by `status`**" in text and "| ok | 3 | 75.0% |" in text and "| error | 1 | 25.0% |" in text
    assert "**by `generator`**" in text and "| gpt-4o-mini | 1 | 25.0% |" in text
    assert "**by `prompt_sha`**" in text and "| a1b2c3 | 3 | 75.0% |" in text
    # the judge score summary counts failed judgements as missing, never as a score
    assert "| `judge_score` | 2 | 2 | 3 | 5.75 | 8.5 |" in text
    assert "| `candidate_id` | string | yes |" in text and "| `judge_score` | float64 | yes |" in text
    assert front_matter(str(card))["task_categories"] == ["visual-question-answering", "image-text-to-text"]


def _marked_columns(text: str) -> set[str]:
    """The columns the card's column table marks as part of the stage contract."""
    return {
        line.split("`")[1]
        for line in text.splitlines()
        if line.startswith("| `") and line.endswith("| yes |")
    }


def test_the_contract_marks_come_from_the_schema_stages():
    candidates = stand_in_candidates()
    judged = dataset_card(candidates, stage="judged").text
    # judged builds on figures and candidates: their contract columns are marked too
    chain = {column for stage in ("figures", "candidates", "judged") for column in STAGES[stage].columns}
    assert _marked_columns(judged) == chain & set(candidates.column_names)
    assert STAGES["judged"].description in judged
    # preferences is not in that chain: only its own contract columns are marked
    pairs = Dataset.from_dict({"weight": [1.0], "id": ["a"], "chosen_text": ["(stand-in)"]})
    assert _marked_columns(dataset_card(pairs, stage="preferences").text) == {"weight", "chosen_text"}


def test_preferences_card_counts_source_but_does_not_call_it_an_image_source():
    pairs = Dataset.from_dict(
        {
            "chosen_text": ["(stand-in A)", "(stand-in B)", "(stand-in C)"],
            "rejected_text": ["(stand-in D)", "(stand-in E)", "(stand-in F)"],
            "weight": [5.0, 1.0, 1.0],
            "source": ["clinician", "judge", "judge"],
            "annotator": ["clinician-1", "gpt-4o", "gpt-4o"],
            "figure_id": ["f1", "f2", "f3"],
        }
    )
    text = dataset_card(pairs, stage="preferences").text
    assert "| clinician | 1 | 33.3% |" in text and "| judge | 2 | 66.7% |" in text
    assert "Image sources" not in text
    assert "| `weight` | 3 | 0 | 1 | 2.33 | 5 |" in text
    assert 'load_from_disk("path/to/preferences")' in text


def test_dataset_dict_card_has_one_config_entry_per_split():
    splits = DatasetDict({"train": stand_in_candidates(), "test": stand_in_candidates().select([0])})
    card = dataset_card(splits, stage="candidates", repo_id="user/candidates")
    files = front_matter(str(card))["configs"][0]["data_files"]
    assert files == [{"split": "train", "path": "data/train-*"}, {"split": "test", "path": "data/test-*"}]
    assert "| test | 1 |" in card.text


def test_bad_stage_and_bad_input_are_reported_clearly():
    with pytest.raises(ValueError, match="unknown stage 'candidate'.*figures, candidates"):
        dataset_card(stand_in_candidates(), stage="candidate")
    with pytest.raises(TypeError, match="expected a datasets.Dataset"):
        dataset_card([{"id": "x"}], stage="figures")
    assert set(STAGES) == {"figures", "candidates", "judged", "preferences", "selected", "training"}
