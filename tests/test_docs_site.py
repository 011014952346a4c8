"""Open the built documentation site in headless Chromium, as a reader would.

Loads the index, the API page of ``MLPRegressor`` and a gallery page over
HTTP, checks what a person sees (title, class signature, the gallery figure
actually loaded, no errors in the browser console) and saves screenshots in
``docs/_build/screenshots/``. If the site is not built, or older than any
of its sources, the session fixture builds it first, in quick mode
(``SKNORM_DOCS_QUICK=1``, what CI builds).

Needs the ``docs`` extra (selenium) and Debian's ``chromium`` and
``chromium-driver`` packages; the test fails, never skips, without them.
"""

import functools
import http.server
import os
import pathlib
import shutil
import subprocess
import sys
import threading

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
HTML = DOCS / "_build" / "html"
SHOTS = DOCS / "_build" / "screenshots"

PAGES = {
    "index": ("index.html", "sknorm"),
    "api_mlpregressor": ("generated/sknorm.MLPRegressor.html", "sknorm.MLPRegressor"),
    "gallery_weather": (
        "auto_examples/plot_weather_regression.html",
        "Standardization and batch normalization on real weather data",
    ),
}


def _find(*names):
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


#: Built from the documentation sources, never read by Sphinx as sources.
_OUTPUTS = ("_build", "generated", "auto_examples")


def _sources():
    """The files the site is built from: package, examples, docs sources."""
    yield from ROOT.glob("sknorm/**/*.py")
    yield from ROOT.glob("examples/*.py")
    yield ROOT / "README.md"
    for path in DOCS.rglob("*"):
        relative = path.relative_to(DOCS).parts
        if path.is_file() and relative[0] not in _OUTPUTS:
            yield path


def _needs_build():
    """Whether the site is missing or older than any of its sources.

    A site built before the last change would show an old signature and fail
    these checks for no fault of the change.
    """
    index = HTML / "index.html"
    if not index.exists():
        return True
    built = index.stat().st_mtime
    return any(path.stat().st_mtime > built for path in _sources())


@pytest.fixture(scope="session")
def site():
    """Serve ``docs/_build/html`` over HTTP, (re)building it first if stale."""
    if _needs_build():
        # -E: a fresh environment, so that autodoc rereads every signature.
        command = [sys.executable, "-m", "sphinx", "-E", "-W", "--keep-going", "-q"]
        env = {**os.environ, "SKNORM_DOCS_QUICK": "1", "MPLBACKEND": "Agg"}
        result = subprocess.run(
            [*command, "-b", "html", str(DOCS), str(HTML)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        assert result.returncode == 0, result.stderr[-4000:]
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium driven by chromedriver (Debian's packages)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is missing: pip install -e '.[docs]'")
    chromium = _find("chromium", "chromium-browser", "google-chrome")
    driver_path = _find("chromedriver")
    if chromium is None or driver_path is None:
        pytest.fail(
            "headless Chromium is missing: install Debian's packages with "
            "`apt-get install -y chromium chromium-driver` (CI's .ci/run does)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1024",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _open(browser, site, page):
    """Load a page, wait for its images, save a screenshot, return console errors."""
    path, _ = PAGES[page]
    browser.get_log("browser")  # drop messages of earlier pages
    browser.get(site + path)
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "Promise.all(Array.from(document.images).map(img => img.complete ? null"
        " : new Promise(r => { img.onload = img.onerror = r; }))).then(() => done());"
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SHOTS / f"{page}.png"))
    return [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders(browser, site, page):
    """Check the title, the main content and a clean console on each page."""
    errors = _open(browser, site, page)
    _, title = PAGES[page]
    assert browser.title.startswith(title), browser.title
    main = browser.find_element("css selector", "main, article, .bd-article")
    assert main.is_displayed()
    assert len(main.text) > 200, main.text
    assert errors == [], errors
    assert (SHOTS / f"{page}.png").stat().st_size > 5000


def test_api_page_shows_class_signature(browser, site):
    """The MLPRegressor page shows the class signature with its parameters."""
    _open(browser, site, "api_mlpregressor")
    signature = browser.find_element("id", "sknorm.MLPRegressor")
    text = " ".join(signature.text.split())
    assert text.startswith("class sknorm.MLPRegressor("), text
    for parameter in ("hidden_layer_sizes=(64, 64)", "batch_norm='auto'"):
        assert parameter in text, text
    assert "Parameters" in browser.find_element("css selector", "main").text


def test_gallery_page_figure_loaded(browser, site):
    """The gallery figure is loaded (natural width > 0) and the output shown."""
    _open(browser, site, "gallery_weather")
    figures = browser.find_elements("css selector", "img.sphx-glr-single-img")
    assert figures, "no gallery figure on the page"
    for image in figures:
        width = browser.execute_script("return arguments[0].naturalWidth;", image)
        assert width > 0, image.get_attribute("src")
    output = browser.find_elements("css selector", "div.sphx-glr-script-out pre")
    assert any("R" in block.text for block in output), "no printed output"
