"""One self-contained HTML file rendered from the JSON report.

No external resource of any kind (no stylesheet, script, font or image URL: it must open from a
CI artifact store, offline, and under a strict Content-Security-Policy), no JavaScript: collapsing
is ``<details>``. It shows the run's label (partial runs say so in the title and a banner), the
verdict counts, every check by family with its evidence, and every recorded exchange with its
transcript and a timeline: an inline SVG of the stream's events on a millisecond axis (data
events, heartbeats, timeout, error, comments, the end), which a person reads faster than a log.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from conformance.report.evidence import run_label

__all__ = ["render_html", "timeline_svg"]

_COLOURS = {
    "PASS": "#1a7f37",
    "FAIL": "#cf222e",
    "WARN": "#9a6700",
    "INFO": "#0969da",
    "N/A": "#6e7781",
    "ERROR": "#8250df",
    "HARNESS-ERROR": "#000000",
}
# Timeline marks: (colour, shape) per kind of line; data events use the profile's event name.
_MARKS = {
    "data": ("#0969da", "circle"),
    "heartbeat": ("#1a7f37", "tick"),
    "timeout": ("#bc4c00", "diamond"),
    "error": ("#cf222e", "diamond"),
    "other": ("#8250df", "circle"),
    "comment": ("#8c959f", "tick"),
    "headers": ("#57606a", "bar"),
    "end": ("#24292f", "bar"),
    "partial": ("#cf222e", "bar"),
    "discarded": ("#cf222e", "tick"),
}
_ROWS = ("data", "heartbeat", "timeout/error", "comment", "framing")
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1200px;
padding:1rem 2rem;color:#1f2328;background:#fff}
h1{font-size:1.5rem;margin:.2rem 0}
h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
.banner{padding:.6rem 1rem;border-radius:6px;margin:.6rem 0;font-weight:600}
.ok{background:#dafbe1}.bad{background:#ffebe9}.partial{background:#fff8c5}
table{border-collapse:collapse;width:100%;margin:.4rem 0}
th,td{border:1px solid #d0d7de;padding:.2rem .45rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
pre{background:#f6f8fa;padding:.5rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.v{font-weight:700;white-space:nowrap}details{margin:.25rem 0}summary{cursor:pointer}
.muted{color:#57606a}svg{background:#fbfcfd;border:1px solid #d0d7de;display:block;margin:.3rem 0}
.counts span{display:inline-block;margin-right:1rem}
"""


def _verdict(verdict: str) -> str:
    colour = _COLOURS.get(verdict, "#1f2328")
    return f'<span class="v" style="color:{colour}">{escape(verdict)}</span>'


def _anchor(label: str) -> str:
    return "t-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in label)


def _kind(line: Mapping[str, Any], data_event: str | None) -> str:
    kind = str(line["kind"])
    if kind != "event":
        return kind
    event = line.get("event")
    if event == data_event:
        return "data"
    if event in ("heartbeat", "timeout", "error"):
        return str(event)
    return "other"


def _row_of(kind: str) -> int:
    if kind in ("data", "other"):
        return 0
    if kind == "heartbeat":
        return 1
    if kind in ("timeout", "error"):
        return 2
    if kind == "comment":
        return 3
    return 4


def timeline_svg(
    transcript: Mapping[str, Any], data_event: str | None, *, width: int = 1000
) -> str:
    """An inline SVG of ``transcript``'s lines on a time axis; empty when it has no timed line."""
    timed = [line for line in transcript.get("lines", []) if line.get("atMs") is not None]
    if not timed:
        return ""
    left, right, top, row_h = 110, 20, 10, 22
    span = max(float(line["atMs"]) for line in timed) or 1.0
    scale = (width - left - right) / span
    height = top + row_h * len(_ROWS) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="timeline of '
        f'{escape(str(transcript["label"]))}">'
    ]
    for index, name in enumerate(_ROWS):
        y = top + row_h * index + row_h / 2
        parts.append(
            f'<text x="4" y="{y + 4:.1f}" font-size="11" fill="#57606a">{escape(name)}</text>'
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            'stroke="#eaeef2"/>'
        )
    axis_y = top + row_h * len(_ROWS) + 4
    parts.append(
        f'<line x1="{left}" y1="{axis_y}" x2="{width - right}" y2="{axis_y}" stroke="#8c959f"/>'
    )
    step = _tick_step(span)
    tick = 0.0
    while tick <= span + 1e-9:
        x = left + tick * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 4}" stroke="#8c959f"/>'
            f'<text x="{x:.1f}" y="{axis_y + 16}" font-size="10" text-anchor="middle" '
            f'fill="#57606a">{tick:.0f} ms</text>'
        )
        tick += step
    for line in timed:
        kind = _kind(line, data_event)
        colour, shape = _MARKS.get(kind, ("#57606a", "tick"))
        x = left + float(line["atMs"]) * scale
        y = top + row_h * _row_of(kind) + row_h / 2
        what = line.get("event") or line["kind"]
        detail = line.get("data") or line.get("text") or ""
        tip = escape(f"{line['atMs']:.0f} ms {what} {detail}"[:200])
        if shape == "circle":
            mark = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}">'
        elif shape == "diamond":
            mark = (
                f'<polygon points="{x:.1f},{y - 6:.1f} {x + 6:.1f},{y:.1f} {x:.1f},{y + 6:.1f} '
                f'{x - 6:.1f},{y:.1f}" fill="{colour}">'
            )
        elif shape == "bar":
            mark = f'<rect x="{x - 1.5:.1f}" y="{y - 8:.1f}" width="3" height="16" fill="{colour}">'
        else:
            mark = f'<rect x="{x - 1:.1f}" y="{y - 6:.1f}" width="2" height="12" fill="{colour}">'
        closing = mark.split(" ", 1)[0].lstrip("<")
        parts.append(f"{mark}<title>{tip}</title></{closing}>")
    parts.append("</svg>")
    return "".join(parts)


