"""What both reference-server benchmarks need: the server as a subprocess, and a client light
enough to hold 10,000 streams in one Python process.

The client is a bare asyncio ``Protocol`` per connection: it writes one GET, notes when the
response headers arrive (the stream start, TIME-1) and when each ``heartbeat`` event arrives, and
parses nothing else. httpx would spend more memory and CPU per stream than the server does, and
the figures would measure the client.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SECRET = "benchmark-control-secret"


def raise_file_limit() -> int:
    """Lift RLIMIT_NOFILE to the hard limit (the server subprocess inherits it)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    workdir: tempfile.TemporaryDirectory[str]

    def control(self, method: str, path: str, body: object | None = None) -> object:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/__ssegate{path}",
            data=data,
            method=method,
            headers={"X-Ssegate-Control-Secret": SECRET, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def stop(self) -> int:
        self.process.terminate()
        try:
            code = self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.workdir.cleanup()
        return code


def start_server(
    *, interval_ms: int, heartbeat_ms: int, timeout_ms: int, coalesce: bool = True
) -> Server:
    workdir = tempfile.TemporaryDirectory(prefix="ssegate-bench-")
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "reference",
        "serve",
        "--port",
        str(port),
        "--db",
        str(Path(workdir.name) / "bench.sqlite3"),
        "--interval-ms",
        str(interval_ms),
        "--heartbeat-ms",
        str(heartbeat_ms),
        "--timeout-ms",
        str(timeout_ms),
        "--control-secret",
        SECRET,
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    if not coalesce:
        args.append("--no-coalesce")
    process = subprocess.Popen(args, cwd=REPO, env={**os.environ})
    server = Server(process, port, workdir)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            server.control("GET", "/describe")
            return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError("the reference server did not start")


@dataclass(eq=False)
class StreamProtocol(asyncio.Protocol):
    """One stream connection. Records the stream start and every heartbeat's arrival time."""

    request: bytes
    opened: asyncio.Future[None]
    started_at: float | None = None
    heartbeats: list[float] = field(default_factory=list)
    closed: bool = False
    status_ok: bool = False
    _head: bytes = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = asyncio.get_running_loop().time()
        if self.started_at is None:
            self._head += data
            if b"\r\n\r\n" not in self._head:
                return
            self.started_at = now
            self.status_ok = self._head.startswith(b"HTTP/1.1 200")
            if not self.opened.done():
                self.opened.set_result(None)
            data = self._head
            self._head = b""
        for _ in range(data.count(b"event: heartbeat")):
            self.heartbeats.append(now)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed before the response"))


async def open_stream(port: int, path: str, token: str, workspace: str) -> StreamProtocol:
    loop = asyncio.get_running_loop()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
        f"Authorization: Bearer {token}\r\nX-Workspace-Id: {workspace}\r\n\r\n"
    ).encode()
    protocol = StreamProtocol(request, loop.create_future())
    await loop.create_connection(lambda: protocol, "127.0.0.1", port)
    await asyncio.wait_for(protocol.opened, 180)
    if not protocol.status_ok:
        raise RuntimeError("stream request was not answered 200")
    return protocol


async def open_many(
    count: int,
    port: int,
    paths: list[str],
    token: str,
    workspace: str,
    batch: int = 100,
    give_up_after: float = 300.0,
) -> tuple[list[StreamProtocol], int]:
    """Open ``count`` streams, ``batch`` at a time, spread round-robin over ``paths``.

    Returns the streams that opened and how many failed to (reported, not hidden). Stops starting
    new batches after ``give_up_after`` seconds, so a saturated server yields a figure, not a hang.
    """
    streams: list[StreamProtocol] = []
    failed = 0
    deadline = time.monotonic() + give_up_after
    for first in range(0, count, batch):
        if time.monotonic() > deadline:
            break
        size = min(batch, count - first)
        results = await asyncio.gather(
            *(
                open_stream(port, paths[(first + i) % len(paths)], token, workspace)
                for i in range(size)
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, StreamProtocol):
                streams.append(result)
            else:
                failed += 1
    return streams, failed


def stream_path(run_id: str) -> str:
    return f"/classes/billing/runs/{run_id}/send-progress/stream"


def run_client(main: Coroutine[Any, Any, None]) -> None:
    """Run the benchmark client on uvloop when it is installed (as the server does)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def machine_note() -> str:
    """The machine's load, printed with the figures: other processes make every figure worse."""
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {one:.1f} (1 min), {five:.1f} (5 min)"


class LagProbe:
    """How late this process's own event loop wakes up: sleeps 20 ms over and over and records
    the overshoot. Printed next to heartbeat lateness, it separates a late server from a client
    (or a whole machine) that was not scheduled in time."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + 0.02
            await asyncio.sleep(0.02)
            self.samples.append(loop.time() - due)

    def start(self) -> None:
        self.samples.clear()
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> list[float]:
        if self._task is not None:
            self._task.cancel()
        return list(self.samples)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]
