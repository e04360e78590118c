"""HTML rendering: one self-contained file (no external resource), evidence and timelines.

The structural tests parse the file with the standard library; the browser test opens it in
Debian's headless Chromium (Playwright, never `playwright install`), checks that it asks for
nothing but itself, and writes a screenshot to artifacts/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from gate_runs import (
    FAULT_CHECK,
    ROOT,
    faulty_run,
    reference_run,
    setup_failure_report,
    strip_baseline,
)

from conformance.report.html import render_html, timeline_svg

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "artifacts"
_FETCHING_TAGS = {"script", "link", "img", "iframe", "object", "embed", "audio", "video", "source"}
_URL_ATTRIBUTES = {"src", "href", "action", "srcset", "poster", "data", "xlink:href", "formaction"}


class _Inventory(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.urls: list[str] = []
        self.ids: set[str] = set()
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_title = tag == "title" and "svg" not in self.tags[-2:-1]
        for name, value in attrs:
            if name in _URL_ATTRIBUTES:
                self.urls.append(value or "")
            if name == "id" and value:
                self.ids.add(value)

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title and not self.title:
            self.title = data


def _inventory(text: str) -> _Inventory:
    parser = _Inventory()
    parser.feed(text)
    parser.close()
    return parser


def test_the_file_is_self_contained() -> None:
    run = faulty_run()
    text = run.text("html")
    assert text == render_html(run.report)
    found = _inventory(text)
    assert not _FETCHING_TAGS & set(found.tags)
    assert all(url.startswith("#") for url in found.urls), found.urls
    assert "url(" not in text
    assert "@import" not in text
    assert "<svg" in text


def test_every_check_and_every_exchange_has_its_section_and_links_resolve() -> None:
    report = reference_run().report
    found = _inventory(render_html(report))
    assert {f"c-{c['id']}" for c in report["checks"]} <= found.ids
    assert all(url[1:] in found.ids for url in found.urls)
    assert (
        found.title
        == f"ssegate: {'conformant' if report['summary']['exitCode'] == 0 else 'not conformant'}"
    )


def test_the_timeline_marks_every_heartbeat_and_data_event_of_the_idle_stream() -> None:
    report = reference_run().report
    idle = report["transcripts"]["idle"]
    event = report["server"]["profile"]["event"]
    svg = timeline_svg(idle, event)
    beats = [line for line in idle["lines"] if line.get("event") == "heartbeat"]
    data = [line for line in idle["lines"] if line.get("event") == event]
    assert beats
    assert data
    assert svg.count(" ms heartbeat ") == len(beats)
    assert svg.count(f" ms {event} ") == len(data)
    assert svg.count("<circle") == len(data)
    assert timeline_svg({"label": "x", "lines": []}, event) == ""


def test_a_partial_run_and_a_failure_are_visible_at_the_top() -> None:
    report = strip_baseline(faulty_run().report)
    report["settings"].update(partial=True, excluded=["wire.utf8"])
    text = render_html(report)
    assert _inventory(text).title == "ssegate: partial run: not conformant"
    assert "partial run, 1 check(s) excluded; never reported as conformant" in text
    assert f'<details id="c-{FAULT_CHECK}" open>' in text


def test_a_setup_failure_renders_without_profile_or_transcripts() -> None:
    report = setup_failure_report()
    text = render_html(report)
    assert _inventory(text).title == "ssegate: setup failed"
    assert "setup failed: control API GET" in text
    assert "<svg" not in text


@pytest.mark.browser
def test_chromium_renders_it_offline_and_a_screenshot_is_written(tmp_path: Path) -> None:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    from playwright.sync_api import sync_playwright

    run = faulty_run()
    page_file = tmp_path / "report.html"
    page_file.write_text(run.text("html"), encoding="utf-8")
    requested: list[str] = []
    errors: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "ssegate-report.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda request: requested.append(request.url))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(page_file.as_uri())
            assert page.title() == "ssegate: not conformant"
            failed = page.locator(f'[id="c-{FAULT_CHECK}"]')
            assert failed.get_attribute("open") is None  # baselined: collapsed
            timeline = page.locator("#t-idle svg")
            box = timeline.bounding_box()
            assert box is not None
            assert box["width"] > 500
            assert box["height"] > 50
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    assert requested == [page_file.as_uri()]
    assert errors == []
    assert shot.stat().st_size > 10_000
