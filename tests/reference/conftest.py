"""Fixtures for the reference server's tests: a virtual clock, and real servers on loopback.

The virtual clock drives the stream core without real sleeps. The server fixtures start
``python -m reference serve`` as a subprocess on a free 127.0.0.1 port with a real SQLite file in
``tmp_path``, exactly as a user would, and stop it with SIGTERM.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
CONTROL_SECRET = "test-control-secret"


# -- virtual time ---------------------------------------------------------------------------------


@dataclass(eq=False)
class _Timer:
    when: float
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class VirtualClock:
    """A Clock whose time moves only in :meth:`advance`; callbacks run in time order."""

    now: float = 0.0
    wall_base: datetime = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    _heap: list[tuple[float, int, _Timer]] = field(default_factory=list)
    _order: Iterator[int] = field(default_factory=itertools.count)

    def monotonic(self) -> float:
        return self.now

    def utcnow(self) -> datetime:
        return self.wall_base + timedelta(seconds=self.now)

    def call_at(self, when: float, callback: Callable[[], None]) -> _Timer:
        timer = _Timer(when, callback)
        heapq.heappush(self._heap, (when, next(self._order), timer))
        return timer

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        self.call_at(self.now + seconds, wake)
        await future

    @property
    def pending_timers(self) -> int:
        return sum(1 for _, _, timer in self._heap if not timer.cancelled)

    async def settle(self) -> None:
        """Let every task that can run, run (fetch tasks, waiters)."""
        for _ in range(30):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        target = self.now + seconds
        await self.settle()
        while self._heap and self._heap[0][0] <= target + 1e-9:
            when, _, timer = heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            self.now = max(self.now, when)
            timer.callback()
            await self.settle()
        self.now = target
        await self.settle()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


# -- real servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    base_url: str
    db_path: Path
    interval_ms: int
    heartbeat_ms: int
    timeout_ms: int
    log_path: Path

    def control(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.base_url}/__ssegate",
            headers={"X-Ssegate-Control-Secret": CONTROL_SECRET},
            timeout=10,
        )

    def client(self, token: str | None = None, workspace: str | None = None) -> httpx.Client:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if workspace is not None:
            headers["X-Workspace-Id"] = workspace
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=10)

    def new_workspace(self) -> tuple[str, str]:
        with self.control() as control:
            body = control.post("/workspaces", json={}).raise_for_status().json()
        return body["workspaceId"], body["token"]

    def new_run(self, workspace: str, invoice_count: int = 3, *, sent: bool = False) -> str:
        with self.control() as control:
            response = control.post(
                f"/workspaces/{workspace}/billing-runs",
                json={"invoiceCount": invoice_count, "sent": sent},
            )
        run_id: str = response.raise_for_status().json()["billingRunId"]
        return run_id

    def statistics(self, run_id: str) -> dict[str, int]:
        with self.control() as control:
            stats: dict[str, int] = (
                control.get(f"/billing-runs/{run_id}/statistics").raise_for_status().json()
            )
        return stats

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 10) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(
    tmp_path: Path,
    *,
    interval_ms: int = 100,
    heartbeat_ms: int = 400,
    timeout_ms: int = 2000,
    control: bool = True,
    extra: tuple[str, ...] = (),
) -> RunningServer:
    port = free_port()
    db_path = tmp_path / "reference.sqlite3"
    log_path = tmp_path / f"server-{port}.log"
    args = [
        sys.executable,
        "-m",
        "reference",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--db",
        str(db_path),
        "--interval-ms",
        str(interval_ms),
        "--heartbeat-ms",
        str(heartbeat_ms),
        "--timeout-ms",
        str(timeout_ms),
        "--send-pace-ms",
        "50",
        *extra,
    ]
    if control:
        args += ["--control-secret", CONTROL_SECRET]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env={**os.environ}
        )
    server = RunningServer(
        process,
        f"http://127.0.0.1:{port}",
        db_path,
        interval_ms,
        heartbeat_ms,
        timeout_ms,
        log_path,
    )
    deadline = time.monotonic() + 20
    ready_path = "/__ssegate/describe" if control else "/openapi.json"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        try:
            response = httpx.get(
                server.base_url + ready_path,
                headers={"X-Ssegate-Control-Secret": CONTROL_SECRET},
                timeout=1,
            )
            if response.status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"server did not become ready:\n{server.log()}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server for the session (starting one costs a second or more); every test makes its own
    workspace, so tests cannot see each other's data."""
    running = start_server(tmp_path_factory.mktemp("server"))
    yield running
    running.stop()


# -- reading streams ------------------------------------------------------------------------------


@dataclass
class SseEvent:
    name: str
    data: str
    fields: list[tuple[str, str]]

    def json(self) -> Any:
        return json.loads(self.data)


def parse_events(text: str) -> list[SseEvent]:
    """A deliberately small parser for what the reference server sends (LF lines, no comments
    expected); the full WHATWG decoder lives in the harness, which these tests must not import."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields = []
        for line in block.split("\n"):
            name, _, value = line.partition(":")
            fields.append((name, value.removeprefix(" ")))
        names = [v for n, v in fields if n == "event"]
        data = "\n".join(v for n, v in fields if n == "data")
        events.append(SseEvent(names[0] if names else "message", data, fields))
    return events


class StreamReader:
    """Reads a streaming response incrementally; ``events`` holds every complete event so far."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.text = ""
        self._chunks = response.iter_text()

    @property
    def events(self) -> list[SseEvent]:
        complete, _, _ = self.text.rpartition("\n\n")
        return parse_events(complete)

    def until(self, predicate: Callable[[list[SseEvent]], bool]) -> list[SseEvent]:
        """Read until ``predicate(events)`` holds; the body ending first fails the test."""
        while not predicate(self.events):
            try:
                self.text += next(self._chunks)
            except StopIteration:
                raise AssertionError(f"stream ended first:\n{self.text}") from None
        return self.events

    def rest(self) -> list[SseEvent]:
        """Read to the end of the body."""
        for chunk in self._chunks:
            self.text += chunk
        return self.events
