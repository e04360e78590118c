"""Markdown rendering: the headline says what the run means, problems first, bounded size."""

from __future__ import annotations

import re
from typing import Any

from gate_runs import (
    FAULT_CHECK,
    STALE_CHECK,
    faulty_run,
    reference_run,
    setup_failure_report,
    strip_baseline,
)

from conformance.report.markdown import render_markdown


def _headline(text: str) -> str:
    return text.splitlines()[0]


def test_the_file_check_wrote_is_the_rendering_of_its_report() -> None:
    run = reference_run()
    text = run.text("markdown")
    assert text == render_markdown(run.report)
    label = "conformant" if run.exit_code == 0 else "not conformant"
    assert _headline(text).endswith(f"ssegate: {label}")
    assert f"exit code **{run.exit_code}**" in text


def test_a_failure_is_in_the_problem_table_with_its_evidence_in_details() -> None:
    report = strip_baseline(faulty_run().report)
    text = render_markdown(report)
    assert _headline(text) == "## ❌ ssegate: not conformant"
    entry = next(c for c in report["checks"] if c["id"] == FAULT_CHECK)
    row = next(line for line in text.splitlines() if line.startswith(f"| `{FAULT_CHECK}` |"))
    assert "| MUST | **FAIL** | TR-7 |" in row
    assert entry["actual"] in row
    assert f"<details><summary><code>{FAULT_CHECK}</code> FAIL</summary>" in text
    assert report["requirements"]["TR-7"]["text"] in text
    # Every opened fence and details block is closed.
    assert text.count("<details>") == text.count("</details>")
    assert len(re.findall(r"^```", text, flags=re.MULTILINE)) % 2 == 0


def test_baselined_and_stale_entries_are_shown_for_what_they_are() -> None:
    text = faulty_run().text("markdown")
    assert _headline(text) == "## ❌ ssegate: not conformant"  # the stale entry fails the run
    assert f"| `{STALE_CHECK}` | MUST | **PASS (stale baseline)** |" in text
    assert "**Expected failures (baseline)**" in text
    assert f"- `{FAULT_CHECK}` FAIL: the test server runs with --fault" in text


def test_a_partial_run_is_labelled_partial_and_never_conformant() -> None:
    report: dict[str, Any] = strip_baseline(reference_run().report)
    for check in report["checks"]:
        check.update(verdict="PASS")
    report["settings"].update(partial=True, excluded=["wire.utf8"])
    report["summary"].update(exitCode=0, conformant=False)
    text = render_markdown(report)
    assert _headline(text) == "## ✅ ssegate: partial run: no failures"
    assert "> **Partial run**: 1 check(s) excluded" in text
    assert "ssegate: conformant" not in text


def test_pipes_in_evidence_do_not_break_the_table() -> None:
    report = strip_baseline(reference_run().report)
    report["checks"][0].update(verdict="FAIL", expected="a | b", actual="c\n| d")
    text = render_markdown(report)
    row = next(
        line for line in text.splitlines() if line.startswith(f"| `{report['checks'][0]['id']}`")
    )
    assert "a \\| b" in row
    assert "c \\| d" in row
    assert row.replace("\\|", "").count("|") == 7  # six cells, whatever the evidence holds


def test_the_text_is_bounded_and_stays_well_formed() -> None:
    report = strip_baseline(reference_run().report)
    for check in report["checks"]:
        check.update(verdict="FAIL", actual="x" * 500)
    text = render_markdown(report, max_chars=8000)
    assert len(text) <= 8000
    assert text.rstrip().endswith("(cut to fit; see the JSON or HTML report)")
    assert text.count("<details>") == text.count("</details>")


def test_a_setup_failure_says_so_first() -> None:
    report = setup_failure_report()
    text = render_markdown(report)
    assert _headline(text) == "## ⛔ ssegate: setup failed"
    assert f"> **Setup failed**: {report['setupError']}" in text
