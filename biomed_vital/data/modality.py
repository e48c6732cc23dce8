"""Imaging modality of a figure, derived from LLaVA-Med's five ``domain`` flags.

LLaVA-Med tags every PMC figure with five booleans (``chest_xray``, ``mri``, ``histology``,
``gross``, ``ct_scan``). Its evaluation scripts pick the first flag that is true in that order;
this module applies the same rule so that modality counts agree with the published numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from biomed_vital.schema import DOMAIN_KEYS, MODALITIES

__all__ = [
    "DOMAIN_KEYS",
    "MODALITIES",
    "domain_for_modality",
    "modality_from_domain",
    "normalize_domain",
    "resolve_modality",
]

_TRUE_STRINGS = {"true", "1", "yes", "y", "t"}
_FALSE_STRINGS = {"false", "0", "no", "n", "f", ""}


def _as_flag(value: Any, key: str) -> bool:
    # JSON written by hand or by pandas may carry the flags as strings or 0/1.
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE_STRINGS | _FALSE_STRINGS:
        return value.strip().lower() in _TRUE_STRINGS
    raise ValueError(f"domain flag {key!r} must be a boolean, got {value!r}; use true/false")


def normalize_domain(domain: Mapping[str, Any] | None) -> dict[str, bool]:
    """Return the five domain flags as plain booleans (all False when ``domain`` is None).

    Keys other than :data:`DOMAIN_KEYS` are ignored; missing keys are False.

    Example:
        >>> normalize_domain({"mri": True})
        {'chest_xray': False, 'mri': True, 'histology': False, 'gross': False, 'ct_scan': False}
    """
    if domain is None:
        return dict.fromkeys(DOMAIN_KEYS, False)
    if not isinstance(domain, Mapping):
        raise ValueError(
            f"domain must be a mapping of {list(DOMAIN_KEYS)} to booleans, got {type(domain).__name__}"
        )
    return {key: _as_flag(domain.get(key), key) for key in DOMAIN_KEYS}


def modality_from_domain(domain: Mapping[str, bool] | None) -> str:
    """The modality of a figure: its first true domain flag in LLaVA-Med's order, else ``"other"``.

    The order is ``chest_xray``, ``mri``, ``histology``, ``gross``, ``ct_scan`` (see
    :data:`DOMAIN_KEYS`), so a figure flagged both ``chest_xray`` and ``ct_scan`` is ``chest_xray``.

    Example:
        >>> modality_from_domain({"chest_xray": True, "ct_scan": True})
        'chest_xray'
        >>> modality_from_domain(None)
        'other'
    """
    flags = normalize_domain(domain)
    for key in DOMAIN_KEYS:
        if flags[key]:
            return key
    return "other"


def domain_for_modality(modality: str) -> dict[str, bool]:
    """The domain flags that describe a single modality (all False for ``"other"``).

    Example:
        >>> domain_for_modality("ct_scan")["ct_scan"]
        True
    """
    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; expected one of {', '.join(MODALITIES)}")
    return {key: key == modality for key in DOMAIN_KEYS}


def resolve_modality(explicit: Any, domain: Mapping[str, bool] | None) -> str:
    """The modality of a row: an explicit valid label wins, otherwise the domain rule applies.

    An explicit value that is not one of :data:`MODALITIES` (for example a free-text ``"CT"``
    from another tool) is ignored in favour of the domain flags, so the column always holds a
    known label.

    Example:
        >>> resolve_modality("histology", {"mri": True})
        'histology'
        >>> resolve_modality("MR (T1)", {"mri": True})
        'mri'
    """
    if isinstance(explicit, str) and explicit.strip().lower() in MODALITIES:
        return explicit.strip().lower()
    return modality_from_domain(domain)
