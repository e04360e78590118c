"""Baselines (--expected-failures): the file formats, the semantics, and a real run with one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gate_runs import (
    FAULT_CHECK,
    STALE_CHECK,
    faulty_run,
    reference_run,
    strip_baseline,
)

from conformance.baseline import (
    BaselineError,
    apply_baseline,
    exit_code_of,
    load_baseline,
    parse_baseline,
)
from conformance.checks import all_checks
from conformance.cli import main
from conformance.report.json_report import validate_report

KNOWN = [c.id for c in all_checks()]


def test_the_text_form_reads_ids_and_reasons_skipping_comments_and_blank_lines() -> None:
    text = (
        "# our known failures\n\n"
        "heartbeat.cadence: the event loop stalls under GC: see issue 40\n"
        "   transport.x-accel-buffering :  set by the proxy   \n"
    )
    baseline = parse_baseline(text, "bl.txt", KNOWN)
    assert dict(baseline.entries) == {
        "heartbeat.cadence": "the event loop stalls under GC: see issue 40",
        "transport.x-accel-buffering": "set by the proxy",
    }


def test_the_json_form_is_an_object_of_id_to_reason() -> None:
    baseline = parse_baseline('{"heartbeat.cadence": "GC"}', "bl.json", KNOWN)
    assert dict(baseline.entries) == {"heartbeat.cadence": "GC"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("heartbeat.nope: typo\n", "unknown check ID(s) heartbeat.nope"),
        ("heartbeat.cadence:\n", "heartbeat.cadence has no reason"),
        ("heartbeat.cadence: a\nheartbeat.cadence: b\n", "listed twice"),
        ("just some words\n", "expected `CHECK-ID: reason`"),
        ("HB-3: a requirement, not a check\n", "is not a check ID"),
        ('["heartbeat.cadence"]', "object of check ID -> reason"),
        ('{"heartbeat.cadence": ""}', "non-empty string"),
        ('{"heartbeat.cadence": ', "not valid JSON"),
    ],
)
def test_a_bad_file_is_a_baseline_error_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(BaselineError, match=None) as caught:
        parse_baseline(text, "bl.txt", KNOWN)
    assert message in str(caught.value)


def test_an_unreadable_file_is_a_baseline_error(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="cannot read"):
        load_baseline(tmp_path / "missing.txt", KNOWN)


def _document(
    verdicts: dict[str, str], *, strict: bool = False, excluded: int = 0
) -> dict[str, Any]:
    """The members of a report the baseline logic reads."""
    return {
        "settings": {"strict": strict, "partial": excluded > 0, "excluded": ["x.y"] * excluded},
        "summary": {"exitCode": None, "conformant": None},
        "checks": [{"id": check_id, "verdict": v} for check_id, v in verdicts.items()],
    }


def _apply(document: dict[str, Any], entries: dict[str, str]) -> dict[str, Any]:
    return apply_baseline(document, parse_baseline(json.dumps(entries), "bl.json", KNOWN))


def test_a_baselined_failure_is_not_a_failure_but_the_run_is_not_conformant() -> None:
    doc = _apply(
        _document({"heartbeat.cadence": "FAIL", "heartbeat.first": "PASS"}),
        {"heartbeat.cadence": "known"},
    )
    assert doc["checks"][0]["baseline"] == {"reason": "known", "status": "expected-failure"}
    assert doc["summary"]["exitCode"] == 0
    assert doc["summary"]["conformant"] is False
    assert doc["summary"]["baseline"]["expectedFailures"] == ["heartbeat.cadence"]


def test_an_unbaselined_failure_still_fails_the_run() -> None:
    doc = _apply(
        _document({"heartbeat.cadence": "FAIL", "heartbeat.first": "FAIL"}),
        {"heartbeat.cadence": "known"},
    )
    assert doc["summary"]["exitCode"] == 1


def test_a_baselined_check_that_passes_is_a_stale_entry_and_fails_the_run() -> None:
    doc = _apply(_document({"heartbeat.first": "PASS"}), {"heartbeat.first": "old"})
    assert doc["checks"][0]["baseline"]["status"] == "stale"
    assert doc["summary"]["baseline"]["stale"] == ["heartbeat.first"]
    assert doc["summary"]["exitCode"] == 1


def test_an_unjudged_baselined_check_keeps_its_verdict_and_is_not_stale() -> None:
    doc = _apply(_document({"heartbeat.first": "ERROR"}), {"heartbeat.first": "flaky"})
    assert doc["checks"][0]["baseline"]["status"] == "unjudged"
    assert doc["summary"]["baseline"]["stale"] == []
    assert doc["summary"]["exitCode"] == 3


def test_applying_another_baseline_replaces_the_first() -> None:
    doc = _apply(_document({"heartbeat.first": "FAIL"}), {"heartbeat.first": "known"})
    doc = _apply(doc, {"wire.utf8": "other"})
    assert "baseline" not in doc["checks"][0]
    assert doc["summary"]["exitCode"] == 1


def test_entries_for_checks_that_did_not_run_are_reported_as_not_run() -> None:
    doc = _apply(_document({"heartbeat.first": "PASS"}, excluded=1), {"wire.utf8": "x"})
    assert doc["summary"]["baseline"]["notRun"] == ["wire.utf8"]
    assert doc["summary"]["exitCode"] == 0
    assert doc["summary"]["conformant"] is False  # partial


def test_a_baselined_warn_under_strict_does_not_fail_but_an_unlisted_one_does() -> None:
    verdicts = {"transport.x-accel-buffering": "WARN", "wire.lf-line-endings": "PASS"}
    listed = _apply(_document(verdicts, strict=True), {"transport.x-accel-buffering": "proxy"})
    assert listed["summary"]["exitCode"] == 0
    assert exit_code_of(_document(verdicts, strict=True)) == 1


def test_without_a_baseline_the_exit_code_is_the_harness_exit_code() -> None:
    run = reference_run()
    assert exit_code_of(strip_baseline(run.report)) == run.exit_code, run.explain()
    assert run.report["summary"]["exitCode"] == run.exit_code


def test_a_real_run_with_a_baseline_accepts_the_listed_failure_and_names_the_stale_entry() -> None:
    run = faulty_run()
    report = run.report
    assert validate_report(report) == []
    by_id = {c["id"]: c for c in report["checks"]}
    assert by_id[FAULT_CHECK]["verdict"] == "FAIL", run.explain()
    assert by_id[FAULT_CHECK]["baseline"]["status"] == "expected-failure"
    assert by_id[STALE_CHECK]["baseline"]["status"] == "stale", run.explain()
    assert run.exit_code == 1, run.explain()
    assert f"stale baseline: {STALE_CHECK}" in run.stderr
    assert "baseline: 1 expected failure(s), 1 stale" in run.stdout
    # Without the stale entry the listed failure no longer fails the run (only a timing slip of
    # another check on a loaded machine could), and the run is still not conformant.
    fixed = apply_baseline(
        strip_baseline(report), parse_baseline(f"{FAULT_CHECK}: known\n", "bl.txt", KNOWN)
    )
    others = {c["verdict"] for c in fixed["checks"] if c["id"] != FAULT_CHECK}
    assert fixed["summary"]["exitCode"] == (1 if "FAIL" in others else 0)
    assert exit_code_of(strip_baseline(report)) == 1
    assert fixed["summary"]["conformant"] is False
    assert validate_report(fixed) == []


def test_an_unknown_id_in_the_file_is_a_usage_error_before_any_server_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "bl.txt"
    baseline.write_text("heartbeat.nope: typo\n", encoding="utf-8")
    assert main(["check", "--reference", "--expected-failures", str(baseline)]) == 2
    err = capsys.readouterr().err
    assert "unknown check ID(s) heartbeat.nope" in err
    assert "starting" not in err
    assert "Traceback" not in err


def test_one_baseline_serves_runs_with_and_without_load_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "bl.txt"
    baseline.write_text("load.heartbeat-lateness: our GC, issue 40\n", encoding="utf-8")
    out = tmp_path / "r.md"
    source = str(reference_run().folder / "report.json")
    argv = ["report", source, "-f", "markdown", "-o", str(out), "--expected-failures"]
    assert main([*argv, str(baseline)]) == 0, capsys.readouterr().err
    assert out.read_text(encoding="utf-8").startswith("## ")
