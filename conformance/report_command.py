"""``ssegate report REPORT.json --format junit|markdown|html [-o FILE]``: render a saved report.

Every rendering is made from the JSON report alone (contracts/ssegate.report/v1.json), so a CI
job can run ``ssegate check --report-json`` once and render what each consumer needs later.
``--expected-failures FILE`` applies a baseline to a report saved without one. Exit codes: 0 the
file was rendered; 2 usage error (unreadable or invalid report, unknown format, bad baseline).
The exit code of the run itself is in the report (``summary.exitCode``), not in this command's.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from conformance.baseline import BaselineError, apply_baseline, load_baseline
from conformance.load import LOAD_CHECK_IDS
from conformance.report.html import render_html
from conformance.report.json_report import validate_report
from conformance.report.junit import render_junit
from conformance.report.markdown import render_markdown

__all__ = ["RENDERERS", "register", "write_rendering"]

EXIT_USAGE = 2

RENDERERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "junit": render_junit,
    "markdown": render_markdown,
    "html": render_html,
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="render a JSON report as JUnit XML, Markdown or HTML",
        description=(
            "Render a report written by `ssegate check --report-json` as JUnit XML (one merged "
            "file), Markdown (pull-request comments, $GITHUB_STEP_SUMMARY) or one self-contained "
            "HTML file. Exit codes: 0 rendered, 2 usage error."
        ),
    )
    parser.add_argument("report", metavar="REPORT.json", help="a report (ssegate.report@1)")
    parser.add_argument("--format", "-f", required=True, choices=sorted(RENDERERS))
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write here (default: standard output)"
    )
    parser.add_argument(
        "--expected-failures",
        metavar="FILE",
        help="apply this baseline (check ID -> reason) before rendering",
    )
    parser.set_defaults(handler=run_report_command)


def write_rendering(fmt: str, document: Mapping[str, Any], path: Path) -> None:
    """Render ``document`` as ``fmt`` into ``path`` (OSError when it cannot be written)."""
    path.write_text(RENDERERS[fmt](document), encoding="utf-8")


def _error(message: str) -> int:
    print(f"ssegate report: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def run_report_command(args: argparse.Namespace) -> int:
    path = Path(args.report)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return _error(f"cannot read {str(path)!r}: {exc}")
    except json.JSONDecodeError as exc:
        return _error(f"{str(path)!r} is not JSON: {exc}")
    problems = validate_report(document)
    if problems:
        shown = "; ".join(problems[:3]) + (
            f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        )
        return _error(f"{str(path)!r} is not an ssegate report (ssegate.report@1): {shown}")
    if args.expected_failures:
        known = {c["id"] for c in document["checks"]} | set(document["settings"]["excluded"])
        known |= set(LOAD_CHECK_IDS)
        try:
            baseline = load_baseline(Path(args.expected_failures), known)
        except BaselineError as exc:
            return _error(str(exc))
        apply_baseline(document, baseline)
    text = RENDERERS[args.format](document)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    out = Path(args.output)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        return _error(f"cannot write {str(out)!r}: {exc}")
    return 0
