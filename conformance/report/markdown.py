"""Markdown rendered from the JSON report: for pull-request comments and ``$GITHUB_STEP_SUMMARY``.

A headline with the run's label (conformant, not conformant, partial, ...), the verdict counts,
a table of the checks that need a reader (FAIL, WARN, ERROR, HARNESS-ERROR, stale baseline
entries), the expected failures, load-mode percentiles when present, then one collapsed
``<details>`` per problem with its evidence. Bounded: GitHub cuts a step summary at 1 MiB and a
comment at 65536 characters, so details stop after :data:`MAX_DETAILS` problems and the whole
text after ``max_chars``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.report.evidence import evidence_text, run_label

__all__ = ["render_markdown"]

MAX_DETAILS = 25
MAX_CHARS = 60_000
_PROBLEMS = ("FAIL", "WARN", "ERROR", "HARNESS-ERROR")
_ICON = {
    "conformant": "✅",
    "no failures": "✅",
    "passes with expected failures": "🟡",
    "not conformant": "❌",
    "setup failed": "⛔",
    "harness fault": "⛔",
}


def _cell(text: str, limit: int = 160) -> str:
    """Table cells: one line, pipes escaped, bounded."""
    flat = " ".join(str(text).split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _fence(text: str) -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}text\n{text}\n{ticks}"


def _load_rows(report: Mapping[str, Any]) -> list[str]:
    rows = []
    for check in report["checks"]:
        percentiles = check["observed"].get("percentilesMs")
        if check["family"] != "load" or not isinstance(percentiles, dict):
            continue
        for metric, values in percentiles.items():
            if isinstance(values, dict):
                cells = [str(values.get(key, "")) for key in ("p50", "p95", "p99", "max")]
                rows.append(
                    f"| {_cell(check['id'])} | {_cell(metric)} | " + " | ".join(cells) + " |"
                )
    return rows


def render_markdown(report: Mapping[str, Any], *, max_chars: int = MAX_CHARS) -> str:
    """The Markdown document for ``report``."""
    summary = report["summary"]
    settings = report["settings"]
    label = run_label(report)
    icon = _ICON.get(label.removeprefix("partial run: "), "❔")
    server = report["server"]
    lines = [
        f"## {icon} ssegate: {label}",
        "",
        f"`{server['baseUrl']}` judged by ssegate {report['suite']['version']} against spec "
        f"{report['specVersion']}"
        + (
            f", contract `{report['contracts']['judgedAgainst']}`"
            if report["contracts"]["judgedAgainst"]
            else ""
        )
        + f"; exit code **{summary['exitCode']}**, {report['wallTimeMs'] / 1000:.1f} s.",
        "",
    ]
    if settings["partial"]:
        lines += [
            f"> **Partial run**: {len(settings['excluded'])} check(s) excluded (`--select`/"
            "`--exclude`, or a load run); a partial run is never reported as conformant.",
            "",
        ]
    if report.get("setupError"):
        lines += [f"> **Setup failed**: {_cell(report['setupError'], 500)}", ""]
    counts = {k: v for k, v in summary["verdicts"].items() if v}
    lines += [
        "| " + " | ".join(counts) + " |",
        "|" + "---|" * len(counts),
        "| " + " | ".join(str(v) for v in counts.values()) + " |",
        "",
    ]
    checks = report["checks"]
    problems = [
        c
        for c in checks
        if (
            c["verdict"] in _PROBLEMS
            and (c.get("baseline") or {}).get("status") != "expected-failure"
        )
        or (c.get("baseline") or {}).get("status") == "stale"
    ]
    if problems:
        lines += [
            "| Check | Level | Verdict | Requirements | Expected | Actual |",
            "|---|---|---|---|---|---|",
        ]
        for c in problems:
            verdict = c["verdict"]
            if (c.get("baseline") or {}).get("status") == "stale":
                verdict += " (stale baseline)"
            actual = c["actual"] or c["reason"]
            lines.append(
                f"| `{c['id']}` | {c['level']} | **{verdict}** | {', '.join(c['requirements'])} | "
                f"{_cell(c['expected'])} | {_cell(actual)} |"
            )
        lines.append("")
    expected = [c for c in checks if (c.get("baseline") or {}).get("status") == "expected-failure"]
    if expected:
        lines += ["**Expected failures (baseline)**", ""]
        lines += [
            f"- `{c['id']}` {c['verdict']}: {_cell(c['baseline']['reason'])}" for c in expected
        ]
        lines.append("")
    load_rows = _load_rows(report)
    if load_rows:
        lines += [
            "**Load mode** (milliseconds)",
            "",
            "| Check | Metric | p50 | p95 | p99 | max |",
            "|---|---|---|---|---|---|",
            *load_rows,
            "",
        ]
    for c in problems[:MAX_DETAILS]:
        lines += [
            f"<details><summary><code>{c['id']}</code> {c['verdict']}</summary>",
            "",
            _fence(evidence_text(report, c)),
            "",
            "</details>",
        ]
    if len(problems) > MAX_DETAILS:
        lines.append(f"\n… {len(problems) - MAX_DETAILS} more; see the JSON or HTML report.")
    text = "\n".join(lines) + "\n"
    if len(text) > max_chars:
        cut = text[: max_chars - 200]
        # Never leave a code fence open: close the details cleanly.
        cut = cut[: cut.rfind("\n<details>")] if "\n<details>" in cut else cut
        text = cut + "\n\n… (cut to fit; see the JSON or HTML report)\n"
    return text
