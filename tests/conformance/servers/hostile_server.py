"""A hostile snapshot-stream server: the harness must survive it, finish in time and blame it.

Standalone on purpose (raw asyncio sockets, hand-written HTTP/1.1; imports neither ``conformance``
nor ``reference``): its control API (spec/14-control-api.md) answers just enough for the harness
to set up its checks, and every stream request gets the attack chosen with ``--mode``:

- ``line-that-never-ends``: an event line trickles forever and never gets its line terminator.
- ``100mb-event``: one 100 MB event (8 KiB data lines, no empty line), as fast as it is read.
- ``invalid-utf8``: otherwise well-timed events whose bytes are not valid UTF-8.
- ``reset-mid-event``: half an event, then a TCP reset.
- ``headers-never-come``: the request is read and never answered.
- ``never-ends``: a snapshot, then heartbeats forever; no timeout event, no end.
- ``event-flood``: a snapshot, then tiny heartbeat events as fast as they are read, forever
  (each costs the harness far more memory than its 30 bytes).

Run: ``python tests/conformance/servers/hostile_server.py --port N --mode MODE
--control-secret S`` ; ready when ``GET /__ssegate/describe`` answers 200. Ends on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import signal
import socket
import struct
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

MODES = (
    "line-that-never-ends",
    "100mb-event",
    "invalid-utf8",
    "reset-mid-event",
    "headers-never-come",
    "never-ends",
    "event-flood",
)
PROFILE = "billing.invoice-send-progress"
STREAM_PATH = "/classes/billing/runs/{billingRunId}/send-progress/stream"
CONTROL = "/__ssegate"
_MAX_HEAD = 64 << 10
_MAX_BODY = 1 << 20
_REASONS = {200: "OK", 201: "Created", 204: "No Content", 401: "Unauthorized", 404: "Not Found"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Request:
    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body


class HostileServer:
    def __init__(
        self, mode: str, secret: str, interval_ms: int, heartbeat_ms: int, timeout_ms: int
    ):
        self.mode = mode
        self.secret = secret
        self.interval_ms = interval_ms
        self.heartbeat_ms = heartbeat_ms
        self.timeout_ms = timeout_ms
        self._ids = itertools.count(1)
        self.runs: dict[str, str] = {}  # billingRunId -> month

    # -- HTTP plumbing ---------------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    return
                keep_open = await self._route(request, reader, writer)
                if not keep_open:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        finally:
            writer.close()

    async def _read_request(self, reader: asyncio.StreamReader) -> Request | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = min(int(headers.get("content-length", "0") or 0), _MAX_BODY)
        body = await reader.readexactly(length) if length else b""
        return Request(method, target.split("?", 1)[0], headers, body)

    @staticmethod
    async def _send(
        writer: asyncio.StreamWriter,
        status: int,
        body: object = None,
        ctype: str = "application/json",
    ) -> bool:
        payload = b"" if body is None else json.dumps(body).encode()
        head = f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n"
        if payload:
            head += f"Content-Type: {ctype}\r\n"
        head += f"Content-Length: {len(payload)}\r\n\r\n"
        writer.write(head.encode() + payload)
        await writer.drain()
        return True

    # -- routing ----------------------------------------------------------------------------------

    async def _route(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        path = request.path
        if path.startswith(CONTROL + "/"):
            if request.headers.get("x-ssegate-control-secret") != self.secret:
                problem = {"type": "about:blank", "title": "Unauthorized", "status": 401}
                return await self._send(writer, 401, problem, "application/problem+json")
            return await self._control(request, path[len(CONTROL) :], writer)
        parts = path.strip("/").split("/")
        if (
            parts[:3] == ["classes", "billing", "runs"]
            and len(parts) == 6
            and parts[4:]
            == [
                "send-progress",
                "stream",
            ]
        ):
            await self._stream(parts[3], reader, writer)
            return False
        if parts[:3] == ["classes", "billing", "runs"] and parts[4:] == ["send-progress"]:
            return await self._send(writer, 200, self._payload(parts[3]))
        if path == "/classes/billing/runs" and request.method == "POST":
            run_id = f"run_{next(self._ids)}"
            self.runs[run_id] = datetime.now(UTC).strftime("%Y-%m")
            return await self._send(writer, 201, {"billingRunId": run_id})
        not_found = {"type": "about:blank", "title": "Not Found", "status": 404}
        return await self._send(writer, 404, not_found, "application/problem+json")

    async def _control(self, request: Request, path: str, writer: asyncio.StreamWriter) -> bool:
        parts = path.strip("/").split("/")
        if path == "/describe":
            return await self._send(writer, 200, self.describe())
        if path == "/workspaces" and request.method == "POST":
            n = next(self._ids)
            return await self._send(writer, 201, {"workspaceId": f"ws_{n}", "token": f"tok_{n}"})
        if path == "/outsiders" and request.method == "POST":
            n = next(self._ids)
            return await self._send(writer, 201, {"principalId": f"p_{n}", "token": f"tok_{n}"})
        if len(parts) == 3 and parts[0] == "workspaces" and parts[2] == "billing-runs":
            body = json.loads(request.body or b"{}")
            month = body.get("month") or datetime.now(UTC).strftime("%Y-%m")
            run_id = f"run_{next(self._ids)}"
            self.runs[run_id] = month
            return await self._send(writer, 201, {"billingRunId": run_id, "month": month})
        if (
            len(parts) == 3
            and parts[0] == "billing-runs"
            and parts[2]
            in {
                "deliveries",
                "touch",
                "complete",
            }
        ):
            return await self._send(writer, 204)
        not_found = {"type": "about:blank", "title": "Not Found", "status": 404}
        return await self._send(writer, 404, not_found, "application/problem+json")

    def describe(self) -> dict[str, object]:
        return {
            "protocolVersion": "1.0",
            "server": {"name": f"ssegate-hostile-{self.mode}", "version": "0.0.1"},
            "profiles": {
                PROFILE: {
                    "path": STREAM_PATH,
                    "event": PROFILE,
                    "contract": f"{PROFILE}@1",
                    "intervalMs": self.interval_ms,
                    "heartbeatMs": self.heartbeat_ms,
                    "timeoutMs": self.timeout_ms,
                }
            },
            "features": [],
        }

    def _payload(self, run_id: str) -> dict[str, object]:
        month = self.runs.get(run_id, datetime.now(UTC).strftime("%Y-%m"))
        return {
            "billingRunId": run_id,
            "month": month,
            "progress": None,
            "isComplete": False,
            "generatedAt": _now(),
        }

    # -- the attacks ------------------------------------------------------------------------------

    async def _stream(
        self, run_id: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        attack: Callable[[str, asyncio.StreamWriter], Awaitable[None]] = {
            "line-that-never-ends": self._line_that_never_ends,
            "100mb-event": self._huge_event,
            "invalid-utf8": self._invalid_utf8,
            "reset-mid-event": self._reset_mid_event,
            "never-ends": self._never_ends,
            "event-flood": self._event_flood,
        }.get(self.mode, self._headers_never_come)
        if self.mode != "headers-never-come":
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
        # Stop as soon as the client goes away, whatever the attack is doing.
        attacking = asyncio.ensure_future(attack(run_id, writer))
        watching = asyncio.ensure_future(self._until_client_gone(reader))
        await asyncio.wait([attacking, watching], return_when=asyncio.FIRST_COMPLETED)
        for task in (attacking, watching):
            task.cancel()
        await asyncio.gather(attacking, watching, return_exceptions=True)

    @staticmethod
    async def _until_client_gone(reader: asyncio.StreamReader) -> None:
        while await reader.read(4096):
            pass

    @staticmethod
    async def _chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(b"%x\r\n%s\r\n" % (len(data), data))
        await writer.drain()

    def _event(self, name: str, payload: dict[str, object]) -> bytes:
        return f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode()

    async def _line_that_never_ends(self, run_id: str, writer: asyncio.StreamWriter) -> None:
        await self._chunk(writer, f'event: {PROFILE}\ndata: {{"billingRunId": "'.encode())
        while True:
            await self._chunk(writer, b"x" * 1024)
            await asyncio.sleep(0.05)

    async def _huge_event(self, run_id: str, writer: asyncio.StreamWriter) -> None:
        line = b"data: " + b"x" * (8 << 10) + b"\n"
        await self._chunk(writer, f"event: {PROFILE}\n".encode())
        for _ in range((100 << 20) // (len(line) * 8)):
            await self._chunk(writer, line * 8)
        await self._chunk(writer, b"\n")
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async def _invalid_utf8(self, run_id: str, writer: asyncio.StreamWriter) -> None:
        started = _now()
        snapshot = self._event(PROFILE, self._payload(run_id))
        # A Latin-1 byte inside the JSON string: valid JSON once replaced, never valid UTF-8.
        await self._chunk(writer, snapshot.replace(b'"month"', b'"m\xe9nth"', 1) + b"\xff\n")
        loop = asyncio.get_running_loop()
        end = loop.time() + self.timeout_ms / 1000
        while loop.time() + self.heartbeat_ms / 1000 < end:
            await asyncio.sleep(self.heartbeat_ms / 1000)
            await self._chunk(writer, b": \xc3\x28 heartbeat follows\n" + self._heartbeat())
        await asyncio.sleep(max(0.0, end - loop.time()))
        timeout = {"startedAt": started, "timestamp": _now(), "timeoutMs": self.timeout_ms}
        await self._chunk(writer, self._event("timeout", timeout))
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    def _heartbeat(self) -> bytes:
        return self._event("heartbeat", {"timestamp": _now()})

    async def _reset_mid_event(self, run_id: str, writer: asyncio.StreamWriter) -> None:
        await self._chunk(
            writer, f'event: {PROFILE}\ndata: {{"billingRunId": "{run_id}", '.encode()
        )
        await asyncio.sleep(0.05)
        sock = writer.get_extra_info("socket")
        # SO_LINGER with a zero timeout: closing sends RST, not FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def _headers_never_come(self, run_id: str, writer: asyncio.StreamWriter) -> None:
        await asyncio.Event().wait()

    async def _never_ends(self, run_id: str, writer: asyncio.StreamWriter) -> None:
        await self._chunk(writer, self._event(PROFILE, self._payload(run_id)))
        while True:
            await asyncio.sleep(self.heartbeat_ms / 1000)
            await self._chunk(writer, self._heartbeat())

    async def _event_flood(self, run_id: str, writer: asyncio.StreamWriter) -> None:
        await self._chunk(writer, self._event(PROFILE, self._payload(run_id)))
        burst = b"event: heartbeat\ndata: {}\n\n" * 2000
        while True:
            await self._chunk(writer, burst)


async def serve(args: argparse.Namespace) -> None:
    hostile = HostileServer(
        args.mode, args.control_secret, args.interval_ms, args.heartbeat_ms, args.timeout_ms
    )
    connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connections[task] = writer
        try:
            await hostile.handle(reader, writer)
        finally:
            connections.pop(task, None)

    server = await asyncio.start_server(accept, args.host, args.port, limit=_MAX_HEAD)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"hostile server ({args.mode}) on http://{args.host}:{args.port}", flush=True)
    await stop.wait()
    server.close()
    # Drop every connection at once: an attack in full flight must not delay the exit.
    for task, writer in list(connections.items()):
        writer.transport.abort()
        task.cancel()
    await asyncio.gather(*connections, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--control-secret", default="hostile")
    parser.add_argument("--interval-ms", type=int, default=200)
    parser.add_argument("--heartbeat-ms", type=int, default=1000)
    parser.add_argument("--timeout-ms", type=int, default=3000)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
