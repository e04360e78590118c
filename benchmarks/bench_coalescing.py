"""Snapshot fetches per interval: 1,000 streams on one billing run, coalesced vs not.

Starts the reference server twice in one run of this program: as shipped (one shared poller per
run, CHG-8) and with ``--no-coalesce`` (one poller per stream, the origin's way). For each, it
opens the streams, then reads the run's ``snapshotFetches`` from the control API's statistics
(CTL-12) at the start and end of a measurement window, and prints fetches per interval side by side.
Target (issue 3): 1 with coalescing, about 1,000 without.

Run: ``.venv/bin/python benchmarks/bench_coalescing.py [--streams 1000] [--window 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass

import psutil
from _reference_load import (
    machine_note,
    open_many,
    raise_file_limit,
    run_client,
    start_server,
    stream_path,
)

INTERVAL_MS = 500
HEARTBEAT_MS = 5000
TIMEOUT_MS = 3_600_000


@dataclass
class Figures:
    mode: str
    streams: int
    intervals: float
    fetches: int
    cpu: float

    @property
    def per_interval(self) -> float:
        return self.fetches / self.intervals


async def measure(coalesce: bool, streams: int, window: float) -> Figures:
    server = start_server(
        interval_ms=INTERVAL_MS, heartbeat_ms=HEARTBEAT_MS, timeout_ms=TIMEOUT_MS, coalesce=coalesce
    )
    process = psutil.Process(server.process.pid)
    try:
        workspace = server.control("POST", "/workspaces", {})
        assert isinstance(workspace, dict)
        run = server.control(
            "POST",
            f"/workspaces/{workspace['workspaceId']}/billing-runs",
            {"invoiceCount": 50, "sent": True},
        )
        assert isinstance(run, dict)
        run_id = run["billingRunId"]
        opened, failed = await open_many(
            streams,
            server.port,
            [stream_path(run_id)],
            workspace["token"],
            workspace["workspaceId"],
        )
        if failed:
            print(f"{failed} of {streams} streams failed to open")
        streams = len(opened)
        await asyncio.sleep(2)
        before = server.control("GET", f"/billing-runs/{run_id}/statistics")
        cpu_before = process.cpu_times()
        started = time.monotonic()
        await asyncio.sleep(window)
        after = server.control("GET", f"/billing-runs/{run_id}/statistics")
        elapsed = time.monotonic() - started
        cpu_after = process.cpu_times()
        assert isinstance(before, dict)
        assert isinstance(after, dict)
        assert after["openStreams"] == streams, after
        for stream in opened:
            stream.transport.close()
        cpu = (cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system) / elapsed
        return Figures(
            "coalesced (shipped)" if coalesce else "per stream (origin)",
            streams,
            elapsed / (INTERVAL_MS / 1000),
            after["snapshotFetches"] - before["snapshotFetches"],
            cpu,
        )
    finally:
        server.stop()


async def run(streams: int, window: float) -> None:
    results = [await measure(True, streams, window), await measure(False, streams, window)]
    print(f"{streams} streams on one run, intervalMs {INTERVAL_MS}, window {window:.0f} s")
    print(
        f"{'polling':<22} {'fetches':>8} {'intervals':>9} {'per interval':>12} {'server CPU':>10}"
    )
    for r in results:
        print(
            f"{r.mode:<22} {r.fetches:>8} {r.intervals:>9.1f} {r.per_interval:>12.1f} "
            f"{r.cpu * 100:>9.0f}%"
        )
    saved = results[1].per_interval / results[0].per_interval if results[0].fetches else 0
    print(f"coalescing makes {saved:.0f}x fewer snapshot fetches")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--window", type=float, default=10.0)
    args = parser.parse_args()
    raise_file_limit()
    print(machine_note())
    run_client(run(args.streams, args.window))
    print(machine_note())


if __name__ == "__main__":
    main()
