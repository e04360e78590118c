"""Streams under load and stress over real HTTP: coalescing (CHG-8), disconnect cleanup (LIFE-1,
LIFE-2), snapshot failure (ERR-13, ERR-17) and shutdown (LIFE-3), observed through the control
API's statistics and the bytes on the wire."""

from __future__ import annotations

import math
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx
from conftest import RunningServer, StreamReader, start_server


def stream_url(run_id: str) -> str:
    return f"/classes/billing/runs/{run_id}/send-progress/stream"


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def open_streams(
    stack: ExitStack, server: RunningServer, token: str, workspace: str, run_id: str, n: int
) -> list[StreamReader]:
    """Open ``n`` streams and read each one's initial snapshot. Keep the result: a reader that is
    garbage-collected closes its response."""
    client = stack.enter_context(server.client(token, workspace))
    readers = []
    for _ in range(n):
        response = stack.enter_context(client.stream("GET", stream_url(run_id)))
        reader = StreamReader(response)
        reader.until(lambda events: len(events) >= 1)
        readers.append(reader)
    return readers


def test_many_subscribers_of_one_run_cost_one_fetch_per_interval(server: RunningServer) -> None:
    """CHG-8: the fetch count over a window is bounded by the number of intervals in it, not
    by intervals times subscribers. (The poller is timer-driven, so a loaded machine can only
    make fewer fetches, never more: the bound holds however slow the machine is.)"""
    workspace_id, token = server.new_workspace()
    run_id = server.new_run(workspace_id, 3)
    subscribers = 6
    with ExitStack() as stack:
        readers = open_streams(stack, server, token, workspace_id, run_id, subscribers)
        assert server.statistics(run_id)["openStreams"] == subscribers
        start_fetches = server.statistics(run_id)["snapshotFetches"]
        started = time.monotonic()
        time.sleep(1.0)
        fetches = server.statistics(run_id)["snapshotFetches"] - start_fetches
        elapsed = time.monotonic() - started
        assert all(not reader.response.is_closed for reader in readers)
    intervals = math.ceil(elapsed / (server.interval_ms / 1000))
    assert 1 <= fetches <= intervals + 1
    assert fetches < subscribers * (intervals // 2)


def test_disconnect_releases_the_stream_and_stops_polling(server: RunningServer) -> None:
    """LIFE-1, LIFE-2, CTL-12."""
    workspace_id, token = server.new_workspace()
    run_id = server.new_run(workspace_id, 3)
    with ExitStack() as stack:
        readers = open_streams(stack, server, token, workspace_id, run_id, 2)
        assert server.statistics(run_id)["openStreams"] == len(readers)
    # Both responses are closed by now: the server notices and drops both subscriptions.
    assert wait_for(lambda: server.statistics(run_id)["openStreams"] == 0)
    settled = server.statistics(run_id)["snapshotFetches"]
    time.sleep(5 * server.interval_ms / 1000)
    assert server.statistics(run_id)["snapshotFetches"] == settled


def test_a_failed_snapshot_ends_that_stream_only(server: RunningServer) -> None:
    """ERR-13, ERR-14, ERR-16, ERR-17, CTL-11."""
    workspace_id, token = server.new_workspace()
    failing_run = server.new_run(workspace_id, 3)
    healthy_run = server.new_run(workspace_id, 3, sent=True)
    with ExitStack() as stack:
        (failing,) = open_streams(stack, server, token, workspace_id, failing_run, 1)
        (healthy,) = open_streams(stack, server, token, workspace_id, healthy_run, 1)
        with server.control() as control:
            control.post(f"/billing-runs/{failing_run}/fail-next-snapshot").raise_for_status()
        events = failing.rest()
        assert events[-1].name == "error"
        assert events[-1].json() == {
            "code": "snapshot_failed",
            "message": "The current state could not be read.",
        }
        with server.control() as control:
            control.put(
                f"/billing-runs/{healthy_run}/deliveries", json={"statusCounts": {"SENT": 1}}
            ).raise_for_status()
        healthy.until(
            lambda events: any(
                e.name == "billing.invoice-send-progress" and e.json()["progress"]["sentCount"] == 1
                for e in events
            )
        )
    # Later fetches succeed again: a new stream of the failing run opens normally.
    with ExitStack() as stack:
        (again,) = open_streams(stack, server, token, workspace_id, failing_run, 1)
        assert again.events[0].name == "billing.invoice-send-progress"


def test_sigterm_ends_open_streams_cleanly_and_the_process_exits_0(tmp_path: Path) -> None:
    """LIFE-3: every open stream gets `error` shutting_down and a clean end; exit status 0.

    The elapsed time is printed, not asserted (timing belongs to benchmarks and the harness)."""
    running = start_server(tmp_path, timeout_ms=60_000, heartbeat_ms=20_000)
    try:
        workspace_id, token = running.new_workspace()
        run_id = running.new_run(workspace_id, 3)
        bodies: list[str] = []
        errors: list[BaseException] = []
        opened = threading.Barrier(4)

        def watch() -> None:
            try:
                with (
                    running.client(token, workspace_id) as client,
                    client.stream("GET", stream_url(run_id)) as response,
                ):
                    reader = StreamReader(response)
                    reader.until(lambda events: len(events) >= 1)
                    opened.wait(10)
                    reader.rest()  # raises if the connection is reset instead of ended
                    bodies.append(reader.text)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=watch) for _ in range(3)]
        for thread in threads:
            thread.start()
        opened.wait(10)
        sent = time.monotonic()
        running.process.send_signal(signal.SIGTERM)
        code = running.process.wait(15)
        elapsed = time.monotonic() - sent
        for thread in threads:
            thread.join(15)
    except (subprocess.TimeoutExpired, httpx.HTTPError):
        running.stop()
        raise
    print(f"SIGTERM to exit: {elapsed:.2f} s")
    assert errors == []
    assert code == 0
    assert len(bodies) == 3
    for body in bodies:
        assert body.endswith(
            'event: error\ndata: {"code":"shutting_down","message":"The server is shutting down."}'
            "\n\n"
        )
    assert "Traceback" not in running.log()
    assert token not in running.log()
