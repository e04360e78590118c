"""Load mode against the reference server: latency percentiles as the number of streams grows.

Runs ``ssegate check --reference --load N`` as a user would (a separate process that starts the
reference server, holds N streams for their whole life, judges them and stops it) for each N and
prints, from the JSON report, the load checks' verdicts and the p50/p95/p99/max of snapshot
latency (stream start to the first data event), heartbeat lateness (gap minus heartbeatMs) and
time to response headers, plus the run's wall time. The harness and the server share the
machine, so the figures bound the server's behaviour from above.

Run: ``.venv/bin/python benchmarks/bench_load_mode.py [--streams 50 200 500]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def run_once(streams: int, timeout_ms: int | None) -> tuple[dict[str, Any], float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        report_path = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "conformance", "check", "--reference"]
        command += ["--load", str(streams), "--report-json", str(report_path)]
        if timeout_ms is not None:
            command += ["--timeout-ms", str(timeout_ms)]
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wall_s = time.monotonic() - started
        if not report_path.exists():
            sys.exit(f"ssegate check wrote no report (exit {done.returncode}):\n{done.stderr}")
        report: dict[str, Any] = json.loads(report_path.read_text())
    return report, wall_s, done.returncode


def _row(values: dict[str, Any]) -> str:
    return "/".join(f"{values[key]}" for key in ("p50", "p95", "p99", "max"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[50, 200, 500])
    parser.add_argument("--timeout-ms", type=int, default=None)
    args = parser.parse_args()
    print(
        "streams  exit  wall s  verdicts (snapshots, heartbeats, no-drop)  "
        "snapshot p50/p95/p99/max ms  lateness p50/p95/p99/max ms  headers p50/p95/p99/max ms"
    )
    for streams in args.streams:
        report, wall_s, code = run_once(streams, args.timeout_ms)
        checks = {c["id"]: c for c in report["checks"]}
        verdicts = ", ".join(checks[i]["verdict"] for i in checks)
        snap = checks["load.snapshots"]["observed"]["percentilesMs"]
        late = checks["load.heartbeat-lateness"]["observed"]["percentilesMs"]
        print(
            f"{streams:>7}  {code:>4}  {wall_s:>6.1f}  {verdicts:<42}  "
            f"{_row(snap['snapshotLatency']):<27}  {_row(late['heartbeatLateness']):<27}  "
            f"{_row(snap['headers'])}"
        )


if __name__ == "__main__":
    main()
