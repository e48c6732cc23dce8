"""``PairConfig``: the options every preference-pair builder has, and how a builder resolves its config.

:class:`~biomed_vital.preferences.ClinicianPairConfig` and
:class:`~biomed_vital.preferences.JudgePairConfig` add their own fields to these.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from biomed_vital import schema
from biomed_vital.data import DEFAULT_MAX_MENTIONS
from biomed_vital.presets.registry import FromPreset

__all__ = ["PairConfig", "positive_weight", "resolve_config"]

ConfigT = TypeVar("ConfigT", bound="PairConfig")


@dataclass
class PairConfig(FromPreset):
    """Options every pair builder has: the initial pair weight, the text layout and the image column.

    ``from_preset(name)`` builds a config as a named preset sets it (:mod:`biomed_vital.presets`).

    Example:
        >>> PairConfig(weight=2.0).max_mentions
        3
    """

    weight: float = field(
        default=1.0,
        metadata={"help": "Initial weight of every pair (mixing sets the weight of each source)."},
    )
    max_mentions: int = field(
        default=DEFAULT_MAX_MENTIONS,
        metadata={"help": "In-text mentions kept in each text (format_selector_text)."},
    )
    image_column: str = field(
        default=schema.IMAGE, metadata={"help": "Image column of the candidates / judged rows."}
    )

    def __post_init__(self) -> None:
        positive_weight(self.weight, "weight")
        if (
            isinstance(self.max_mentions, bool)
            or not isinstance(self.max_mentions, int)
            or self.max_mentions < 0
        ):
            raise ValueError(f"max_mentions must be an integer >= 0, got {self.max_mentions!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return dataclasses.asdict(self)


def positive_weight(value: Any, name: str) -> float:
    """``value`` as a float, or a ``ValueError`` when it is not a positive finite number.

    Example:
        >>> positive_weight(100, "clinician_weight")
        100.0
    """
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def resolve_config(
    config_class: type[ConfigT], config: ConfigT | None, overrides: Mapping[str, Any]
) -> ConfigT:
    """``config`` (or the defaults of ``config_class``) with the fields named in ``overrides`` replaced.

    A ``preset`` key starts from that named preset instead of the defaults (not together with ``config``).
    A key that is not a field of ``config_class`` is a ``TypeError`` that lists the fields.

    Example:
        >>> resolve_config(PairConfig, None, {"weight": 2.0}).weight
        2.0
    """
    overrides = dict(overrides)
    preset = overrides.pop("preset", None)
    names = [f.name for f in dataclasses.fields(config_class)]
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise TypeError(f"unknown option(s) {unknown}; {config_class.__name__} fields are {sorted(names)}")
    if preset is not None:
        if config is not None:
            raise ValueError("pass config= or preset=, not both")
        return config_class.from_preset(preset, **overrides)
    if config is None:
        return config_class(**overrides)
    if not isinstance(config, config_class):
        raise TypeError(f"config must be a {config_class.__name__}, got {type(config).__name__}")
    return dataclasses.replace(config, **overrides)
