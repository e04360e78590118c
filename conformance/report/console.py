"""The console report, rendered with rich from the JSON report document.

Grouped by clause family, one line per check, then the details of every FAIL, WARN, ERROR and
HARNESS-ERROR (expected vs actual, the requirement text, a transcript excerpt), then one summary
line. For a red run, families whose checks all passed fold into one line each so the problems
fit one screen; ``verbose`` lists every check whatever happened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from conformance.report.evidence import run_label

__all__ = ["render"]

_STYLES = {
    "PASS": "green",
    "FAIL": "bold red",
    "WARN": "yellow",
    "INFO": "cyan",
    "N/A": "dim",
    "ERROR": "bold magenta",
    "HARNESS-ERROR": "bold white on red",
}
_PROBLEMS = ("FAIL", "WARN", "ERROR", "HARNESS-ERROR")
_TRANSCRIPT_LINES = 8
_EXIT_MEANING = {
    0: "conformant",
    1: "not conformant",
    2: "usage or configuration error",
    3: "server unreachable or setup failed",
    4: "harness fault",
}


def _verdict(verdict: str) -> Text:
    return Text(f"{verdict:<13}", style=_STYLES.get(verdict, ""))


def _header(report: Mapping[str, Any]) -> str:
    server = report["server"]
    profile = server.get("profile")
    settings = report["settings"]
    describe = server.get("describe") or {}
    name = describe.get("server", {}).get("name", "?") if isinstance(describe, dict) else "?"
    version = describe.get("server", {}).get("version", "?") if isinstance(describe, dict) else "?"
    lines = [
        f"ssegate check {escape(server['baseUrl'])}  "
        f"(suite {report['suite']['version']}, spec {report['specVersion']})"
    ]
    if profile:
        lines.append(
            f"server {escape(str(name))} {escape(str(version))}, protocol "
            f"{describe.get('protocolVersion', '?')}, profile {profile['name']} "
            f"({profile['contract']}): interval {profile['intervalMs']} ms, heartbeat "
            f"{profile['heartbeatMs']} ms, timeout {profile['timeoutMs']} ms; features: "
            f"{', '.join(server['features']) or 'none'}"
        )
    lines.append(
        f"tolerance max({settings['toleranceMs']:g} ms, {settings['toleranceRatio']:g} x P)"
        + ("; strict" if settings["strict"] else "")
    )
    return "\n".join(lines)


def _check_line(console: Console, check: Mapping[str, Any], width: int) -> None:
    line = Text("  ")
    line.append_text(_verdict(check["verdict"]))
    line.append(f"{check['id']:<{width}}  ")
    line.append(check["title"])
    line.append(f"  [{', '.join(check['requirements'])}]", style="dim")
    if check.get("baseline"):
        line.append(f"  (baseline: {check['baseline']['status']})", style="bold")
    console.print(line, overflow="ellipsis", no_wrap=True)
    # Load mode (conformance/load.py): the latency percentiles are the point of the run.
    percentiles = check["observed"].get("percentilesMs")
    if check["family"] == "load" and isinstance(percentiles, dict):
        for metric, row in percentiles.items():
            if isinstance(row, dict):
                figures = ", ".join(f"{key} {row.get(key)}" for key in ("p50", "p95", "p99", "max"))
                console.print(Text(f"{'':15}{metric}: {figures} ms", style="dim"))


def _transcript_excerpt(transcript: Mapping[str, Any], limit: int) -> list[str]:
    out = [f"{transcript['method']} {transcript['url']} -> {transcript['status']}"]
    lines = transcript.get("lines", [])
    if len(lines) > limit:
        # Comments rarely decide a verdict: drop them first, then elide the middle.
        kept = [line for line in lines if line["kind"] != "comment"]
        if len(kept) < len(lines):
            out.append(f"      ({len(lines) - len(kept)} comment lines not shown)")
        lines = kept
    shown = (
        lines
        if len(lines) <= limit
        else [*lines[: limit // 2], None, *lines[-(limit - limit // 2) :]]
    )
    for line in shown:
        if line is None:
            out.append(f"      ... {len(lines) - limit} more lines ...")
            continue
        at = "" if line.get("atMs") is None else f"{line['atMs']:>8.0f} ms"
        kind = line["kind"]
        if kind == "event":
            ident = f" id={line['id']}" if line.get("id") is not None else ""
            text = f"{line['event']}{ident} {line.get('data', '')}"
        else:
            text = f"{kind} {line.get('text', '')}"
        out.append(f"{at:>11}  {text}"[:160])
    if "body" in transcript and transcript.get("body"):
        out.append(f"      body: {transcript['body'][:150]}")
    return out


def _details(console: Console, report: Mapping[str, Any], check: Mapping[str, Any]) -> None:
    style = _STYLES.get(check["verdict"], "")
    console.print(
        Text(f"{check['verdict']} {check['id']}", style=style), Text(f" ({check['level']})")
    )
    if check["reason"]:
        console.print(f"    reason:   {escape(check['reason'])}")
    if check["expected"] or check["actual"]:
        console.print(f"    expected: {escape(check['expected'])}")
        console.print(f"    actual:   {escape(check['actual'])}")
    for req in check["requirements"]:
        found = report["requirements"].get(req)
        if found:
            console.print(f"    {req} ({found['level']}): {escape(found['text'])}", style="dim")
    if check["verdict"] in ("FAIL", "WARN"):
        for label in check["transcripts"][:1]:
            transcript = report["transcripts"].get(label)
            if transcript is None:
                continue
            console.print(f"    transcript {escape(label)}:")
            for line in _transcript_excerpt(transcript, _TRANSCRIPT_LINES):
                console.print("      " + escape(line), overflow="ellipsis", no_wrap=True)


def render(report: Mapping[str, Any], console: Console, *, verbose: bool = False) -> None:
    """Print ``report`` (a document valid against ssegate.report@1)."""
    console.print(_header(report), highlight=False)
    checks: Sequence[Mapping[str, Any]] = report["checks"]
    if report.get("setupError"):
        console.print(Text(f"setup failed: {report['setupError']}", style="bold magenta"))
    red = any(c["verdict"] in _PROBLEMS for c in checks)
    width = max((len(c["id"]) for c in checks), default=10)
    families: dict[str, list[Mapping[str, Any]]] = {}
    for check in checks:
        families.setdefault(check["family"], []).append(check)
    if not report.get("setupError"):
        for family, members in families.items():
            problems = [c for c in members if c["verdict"] in _PROBLEMS]
            if red and not verbose and not problems:
                tally: dict[str, int] = {}
                for c in members:
                    tally[c["verdict"]] = tally.get(c["verdict"], 0) + 1
                summary = ", ".join(f"{n} {v}" for v, n in tally.items())
                console.print(Text(f"{family}: {summary}", style="dim"))
                continue
            console.print(Text(family, style="bold"))
            for check in members:
                _check_line(console, check, width)
    problems = [c for c in checks if c["verdict"] in _PROBLEMS]
    if problems and not report.get("setupError"):
        console.print()
        for check in problems:
            _details(console, report, check)
    summary = report["summary"]
    counts = ", ".join(f"{n} {v}" for v, n in summary["verdicts"].items() if n)
    code = summary["exitCode"]
    ratio = report.get("wallToTimeoutRatio")
    timing = f"{report['wallTimeMs'] / 1000:.2f} s"
    if ratio is not None:
        timing += f" ({ratio:.2f} x timeoutMs)"
    partial = (
        f"; partial run, {len(report['settings']['excluded'])} check(s) excluded"
        if report["settings"]["partial"]
        else ""
    )
    console.print()
    baseline = summary.get("baseline")
    if baseline:
        partial += (
            f"; baseline: {len(baseline['expectedFailures'])} expected failure(s), "
            f"{len(baseline['stale'])} stale"
        )
    console.print(
        Text(
            f"{summary['total']} checks: {counts or 'none'} in {timing}{partial} -> exit {code} "
            f"({run_label(report) if code == 0 else _EXIT_MEANING.get(code, '?')})",
            style="bold green" if code == 0 else "bold red",
        )
    )
