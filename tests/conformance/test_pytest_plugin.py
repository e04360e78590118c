"""The pytest plugin, pytester-style: inner pytest runs under a strict configuration.

Two inner runs go at once as subprocesses (each starts its own server through the plugin): the
reference server via --ssegate-reference, and the independent test server with one fault via
--ssegate-serve with a baseline. Their pytest outcomes (read from pytest's own JUnit XML) must be
exactly the plugin's mapping of the verdicts in the JSON report the same run wrote.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from gate_runs import SNAPSHOT_SERVER

from conformance.checks import all_checks

pytest_plugins = ["pytester"]

# The inner runs use the project's strictness; plugins this project's venv happens to carry and
# the inner runs do not use are left out (hypothesis alone costs seconds of start-up).
INNER_INI = """
[pytest]
addopts = --strict-config --strict-markers -p no:cacheprovider -p no:hypothesispytest
          -p no:schemathesis -p no:anyio
xfail_strict = true
filterwarnings = error
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
"""
FAULTY_SERVE = (
    f"{shlex.quote(sys.executable)} {shlex.quote(str(SNAPSHOT_SERVER))} --port {{port}} "
    "--control-secret {secret} --interval-ms 200 --heartbeat-ms 1000 --timeout-ms 3000 "
    "--fault no-cache-control"
)
BASELINE = (
    "transport.cache-control-recommended: the test server sends no Cache-Control at all\n"
    "transport.content-type: stale on purpose\n"
)


@dataclass(frozen=True)
class InnerRun:
    code: int
    output: str
    outcomes: dict[str, tuple[str, str]]  # node id -> (outcome, message)
    report: dict[str, Any]


def _outcomes(junit: Path) -> dict[str, tuple[str, str]]:
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        node = f"{case.attrib['classname']}::{case.attrib['name']}"
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome, message = child.tag, (child.attrib.get("message", "") + (child.text or ""))
            elif child.tag == "skipped":
                kind = "xfailed" if child.attrib.get("type") == "pytest.xfail" else "skipped"
                outcome, message = kind, child.attrib.get("message", "")
        out[node] = outcome, message
    return out


@pytest.fixture(scope="module")
def inner_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, InnerRun]:
    folder = tmp_path_factory.mktemp("inner")
    (folder / "pytest.ini").write_text(INNER_INI, encoding="utf-8")
    (folder / "expected.txt").write_text(BASELINE, encoding="utf-8")
    plans = {
        "reference": ["--ssegate-reference"],
        "faulty": [
            "--ssegate-serve",
            FAULTY_SERVE,
            "--ssegate-expected-failures",
            "expected.txt",
            "-k",
            "not wire",
        ],
    }
    processes = {}
    for name, args in plans.items():
        processes[name] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pytest",
                "-rA",
                f"--junitxml={name}.xml",
                f"--ssegate-report-json={name}.json",
                *args,
            ],
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
    runs = {}
    for name, process in processes.items():
        output, _ = process.communicate(timeout=300)
        report_path = folder / f"{name}.json"
        assert report_path.exists(), output
        runs[name] = InnerRun(
            process.returncode,
            output,
            _outcomes(folder / f"{name}.xml"),
            json.loads(report_path.read_text(encoding="utf-8")),
        )
    return runs


def _expected_outcome(check: dict[str, Any], strict: bool) -> str:
    """The plugin's documented mapping from a verdict (and baseline status) to a pytest outcome."""
    status = (check.get("baseline") or {}).get("status")
    if status == "expected-failure":
        return "xfailed"
    if status == "stale":
        return "failure"
    verdict = check["verdict"]
    if verdict == "FAIL" or (verdict == "WARN" and strict):
        return "failure"
    if verdict in ("ERROR", "HARNESS-ERROR"):
        return "error"
    if verdict == "N/A":
        return "skipped"
    return "passed"


@pytest.mark.parametrize("name", ["reference", "faulty"])
def test_every_item_has_the_outcome_of_its_checks_verdict(
    inner_runs: dict[str, InnerRun], name: str
) -> None:
    run = inner_runs[name]
    report = run.report
    expected = {
        f"ssegate::{c['id']}": _expected_outcome(c, report["settings"]["strict"])
        for c in report["checks"]
    }
    assert {node: outcome for node, (outcome, _) in run.outcomes.items()} == expected, run.output
    assert run.code == (0 if set(expected.values()) <= {"passed", "skipped", "xfailed"} else 1)


