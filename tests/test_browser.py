"""The episode browser /shows/<id> in a real browser (issue 15): headless Chromium (Debian's,
driven by Playwright) against feedtool under gunicorn, over a store filled by `feedtool refresh`
from a loopback upstream. The form filters, feedtool.js updates the list live, the copy button
copies, the page works with JavaScript off, and nothing breaks the Content-Security-Policy.

Screenshots at phone and desktop width are kept as artefacts (in $FEEDTOOL_ARTIFACTS, else
pytest's temporary folder; the summary prints where), never compared pixel by pixel.
Skipped where Playwright or a Chromium binary is missing or Chromium does not start.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from lxml import etree

from feedtool.testing import feeds, servers

import figures

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = pytest.mark.browser

SHOW = "lab"
#: Episode n (1-12) is published 30 days after episode n-1; even ones mention open weights,
#: every third a robot; the interviews are these.
INTERVIEWS = {2, 4, 8, 10, 11}
FIRST = datetime(2025, 6, 1, 9, tzinfo=UTC)
#: The filter the tests apply through the form, and the episodes it keeps: 8 and 10.
TAG, WORDS, SINCE = "open-models", "interview", (FIRST + timedelta(days=30 * 4)).date().isoformat()
#: How long to wait for the browser (ms): a live update, a navigation. A bound on waiting, never a measure.
WAIT_MS = 15_000


def _title(n: int) -> str:
    words = ["open weights"] * (n % 2 == 0) + ["robot arms"] * (n % 3 == 0)
    return f"Episode {n}: " + " and ".join(words or ["news"]) + (" interview" if n in INTERVIEWS else "")


CONFIG = """\
shows:
  {show}:
    sources: [{{rss: {url}}}]
    tags:
      open-models: {{match: ['open weights'], fields: [title]}}
      robotics: {{match: ['robot'], fields: [title]}}
"""


@dataclass(frozen=True)
class Site:
    base: str  # http://127.0.0.1:<port>

    def show_url(self, query: str = "") -> str:
        return f"{self.base}/shows/{SHOW}" + (f"?{query}" if query else "")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """feedtool under gunicorn over a store that a real `feedtool refresh` filled from a loopback upstream."""
    work = tmp_path_factory.mktemp("browser-site")
    items = [
        feeds.item(
            n, title=_title(n), guid=f"lab-{n}", published=FIRST + timedelta(days=30 * (n - 1)), duration=600 * n
        )
        for n in range(12, 0, -1)
    ]
    config = work / "config.yaml"
    with servers.upstream() as upstream:
        upstream.serve("/lab.xml", feeds.feed(items, title="The Lab"))
        config.write_text(CONFIG.format(show=SHOW, url=upstream.url("/lab.xml")))
        done = subprocess.run(
            [sys.executable, "-m", "feedtool", "--config", str(config), "refresh"],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    with servers.feedtool_server(config, work / "gunicorn.log") as base:
        yield Site(base)


def _chromium() -> str | None:
    return shutil.which("chromium") or next((p for p in ("/usr/bin/chromium",) if os.access(p, os.X_OK)), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, through Playwright (never Playwright's own browser download)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    executable = _chromium()
    if executable is None:
        pytest.skip("no chromium binary on PATH or at /usr/bin/chromium (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, headless=True)
        except sync_api.Error as exc:
            pytest.skip(f"{executable} does not start headless: {str(exc).splitlines()[0]}")
        yield browser
        browser.close()


@dataclass
class Watched:
    """A page and everything that went wrong on it: console errors, uncaught exceptions, CSP violations."""

    page: Page
    problems: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.problems == [], "\n".join(self.problems)


def _watch(page: Page) -> Watched:
    watched = Watched(page)

    def on_console(message: Any) -> None:
        # Chromium asks every site for /favicon.ico by itself; its 404 is no fault of the page.
        if message.type in ("error", "warning") and not message.location.get("url", "").endswith("/favicon.ico"):
            watched.problems.append(f"console {message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.problems.append(f"uncaught: {error}"))
    # Reported from the page itself, so a violation is seen even when the console would not show it.
    page.expose_function("__feedtoolCsp", lambda text: watched.problems.append(f"CSP violation: {text}"))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', (e) =>"
        " window.__feedtoolCsp(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}"
        " at ${e.sourceFile}:${e.lineNumber}`));"
    )
    return watched


@pytest.fixture
def context(browser: Browser, site: Site) -> Iterator[BrowserContext]:
    """A fresh browser profile that may read and write the clipboard of the site's origin."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.base)
    context.set_default_timeout(WAIT_MS)
    yield context
    context.close()


