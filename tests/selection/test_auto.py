"""`import biomed_vital` makes transformers' Auto classes load saved selectors, without importing transformers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from biomed_vital.testing import tiny_selector


@pytest.fixture(scope="module")
def saved_selector(tmp_path_factory):
    folder = tmp_path_factory.mktemp("selector")
    tiny_selector("siglip", out_dir=folder)
    return folder


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_import_stays_light_and_auto_classes_load_the_selector_afterwards(saved_selector):
    out = _run(f"""
        import sys
        import biomed_vital
        assert not {{"torch", "transformers", "trl"}} & set(sys.modules), "import biomed_vital pulled a heavy library"
        from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification, AutoProcessor
        print(type(AutoConfig.from_pretrained({str(saved_selector)!r})).__name__)
        print(type(AutoModel.from_pretrained({str(saved_selector)!r})).__name__)
        print(type(AutoModelForSequenceClassification.from_pretrained({str(saved_selector)!r})).__name__)
        print(type(AutoProcessor.from_pretrained({str(saved_selector)!r})).__name__)
    """)
    assert out.split() == ["SelectorConfig", "SelectorModel", "SelectorModel", "SelectorProcessor"]


def test_registration_also_works_when_transformers_was_imported_first(saved_selector):
    out = _run(f"""
        from transformers import AutoModel
        import biomed_vital
        import biomed_vital  # a second import must not install a second hook
        from biomed_vital.selection.auto import _AutoRegistrationFinder
        import sys
        print(sum(isinstance(f, _AutoRegistrationFinder) for f in sys.meta_path))
        print(type(AutoModel.from_pretrained({str(saved_selector)!r})).__name__)
    """)
    assert out.split() == ["1", "SelectorModel"]


@pytest.mark.parametrize("first_use", ["SelectorConfig", "SelectorModel", "SelectorProcessor", "select"])
def test_registration_works_when_the_selector_itself_first_imports_transformers(saved_selector, first_use):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
                import biomed_vital
                biomed_vital.{first_use}  # this is what first imports transformers
                from transformers import AutoModel
                print(type(AutoModel.from_pretrained({str(saved_selector)!r})).__name__)
            """),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["SelectorModel"]
    assert "could not register" not in result.stderr


def test_without_biomed_vital_transformers_does_not_know_the_selector(saved_selector):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from transformers import AutoModel; AutoModel.from_pretrained({str(saved_selector)!r})",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "biomed_vital_selector" in result.stderr