def test_against_the_reference_every_check_is_an_item_and_nothing_is_partial(
    inner_runs: dict[str, InnerRun],
) -> None:
    run = inner_runs["reference"]
    assert set(run.outcomes) == {f"ssegate::{c.id}" for c in all_checks()}
    assert run.report["settings"]["partial"] is False
    skipped = {n: m for n, (o, m) in run.outcomes.items() if o == "skipped"}
    assert skipped, run.output  # the reference declares no HTTP/2: N/A -> skipped with the reason
    reasons = {f"ssegate::{c['id']}": c["reason"] for c in run.report["checks"]}
    for node, message in skipped.items():
        assert reasons[node]
        assert reasons[node] in message
    assert "ssegate: " in run.output


def test_a_failure_shows_the_evidence_and_a_baseline_gives_xfail_and_stale_failures(
    inner_runs: dict[str, InnerRun],
) -> None:
    run = inner_runs["faulty"]
    outcome, message = run.outcomes["ssegate::transport.cache-control"]
    assert outcome == "failure", run.output
    assert "expected:" in message
    assert "actual:    (no Cache-Control)" in message
    assert "TR-7 (MUST" in message
    assert run.outcomes["ssegate::transport.cache-control-recommended"][0] == "xfailed"
    outcome, message = run.outcomes["ssegate::transport.content-type"]
    assert outcome == "failure"
    assert "stale baseline: transport.content-type" in message
    assert run.code == 1


def test_deselected_items_make_a_partial_run(inner_runs: dict[str, InnerRun]) -> None:
    run = inner_runs["faulty"]
    assert not any(node.startswith("ssegate::wire.") for node in run.outcomes)
    assert run.report["settings"]["partial"] is True
    assert all(c.startswith("wire.") for c in run.report["settings"]["excluded"])
    assert "ssegate: partial run: not conformant" in run.output


def test_the_plugin_is_inert_without_its_options(pytester: pytest.Pytester) -> None:
    pytester.makeini(INNER_INI)
    pytester.makepyfile("def test_one():\n    assert True\n")
    result = pytester.runpytest_inprocess("-q")
    result.assert_outcomes(passed=1)
    assert "ssegate" not in result.stdout.str()


def test_collect_only_lists_check_ids_without_starting_a_server(pytester: pytest.Pytester) -> None:
    pytester.makeini(INNER_INI)
    result = pytester.runpytest_inprocess(
        "--ssegate-reference", "--ssegate-select", "heartbeat.*", "--collect-only", "-q"
    )
    lines = [line for line in result.stdout.lines if line.startswith("ssegate::")]
    assert lines == [f"ssegate::{c.id}" for c in all_checks() if c.family == "heartbeat"]
    assert "ssegate: " not in result.stdout.str()


def test_an_unreachable_server_makes_every_item_an_error(pytester: pytest.Pytester) -> None:
    pytester.makeini(INNER_INI)
    result = pytester.runpytest_inprocess(
        "--ssegate-url",
        "http://127.0.0.1:9",
        "--ssegate-control-secret",
        "s",
        "--ssegate-select",
        "heartbeat.*",
    )
    heartbeat = [c for c in all_checks() if c.family == "heartbeat"]
    result.assert_outcomes(errors=len(heartbeat))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    assert "control API GET http://127.0.0.1:9/__ssegate/describe unreachable" in output
    assert "ssegate: partial run: setup failed" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ssegate-url", "http://127.0.0.1:9"], "--ssegate-url needs --ssegate-control-secret"),
        (["--ssegate-reference", "--ssegate-serve", "x {port}"], "give one of"),
        (["--ssegate-reference", "--ssegate-select", "nope.*"], "matches no check"),
        (["--ssegate-reference", "--ssegate-expected-failures", "missing.txt"], "cannot read"),
    ],
)
def test_bad_options_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    pytester.makeini(INNER_INI)
    result = pytester.runpytest_inprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()
