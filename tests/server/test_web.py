"""The web page in a real headless browser (Debian's chromium + chromium-driver through selenium; skipped when
absent): type a question, see the answer stream in and a numbered source with its quote highlighted. Saves a
screenshot to docs/serve.png."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "serve.png"
WAIT_S = 60
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1100,900",
)


def _browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
    return chromium, driver


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    chromium, driver = _browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="rag-chromium-")
    for flag in (*CHROME_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    session = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))
    session.set_page_load_timeout(WAIT_S)
    try:
        yield session
    finally:
        session.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_question_answer_and_sources_in_a_browser(server, rag, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    question = "What does the embed endpoint return?"
    expected = rag.ask(question)
    browser.get(f"{server.url}/")
    box = browser.find_element(By.ID, "question")
    box.send_keys(question)
    browser.find_element(By.ID, "ask").click()
    wait = WebDriverWait(browser, WAIT_S)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#sources li mark")))
    assert browser.find_element(By.ID, "answer").text == expected.answer
    first = browser.find_elements(By.CSS_SELECTOR, "#sources li")[0]
    citation = expected.citations[0]
    assert citation.source in first.find_element(By.CLASS_NAME, "where").text
    assert (
        " ".join(first.find_element(By.TAG_NAME, "mark").text.split()).lower()
        == " ".join(citation.quote.split()).lower()
    )
    assert browser.find_element(By.ID, "state").text.startswith("Answered")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
