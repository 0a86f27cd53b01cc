"""The rendered book as a reader sees it: every page opened in headless Chromium.

Run by ``make browser`` (part of ``make test``) after the book is built. The pages are served
from ``_build/html`` on localhost, and every request to another host is refused and recorded,
so the test also proves that the book works offline. Each page gets a screenshot in
``_build/screenshots/`` for review.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))  # where `make book` puts it
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-quic"]

PAGES = sorted(str(p.relative_to(HTML)) for p in [*HTML.glob("chapters/*.html"),
                                                   *HTML.glob("book/*.html")])
CHAPTERS = [p for p in PAGES if p.startswith("chapters/")]


def _serve(directory):
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


@pytest.fixture(scope="session")
def server():
    if not (HTML / "index.html").exists():
        pytest.fail(f"no built book in {HTML}: run `make book` first")
    httpd, url = _serve(HTML)
    yield url
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no access log in the test output
        pass


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make browser` installs Debian's")
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield instance
        instance.close()


class Visit:
    """A page opened in a fresh tab, with what went wrong on the way recorded."""

    def __init__(self, browser, server, path):
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.console_errors: list[str] = []
        self.external: list[str] = []
        self.failed: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.route("**/*", self._route)
        # Generous limits: they guard against a hang, not a slow machine. (Once, in CI, a chapter
        # page took over 30 s, Playwright's default, to go quiet: MathJax fetches its fonts as it
        # typesets, and the longest chapters have the most mathematics.)
        self.page.goto(f"{server}/{path}", wait_until="load", timeout=120_000)
        self.page.wait_for_load_state("networkidle", timeout=120_000)

    def _route(self, route):
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost") or route.request.url.startswith("data:"):
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()


# Move player i's slider to its last frame and back: did the picture change to another PNG and
# back, and what are the picture's alternative texts and the slider's name on the way?
STEP_PLAYER = """async (i) => {
    const player = document.querySelectorAll('div.animation')[i];
    const img = player.querySelector('img'), slider = player.querySelector('input[type=range]');
    if (!img || !slider || +slider.max < 1) return {moved: false, alts: [], name: null};
    const settle = () => new Promise(r => setTimeout(r, 0));  // the alt follows the src
    const first = img.src, alts = [img.alt];
    slider.value = slider.max;
    slider.dispatchEvent(new Event('input'));
    await settle();
    const last = img.src;
    alts.push(img.alt);
    slider.value = 0;
    slider.dispatchEvent(new Event('input'));
    await settle();
    alts.push(img.alt);
    return {moved: last !== first && last.startsWith('data:image/png') && img.src === first,
            alts: alts, name: slider.getAttribute('aria-label')};
}"""

# Code cells whose longest line does not fit: the reader would have to scroll sideways.
CUT_OFF_CODE = """() => Array.from(document.querySelectorAll('div.cell_input pre'))
    .filter(pre => pre.scrollWidth > pre.clientWidth + 1)
    .map(pre => pre.textContent.split('\\n').sort((a, b) => b.length - a.length)[0])"""


def problems(visit: Visit, widget_wait: int = 20_000) -> list[str]:
    """Everything a reader would see as broken on the visited page (empty: the page is fine).

    ``widget_wait``: milliseconds to wait for the saved widgets to be drawn (a guard against a
    slow machine on a real page; a page whose widgets never draw waits this long)."""
    page, found = visit.page, []
    if page.locator(".math").count() > 0:
        try:  # MathJax 3 resolves startup.promise once the page is typeset
            page.wait_for_function("() => window.MathJax && MathJax.startup && "
                                   "MathJax.startup.promise", timeout=20_000)
            page.evaluate("() => MathJax.startup.promise")
        except playwright_api.Error:
            found.append("MathJax did not load")
        raw = page.evaluate(
            "() => Array.from(document.querySelectorAll('.math'))"
            ".filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 60))")
        if raw:
            found.append(f"math left as raw TeX: {raw[:3]}")
    text = page.locator("body").inner_text()
    if "\\(" in text or "$$" in text:
        found.append("raw TeX delimiters in the page text")
    broken = page.evaluate(
        "() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
        ".map(i => i.src)")
    if broken:
        found.append(f"images that did not load: {broken[:3]}")
    if page.locator(".output.error, .output.traceback").count() or \
            "Traceback (most recent call last)" in text:
        found.append("an error output")
    saved_views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
    if saved_views:
        with contextlib.suppress(playwright_api.Error):
            page.wait_for_selector(".jupyter-widgets", timeout=widget_wait)
        drawn = page.locator(".jupyter-widgets").count()
        if drawn < saved_views:
            found.append(f"{saved_views} saved widgets, {drawn} drawn")
    # Every widget needs a running kernel to redraw; each one keeps a static counterpart (a
    # pre-rendered slider from normreg.slider.static_slider) that must step through its frames.
    players = page.locator("div.animation").count()
    if players < saved_views:
        found.append(f"{saved_views} saved widgets but {players} static sliders "
                     "(kernel-free counterparts)")
    for i in range(players):
        step = page.evaluate(STEP_PLAYER, i)
        if not step["moved"]:
            found.append(f"static slider {i + 1} does not change its picture")
        alts = step["alts"]
        if len(alts) != 3 or not all(alts) or alts[0] != alts[2] or alts[0] == alts[1]:
            found.append(f"static slider {i + 1}: its picture's text does not follow the frame "
                         f"({alts})")
        if not step["name"]:
            found.append(f"static slider {i + 1}: its range input has no accessible name")
    cut_off = page.evaluate(CUT_OFF_CODE)
    if cut_off:
        found.append(f"code cut off (too long for the code column): {cut_off[:2]}")
    if visit.external:
        found.append(f"requests to other hosts (the book must work offline): {visit.external[:3]}")
    if visit.failed:
        found.append(f"requests that failed: {visit.failed[:3]}")
    if visit.console_errors:
        found.append(f"JavaScript errors: {visit.console_errors[:3]}")
    return found


@pytest.mark.parametrize("path", PAGES)
def test_page_reads_offline_with_math_images_and_widgets(browser, server, path):
    visit = Visit(browser, server, path)
    found = problems(visit)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    visit.page.screenshot(path=str(SCREENSHOTS / (path.replace("/", "__") + ".png")),
                          full_page=True)
    visit.page.close()
    assert found == []


BROKEN_PAGE = """<!DOCTYPE html><html><head>
<script>window.MathJax = {startup: {typeset: false}};</script>
<script defer src="{mathjax}"></script></head><body>
<p><span class="math">\\(x^2\\)</span> and $$y$$</p>
<img src="missing.png"><img src="https://example.com/remote.png">
<div class="output error">Traceback (most recent call last): ...</div>
<script type="application/vnd.jupyter.widget-view+json">{"model_id": "x"}</script>
<script type="application/vnd.jupyter.widget-view+json">{"model_id": "y"}</script>
<div class="animation"><input type="range" min="0" max="3" value="0"></div>
<div class="cell"><div class="cell_input"><pre style="width: 100px; overflow: auto">
x = "a line of code far too long for the narrow column it is shown in"</pre></div></div>
<script>undefinedFunction();</script>
</body></html>"""


def test_the_checks_catch_a_broken_page(browser, tmp_path):
    # Every check above, on a page that breaks it: each problem must be reported.
    mathjax = HTML / "_static" / "vendor" / "mathjax" / "tex-chtml-full.js"
    (tmp_path / "vendor").symlink_to(mathjax.parent, target_is_directory=True)
    (tmp_path / "broken.html").write_text(
        BROKEN_PAGE.replace("{mathjax}", "vendor/tex-chtml-full.js"))
    httpd, url = _serve(tmp_path)
    try:
        # its widgets can never be drawn (no widget manager): waiting a second for them is enough
        found = " | ".join(problems(Visit(browser, url, "broken.html"), widget_wait=1_000))
    finally:
        httpd.shutdown()
    for expected in ("math left as raw TeX", "raw TeX delimiters", "images that did not load",
                     "an error output", "2 saved widgets, 0 drawn", "requests to other hosts",
                     "2 saved widgets but 1 static sliders", "static slider 1 does not change",
                     "its picture's text does not follow", "no accessible name",
                     "code cut off", "JavaScript errors"):
        assert expected in found, f"{expected!r} not reported: {found}"


def test_every_chapter_is_built_and_linked_from_the_navigation(browser, server):
    notebooks = sorted(p.stem for p in (ROOT / "chapters").glob("*.ipynb"))
    assert [Path(c).stem for c in CHAPTERS] == notebooks, "every chapter notebook has a page"
    visit = Visit(browser, server, "index.html")
    links = visit.page.evaluate(
        "() => Array.from(document.querySelectorAll('nav.bd-links a')).map(a => a.href)")
    for chapter in CHAPTERS:
        assert any(link.endswith(chapter) for link in links), f"{chapter} missing from the nav"
    # "next" from the first chapter leads to the second
    first = Visit(browser, server, CHAPTERS[0])
    first.page.locator("a.right-next").first.click()
    first.page.wait_for_load_state("load")
    assert first.page.url.endswith(CHAPTERS[1])


def test_search_finds_a_term(browser, server):
    visit = Visit(browser, server, "search.html?q=dropout")
    visit.page.wait_for_selector("#search-results li", timeout=20_000)
    results = visit.page.locator("#search-results li").count()
    assert results >= 1
    assert visit.console_errors == []


@pytest.mark.parametrize("path", CHAPTERS)
def test_each_chapter_offers_its_notebook_for_download(browser, server, path):
    # The page's download menu links the .ipynb; fetched, it must be the chapter's notebook.
    visit = Visit(browser, server, path)
    links = visit.page.evaluate(
        "() => Array.from(document.querySelectorAll('a[href$=\".ipynb\"]')).map(a => a.href)")
    assert links, f"{path}: no .ipynb download link"
    response = visit.page.request.get(links[0])
    assert response.ok, f"{links[0]}: HTTP {response.status}"
    notebook = json.loads(response.body())
    assert notebook["nbformat"] == 4 and any("SEED = 0" in "".join(c["source"])
                                              for c in notebook["cells"])
    visit.page.close()


def test_launch_buttons_follow_the_repository_setting(browser, server):
    # _config.yml's repository.url turns them on (book/_ext/launch.py); empty, no chapter page
    # may link to Colab or Binder: no invented link.
    import yaml

    url = (yaml.safe_load((ROOT / "_config.yml").read_text()).get("repository") or {}).get("url")
    visit = Visit(browser, server, CHAPTERS[0])
    launch = visit.page.evaluate(
        "() => Array.from(document.querySelectorAll('a')).map(a => a.href)"
        ".filter(h => h.includes('colab.research.google.com') || h.includes('mybinder'))")
    if url:
        assert launch and all(url.split("//")[-1] in link for link in launch), launch
    else:
        assert launch == [], f"launch links without a repository: {launch}"
    visit.page.close()
