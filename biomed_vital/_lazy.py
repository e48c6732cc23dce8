"""Lazy public namespaces: a package lists its names and the modules defining them, nothing is imported
until a name is used. This keeps ``import biomed_vital`` (and each subpackage) free of torch,
transformers and datasets.

Example:
    >>> # in a package's __init__.py
    >>> __getattr__, __dir__, __all__ = attach(__name__, {"load_figures": "biomed_vital.data.figures"})
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def attach(
    package: str,
    attributes: Mapping[str, str],
    submodules: Iterable[str] = (),
    deprecated: Mapping[str, str] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """Module ``__getattr__`` / ``__dir__`` / ``__all__`` for a package whose names load on first use.

    ``attributes`` maps a public name to the module that defines it; ``submodules`` are child
    modules reachable as attributes. ``deprecated`` maps an old name to ``"module:new_name"``:
    it still resolves, with a ``DeprecationWarning`` that names the new place, and is left out
    of ``dir()`` and ``__all__``. A resolved public name is stored in the package, so later
    lookups cost nothing.
    """
    attributes = dict(attributes)
    submodules = set(submodules)
    deprecated = dict(deprecated or {})

    def __getattr__(name: str) -> Any:
        namespace = vars(sys.modules[package])
        if name in attributes:
            value = getattr(importlib.import_module(attributes[name]), name)
            namespace[name] = value
            return value
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        if name in deprecated:
            module_name, _, new_name = deprecated[name].partition(":")
            new_name = new_name or name
            warnings.warn(
                f"{package}.{name} is deprecated and will be removed in the next release; "
                f"use {module_name}.{new_name}",
                DeprecationWarning,
                stacklevel=2,
            )
            return getattr(importlib.import_module(module_name), new_name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *attributes, *submodules})

    return __getattr__, __dir__, sorted(attributes)
