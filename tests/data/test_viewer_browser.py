"""The selection's report page in a real headless Chromium: filter by modality and by kept / dropped, sort by
either score, and the screenshot that the docs show.

The data is the demo's: the built-in demo figures, two candidates each from the offline stand-in server,
judged by it, and scored by an untrained tiny selector (the page is what is tested, not the scores). Set
``BIOMED_VITAL_UPDATE_SCREENSHOTS=1`` to rewrite ``docs/images/selection-report.png``.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them) and Selenium; skips cleanly
without them.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter

import numpy as np
import pytest

from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
SCREENSHOT = REPO_ROOT / "docs" / "images" / "selection-report.png"


@pytest.fixture
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the [dev] extra)")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--window-size=1280,1000",
    ):
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except Exception as error:  # a browser that is installed but cannot start here
        pytest.skip(f"chromium did not start: {str(error).splitlines()[0]}")
    yield driver
    driver.quit()


@pytest.fixture
def selection_page(tmp_path):
    """select(output_dir=...) on the demo figures' candidates: returns the page and the kept rows."""
    pytest.importorskip("pydicom")
    pytest.importorskip("skimage")
    from biomed_vital.data import load_demo_figures
    from biomed_vital.generation import GPT4VGenerator, GPT4VJudge
    from biomed_vital.selection import select
    from biomed_vital.testing import StandInServer, tiny_selector

    with StandInServer(seed=0) as server:
        options = {"base_url": server.base_url, "api_key": "sk-offline", "show_progress": False}
        options["cache_dir"] = str(tmp_path / "cache")
        candidates = GPT4VGenerator("gpt-4o", n_candidates=2, **options).generate(load_demo_figures())
        judged = GPT4VJudge("gpt-4o", **options).score(candidates)
    model, processor = tiny_selector(seed=0)
    report = tmp_path / "selection_report"
    selected = select(
        judged, model, processor, top_fraction=0.5, per_modality=True, num_workers=0, output_dir=report
    )
    return report / "report.html", judged, selected


def _visible(driver) -> list:
    from selenium.webdriver.common.by import By

    return [row for row in driver.find_elements(By.CSS_SELECTOR, "article.row") if row.is_displayed()]


def _choose(driver, control: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, control)).select_by_value(value)


def _shown(driver) -> int:
    from selenium.webdriver.common.by import By

    return int(driver.find_element(By.ID, "shown").text)


def test_the_report_filters_sorts_and_is_shown_in_the_docs(browser, selection_page, tmp_path):
    page, judged, selected = selection_page
    browser.get(page.as_uri())

    assert len(_visible(browser)) == _shown(browser) == len(judged)
    assert browser.find_element("css selector", "#histogram").is_displayed()

    modalities = Counter(judged["modality"])
    kept = Counter(selected["modality"])
    for modality, count in modalities.items():
        _choose(browser, "modality", modality)
        rows = _visible(browser)
        assert len(rows) == _shown(browser) == count
        assert {row.get_attribute("data-modality") for row in rows} == {modality}
        _choose(browser, "kept", "kept")
        assert len(_visible(browser)) == kept[modality]  # the best half of each modality
        _choose(browser, "kept", "all")
    _choose(browser, "modality", "all")

    all_scores = np.load(page.parent / "scores.npy")  # every candidate's score, NaN where none
    _choose(browser, "sort", "selector:asc")
    first = _visible(browser)[0]
    assert float(first.get_attribute("data-selector")) == pytest.approx(
        float(np.nanmin(all_scores)), abs=1e-3
    )
    _choose(browser, "sort", "judge:desc")
    first = _visible(browser)[0]
    assert float(first.get_attribute("data-judge")) == pytest.approx(max(judged["judge_score"]), abs=1e-3)

    _choose(browser, "sort", "selector:desc")
    target = SCREENSHOT if os.environ.get("BIOMED_VITAL_UPDATE_SCREENSHOTS") == "1" else tmp_path / "page.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(target))
    assert target.stat().st_size > 10_000
