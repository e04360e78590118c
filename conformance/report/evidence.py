"""A check's evidence as plain text, and the run's one-word label: shared by every rendering.

The JUnit failure body, the pytest failure message and the Markdown details all show the same
evidence (issue 4, "Evidence and reports"): expected vs actual, the reason, the requirement
texts, the observed figures and a transcript excerpt (time since request start, event, id, data).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["evidence_text", "run_label", "transcript_lines"]

TRANSCRIPT_LINES = 24
_LINE_WIDTH = 160


def run_label(report: Mapping[str, Any]) -> str:
    """conformant, not conformant, partial, passes its baseline, or setup failed.

    A partial run (``--select``/``--exclude``) is never called conformant, whatever its verdicts.
    """
    summary = report["summary"]
    code = summary["exitCode"]
    partial = bool(report["settings"]["partial"])
    if report.get("setupError") or code == 3:
        label = "setup failed"
    elif code == 4:
        label = "harness fault"
    elif code != 0:
        label = "not conformant"
    elif summary["conformant"]:
        label = "conformant"
    elif (summary.get("baseline") or {}).get("expectedFailures"):
        label = "passes with expected failures"
    else:
        label = "no failures"
    return f"partial run: {label}" if partial else label


def transcript_lines(transcript: Mapping[str, Any], limit: int = TRANSCRIPT_LINES) -> list[str]:
    """The transcript as text lines; the middle is elided beyond ``limit`` lines."""
    out = [f"{transcript['method']} {transcript['url']} -> {transcript['status']}"]
    lines: list[Mapping[str, Any]] = transcript.get("lines", [])
    shown: list[Mapping[str, Any] | None] = list(lines)
    if len(lines) > limit:
        shown = [*lines[: limit // 2], None, *lines[-(limit - limit // 2) :]]
    for line in shown:
        if line is None:
            out.append(f"      ... {len(lines) - limit} more lines ...")
            continue
        at = "" if line.get("atMs") is None else f"{line['atMs']:.0f} ms"
        if line["kind"] == "event":
            ident = f" id={line['id']}" if line.get("id") is not None else ""
            text = f"event {line['event']}{ident} {line.get('data', '')}"
        else:
            text = f"{line['kind']} {line.get('text', '')}"
        out.append(f"{at:>10}  {text}"[:_LINE_WIDTH])
    if transcript.get("body"):
        out.append(f"      body: {transcript['body'][:_LINE_WIDTH]}")
    return out


def evidence_text(
    report: Mapping[str, Any], check: Mapping[str, Any], *, transcripts: int = 2
) -> str:
    """Everything a reader needs to see why ``check`` got its verdict, as plain text."""
    out = [f"{check['verdict']} {check['id']} ({check['level']}): {check['title']}"]
    baseline = check.get("baseline")
    if baseline:
        out.append(f"baseline:  {baseline['status']} ({baseline['reason']})")
    if check["reason"]:
        out.append(f"reason:    {check['reason']}")
    if check["expected"] or check["actual"]:
        out.append(f"expected:  {check['expected']}")
        out.append(f"actual:    {check['actual']}")
    for req in check["requirements"]:
        found = report["requirements"].get(req)
        if found:
            out.append(f"{req} ({found['level']}, {found['file']}): {found['text']}")
    if check["observed"]:
        out.append("observed:  " + json.dumps(check["observed"], ensure_ascii=False)[:800])
    for label in check["transcripts"][:transcripts]:
        transcript = report["transcripts"].get(label)
        if transcript is not None:
            out.append(f"transcript {label}:")
            out.extend("  " + line for line in transcript_lines(transcript))
    return "\n".join(out)
