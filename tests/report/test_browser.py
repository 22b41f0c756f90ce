"""The report in real headless Chromium: it renders, with no console error.

Needs the Debian packages ``chromium`` and ``chromium-driver`` and the ``selenium``
package. Skipped when they are missing, except under CI (``CI`` set), where a missing
browser is a failure. Selenium Manager is never used: the driver path is given, so
nothing is downloaded at run time.
"""

from __future__ import annotations

import os
import shutil

import pytest

from featcls.report import write_outputs
from tests.report.conftest import section_titles

#: Flags for a browser on a closed network: no background requests, no sandbox.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
)


def _missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"CI needs the browser test: {reason}")
    pytest.skip(reason)


def _find(name: str, fallback: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return fallback if os.access(fallback, os.X_OK) else None


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    """A Chromium WebDriver session on the system's chromium and chromedriver."""
    browser = _find("chromium", "/usr/bin/chromium")
    chromedriver = _find("chromedriver", "/usr/bin/chromedriver")
    if browser is None or chromedriver is None:
        _missing("Chromium is not installed (apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.selenium_manager import SeleniumManager
    except ImportError:
        _missing("the selenium package is not installed")

    def no_manager(*args, **kwargs):  # pragma: no cover - must not be reached
        raise AssertionError("Selenium Manager was invoked (it would download)")

    patch = pytest.MonkeyPatch()
    patch.setattr(SeleniumManager, "binary_paths", no_manager)
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(service=Service(chromedriver), options=options)
    session.set_page_load_timeout(60)
    try:
        yield session
    finally:
        session.quit()
        patch.undo()


@pytest.fixture(scope="module")
def opened(driver, real_result, tmp_path_factory):
    """The real result's report, loaded from disk; its console log at load."""
    paths = write_outputs(real_result, tmp_path_factory.mktemp("report"))
    driver.get(paths["report"].resolve().as_uri())
    return driver, driver.get_log("browser")


def test_no_console_errors(opened):
    _, log = opened
    assert [e for e in log if e["level"] in ("SEVERE", "WARNING")] == []


def test_leaderboard_has_one_row_per_model(opened, real_result):
    from selenium.webdriver.common.by import By

    driver, _ = opened
    table = driver.find_element(By.ID, "leaderboard")
    rows = table.find_elements(By.CSS_SELECTOR, "tbody > tr")
    assert [r.get_attribute("data-model") for r in rows] == list(
        real_result.leaderboard().index
    )
    assert "best" in rows[0].get_attribute("class").split()
    assert rows[0].is_displayed()


def test_sections_and_figures_render(opened, real_result):
    from selenium.webdriver.common.by import By

    driver, _ = opened
    headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h2")]
    assert headings == section_titles(real_result)
    broken = driver.execute_script(
        "return Array.from(document.images)"
        ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt);"
    )
    assert broken == []
    assert driver.execute_script("return document.images.length;") >= 8
    fetched = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);"
    )
    assert [u for u in fetched if not u.startswith("data:")] == []


def test_failed_fold_report_renders(driver, hostile_result, tmp_path):
    paths = write_outputs(hostile_result, tmp_path)
    driver.get_log("browser")  # drop earlier entries
    driver.get(paths["report"].resolve().as_uri())
    assert [
        e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")
    ] == []
    title = driver.title
    assert "<script>alert(1)</script>" in title  # shown as text, not run
    assert driver.execute_script("return document.scripts.length;") == 0