@pytest.fixture
def watched(context: BrowserContext) -> Watched:
    return _watch(context.new_page())


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $FEEDTOOL_ARTIFACTS if set, else a temporary folder; the summary names them."""
    given = os.environ.get("FEEDTOOL_ARTIFACTS")
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("artifacts")


# --- what the page shows, and what the feed holds -------------------------------------------


def _listed(page: Page) -> list[tuple[str, str]]:
    """(GUID, title) of every episode the page lists, in order."""
    rows: list[list[str]] = page.eval_on_selector_all(
        "#episodes li.episode",
        "items => items.map(li => [li.dataset.guid, li.querySelector('a.title').textContent.trim()])",
    )
    return [(guid, title) for guid, title in rows]


def _feed_items(url: str) -> list[tuple[str, str]]:
    """(GUID, title) of every item of the RSS feed at ``url``, in order."""
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:200]}"
    channel = etree.fromstring(response.content).find("channel")
    assert channel is not None, url
    return [(item.findtext("guid", ""), item.findtext("title", "")) for item in channel.iter("item")]


def _params(url: str) -> list[tuple[str, str]]:
    return sorted(parse_qsl(urlsplit(url).query))


def _fill_filter(page: Page) -> None:
    """Apply the test's filter through the form as a person would: a tag box, typed words, a date."""
    page.check(f"#filter input[name=tag][value={TAG}]")
    page.locator("#filter input[name=q]").press_sequentially(WORDS, delay=20)
    page.fill("#filter input[name=since]", SINCE)


def _wait_for_live_update(page: Page) -> None:
    """Until the address bar carries the whole filter and no update is in flight."""
    page.wait_for_function(
        """([tag, words, since]) => {
            const query = new URL(location.href).searchParams;
            return query.getAll('tag').includes(tag) && query.get('q') === words && query.get('since') === since
                && !document.querySelector('#results[aria-busy], #subscribe[aria-busy]')
                && document.querySelectorAll('#episodes li.episode').length === Number(
                    document.querySelector('#count').dataset.count);
        }""",
        arg=[TAG, WORDS, SINCE],
        timeout=WAIT_MS,
    )


def _check_against_the_feed(site: Site, page: Page) -> list[tuple[str, str]]:
    """The page lists exactly the items of the feed it offers, and that feed has the page's filter."""
    subscribe = page.input_value("#feed-url")
    assert subscribe.startswith(f"{site.base}/feeds/{SHOW}.rss"), subscribe
    assert _params(subscribe) == _params(page.url), (subscribe, page.url)
    assert page.get_attribute("#feed-rss", "href") in (subscribe, subscribe.removeprefix(site.base))
    listed = _listed(page)
    assert listed == _feed_items(subscribe)
    assert page.get_attribute("#count", "data-count") == str(len(listed))
    assert page.text_content("#count").strip().startswith(f"{len(listed)} episode")  # type: ignore[union-attr]
    return listed


# --- the tests -------------------------------------------------------------------------------


def test_the_form_filters_live_and_lists_exactly_the_feeds_items(site: Site, watched: Watched) -> None:
    page = watched.page
    page.goto(site.show_url())
    everything = _listed(page)
    assert len(everything) == 12
    _fill_filter(page)
    _wait_for_live_update(page)
    listed = _check_against_the_feed(site, page)
    assert [guid for guid, _ in listed] == ["lab-10", "lab-8"]
    # The address is the filter: opening it afresh shows the same list.
    assert _params(page.url) == sorted([("tag", TAG), ("q", WORDS), ("since", SINCE)]), page.url
    page.goto(page.url)
    assert _listed(page) == listed
    watched.assert_clean()


