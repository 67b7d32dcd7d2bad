"""The report as a reader sees it: results/index.html opened in headless Chromium.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them and sets ``REQUIRE_BROWSER=1``, so
that a missing browser fails there instead of skipping). Elsewhere the test skips and says how to get them.
"""

import os
import re
import shutil

import pytest

# Chromium on a machine without network: no background connections, no first-run work (they only fail here)
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        reason = ("no headless browser to open the report: install Debian's chromium and chromium-driver "
                  "(apt-get install chromium chromium-driver; .ci/run does)")
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    yield driver
    driver.quit()


def open_page(browser, path):
    """Load ``path`` and return (images that did not load, console errors, anchors that point nowhere)."""
    browser.get(path.as_uri())
    browser.execute_async_script(  # wait until every image has loaded or failed
        "const done = arguments[arguments.length - 1];"
        "Promise.all([...document.images].map(i => i.complete ? null :"
        " new Promise(r => { i.onload = r; i.onerror = r; }))).then(() => done());")
    broken = browser.execute_script(
        "return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));")
    dangling = browser.execute_script(
        "return [...document.querySelectorAll(\"a[href^='#']\")].map(a => a.getAttribute('href').slice(1))"
        ".filter(id => !document.getElementById(id));")
    errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    return broken, errors, dangling


@pytest.mark.slow
def test_every_image_loads_and_the_console_stays_clean(browser, quick_results):
    out, _, records = quick_results
    broken, errors, dangling = open_page(browser, out / "index.html")
    assert broken == [] and errors == [] and dangling == []
    figures = sum(len(record["figures"]) for record in records.values())
    assert browser.execute_script("return document.images.length;") == figures
    # the table of contents links every analysis and shows its verdict
    assert browser.execute_script("return document.querySelectorAll('table.toc a').length;") == len(records)
    assert browser.find_element("css selector", "table.toc").text.count("checks hold") == len(records)


def test_the_report_needs_no_network(quick_results):
    page = (quick_results[0] / "index.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*['"]?(https?:)?//""", page)  # figures beside it, nothing fetched
    assert "<script" not in page


def test_a_broken_image_would_be_caught(browser, tmp_path):
    """The checks above can fail: a page with a missing figure shows up as broken and as a console error."""
    page = tmp_path / "index.html"
    page.write_text("<!doctype html><html><body><a href='#nowhere'>x</a><img src='missing.png' alt='gone'>"
                    "</body></html>")
    broken, errors, dangling = open_page(browser, page)
    assert broken == ["missing.png"] and dangling == ["nowhere"]
    assert any("missing.png" in error for error in errors)
