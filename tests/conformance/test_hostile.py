"""The harness against a hostile server: it finishes, blames the server, stays small, never hangs.

Each mode of tests/conformance/servers/hostile_server.py attacks the stream differently (a line
that never ends, a 100 MB event, invalid UTF-8, a reset mid-event, headers that never come, a
stream that never ends, a flood of tiny events). ``ssegate check`` runs against each as a user
would run it: a separate process, measured by a small wrapper process whose only child it is
(peak RSS of that child).

What is asserted: an exit code of 1 (FAIL) or 3 (ERROR), never 0, 2 or 4; no check is a harness
fault; the checks that observe the broken aspect never PASS; the harness's peak memory stays
under a bound; the run ends within its own global deadline (plus a generous margin for process
start-up and the describe call, which run before the deadline starts). A run that hangs is killed
well after that and reported as a hang.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow

SERVER = Path(__file__).parent / "servers" / "hostile_server.py"
SECRET = "hostile-secret"
DEADLINE_S = 6.0
# Hang detection only: a run still going this long after its deadline is stuck.
HANG_S = DEADLINE_S + 60.0
MAX_RSS_MB = 400
SERVER_ARGS = ["--control-secret", SECRET, "--interval-ms", "200", "--heartbeat-ms", "500"]
SERVER_ARGS += ["--timeout-ms", "1500"]

# For each attack, the checks that observe the broken aspect: none of them may PASS.
BROKEN: dict[str, tuple[str, ...]] = {
    "line-that-never-ends": ("snapshot.first-event", "heartbeat.first", "end.timeout-on-time"),
    "100mb-event": ("snapshot.first-event", "heartbeat.first", "end.timeout-on-time"),
    "invalid-utf8": ("wire.utf8",),
    "reset-mid-event": ("snapshot.first-event", "end.planned-end", "end.timeout-on-time"),
    "headers-never-come": ("transport.status-200", "transport.headers-prompt"),
    "never-ends": ("end.timeout-on-time", "end.no-overrun"),
    "event-flood": ("heartbeat.cadence", "end.timeout-on-time"),
}

# The wrapper runs the harness as its only child and reports that child's peak RSS (Linux: KiB).
_MEASURE = """
import json, resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as out:
    json.dump({"rc": rc, "maxrss_kb": usage.ru_maxrss}, out)
"""


@dataclass
class Outcome:
    mode: str
    rc: int
    maxrss_mb: float
    report: dict[str, Any]
    output: str

    def verdicts(self) -> dict[str, str]:
        return {check["id"]: check["verdict"] for check in self.report["checks"]}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _ready(base: str, server: subprocess.Popen[bytes]) -> bool:
    """Wait until describe answers; False if the server exited (e.g. its port was taken)."""
    # Generous for a loaded machine; a server that never gets ready fails the test, no hang.
    give_up = time.monotonic() + 60.0
    while time.monotonic() < give_up:
        if server.poll() is not None:
            return False
        try:
            answer = httpx.get(
                f"{base}/__ssegate/describe", headers={"X-Ssegate-Control-Secret": SECRET}
            )
            if answer.status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError("hostile server never became ready")


def _start_server(mode: str) -> tuple[subprocess.Popen[bytes], str]:
    for _ in range(3):  # another process may take the free port before the server binds it
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, str(SERVER), "--port", str(port), "--mode", mode, *SERVER_ARGS],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if _ready(base, server):
            return server, base
    raise RuntimeError(f"hostile server ({mode}) did not start")


def _attack(mode: str, workdir: Path) -> Outcome:
    server, base = _start_server(mode)
    try:
        measured = workdir / f"{mode}.measure.json"
        report = workdir / f"{mode}.report.json"
        harness = [sys.executable, "-m", "conformance", "check", base]
        harness += ["--control-secret", SECRET, "--deadline-s", str(DEADLINE_S)]
        harness += ["--report-json", str(report)]
        wrapper = subprocess.Popen(
            [sys.executable, "-c", _MEASURE, str(measured), *harness],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "120", "NO_COLOR": "1"},
            start_new_session=True,
        )
        try:
            output, _ = wrapper.communicate(timeout=HANG_S)
        except subprocess.TimeoutExpired:
            os.killpg(wrapper.pid, signal.SIGKILL)
            wrapper.communicate()
            pytest.fail(f"the harness hung against hostile mode {mode!r}")
        measure = json.loads(measured.read_text())
        return Outcome(
            mode,
            measure["rc"],
            measure["maxrss_kb"] / 1024,
            json.loads(report.read_text()) if report.exists() else {"checks": []},
            output.decode(errors="replace"),
        )
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    workdir = tmp_path_factory.mktemp("hostile")
    # Three at a time: the modes are independent and mostly wait for deadlines.
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {mode: pool.submit(_attack, mode, workdir) for mode in BROKEN}
        return {mode: future.result() for mode, future in futures.items()}


@pytest.mark.parametrize("mode", list(BROKEN))
def test_harness_blames_the_server_with_fail_or_error(
    outcomes: dict[str, Outcome], mode: str
) -> None:
    outcome = outcomes[mode]
    assert outcome.rc in {1, 3}, outcome.output[-3000:]
    assert "Traceback" not in outcome.output
    summary = outcome.report["summary"]
    assert summary["exitCode"] == outcome.rc
    assert not summary["conformant"]
    assert summary["verdicts"]["HARNESS-ERROR"] == 0, outcome.output[-3000:]


@pytest.mark.parametrize("mode", list(BROKEN))
def test_broken_aspect_never_passes(outcomes: dict[str, Outcome], mode: str) -> None:
    verdicts = outcomes[mode].verdicts()
    for check_id in BROKEN[mode]:
        assert verdicts[check_id] in {"FAIL", "ERROR"}, (check_id, verdicts[check_id])


@pytest.mark.parametrize("mode", list(BROKEN))
def test_harness_memory_is_bounded(outcomes: dict[str, Outcome], mode: str) -> None:
    assert outcomes[mode].maxrss_mb < MAX_RSS_MB


@pytest.mark.parametrize("mode", list(BROKEN))
def test_harness_ends_within_its_global_deadline(outcomes: dict[str, Outcome], mode: str) -> None:
    # The checks' wall time is bounded by the deadline; the margin covers cancellation and
    # teardown on a loaded machine. This guards against a hang, not against slowness.
    assert outcomes[mode].report["wallTimeMs"] <= (DEADLINE_S + 10.0) * 1000


def test_hostile_server_is_standalone() -> None:
    """It must not share code with what it attacks (STYLE.md, the one architectural rule)."""
    tree = ast.parse(SERVER.read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported <= set(sys.stdlib_module_names)
