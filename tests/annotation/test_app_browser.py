"""The annotation app as a clinician uses it: a real headless Chromium clicks and types through the running app.

The server is ``biomed-vital annotate`` in its own process; the test judges items with the mouse and with
the keyboard shortcuts, kills the server with SIGKILL mid-way, starts it again, and checks the resume point,
the saved records (with the randomised order) and that a figure whose image does not decode is skipped with
a message. Set ``BIOMED_VITAL_UPDATE_SCREENSHOTS=1`` to rewrite the screenshot in ``docs/images/``.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them), Selenium and Gradio; skips
cleanly without them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.annotation.conftest import BROKEN_FIGURE
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
SCREENSHOT = REPO_ROOT / "docs" / "images" / "annotation-app.png"
ANNOTATOR = "rad-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AppServer:
    """``biomed-vital annotate`` in a child process, killable at any moment."""

    def __init__(self, candidates: Path, out: Path, port: int, log: Path) -> None:
        self.command = [
            sys.executable,
            "-m",
            "biomed_vital.cli",
            "annotate",
            "--candidates",
            str(candidates),
            "--out",
            str(out),
            "--annotator",
            ANNOTATOR,
            "--port",
            str(port),
        ]
        self.url = f"http://127.0.0.1:{port}/"
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 120.0) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "GRADIO_ANALYTICS_ENABLED": "False"}
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"the annotation server exited with {self.process.returncode}:\n{self.log.read_text()}"
                )
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        pytest.fail(f"the annotation server did not answer within {timeout} s:\n{self.log.read_text()}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # SIGKILL: no shutdown handler runs
            self.process.wait(timeout=30)


@pytest.fixture
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    pytest.importorskip("gradio", reason='the annotation app needs pip install "biomed_vital[annotate]"')
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
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1050",
    ):
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except Exception as error:  # a browser that is installed but cannot start here
        pytest.skip(f"chromium did not start: {str(error).splitlines()[0]}")
    yield driver
    driver.quit()


def _text(driver, selector: str) -> str:
    from selenium.webdriver.common.by import By

    elements = driver.find_elements(By.CSS_SELECTOR, selector)
    return elements[0].text if elements else ""


def _wait_for(driver, condition, what: str, timeout: float = 60.0) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: condition(d), message=what)


def _wait_for_done(driver, done: int, total: int) -> None:
    _wait_for(
        driver, lambda d: f"Done {done} / {total}" in _text(d, "#bv-progress"), f"Done {done} / {total}"
    )


def _shown(driver) -> dict[str, str]:
    """What the page shows now: the question and the answers on the A and B sides (without their headings)."""
    return {
        "question": _text(driver, "#bv-question"),
        "A": _text(driver, "#bv-answer-A").split("\n", 1)[-1],
        "B": _text(driver, "#bv-answer-B").split("\n", 1)[-1],
    }


def _click(driver, selector: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    element = driver.find_element(By.CSS_SELECTOR, selector)
    ActionChains(driver).move_to_element(element).click().perform()  # a real mouse click


def _keys(driver, keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    actions = ActionChains(driver)
    for key in keys:
        actions.send_keys(key).pause(0.15)
    actions.perform()


def _pairwise(out: Path) -> list[dict]:
    records = (
        [json.loads(line) for line in out.read_text().splitlines() if line.strip()] if out.exists() else []
    )
    return [r for r in records if r.get("kind") == "pairwise"]


def test_a_clinician_annotates_with_mouse_and_keys_survives_a_killed_server_and_resumes(
    browser, standin_candidates, tmp_path
) -> None:
    from biomed_vital.annotation import AnnotationSession, annotation_items
    from biomed_vital.preferences import PreferenceDataset
    from biomed_vital.schema import load_stage

    candidates = load_stage(standin_candidates)
    items, _ = annotation_items(candidates)
    expected_order = AnnotationSession(items, tmp_path / "unused.jsonl", ANNOTATOR)
    assert {expected_order.swapped(item) for item in items[:5]} == {True, False}  # both orders occur
    by_id = {item.item_id: item for item in items}
    total = len(items)
    out = tmp_path / "annotations.jsonl"
    server = AppServer(standin_candidates, out, _free_port(), tmp_path / "server.log")
    shown: list[dict[str, str]] = []
    try:
        server.start()
        browser.get(server.url)
        _wait_for(browser, lambda d: _text(d, "#bv-question"), "the first question")
        _wait_for_done(browser, 0, total)

        # item 1 with the mouse: accept A, then "A is better"
        shown.append(_shown(browser))
        assert shown[0]["question"] == items[0].question
        _click(browser, '#bv-mark-a input[value="accept"]')
        _click(browser, "#bv-choice-A")
        _wait_for_done(browser, 1, total)
        assert len(_pairwise(out)) == 1  # on disk the moment the page confirmed it

        # item 2 with the keyboard: reject A (w), accept B (o), B is better (b)
        shown.append(_shown(browser))
        _keys(browser, "wob")
        _wait_for_done(browser, 2, total)

        # item 3: tie (t), with a comment typed into the comment box (c focuses it, Escape leaves it)
        shown.append(_shown(browser))
        _keys(browser, "c")
        _keys(browser, "two similar answers")
        from selenium.webdriver.common.keys import Keys

        _keys(browser, Keys.ESCAPE)
        _keys(browser, "t")
        _wait_for_done(browser, 3, total)

        server.kill()  # the server dies; every confirmed judgement must be on disk
        assert [r["choice"] for r in _pairwise(out)] == ["A", "B", "tie"]

        server.start()
        browser.get(server.url)
        _wait_for(browser, lambda d: _text(d, "#bv-question"), "the question after the restart")
        _wait_for_done(browser, 3, total)
        assert _shown(browser)["question"] == items[3].question  # resumed at the first item not done
        if os.environ.get("BIOMED_VITAL_UPDATE_SCREENSHOTS"):
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(SCREENSHOT))

        # items 4 and 5: both unacceptable (x), then "B is better" with the mouse
        shown.append(_shown(browser))
        _keys(browser, "x")
        _wait_for_done(browser, 4, total)
        shown.append(_shown(browser))
        _click(browser, "#bv-choice-B")

        # the next figure's image does not decode: its questions are skipped with a message, the app goes on
        broken = [item for item in items if item.figure_id == BROKEN_FIGURE]
        _wait_for_done(browser, 5, total - len(broken))
        assert BROKEN_FIGURE in _text(browser, "#bv-header")
        assert "cannot be shown" in _text(browser, "#bv-header")
        next_item = items[items.index(broken[-1]) + 1]
        assert _shown(browser)["question"] == next_item.question
        assert server.process is not None and server.process.poll() is None  # still serving
    finally:
        server.kill()

    records = _pairwise(out)
    assert [r["item_id"] for r in records] == [item.item_id for item in items[:5]]
    assert [r["choice"] for r in records] == ["A", "B", "tie", "both_bad", "B"]
    assert records[2]["comment"] == "two similar answers"
    for record, page in zip(records, shown, strict=True):
        item = by_id[record["item_id"]]
        assert record["annotator"] == ANNOTATOR and record["seconds"] > 0
        assert record["swapped"] == expected_order.swapped(item)
        answer_of = dict(zip(item.candidate_ids, item.answers, strict=True))
        # the record names the candidates in the order the page showed them
        assert " ".join(answer_of[record["candidate_id_a"]].split()) == " ".join(page["A"].split())
        assert " ".join(answer_of[record["candidate_id_b"]].split()) == " ".join(page["B"].split())
    marks = [json.loads(line) for line in out.read_text().splitlines() if '"kind": "mark"' in line]
    assert [(m["shown_as"], m["accepted"]) for m in marks] == [("A", True), ("A", False), ("B", True)]
    pairs = PreferenceDataset.from_clinician_annotations(str(out), candidates)
    assert len(pairs) >= 2 and set(pairs["annotator"]) == {ANNOTATOR}
