"""JUnit XML rendered from the JSON report: one merged file for CI test-result viewers.

One ``<testsuites>`` with one ``<testsuite name="ssegate">``; every check is a ``<testcase>``
(``classname`` ``ssegate.<family>``, ``name`` the check ID) with its level, verdict and
requirement IDs as ``<property>`` elements. The mapping (docs/ci.md, "Reports"):

- PASS, INFO: passed (INFO says which permitted behaviour the server chose, in system-out);
- FAIL: ``<failure>`` with expected, actual, the requirement texts and a transcript excerpt;
- WARN: ``<failure>`` under ``--strict``, else passed with the evidence in system-out;
- N/A: ``<skipped>`` with the reason;
- ERROR, HARNESS-ERROR: ``<error>``;
- a baselined failure (expected-failure): ``<skipped type="expected-failure">``; a stale baseline
  entry: ``<failure type="stale-baseline">``;
- a check excluded by ``--select``/``--exclude``: ``<skipped type="excluded">``; the suite's
  name then says ``(partial)`` and its ``partial`` property is true.

Structure follows the common Jenkins/Ant JUnit schema (tests/conformance/junit-10.xsd, which
the tests validate against). Only characters XML 1.0 allows are written.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from conformance.report.evidence import evidence_text, run_label

__all__ = ["render_junit"]

# XML 1.0 Char production: anything else (NUL, most C0 controls, lone surrogates) is replaced.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    return _NOT_XML_CHAR.sub("\ufffd", text)


def _seconds(ms: float | None) -> str:
    return f"{(ms or 0.0) / 1000.0:.3f}"


def _properties(parent: ET.Element, pairs: list[tuple[str, str]]) -> None:
    element = ET.SubElement(parent, "properties")
    for name, value in pairs:
        ET.SubElement(element, "property", name=_clean(name), value=_clean(value))


def _testcase(report: Mapping[str, Any], check: Mapping[str, Any]) -> tuple[ET.Element, str]:
    """The testcase element and its outcome: passed, failure, error or skipped."""
    case = ET.Element(
        "testcase",
        name=check["id"],
        classname=f"ssegate.{check['family']}",
        time=_seconds(check["durationMs"]),
    )
    pairs = [("level", check["level"]), ("verdict", check["verdict"])]
    pairs += [("requirement", req) for req in check["requirements"]]
    if check.get("feature"):
        pairs.append(("feature", check["feature"]))
    baseline: Mapping[str, str] = check.get("baseline") or {}
    if baseline:
        pairs += [("baseline", baseline["status"]), ("baseline-reason", baseline["reason"])]
    _properties(case, pairs)
    verdict = check["verdict"]
    details = _clean(evidence_text(report, check))
    summary = _clean(check["reason"] or check["actual"] or check["title"])
    status = baseline.get("status")
    if status == "expected-failure":
        skipped = ET.SubElement(
            case,
            "skipped",
            type="expected-failure",
            message=_clean(f"baselined: {baseline['reason']}"),
        )
        skipped.text = details
        return case, "skipped"
    if status == "stale":
        failure = ET.SubElement(
            case,
            "failure",
            type="stale-baseline",
            message=_clean(
                f"stale baseline: {check['id']} now {verdict} but is listed as an expected "
                f"failure ({baseline['reason']})"
            ),
        )
        failure.text = details
        return case, "failure"
    strict = bool(report["settings"]["strict"])
    if verdict == "FAIL" or (verdict == "WARN" and strict):
        failure = ET.SubElement(case, "failure", type=verdict, message=summary)
        failure.text = details
        return case, "failure"
    if verdict in ("ERROR", "HARNESS-ERROR"):
        error = ET.SubElement(case, "error", type=verdict, message=summary)
        error.text = details
        return case, "error"
    if verdict == "N/A":
        ET.SubElement(case, "skipped", type="not-applicable", message=summary)
        return case, "skipped"
    if verdict in ("WARN", "INFO"):
        out = ET.SubElement(case, "system-out")
        out.text = details
    return case, "passed"


def render_junit(report: Mapping[str, Any]) -> str:
    """The JUnit XML document (a string with an XML declaration) for ``report``."""
    settings = report["settings"]
    partial = bool(settings["partial"])
    name = "ssegate" + (" (partial)" if partial else "")
    suites = ET.Element("testsuites", name=name)
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=name,
        timestamp=report["startedAt"].removesuffix("Z"),
        hostname=_clean(report["server"]["baseUrl"]),
        time=_seconds(report["wallTimeMs"]),
    )
    summary = report["summary"]
    pairs = [
        ("suite.version", report["suite"]["version"]),
        ("spec.version", report["specVersion"]),
        ("server.baseUrl", report["server"]["baseUrl"]),
        ("contract", str(report["contracts"]["judgedAgainst"])),
        ("partial", "true" if partial else "false"),
        ("conformant", "true" if summary["conformant"] else "false"),
        ("exitCode", str(summary["exitCode"])),
        ("run", run_label(report)),
    ]
    if report.get("setupError"):
        pairs.append(("setupError", report["setupError"]))
    _properties(suite, pairs)
    tally = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for check in report["checks"]:
        case, outcome = _testcase(report, check)
        suite.append(case)
        tally["tests"] += 1
        if outcome == "failure":
            tally["failures"] += 1
        elif outcome == "error":
            tally["errors"] += 1
        elif outcome == "skipped":
            tally["skipped"] += 1
    for check_id in settings["excluded"]:
        family = check_id.split(".", 1)[0]
        case = ET.SubElement(
            suite, "testcase", name=check_id, classname=f"ssegate.{family}", time="0.000"
        )
        ET.SubElement(
            case,
            "skipped",
            type="excluded",
            message="not run: excluded by --select/--exclude (partial run)",
        )
        tally["tests"] += 1
        tally["skipped"] += 1
    for key, value in tally.items():
        suite.set(key, str(value))
    suites.set("tests", str(tally["tests"]))
    suites.set("failures", str(tally["failures"]))
    suites.set("errors", str(tally["errors"]))
    suites.set("time", _seconds(report["wallTimeMs"]))
    ET.indent(suites)
    body = ET.tostring(suites, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
