"""Fixtures for the generation tests: an isolated cache, synthetic figures, a stand-in server.

The synthetic figures carry labelled stand-in text ("synthetic test caption ..."), not
medical content; tests that need real biomedical text use the shared fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.generation.helpers import make_figures


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never let a test write to the user's real cache folder."""
    monkeypatch.setenv("BIOMED_VITAL_CACHE", str(tmp_path_factory.mktemp("default-cache")))


@pytest.fixture
def figures():
    return make_figures(12)


@pytest.fixture
def server() -> Iterator[object]:
    from biomed_vital.testing import StandInServer

    with StandInServer(seed=0) as running:
        yield running