def test_copy_puts_the_subscribe_url_on_the_clipboard(site: Site, watched: Watched) -> None:
    page = watched.page
    page.goto(site.show_url())
    _fill_filter(page)
    _wait_for_live_update(page)
    subscribe = page.input_value("#feed-url")
    page.click("#subscribe button.copy[data-copy=feed-url]")
    page.wait_for_function("() => document.querySelector('.copy-status')?.textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == subscribe
    watched.assert_clean()


def test_without_javascript_the_form_gives_the_same_list(browser: Browser, site: Site, watched: Watched) -> None:
    page = watched.page
    page.goto(site.show_url())
    _fill_filter(page)
    _wait_for_live_update(page)
    live = _listed(page)

    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 800})
    try:
        plain = _watch(context.new_page())
        plain.page.goto(site.show_url())
        _fill_filter(plain.page)
        with plain.page.expect_navigation():
            plain.page.click("#filter button[type=submit]")
        assert _params(plain.page.url) == _params(page.url)
        assert _listed(plain.page) == live
        _check_against_the_feed(site, plain.page)
        plain.assert_clean()
    finally:
        context.close()
    watched.assert_clean()


def test_an_invalid_filter_while_typing_says_why_and_keeps_the_list(site: Site, watched: Watched) -> None:
    page = watched.page
    page.goto(site.show_url())
    _fill_filter(page)
    _wait_for_live_update(page)
    listed, address = _listed(page), page.url
    page.locator("#filter input[name=min_duration]").press_sequentially("ten", delay=20)
    page.wait_for_function("() => (document.querySelector('#filter .live-status.error')?.textContent || '') !== ''")
    assert "min_duration" in page.text_content("#filter .live-status")  # type: ignore[operator]
    assert _listed(page) == listed
    assert page.url == address
    page.fill("#filter input[name=min_duration]", "")
    page.wait_for_function("() => !document.querySelector('#filter .live-status.error')")
    assert _listed(page) == listed
    # The browser logs the 400 of the page's own request; nothing else may go wrong.
    assert [p for p in watched.problems if "status of 400" not in p] == []


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize(("name", "width", "height"), [("phone", 390, 844), ("desktop", 1280, 800)])
def test_screenshots_at_phone_and_desktop_width(
    site: Site, watched: Watched, artifacts: Path, name: str, width: int, height: int
) -> None:
    page = watched.page
    page.set_viewport_size({"width": width, "height": height})
    page.goto(site.show_url())
    _fill_filter(page)
    _wait_for_live_update(page)
    path = artifacts / f"shows-{SHOW}-{name}-{width}x{height}.png"
    data = page.screenshot(path=str(path), full_page=True)
    figures.artifact(f"browser screenshot, {name} {width}x{height}", path)
    # Responsive: nothing is wider than the screen, so nobody scrolls sideways.
    wide = page.evaluate(
        """(width) => Array.from(document.querySelectorAll('body *'))
            .filter((e) => e.getBoundingClientRect().right > width)
            .map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}`
                + [...e.classList].map((c) => '.' + c).join('')
                + ` (right ${e.getBoundingClientRect().right})`)""",
        width,
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"wider than the screen: {wide}"
    assert _png_size(data)[0] == width
    watched.assert_clean()


def test_keyboard_reaches_the_form_and_copy_and_enter_submits(site: Site, watched: Watched) -> None:
    page = watched.page
    page.goto(site.show_url())
    reached: list[str] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate(
                """() => { const e = document.activeElement;
                   return e.matches('button.copy') ? 'copy' : e.getAttribute('name') || e.tagName.toLowerCase(); }"""
            )
        )
        if "copy" in reached:
            break
    for control in ("tag", "q", "since", "until", "sort", "button", "copy"):
        assert control in reached, f"Tab never reached {control}: {reached}"
    page.focus("#filter input[name=q]")
    page.keyboard.type(WORDS)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert ("q", WORDS) in parse_qsl(urlsplit(page.url).query), page.url
    listed = _check_against_the_feed(site, page)
    assert {guid for guid, _ in listed} == {f"lab-{n}" for n in INTERVIEWS}
    watched.assert_clean()


def test_the_qr_code_decodes_to_the_subscribe_url(site: Site, watched: Watched) -> None:
    zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp is not installed")
    image = pytest.importorskip("PIL.Image", reason="Pillow is not installed")
    page = watched.page
    page.goto(site.show_url())
    _fill_filter(page)
    _wait_for_live_update(page)
    png = page.locator("#qr svg").screenshot()
    found = zxingcpp.read_barcodes(image.open(io.BytesIO(png)))
    assert [code.text for code in found] == [page.input_value("#feed-url")]
    watched.assert_clean()
