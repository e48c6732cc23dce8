"""The installable package: a lazy public API that resolves every name it advertises."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import biomed_vital

HEAVY_MODULES = ("torch", "transformers", "trl", "peft", "bitsandbytes", "datasets", "openai", "sklearn")


def test_import_pulls_in_no_heavy_library():
    code = (
        "import sys, json, biomed_vital, biomed_vital.testing; "
        f"print(json.dumps([m for m in {HEAVY_MODULES!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_import_adds_no_import_machinery_or_logging_modules():
    """`importlib.abc` and `logging` (with what they pull in) were most of `import biomed_vital`'s time."""
    code = (
        "import sys; before = set(sys.modules); import biomed_vital; "
        "print(sorted({'importlib.abc', 'importlib.resources', 'logging'} & (set(sys.modules) - before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("name", [n for n in biomed_vital.__all__ if n != "__version__"])
def test_every_public_name_resolves(name):
    assert getattr(biomed_vital, name) is not None
    assert name in dir(biomed_vital)


def test_unknown_attribute_is_a_clear_error():
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        biomed_vital.not_a_name  # noqa: B018


def test_version_is_a_pep440_string():
    from packaging.version import Version

    assert Version(biomed_vital.__version__) >= Version("0.1.0.dev0")
