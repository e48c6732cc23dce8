"""Old module paths that still import, for one release, with a ``DeprecationWarning`` naming the new one.

Every module that moved is listed in :data:`MOVED_MODULES` (and in ``CHANGELOG.md``). Importing an old
path gives the new module object itself, so ``isinstance`` checks and monkeypatching keep working.
Renamed *names* inside packages are listed next to each package's lazy names (``deprecated=`` of
:func:`biomed_vital._lazy.attach`).

Example:
    >>> import warnings
    >>> with warnings.catch_warnings(record=True):
    ...     warnings.simplefilter("always")
    ...     from biomed_vital.generation.cache import ResponseCache   # the old path
    >>> ResponseCache.__module__
    'biomed_vital.engine.cache'
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import warnings
from types import CodeType, ModuleType
from typing import Any

# old module path -> new module path
MOVED_MODULES: dict[str, str] = {
    "biomed_vital.generation.engine": "biomed_vital.engine.engine",
    "biomed_vital.generation.limits": "biomed_vital.engine.limits",
    "biomed_vital.generation.cache": "biomed_vital.engine.cache",
    "biomed_vital.generation.pricing": "biomed_vital.engine.pricing",
    "biomed_vital.generation.tokens": "biomed_vital.engine.tokens",
    "biomed_vital.generation.backends": "biomed_vital.engine.backends",
    "biomed_vital.generation.sharding": "biomed_vital.engine.sharding",
    "biomed_vital.data.stages": "biomed_vital.schema",
    "biomed_vital.preferences.text": "biomed_vital.data.text",
    "biomed_vital.selection.select": "biomed_vital.selection.scoring",
    "biomed_vital.selection.sanity": "biomed_vital.preferences.degraded",
    "biomed_vital.selection.features": "biomed_vital.selection.embeddings",
    "biomed_vital.selection._auto_registration": "biomed_vital.selection.auto",
    "biomed_vital.generation.cli": "biomed_vital.cli.commands.generate",
    "biomed_vital.preferences.cli": "biomed_vital.cli.commands.preferences",
    "biomed_vital.selection.cli": "biomed_vital.cli.commands.select",
    "biomed_vital.testing.server": "biomed_vital.testing.standin",
    "biomed_vital.testing.replies": "biomed_vital.testing.standin.replies",
}


# Plain classes: the import system needs only their methods, and importlib.abc would be most of what
# `import biomed_vital` costs.
class _AliasLoader:
    """An importlib Loader that binds the new module under the old name, with a warning."""

    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(
            f"the module {self.old} is deprecated and will be removed in the next release; import {self.new}",
            DeprecationWarning,
            stacklevel=3,
        )
        module = importlib.import_module(self.new)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # the new module is already executed; the import system only binds it under the old name,
        # after overwriting its __spec__ with the alias's: put the real one back
        module.__spec__ = self._spec

    def get_code(self, fullname: str) -> CodeType | None:
        """The code ``python -m OLD`` runs: the new module's, or its ``__main__``'s for a package."""
        print(
            f"{self.old} is deprecated and will be removed in the next release; use {self.new}",
            file=sys.stderr,
        )
        spec = importlib.util.find_spec(self.new)
        if spec is not None and spec.submodule_search_locations is not None:
            spec = importlib.util.find_spec(f"{self.new}.__main__")
        loader: Any = spec.loader if spec is not None else None
        return loader.get_code(spec.name) if spec and callable(getattr(loader, "get_code", None)) else None


class _MovedModuleFinder:
    """A `sys.meta_path` finder for the old module paths."""

    def find_spec(self, fullname: str, path: object = None, target: object = None):  # type: ignore[no-untyped-def]
        new = MOVED_MODULES.get(fullname)
        if new is None:
            return None
        loader: Any = _AliasLoader(fullname, new)  # a Loader by its methods
        return importlib.machinery.ModuleSpec(fullname, loader)


def install_moved_module_finder() -> None:
    """Serve the old module paths of :data:`MOVED_MODULES`; safe to call repeatedly."""
    if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModuleFinder())
