"""Concurrent streams against one reference server process on loopback.

Opens 1,000, then 5,000, then 10,000 streams (heartbeatMs 1000, intervalMs 500, timeoutMs long
enough never to fire), spread over 100 billing runs, and at each level prints:

- memory per stream: the server's RSS growth since before the first stream, divided by the
  number of open streams;
- heartbeat lateness p50/p99/max: for the n-th heartbeat of a stream, its arrival time minus
  (the stream start + n x heartbeatMs), both taken by the client on one monotonic clock (TIME-1),
  over a measurement window;
- missed heartbeats: heartbeats due in the window that did not arrive;
- server CPU: CPU seconds used by the server process per wall second, in % of one core;
- held / failed: streams open at the end of the window / stream requests that never opened;
- CPU us/heartbeat: server CPU time in the window divided by the heartbeats received in it
  (it includes the polls), a cost figure that does not depend on how busy the machine is;
- client lag p99: how late the benchmark's own event loop woke up in the same window. When it is
  as large as the heartbeat lateness, the machine (not the server) was the bottleneck.

Targets (issue 3): 10,000 streams held, p99 lateness <= 100 ms, <= 32 KiB per stream.
Run: ``.venv/bin/python benchmarks/bench_streams.py [--levels 1000 5000 10000] [--window 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time

import psutil
from _reference_load import (
    LagProbe,
    StreamProtocol,
    machine_note,
    open_many,
    percentile,
    raise_file_limit,
    run_client,
    start_server,
    stream_path,
)

HEARTBEAT_MS = 1000
INTERVAL_MS = 500
TIMEOUT_MS = 3_600_000


def lateness_in_window(
    streams: list[StreamProtocol], since: float, until: float, period: float
) -> tuple[list[float], int]:
    """Lateness of each heartbeat arriving in [since, until), and how many due ones are missing."""
    late: list[float] = []
    missing = 0
    for stream in streams:
        assert stream.started_at is not None
        for n, arrived in enumerate(stream.heartbeats, start=1):
            if since <= arrived < until:
                late.append(arrived - (stream.started_at + n * period))
        due = int((until - 0.2 - stream.started_at) / period)  # 200 ms grace at the window's end
        missing += max(0, due - len(stream.heartbeats))
    return late, missing


async def run(levels: list[int], window: float, runs: int) -> None:
    server = start_server(interval_ms=INTERVAL_MS, heartbeat_ms=HEARTBEAT_MS, timeout_ms=TIMEOUT_MS)
    process = psutil.Process(server.process.pid)
    try:
        workspace = server.control("POST", "/workspaces", {})
        assert isinstance(workspace, dict)
        token, workspace_id = workspace["token"], workspace["workspaceId"]
        paths = []
        for _ in range(runs):
            run = server.control(
                "POST",
                f"/workspaces/{workspace_id}/billing-runs",
                {"invoiceCount": 3, "sent": True},
            )
            assert isinstance(run, dict)
            paths.append(stream_path(run["billingRunId"]))
        # Warm up code paths and allocator pools, then take the baseline.
        warm, _ = await open_many(50, server.port, paths, token, workspace_id)
        for stream in warm:
            stream.transport.close()
        await asyncio.sleep(2)
        baseline_rss = process.memory_info().rss
        print(
            f"server pid {process.pid}; baseline RSS {baseline_rss / 2**20:.1f} MiB; "
            f"heartbeatMs {HEARTBEAT_MS}, intervalMs {INTERVAL_MS}, {runs} runs"
        )
        print(
            f"{'streams':>8} {'open s':>7} {'KiB/stream':>10} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'max ms':>7} {'missed':>7} {'server CPU':>10} {'held':>6} {'failed':>6} "
            f"{'client lag p99':>14} {'CPU us/heartbeat':>16}"
        )
        loop = asyncio.get_running_loop()
        probe = LagProbe()
        failed_opens = 0
        streams: list[StreamProtocol] = []
        for level in levels:
            began = time.monotonic()
            opened, failed = await open_many(
                level - len(streams), server.port, paths, token, workspace_id, give_up_after=240
            )
            streams += opened
            failed_opens += failed
            opened_in = time.monotonic() - began
            await asyncio.sleep(2)  # let the ramp-up's backlog drain before measuring
            gc.collect()
            cpu_before = process.cpu_times()
            since = loop.time()
            probe.start()
            await asyncio.sleep(window)
            lag = probe.stop()
            until = loop.time()
            cpu_after = process.cpu_times()
            rss = process.memory_info().rss
            late, missing = lateness_in_window(streams, since, until, HEARTBEAT_MS / 1000)
            cpu = ((cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)) / (
                until - since
            )
            held = sum(not s.closed for s in streams)
            per_stream = (rss - baseline_rss) / max(1, len(streams)) / 1024
            print(
                f"{level:>8} {opened_in:>7.1f} {per_stream:>10.1f} "
                f"{percentile(late, 0.5) * 1000:>7.1f} {percentile(late, 0.99) * 1000:>7.1f} "
                f"{max(late, default=0) * 1000:>7.1f} {missing:>7} {cpu * 100:>9.0f}% {held:>6} "
                f"{failed_opens:>6} {percentile(lag, 0.99) * 1000:>11.1f} ms "
                f"{cpu * (until - since) / max(1, len(late)) * 1e6:>16.0f}",
                flush=True,
            )
        for stream in streams:
            stream.transport.close()
    finally:
        code = server.stop()
        print(f"server exit status after SIGTERM: {code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--window", type=float, default=10.0, help="measurement seconds per level")
    parser.add_argument("--runs", type=int, default=100, help="billing runs the streams watch")
    args = parser.parse_args()
    limit = raise_file_limit()
    if limit < max(args.levels) + 100:
        raise SystemExit(
            f"RLIMIT_NOFILE hard limit {limit} is too low for {max(args.levels)} streams"
        )
    print(machine_note())
    run_client(run(args.levels, args.window, args.runs))
    print(machine_note())


if __name__ == "__main__":
    main()
