"""The modality rule: LLaVA-Med's domain priority order, explicit labels, bad flags."""

from __future__ import annotations

import pytest

from biomed_vital.data import DOMAIN_KEYS, MODALITIES, modality_from_domain
from biomed_vital.data.modality import domain_for_modality, normalize_domain, resolve_modality


def test_constants_match_the_data_contract():
    assert MODALITIES == ("chest_xray", "mri", "ct_scan", "histology", "gross", "other")
    assert DOMAIN_KEYS == ("chest_xray", "mri", "histology", "gross", "ct_scan")


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"chest_xray": True, "ct_scan": True}, "chest_xray"),
        ({"ct_scan": True, "histology": True}, "histology"),
        ({"gross": True, "ct_scan": True}, "gross"),
        ({"mri": True, "gross": True}, "mri"),
        ({"ct_scan": True}, "ct_scan"),
        ({key: False for key in DOMAIN_KEYS}, "other"),
        ({}, "other"),
        (None, "other"),
    ],
)
def test_first_true_flag_in_llava_med_order_wins(flags, expected):
    assert modality_from_domain(flags) == expected


def test_demonstration_with_two_flags_follows_the_order(clinician_demonstrations_path):
    from tests.data.conftest import demonstrations

    both = [
        r
        for r in demonstrations(clinician_demonstrations_path)
        if r["domain"]["chest_xray"] and r["domain"]["ct_scan"]
    ]
    assert both, "the released demonstrations contain one chest_xray + ct_scan record"
    assert all(modality_from_domain(record["domain"]) == "chest_xray" for record in both)


def test_flags_written_as_strings_or_numbers_are_understood():
    assert normalize_domain({"mri": "true", "ct_scan": 0}) == {
        "chest_xray": False,
        "mri": True,
        "histology": False,
        "gross": False,
        "ct_scan": False,
    }
    with pytest.raises(ValueError, match="'mri' must be a boolean"):
        normalize_domain({"mri": "maybe"})


def test_explicit_valid_modality_wins_and_free_text_falls_back_to_flags():
    assert resolve_modality("gross", {"mri": True}) == "gross"
    assert resolve_modality("CT", {"ct_scan": True}) == "ct_scan"
    assert resolve_modality(None, None) == "other"
    assert domain_for_modality("other") == dict.fromkeys(DOMAIN_KEYS, False)
    with pytest.raises(ValueError, match="unknown modality"):
        domain_for_modality("xray")
