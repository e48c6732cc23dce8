"""The preset registry: named settings for every stage's config, looked up by name.

A :class:`Preset` maps config class names (``"GeneratorConfig"``, ``"SelectorTrainingConfig"``, ...) to the
field values it sets; everything it does not name keeps the library's default. Every config class that
inherits :class:`FromPreset` gains ``from_preset(name, **overrides)``; tasks, builders, ``select()`` and the
commands (``--preset NAME``) take the same name.

Example:
    >>> from biomed_vital.presets import preset_values
    >>> preset_values("biomed-vital", "JudgeConfig")["granularity"]
    'first_pair'
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["FromPreset", "Preset", "config_from_preset", "get_preset", "preset_names", "preset_values"]

ConfigT = TypeVar("ConfigT")


@dataclass(frozen=True)
class Preset:
    """Named settings: for each config class (by name) the field values that differ from the defaults.

    ``sweeps`` lists options the source ran at several values instead of one (e.g. the clinician weight);
    a preset leaves those to the user and documents the values.

    Example:
        >>> preset = Preset("example", "an example", {"SelectionConfig": {"per_modality": True}})
        >>> preset.values_for("SelectionConfig")
        {'per_modality': True}
    """

    name: str
    description: str
    settings: Mapping[str, Mapping[str, Any]]
    sweeps: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def values_for(self, config_class: type | str) -> dict[str, Any]:
        """The values this preset sets on ``config_class`` (a class or a class name), merged along its bases.

        A class inherits the values of its base classes (``PreferenceBuildConfig`` gets those of
        ``JudgePairConfig``); its own values win. Raises ``ValueError`` when the preset sets nothing on it.
        """
        names = (
            [config_class]
            if isinstance(config_class, str)
            else [klass.__name__ for klass in reversed(config_class.__mro__)]
        )
        values: dict[str, Any] = {}
        for name in names:
            values.update(copy.deepcopy(dict(self.settings.get(name, {}))))
        if not values:
            target = config_class if isinstance(config_class, str) else config_class.__name__
            known = ", ".join(sorted(self.settings))
            raise ValueError(f"the preset {self.name!r} sets nothing on {target}; it covers {known}")
        return values


_PRESETS: dict[str, Preset] = {}


def _registered() -> dict[str, Preset]:
    if not _PRESETS:
        # each stage's values live in a module of their own; they are collected on first use
        from biomed_vital.presets import generation, judging, preferences, sampling, selection

        stages = (sampling, generation, judging, preferences, selection)
        _PRESETS["biomed-vital"] = Preset(
            "biomed-vital",
            "BioMed-VITAL as its authors ran it (Cui, Mao et al., NeurIPS 2024; scripts in mao1207/BioMed-VITAL)",
            {name: values for stage in stages for name, values in stage.BIOMED_VITAL.items()},
            {name: values for stage in stages for name, values in stage.BIOMED_VITAL_SWEEPS.items()},
        )
    return _PRESETS


def preset_names() -> list[str]:
    """The names of the registered presets.

    Example:
        >>> preset_names()
        ['biomed-vital']
    """
    return sorted(_registered())


def get_preset(name: str) -> Preset:
    """The registered preset called ``name``; a ``ValueError`` naming the choices when there is none.

    Example:
        >>> get_preset("biomed-vital").sweeps["clinician_weight"]
        (1.0, 10.0, 100.0, 200.0, 300.0, 400.0)
    """
    presets = _registered()
    if name not in presets:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(sorted(presets))}")
    return presets[name]


def preset_values(name: str, config_class: type | str) -> dict[str, Any]:
    """The field values preset ``name`` sets on ``config_class`` (a class or its name).

    Example:
        >>> preset_values("biomed-vital", "SelectionConfig")["score_by"]
        'first_pair'
    """
    return get_preset(name).values_for(config_class)


def config_from_preset(config_class: type[ConfigT], name: str, overrides: Mapping[str, Any]) -> ConfigT:
    """``config_class`` built from preset ``name`` with ``overrides`` on top.

    For a dataclass, an override that is not one of its fields is a ``TypeError`` that lists the fields.

    Example:
        >>> from biomed_vital.selection.scoring_config import SelectionConfig
        >>> config_from_preset(SelectionConfig, "biomed-vital", {"top_fraction": 0.4}).top_fraction
        0.4
    """
    values = preset_values(name, config_class)
    if dataclasses.is_dataclass(config_class):
        known = {f.name for f in dataclasses.fields(config_class) if f.init}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(
                f"unknown option(s) {unknown}; {config_class.__name__} fields are {sorted(known)}"
            )
    values.update(overrides)
    return config_class(**values)


class FromPreset:
    """Gives a config class ``from_preset(name, **overrides)``.

    Example:
        >>> from biomed_vital.generation import GeneratorConfig
        >>> GeneratorConfig.from_preset("biomed-vital").max_tokens
        4096
    """

    @classmethod
    def from_preset(cls: type[ConfigT], name: str, **overrides: Any) -> ConfigT:  # type: ignore[misc]
        """This config as preset ``name`` sets it, with ``overrides`` on top (see :mod:`biomed_vital.presets`)."""
        return config_from_preset(cls, name, overrides)
