"""JUnit XML rendering: valid against the shipped XSD, one testcase per check, the evidence kept.

Validated twice: with the xmlschema package against tests/conformance/junit-10.xsd (the Jenkins
junit-10 structure plus testcase properties), and parsed by the standard library's strict parser.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from gate_runs import (
    FAULT_CHECK,
    STALE_CHECK,
    faulty_run,
    reference_run,
    setup_failure_report,
    strip_baseline,
)

from conformance.cli import main
from conformance.report.junit import render_junit

XSD = xmlschema.XMLSchema(Path(__file__).with_name("junit-10.xsd"))


def _valid(text: str) -> ET.Element:
    XSD.validate(text)
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites"
    return root


def _cases(root: ET.Element) -> dict[str, ET.Element]:
    return {case.attrib["name"]: case for case in root.iter("testcase")}


def _properties(case: ET.Element) -> list[tuple[str, str]]:
    return [(p.attrib["name"], p.attrib["value"]) for p in case.iterfind("properties/property")]


def test_the_file_check_wrote_is_valid_and_has_one_testcase_per_check() -> None:
    run = reference_run()
    text = run.text("junit")
    root = _valid(text)
    report = run.report
    cases = _cases(root)
    assert list(cases) == [c["id"] for c in report["checks"]]
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.attrib["tests"] == str(len(report["checks"]))
    for check in report["checks"]:
        props = _properties(cases[check["id"]])
        assert [v for n, v in props if n == "requirement"] == check["requirements"]
        assert ("verdict", check["verdict"]) in props
        assert cases[check["id"]].attrib["classname"] == f"ssegate.{check['family']}"
    # What `ssegate check --junit` writes is what `ssegate report --format junit` renders.
    assert text == render_junit(report)


def test_a_failure_carries_expected_actual_requirement_text_and_transcript() -> None:
    report = strip_baseline(faulty_run().report)
    root = _valid(render_junit(report))
    case = _cases(root)[FAULT_CHECK]
    failure = case.find("failure")
    assert failure is not None, ET.tostring(case, encoding="unicode")
    entry = next(c for c in report["checks"] if c["id"] == FAULT_CHECK)
    body = failure.text or ""
    assert f"expected:  {entry['expected']}" in body
    assert f"actual:    {entry['actual']}" in body
    assert report["requirements"]["TR-7"]["text"] in body
    assert "transcript " in body
    assert " ms  headers HTTP/1.1 200" in body
    suite = root.find("testsuite")
    assert suite is not None
    failures = sum(1 for c in root.iter("testcase") if c.find("failure") is not None)
    assert int(suite.attrib["failures"]) == failures >= 1


def test_baselined_failures_are_skipped_and_stale_entries_fail() -> None:
    run = faulty_run()
    root = _valid(run.text("junit"))
    cases = _cases(root)
    skipped = cases[FAULT_CHECK].find("skipped")
    assert skipped is not None
    assert skipped.attrib["type"] == "expected-failure"
    stale = cases[STALE_CHECK].find("failure")
    assert stale is not None
    assert stale.attrib["type"] == "stale-baseline"
    assert "stale baseline" in stale.attrib["message"]


def test_not_applicable_checks_are_skipped_with_the_reason() -> None:
    report = reference_run().report
    na = [c for c in report["checks"] if c["verdict"] == "N/A"]
    assert na
    cases = _cases(_valid(render_junit(report)))
    for check in na:
        skipped = cases[check["id"]].find("skipped")
        assert skipped is not None
        assert skipped.attrib["message"] == check["reason"]


def _narrowed(report: dict[str, Any]) -> dict[str, Any]:
    copy = strip_baseline(report)
    kept, dropped = copy["checks"][:5], copy["checks"][5:]
    copy["checks"] = kept
    copy["settings"]["excluded"] = [c["id"] for c in dropped]
    copy["settings"]["partial"] = True
    copy["summary"]["conformant"] = False
    return copy


def test_a_partial_run_says_so_and_lists_excluded_checks_as_skipped() -> None:
    report = _narrowed(reference_run().report)
    root = _valid(render_junit(report))
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.attrib["name"] == "ssegate (partial)"
    assert ("partial", "true") in [
        (p.attrib["name"], p.attrib["value"]) for p in suite.iterfind("properties/property")
    ]
    excluded = [c for c in root.iter("testcase") if c.find("skipped[@type='excluded']") is not None]
    assert len(excluded) == len(report["settings"]["excluded"])
    assert suite.attrib["tests"] == str(len(reference_run().report["checks"]))


def test_errors_and_characters_xml_cannot_hold() -> None:
    report = strip_baseline(reference_run().report)
    report["checks"][0].update(
        verdict="HARNESS-ERROR", reason="boom \x00\x1b[31m \ud800 done", actual="", expected=""
    )
    root = _valid(render_junit(report))
    error = root.find("testsuite/testcase/error")
    assert error is not None
    assert error.attrib["type"] == "HARNESS-ERROR"
    assert error.attrib["message"] == "boom \ufffd\ufffd[31m \ufffd done"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("not json", "is not JSON"),
        ('{"reportVersion": 1}', "is not an ssegate report"),
    ],
)
def test_report_command_refuses_what_is_not_a_report(
    tmp_path: Path, content: str | None, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "report.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["report", str(path), "--format", "junit"]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_report_command_renders_to_a_file_and_applies_a_baseline(tmp_path: Path) -> None:
    source = reference_run().folder / "report.json"
    baseline = tmp_path / "bl.txt"
    baseline.write_text(f"{STALE_CHECK}: now passing\n", encoding="utf-8")
    out = tmp_path / "junit.xml"
    argv = ["report", str(source), "-f", "junit", "-o", str(out)]
    assert main([*argv, "--expected-failures", str(baseline)]) == 0
    case = _cases(_valid(out.read_text(encoding="utf-8")))[STALE_CHECK]
    assert case.find("failure[@type='stale-baseline']") is not None


def test_a_setup_failure_is_an_error_per_check_and_a_suite_property() -> None:
    report = setup_failure_report()
    root = _valid(render_junit(report))
    errors = list(root.iter("error"))
    assert len(errors) == len(report["checks"])
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.attrib["errors"] == str(len(report["checks"]))
    props = dict(_properties(suite))
    assert props["setupError"] == report["setupError"]
    assert props["run"] == "setup failed"
