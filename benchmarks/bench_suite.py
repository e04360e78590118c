"""Wall time of the whole conformance suite against the reference server, relative to timeoutMs.

Every check runs concurrently, so the suite should take about as long as its longest check, which
waits for the stream's timeout: the target (issue 4) is wall time / timeoutMs <= 1.25.

For each timeoutMs (default 3000 and 10000) this runs ``ssegate check --reference`` as a user
would (a separate process that starts the reference server on a free loopback port, checks it
and stops it) and prints:

- suite: the checks' wall time from the JSON report (``wallTimeMs``: from the first control call
  to the last verdict), divided by timeoutMs -- the figure the target is about;
- process: the whole command's wall time, including Python start-up and the reference server's
  start and stop, divided by timeoutMs -- what a CI job waits for;
- the verdict counts and the exit code (a benchmark of a red run would be meaningless), and the
  three longest checks with their own duration / timeoutMs (the suite cannot beat its longest
  check: end.no-overrun, for one, must watch until timeoutMs + tolerance).

Run: ``.venv/bin/python benchmarks/bench_suite.py [--timeouts 3000 10000] [--repeat 1]``.
intervalMs and heartbeatMs stay at the reference defaults of ``ssegate check`` unless given.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.25


def run_once(
    timeout_ms: int, interval_ms: int | None, heartbeat_ms: int | None
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        report_path = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "conformance", "check", "--reference"]
        command += ["--timeout-ms", str(timeout_ms), "--report-json", str(report_path)]
        if interval_ms is not None:
            command += ["--interval-ms", str(interval_ms)]
        if heartbeat_ms is not None:
            command += ["--heartbeat-ms", str(heartbeat_ms)]
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        process_s = time.monotonic() - started
        if not report_path.exists():
            sys.exit(f"ssegate check wrote no report (exit {done.returncode}):\n{done.stderr}")
        report = json.loads(report_path.read_text())
    verdicts = report["summary"]["verdicts"]
    counts = ", ".join(f"{count} {name}" for name, count in verdicts.items() if count)
    slowest = sorted(report["checks"], key=lambda check: check["durationMs"] or 0, reverse=True)
    longest = ", ".join(
        f"{check['id']} {check['durationMs'] / timeout_ms:.2f}" for check in slowest[:3]
    )
    suite = report["wallTimeMs"] / timeout_ms
    process = process_s * 1000 / timeout_ms
    print(f"    suite {suite:.3f}, process {process:.3f} x timeoutMs; exit {done.returncode}")
    print(f"      verdicts: {counts}")
    print(f"      longest checks (x timeoutMs): {longest}")
    for check in report["checks"]:
        if check["verdict"] in {"FAIL", "ERROR", "HARNESS-ERROR", "WARN"}:
            detail = check["reason"] or f"expected {check['expected']}; actual {check['actual']}"
            print(f"      {check['verdict']} {check['id']}: {str(detail)[:300]}")
    return {
        "suite": suite,
        "process": process,
        "exit": float(done.returncode),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--timeouts", type=int, nargs="+", default=[3000, 10000], metavar="MS")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--interval-ms", type=int)
    parser.add_argument("--heartbeat-ms", type=int)
    args = parser.parse_args()
    rows = []
    for timeout_ms in args.timeouts:
        print(f"timeoutMs {timeout_ms}:")
        runs = [
            run_once(timeout_ms, args.interval_ms, args.heartbeat_ms) for _ in range(args.repeat)
        ]
        suite = statistics.median(run["suite"] for run in runs)
        process = statistics.median(run["process"] for run in runs)
        green = all(run["exit"] == 0 for run in runs)
        rows.append((timeout_ms, suite, process, green))
    print()
    print(
        f"{'timeoutMs':>10} {'suite/timeout':>14} {'process/timeout':>16} {'target':>7}  all green"
    )
    for timeout_ms, suite, process, green in rows:
        verdict = "met" if suite <= TARGET else "MISSED"
        print(f"{timeout_ms:>10} {suite:>14.3f} {process:>16.3f} {verdict:>7}  {green}")
    print(f"(median of {args.repeat} run(s) each; target suite/timeout <= {TARGET})")
    # Figures from a busy machine are not comparable: say how busy it was.
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"load average at the end: {load} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
