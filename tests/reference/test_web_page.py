"""The web progress page (reference/web/) end to end in headless Chromium, driven by Playwright.

Uses Debian's `chromium` at /usr/bin/chromium (never `playwright install`). The page is served by a
live reference server at /ui/; the simulated sender moves the run to completion. Screenshots are
written to artifacts/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from conftest import REPO, RunningServer
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

pytestmark = pytest.mark.browser

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
ARTIFACTS = REPO / "artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.add_style_tag(content=".bar-fill { transition: none; }")  # the final state, not mid-way
    page.screenshot(path=str(path), full_page=True)
    return path


def page_url(server: RunningServer, fragment: dict[str, str] | None = None, **query: str) -> str:
    url = f"{server.base_url}/ui/"
    if query:
        url += "?" + urlencode(query)
    if fragment:
        url += "#" + urlencode(fragment)
    return url


# -- the page's own WHATWG parser, in the browser -------------------------------------------------

PARSER_CASES = [
    ("data: x\n\n", [["message", "x"]]),
    ("data: x\r\n\r\n", [["message", "x"]]),
    ("data: x\r\r", [["message", "x"]]),
    ("data: a\rdata: b\r\n\n", [["message", "a\nb"]]),
    ("data: a\u2028b\n\n", [["message", "a\u2028b"]]),
    (": c\ndata:x\n\n", [["message", "x"]]),
    ("data:  x\n\n", [["message", " x"]]),
    ("data\n\n", [["message", ""]]),
    ("data\ndata\n\n", [["message", "\n"]]),
    ("Data: x\n\n", []),
    ("event: a\nevent: b\ndata: x\n\n", [["b", "x"]]),
    ("event: ping\n\n", []),
    ("id: 7\n\n", []),
    ("data: x", []),
    ("\ufeffdata: x\n\n", [["message", "x"]]),
    ("\ufeff\ufeffdata: x\n\n", []),
    ("event: e\r\ndata: 1\r\n\r\nevent: e\r\ndata: 2\r\n\r\n", [["e", "1"], ["e", "2"]]),
]

_RUN_CASES = """
([body, splits]) => {
  const bytes = new TextEncoder().encode(body);
  const results = [];
  for (const split of splits) {
    const parser = new SseParser();
    let events = [];
    let start = 0;
    for (const cut of [...split, bytes.length]) {
      events = events.concat(parser.feed(bytes.slice(start, cut)));
      start = cut;
    }
    events = events.concat(parser.close());
    results.push(events.map((e) => [e.type, e.data]));
  }
  return results;
}
"""


def test_page_parser_follows_whatwg_under_any_split(page: Page, server: RunningServer) -> None:
    page.goto(page_url(server))
    for body, expected in PARSER_CASES:
        size = len(body.encode())
        # Whole, every two-piece split (a CRLF split across reads among them), one byte at a time.
        splits = [[], *([cut] for cut in range(1, size)), list(range(1, size))]
        results = page.evaluate(_RUN_CASES, [body, splits])
        assert all(result == expected for result in results), (body, results)


def test_page_parser_retry_and_ids(page: Page, server: RunningServer) -> None:
    page.goto(page_url(server))
    state = page.evaluate(
        """() => {
          const parser = new SseParser();
          const seen = [];
          for (const line of ["retry: 1500", "retry: +5", "retry: 10x", "retry: 1_0"]) {
            parser.feed(new TextEncoder().encode(line + "\\n\\n"));
            seen.push(parser.retry);
          }
          const events = parser.feed(new TextEncoder().encode(
            "id: 1\\ndata: a\\n\\nid: 2\\u00003\\ndata: b\\n\\nid: 9\\ndata: c"));
          parser.close();
          return {seen, ids: events.map((e) => e.lastEventId), last: parser.lastEventId};
        }"""
    )
    assert state == {"seen": [1500, 1500, 1500, 1500], "ids": ["1", "1"], "last": "1"}


def test_backoff_delays_in_the_page(page: Page, server: RunningServer) -> None:
    page.goto(page_url(server))
    delays = page.evaluate(
        """() => [0, 0.5, 0.999].map((r) =>
             [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(DEFAULT_POLICY, n, () => r)))"""
    )
    assert delays[1] == [500, 1000, 2000, 4000, 8000, 8000]
    assert delays[0][:5] == [400, 800, 1600, 3200, 6400]
    assert all(delay <= 8000 for row in delays for delay in row)


# -- end to end against the reference server ------------------------------------------------------


def test_page_creates_a_run_and_the_bar_reaches_100(page: Page, server: RunningServer) -> None:
    workspace, token = server.new_workspace()
    page.goto(page_url(server, workspace=workspace))
    page.fill("#token", token)
    page.fill("#invoice-count", "30")
    page.click("#create")
    expect(page.locator("body")).to_have_attribute("data-state", "complete", timeout=30_000)
    expect(page.locator("#bar")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#percent")).to_have_text("100 %")
    expect(page.locator("#source")).to_have_text("source: stream")
    expect(page.locator("[data-count=expectedInvoiceCount]")).to_have_text("30")
    expect(page.locator("[data-count=pendingCount]")).to_have_text("0")
    run_id = page.input_value("#run")
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", run_id)
    expect(page.locator("#run-label")).to_have_text(run_id)
    assert screenshot(page, "web-page-complete.png").stat().st_size > 0


def test_page_falls_back_to_polling_when_the_stream_fails(
    page: Page, server: RunningServer
) -> None:
    workspace, token = server.new_workspace()
    with server.client(token, workspace) as client:
        response = client.post(
            "/classes/billing/runs",
            json={"month": "2026-11", "invoiceCount": 20, "sendInvoices": True},
        )
    run_id = response.raise_for_status().json()["billingRunId"]
    aborted: list[str] = []
    polled: list[str] = []

    def break_stream(route: Route) -> None:
        aborted.append(route.request.url)
        route.abort("connectionreset")

    page.route("**/send-progress/stream", break_stream)
    page.on(
        "request",
        lambda request: (
            polled.append(request.url) if request.url.endswith("/send-progress") else None
        ),
    )
    query = {
        "workspace": workspace,
        "run": run_id,
        "intervalMs": "200",
        "initialDelayMs": "100",  # the default 3 attempts, sooner than 0.5 + 1 + 2 s
    }
    page.goto(page_url(server, {"token": token}, **query))
    expect(page.locator("body")).to_have_attribute("data-state", "complete", timeout=30_000)
    expect(page.locator("#bar")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#source")).to_have_text("source: polling")
    expect(page.locator("#log")).to_contain_text("fallback to polling")
    assert len(aborted) == 4  # the first connection and 3 reconnection attempts (CLI-5)
    assert polled  # the fallback endpoint was read
    assert screenshot(page, "web-page-polling-fallback.png").stat().st_size > 0


def test_page_stops_on_an_auth_error_without_polling(page: Page, server: RunningServer) -> None:
    workspace, _ = server.new_workspace()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(page_url(server, {"token": "wrong"}, workspace=workspace, run="run_x"))
    expect(page.locator("body")).to_have_attribute("data-state", "error", timeout=15_000)
    expect(page.locator("#message")).to_contain_text("authentication failed")
    stream_requests = [url for url in requests if url.endswith("/stream")]
    assert len(stream_requests) == 1  # CLI-8: no retry
    assert not [url for url in requests if url.endswith("/send-progress")]


def test_page_reads_a_stream_with_crlf_split_across_reads(
    page: Page, server: RunningServer
) -> None:
    """A stream whose body arrives in pieces cut inside CRLF pairs still completes."""
    payload = {
        "billingRunId": "run_crlf",
        "month": "2026-11",
        "progress": None,
        "isComplete": True,
        "generatedAt": "2026-11-03T00:00:00Z",
    }
    body = f"event: billing.invoice-send-progress\r\ndata: {json.dumps(payload)}\r\n\r\n"
    page.goto(page_url(server))
    result = page.evaluate(
        """async (body) => {
          const bytes = new TextEncoder().encode(body);
          const cuts = [];
          for (let i = 1; i < bytes.length; i++) if (bytes[i - 1] === 13) cuts.push(i);
          const stream = new ReadableStream({
            start(controller) {
              let start = 0;
              for (const cut of [...cuts, bytes.length]) {
                controller.enqueue(bytes.slice(start, cut));
                start = cut;
              }
              controller.close();
            },
          });
          const realFetch = window.fetch;
          window.fetch = async () => new Response(stream, {
            status: 200, headers: {"Content-Type": "text/event-stream"}});
          try {
            return await new Promise((resolve) => {
              const seen = [];
              subscribeSse("http://example.invalid/stream", {
                eventName: "billing.invoice-send-progress",
                onEvent: (event) => seen.push(event.type),
                onClose: (ending) => resolve({seen, reason: ending.reason, cuts: cuts.length}),
              });
            });
          } finally {
            window.fetch = realFetch;
          }
        }""",
        body,
    )
    assert result == {"seen": ["snapshot"], "reason": "completed", "cuts": 3}


def test_page_subscription_reconnect_table(page: Page, server: RunningServer) -> None:
    """503 then a stream with a bad event and a timeout, then completion: what the page's
    subscribeSse does after each, with fetch replaced by a script."""
    progress = {
        "billingRunId": "r",
        "month": "2026-11",
        "progress": None,
        "isComplete": False,
        "generatedAt": "2026-11-03T00:00:00Z",
    }
    snapshot = f"event: billing.invoice-send-progress\ndata: {json.dumps(progress)}\n\n"
    complete = snapshot.replace('"isComplete": false', '"isComplete": true')
    bad = "event: billing.invoice-send-progress\ndata: {oops\n\n"
    timeout = (
        'event: timeout\ndata: {"startedAt": "2026-11-03T00:00:00Z", '
        '"timestamp": "2026-11-03T00:00:03Z", "timeoutMs": 3000}\n\n'
    )
    page.goto(page_url(server))
    result = page.evaluate(
        """async ([bodies]) => {
          const answers = [
            () => new Response(JSON.stringify({title: "Busy", status: 503}),
              {status: 503, headers: {"Content-Type": "application/problem+json"}}),
            ...bodies.map((body) => () => new Response(body,
              {status: 200, headers: {"Content-Type": "text/event-stream"}})),
          ];
          const realFetch = window.fetch;
          let calls = 0;
          window.fetch = async () => answers[Math.min(calls++, answers.length - 1)]();
          try {
            return await new Promise((resolve) => {
              const seen = [], errors = [], delays = [];
              subscribeSse("http://example.invalid/stream", {
                eventName: "billing.invoice-send-progress",
                policy: {initialDelayMs: 20},
                onEvent: (event) => seen.push(event.type),
                onError: (error) => errors.push(error.kind),
                onReconnect: (attempt, delay) => delays.push([attempt, delay]),
                onClose: (ending) => resolve({seen, errors, delays, calls, reason: ending.reason}),
              });
            });
          } finally {
            window.fetch = realFetch;
          }
        }""",
        [[bad + snapshot + timeout + snapshot, complete]],
    )
    assert result["reason"] == "completed"
    assert result["calls"] == 3
    assert result["seen"] == ["snapshot", "timeout", "snapshot"]  # nothing read after the timeout
    assert result["errors"] == ["status", "invalid"]
    [[attempt, delay]] = result["delays"]  # the timeout reconnects at once, without backoff
    assert attempt == 1
    assert 16 <= delay <= 24  # 20 ms ± 20 %