def _tick_step(span: float) -> float:
    for step in (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 60000):
        if span / step <= 12:
            return float(step)
    return span / 10


def _transcript_table(transcript: Mapping[str, Any]) -> str:
    rows = []
    for line in transcript.get("lines", []):
        at = "" if line.get("atMs") is None else f"{line['atMs']:.1f}"
        if line["kind"] == "event":
            what = escape(str(line.get("event")))
            ident = "" if line.get("id") is None else escape(str(line["id"]))
            text = escape(str(line.get("data", "")))
        else:
            what, ident, text = escape(str(line["kind"])), "", escape(str(line.get("text", "")))
        rows.append(
            f"<tr><td>{at}</td><td>{what}</td><td>{ident}</td><td><code>{text}</code></td></tr>"
        )
    head = "<tr><th>ms</th><th>event / kind</th><th>id</th><th>data / text</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _transcript_section(transcript: Mapping[str, Any], data_event: str | None) -> str:
    label = str(transcript["label"])
    headers = "\n".join(f"{n}: {v}" for n, v in transcript.get("responseHeaders", []))
    request = "\n".join(f"{n}: {v}" for n, v in transcript.get("requestHeaders", {}).items())
    end = transcript.get("end") or {}
    end_text = (
        f"{end.get('kind')} at {end.get('atMs')} ms {end.get('detail') or ''}" if end else "-"
    )
    parts = [
        f'<section id="{_anchor(label)}"><h3>{escape(label)}</h3>',
        f"<p><code>{escape(str(transcript['method']))} {escape(str(transcript['url']))}</code> "
        f"&rarr; {escape(str(transcript['status']))}, {transcript['bodyBytes']} bytes; end: "
        f"{escape(end_text)}</p>",
        timeline_svg(transcript, data_event),
        "<details><summary>request and response headers</summary>"
        f"<pre>{escape(request)}\n\n{escape(headers)}</pre></details>",
        f"<details><summary>transcript ({len(transcript.get('lines', []))} lines)</summary>"
        f"{_transcript_table(transcript)}</details>",
    ]
    if transcript.get("requestBody"):
        parts.append(f"<p>request body:</p><pre>{escape(str(transcript['requestBody']))}</pre>")
    if transcript.get("body"):
        parts.append(f"<p>response body:</p><pre>{escape(str(transcript['body']))}</pre>")
    parts.append("</section>")
    return "\n".join(parts)


