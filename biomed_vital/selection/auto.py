"""Make `transformers.AutoModel` / `AutoConfig` / `AutoProcessor` know the selector, without importing transformers early.

`import biomed_vital` must stay light, yet a user who then calls `AutoModel.from_pretrained(saved_selector)`
should not need `trust_remote_code`. `install_auto_registration_hook()` does both: if transformers' Auto
modules are already imported it registers at once; otherwise a `sys.meta_path` finder wraps the loaders of
`transformers.models.auto.{configuration,modeling,processing}_auto` and registers right after each finishes
executing. A failure inside the hook is logged and never breaks the user's transformers import.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

# importlib.abc and logging are left out on purpose: between them they are most of what `import biomed_vital`
# would cost. The import system only needs the finder's and loader's methods, and logging is imported when a
# registration fails.

_CONFIG_MODULE = "transformers.models.auto.configuration_auto"
_MODEL_MODULE = "transformers.models.auto.modeling_auto"
_PROCESSOR_MODULE = "transformers.models.auto.processing_auto"


def register_config() -> None:
    """Register `SelectorConfig` with `AutoConfig` (idempotent)."""
    from transformers import AutoConfig

    from biomed_vital.selection.configuration import SelectorConfig

    AutoConfig.register(SelectorConfig.model_type, SelectorConfig, exist_ok=True)


def register_model() -> None:
    """Register `SelectorModel` with `AutoModel` and `AutoModelForSequenceClassification` (idempotent)."""
    from transformers import AutoModel, AutoModelForSequenceClassification

    from biomed_vital.selection.configuration import SelectorConfig
    from biomed_vital.selection.modeling import SelectorModel

    register_config()
    AutoModel.register(SelectorConfig, SelectorModel, exist_ok=True)
    # RewardTrainer loads string model ids with AutoModelForSequenceClassification.
    AutoModelForSequenceClassification.register(SelectorConfig, SelectorModel, exist_ok=True)


def register_processor() -> None:
    """Register `SelectorProcessor` with `AutoProcessor` (idempotent)."""
    from transformers import AutoProcessor

    from biomed_vital.selection.configuration import SelectorConfig
    from biomed_vital.selection.processing import SelectorProcessor

    register_config()
    AutoProcessor.register(SelectorConfig, SelectorProcessor, exist_ok=True)


def register_auto_classes() -> None:
    """Register the config, model and processor with every Auto class at once.

    Example:
        >>> from biomed_vital.selection.auto import register_auto_classes
        >>> register_auto_classes()
    """
    register_config()
    register_model()
    register_processor()


_REGISTRATIONS = {
    _CONFIG_MODULE: register_config,
    _MODEL_MODULE: register_model,
    _PROCESSOR_MODULE: register_processor,
}


# Auto modules whose registration waits for the selector's own modules to finish importing.
_pending: set[str] = set()


def _run(register, module_name: str) -> None:
    try:
        register()
        _pending.discard(module_name)
    except ImportError as error:
        if "partially initialized module 'biomed_vital." in str(error):
            # transformers was first imported from inside the selector's own modules, which are not
            # complete yet; each of them calls retry_pending_registrations() once its classes exist.
            _pending.add(module_name)
            return
        _warn(module_name, error)
    except Exception as error:  # never break the user's import of transformers
        _warn(module_name, error)


def _warn(module_name: str, error: Exception) -> None:
    import logging

    logging.getLogger(__name__).warning(
        "biomed_vital could not register the selector with %s (%s: %s); load saved selectors with "
        "biomed_vital.selection.SelectorModel.from_pretrained instead.",
        module_name,
        type(error).__name__,
        error,
    )


def retry_pending_registrations() -> None:
    """Run the registrations that had to wait for the selector's modules (called at their end)."""
    for module_name in sorted(_pending):
        _run(_REGISTRATIONS[module_name], module_name)


class _RegisteringLoader:
    """Delegates to the real loader, then runs the registration for that module (an importlib Loader)."""

    def __init__(self, loader: Any, module_name: str):
        self._loader = loader
        self._module_name = module_name

    def create_module(self, spec: Any) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _run(_REGISTRATIONS[self._module_name], self._module_name)

    def __getattr__(self, name: str):  # get_source, get_filename, ... for tracebacks and inspect
        return getattr(self._loader, name)


class _AutoRegistrationFinder:
    """A `sys.meta_path` finder (an importlib MetaPathFinder) that wraps the Auto modules' loaders."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in _REGISTRATIONS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _RegisteringLoader(spec.loader, fullname)
        return spec


def install_auto_registration_hook() -> None:
    """Register now for the Auto modules already imported and hook the others; safe to call repeatedly.

    Example:
        >>> import biomed_vital                     # calls this
        >>> from transformers import AutoModel
        >>> model = AutoModel.from_pretrained("path/to/saved/selector")   # doctest: +SKIP
    """
    for module_name, register in _REGISTRATIONS.items():
        if module_name in sys.modules:
            _run(register, module_name)
    if not any(isinstance(finder, _AutoRegistrationFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AutoRegistrationFinder())


__all__ = ["install_auto_registration_hook", "register_auto_classes"]
