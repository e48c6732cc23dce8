"""Both kinds of card end with the BioMed-VITAL citation."""

from __future__ import annotations

from biomed_vital.hub import CITATION, dataset_card, model_card
from tests.hub.helpers import stand_in_candidates


def test_the_citation_names_the_paper_and_its_arxiv_id():
    assert "Biomedical Visual Instruction Tuning with Clinician Preference Alignment" in CITATION
    assert "eprint    = {2406.13173}" in CITATION
    assert CITATION.count("{") == CITATION.count("}")


def test_dataset_and_model_cards_end_with_the_citation():
    ending = f"## Citation\n\n```bibtex\n{CITATION}\n```\n"
    assert dataset_card(stand_in_candidates(), stage="candidates").text.endswith(ending)
    assert model_card(repo_id=None, model_kind="vlm", description="Tuned.").text.endswith(ending)
