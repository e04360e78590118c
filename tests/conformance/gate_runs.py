"""Real `ssegate check` runs shared by the CI-gate tests (reports, baselines, load mode).

Each run is a separate `python -m conformance check ...` process against a server it starts
itself (the reference server, or the independent test server with one fault), writing every
report format. The runs start together on first use and are cached for the whole pytest process,
so the report, baseline and load tests pay for them once.
"""

from __future__ import annotations

import atexit
import functools
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.baseline import exit_code_of

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SNAPSHOT_SERVER = HERE / "servers" / "snapshot_server.py"
FORMATS = {"junit": "report.xml", "markdown": "report.md", "html": "report.html"}
# The fault the baseline run judges, the check that catches it, and a check its server passes.
FAULT = "no-cache-control"
FAULT_CHECK = "transport.cache-control"
STALE_CHECK = "transport.content-type"  # not a timing check: never flaky
LOAD_STREAMS = 50


@dataclass(frozen=True)
class GateRun:
    """One finished `ssegate check` process and what it wrote."""

    argv: list[str]
    exit_code: int
    stdout: str
    stderr: str
    folder: Path

    @property
    def report(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.folder / "report.json").read_text("utf-8"))
        return loaded

    def text(self, fmt: str) -> str:
        return (self.folder / FORMATS[fmt]).read_text(encoding="utf-8")

    def explain(self) -> str:
        return f"{shlex.join(self.argv)} -> {self.exit_code}\n{self.stdout[-3000:]}\n{self.stderr}"


def ssegate_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "conformance", *args]


def _outputs(folder: Path) -> list[str]:
    out = ["--report-json", str(folder / "report.json")]
    for fmt, name in FORMATS.items():
        out += [f"--{fmt}", str(folder / name)]
    return out


@functools.cache
def _workspace() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="ssegate-gate-tests-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _plans() -> dict[str, list[str]]:
    base = _workspace()
    baseline = base / "faulty" / "expected-failures.txt"
    baseline.parent.mkdir(parents=True, exist_ok=True)
    baseline.write_text(
        "# known failures of the test server run with --fault no-cache-control\n"
        f"{FAULT_CHECK}: the test server runs with --fault {FAULT}\n"
        f"{STALE_CHECK}: a stale entry, this check passes\n",
        encoding="utf-8",
    )
    serve = (
        f"{shlex.quote(sys.executable)} {shlex.quote(str(SNAPSHOT_SERVER))} --port {{port}} "
        "--control-secret {secret} --interval-ms 200 --heartbeat-ms 1000 --timeout-ms 3000 "
        f"--fault {FAULT}"
    )
    plans = {
        "reference": ["check", "--reference"],
        "faulty": ["check", "--serve", serve, "--expected-failures", str(baseline)],
        "load": ["check", "--reference", "--load", str(LOAD_STREAMS)],
    }
    for name, args in plans.items():
        folder = base / name
        folder.mkdir(exist_ok=True)
        args += _outputs(folder)
    return plans


def _start(plans: dict[str, list[str]], names: tuple[str, ...]) -> dict[str, GateRun]:
    processes = {
        name: subprocess.Popen(
            ssegate_argv(*plans[name]),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for name in names
    }
    runs = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=300)
        runs[name] = GateRun(
            ssegate_argv(*plans[name]), process.returncode, stdout, stderr, _workspace() / name
        )
    return runs


@functools.cache
def _judged_runs() -> dict[str, GateRun]:
    # Two at once; the load run has the machine to itself (its streams would skew the timings).
    return _start(_plans(), ("reference", "faulty"))


def reference_run() -> GateRun:
    """The full suite against the reference server, every format written."""
    return _judged_runs()["reference"]


def faulty_run() -> GateRun:
    """The test server with one fault, a baseline naming it and one stale entry: exit 1."""
    return _judged_runs()["faulty"]


@functools.cache
def load_run() -> GateRun:
    """`--load 50` against the reference server: the load checks alone, a partial run."""
    return _start(_plans(), ("load",))["load"]


@functools.cache
def setup_failure_report() -> dict[str, Any]:
    """A run whose server is unreachable (port 9, discard, nobody listens): every check ERROR."""
    path = _workspace() / "unreachable.json"
    args = ["check", "http://127.0.0.1:9", "--control-secret", "s", "--report-json", str(path)]
    done = subprocess.run(
        ssegate_argv(*args), cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 3, done.stderr
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def strip_baseline(report: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``report`` as if no baseline had been applied (for re-applying another)."""
    copy: dict[str, Any] = json.loads(json.dumps(report))
    for check in copy["checks"]:
        check.pop("baseline", None)
    copy["summary"].pop("baseline", None)
    copy["summary"]["exitCode"] = exit_code_of(copy)
    copy["summary"]["conformant"] = (
        copy["summary"]["exitCode"] == 0 and not copy["settings"]["partial"]
    )
    return copy