def _check_details(report: Mapping[str, Any], check: Mapping[str, Any]) -> str:
    problem = check["verdict"] in ("FAIL", "WARN", "ERROR", "HARNESS-ERROR")
    baseline = check.get("baseline")
    note = ""
    if baseline:
        note = f' <span class="muted">[baseline: {escape(baseline["status"])}]</span>'
    body = [
        f"<p>{escape(check['title'])}</p>",
        f"<p class=muted>expects: {escape(check['expects'])}</p>",
    ]
    if baseline:
        body.append(f"<p>baseline reason: {escape(baseline['reason'])}</p>")
    if check["reason"]:
        body.append(f"<p>reason: {escape(check['reason'])}</p>")
    if check["expected"] or check["actual"]:
        body.append(
            f"<table><tr><th>expected</th><td>{escape(check['expected'])}</td></tr>"
            f"<tr><th>actual</th><td>{escape(check['actual'])}</td></tr></table>"
        )
    for req in check["requirements"]:
        found = report["requirements"].get(req)
        if found:
            body.append(
                f"<p><b>{escape(req)}</b> ({escape(found['level'])}, {escape(found['file'])}): "
                f"{escape(found['text'])}</p>"
            )
    if check["observed"]:
        observed = json.dumps(check["observed"], indent=1, ensure_ascii=False)
        body.append(f"<pre>{escape(observed)}</pre>")
    links = [
        f'<a href="#{_anchor(label)}">{escape(label)}</a>'
        for label in check["transcripts"]
        if label in report["transcripts"]
    ]
    if links:
        body.append("<p>transcripts: " + ", ".join(links) + "</p>")
    data_event = (report["server"].get("profile") or {}).get("event")
    for label in check["transcripts"][:1]:
        transcript = report["transcripts"].get(label)
        if transcript is not None:
            body.append(timeline_svg(transcript, data_event, width=900))
    opened = (
        " open" if problem and not (baseline and baseline["status"] == "expected-failure") else ""
    )
    return (
        f'<details id="c-{escape(check["id"])}"{opened}><summary>{_verdict(check["verdict"])} '
        f"<code>{escape(check['id'])}</code> {escape(check['level'])} "
        f"[{escape(', '.join(check['requirements']))}]{note}</summary>"
        + "\n".join(body)
        + "</details>"
    )


def _families(checks: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    families: dict[str, list[Mapping[str, Any]]] = {}
    for check in checks:
        families.setdefault(check["family"], []).append(check)
    return families


def render_html(report: Mapping[str, Any]) -> str:
    """The HTML document for ``report``."""
    summary = report["summary"]
    settings = report["settings"]
    server = report["server"]
    label = run_label(report)
    partial = bool(settings["partial"])
    banner_class = "partial" if partial else ("ok" if summary["exitCode"] == 0 else "bad")
    title = f"ssegate: {label}"
    profile = server.get("profile") or {}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<div class="banner {banner_class}">exit code {summary["exitCode"]}: {escape(label)}'
        + (
            f" &mdash; partial run, {len(settings['excluded'])} check(s) excluded; never "
            "reported as conformant"
            if partial
            else ""
        )
        + "</div>",
        f"<p><code>{escape(server['baseUrl'])}</code>, ssegate "
        f"{escape(report['suite']['version'])}, spec {escape(report['specVersion'])}, contract "
        f"{escape(str(report['contracts']['judgedAgainst']))}; started "
        f"{escape(report['startedAt'])}, {report['wallTimeMs'] / 1000:.2f} s.</p>",
    ]
    if profile:
        parts.append(
            f"<p class=muted>profile {escape(str(profile.get('name')))}: interval "
            f"{profile.get('intervalMs')} ms, heartbeat {profile.get('heartbeatMs')} ms, timeout "
            f"{profile.get('timeoutMs')} ms; features: "
            f"{escape(', '.join(server['features']) or 'none')}; tolerance max("
            f"{settings['toleranceMs']:g} ms, {settings['toleranceRatio']:g} x P)</p>"
        )
    if report.get("setupError"):
        parts.append(f'<div class="banner bad">setup failed: {escape(report["setupError"])}</div>')
    parts.append(
        '<p class="counts">'
        + "".join(f"<span>{_verdict(v)} {n}</span>" for v, n in summary["verdicts"].items() if n)
        + "</p>"
    )
    baseline = summary.get("baseline")
    if baseline:
        parts.append(
            f"<p>baseline <code>{escape(baseline['source'])}</code>: {baseline['entries']} "
            f"entries; expected failures: "
            f"{escape(', '.join(baseline['expectedFailures']) or '-')}; "
            f"stale: {escape(', '.join(baseline['stale']) or '-')}</p>"
        )
    parts.append("<h2>Checks</h2>")
    for family, members in _families(report["checks"]).items():
        parts.append(f"<h3>{escape(family)}</h3>")
        parts.extend(_check_details(report, check) for check in members)
    if settings["excluded"]:
        parts.append(
            "<h3>excluded (not run)</h3><p>" + escape(", ".join(settings["excluded"])) + "</p>"
        )
    parts.append("<h2>Exchanges</h2>")
    data_event = profile.get("event")
    parts.append(
        "<p class=muted>Timelines: blue circle = data event, green tick = heartbeat, orange "
        "diamond = timeout, red diamond = error, grey tick = comment, dark bar = headers / "
        "end.</p>"
    )
    for transcript in report["transcripts"].values():
        parts.append(_transcript_section(transcript, data_event))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
