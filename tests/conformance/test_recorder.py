"""The recorder against tiny scripted HTTP servers on loopback sockets.

Each test scripts what the server writes and when, so the recorder sees real sockets and real
httpx. Times are read from a virtual clock the test advances while the server is paused: they are
exact, and no assertion depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
import pytest_asyncio

from conformance.errors import HarnessError
from conformance.recorder import EndKind, Recording, StreamRecorder, Timed
from conformance.wire import Comment, DiscardedBlock, Event, Field, PartialBlock

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

SSE_HEADERS = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/event-stream\r\n"
    b"Cache-Control: no-store\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)
# Generous wall-clock bound for waits that must succeed; never asserted as a timing.
PATIENCE = 10.0


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class VirtualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ScriptedServer:
    """Accepts connections on 127.0.0.1 and runs ``script`` for each after reading the request."""

    def __init__(self) -> None:
        self.script: Script | None = None
        self.requests: list[bytes] = []
        self.client_gone = asyncio.Event()
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/stream"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            self.requests.append(await reader.readuntil(b"\r\n\r\n"))
            assert self.script is not None
            await self.script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def wait_client_gone(self, reader: asyncio.StreamReader) -> None:
        """Read until the client closes its side (what a server sees on disconnect)."""
        while await reader.read(1024):
            pass
        self.client_gone.set()


@pytest_asyncio.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    scripted = ScriptedServer()
    yield scripted
    if scripted._server is not None:
        await scripted.stop()


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


def recorder(
    http: httpx.AsyncClient,
    url: str,
    clock: VirtualClock | None = None,
    *,
    within: float = PATIENCE,
    **limits: int,
) -> StreamRecorder:
    clock = clock or VirtualClock()
    return StreamRecorder(
        http,
        url,
        {"Accept": "text/event-stream", "Authorization": "Bearer t"},
        deadline=clock.now + within,
        clock=clock,
        **limits,
    )


def has_items(count: int) -> Callable[[Recording], bool]:
    return lambda recording: len(recording.items) >= count


@pytest.mark.asyncio
async def test_timing_order_headers_items_and_clean_eof(
    server: ScriptedServer, client: httpx.AsyncClient
) -> None:
    steps = [asyncio.Event() for _ in range(3)]

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEADERS)
        await writer.drain()
        await steps[0].wait()
        writer.write(chunk(b"event: snapshot\nid: 1\ndata: {}\n\n"))
        await writer.drain()
        await steps[1].wait()
        writer.write(chunk(b": keep-alive\n\nevent: heartbeat\ndata: {}\n\n"))
        await writer.drain()
        await steps[2].wait()
        writer.write(chunk(b"event: x\n\ndata: partial") + b"0\r\n\r\n")
        await writer.drain()

    server.script = script
    url = await server.start()
    clock = VirtualClock()
    async with recorder(client, url, clock) as rec:
        assert await rec.wait_for(lambda r: r.status is not None, PATIENCE)
        clock.now += 1.0
        steps[0].set()
        assert await rec.wait_for(has_items(1), PATIENCE)
        clock.now += 2.5
        steps[1].set()
        assert await rec.wait_for(has_items(3), PATIENCE)
        clock.now += 0.5
        steps[2].set()
        assert await rec.wait_end(PATIENCE)
    recording = rec.recording
    assert recording.started_at == 1000.0
    assert (recording.status, recording.http_version) == (200, "HTTP/1.1")
    assert recording.headers_at == 0.0
    assert recording.header("content-type") == "text/event-stream"
    assert recording.header_values("Cache-Control") == ["no-store"]
    assert recording.end is EndKind.CLEAN_EOF
    assert recording.end_at == 4.0
    fields = (Field("event", "snapshot"), Field("id", "1"), Field("data", "{}"))
    snapshot = Event("snapshot", "{}", "1", "1", None, fields)
    heartbeat = Event(
        "heartbeat", "{}", None, "1", None, (Field("event", "heartbeat"), Field("data", "{}"))
    )
    assert recording.items == [
        Timed(1.0, snapshot),
        Timed(3.5, Comment(" keep-alive")),
        Timed(3.5, heartbeat),
        Timed(4.0, DiscardedBlock((Field("event", "x"),), "1")),
        Timed(4.0, PartialBlock((), "data: partial")),
    ]
    assert recording.events("heartbeat") == [Timed(3.5, heartbeat)]
    assert recording.events() == [Timed(1.0, snapshot), Timed(3.5, heartbeat)]
    assert recording.comments() == [Timed(3.5, Comment(" keep-alive"))]
    assert recording.silences() == [1.0, 2.5, 0.5]
    assert recording.last_byte_at == 4.0
    assert recording.body() == (
        b"event: snapshot\nid: 1\ndata: {}\n\n: keep-alive\n\nevent: heartbeat\ndata: {}\n\n"
        b"event: x\n\ndata: partial"
    )
    assert recording.body_bytes == len(recording.body())
    assert recording.line_ending_kinds == {"LF"}
    assert recording.request_headers["authorization"] == "Bearer t"
    assert b"accept: text/event-stream" in server.requests[0].lower()


@pytest.mark.asyncio
async def test_disconnect_closes_the_connection(
    server: ScriptedServer, client: httpx.AsyncClient
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEADERS + chunk(b"data: 1\n\n"))
        await writer.drain()
        await server.wait_client_gone(reader)

    server.script = script
    url = await server.start()
    clock = VirtualClock()
    rec = recorder(client, url, clock)
    async with rec:
        assert await rec.wait_for(has_items(1), PATIENCE)
        clock.now += 2.0
        await rec.disconnect()
        assert rec.recording.end is EndKind.CLOSED_BY_HARNESS
        assert rec.recording.end_at == 2.0
        await asyncio.wait_for(server.client_gone.wait(), PATIENCE)
    assert [t.item.data for t in rec.recording.events()] == ["1"]


@pytest.mark.asyncio
async def test_reset_mid_event(server: ScriptedServer, client: httpx.AsyncClient) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEADERS + chunk(b'data: 1\n\nid: 2\ndata: {"half'))
        await writer.drain()
        sock = writer.get_extra_info("socket")
        # SO_LINGER 0: close() sends RST instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    server.script = script
    url = await server.start()
    async with recorder(client, url) as rec:
        assert await rec.wait_end(PATIENCE)
    recording = rec.recording
    assert recording.end is EndKind.RESET
    assert recording.items[-1].item == PartialBlock((Field("id", "2"),), 'data: {"half')
    assert [t.item.data for t in recording.events()] == ["1"]


@pytest.mark.asyncio
async def test_close_without_chunked_terminator_is_not_a_clean_end(
    server: ScriptedServer, client: httpx.AsyncClient
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEADERS + chunk(b"data: 1\n\n"))
        await writer.drain()

    server.script = script
    url = await server.start()
    async with recorder(client, url) as rec:
        assert await rec.wait_end(PATIENCE)
    assert rec.recording.end is EndKind.RESET
    assert "RemoteProtocolError" in (rec.recording.end_detail or "")


@pytest.mark.asyncio
async def test_headers_that_never_come_end_at_the_deadline(
    server: ScriptedServer, client: httpx.AsyncClient
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.wait_client_gone(reader)

    server.script = script
    url = await server.start()
    async with recorder(client, url, within=0.2) as rec:
        assert await rec.wait_end(PATIENCE)
    recording = rec.recording
    assert recording.end is EndKind.DEADLINE
    assert recording.status is None
    assert recording.headers_at is None
    await asyncio.wait_for(server.client_gone.wait(), PATIENCE)


@pytest.mark.asyncio
async def test_line_that_never_ends_ends_at_the_deadline_with_its_partial_line(
    server: ScriptedServer, client: httpx.AsyncClient
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEADERS + chunk(b'event: snapshot\ndata: {"never'))
        await writer.drain()
        await server.wait_client_gone(reader)

    server.script = script
    url = await server.start()
    async with recorder(client, url, within=0.3) as rec:
        assert await rec.wait_end(PATIENCE)
    recording = rec.recording
    assert recording.end is EndKind.DEADLINE
    assert recording.items == [
        Timed(recording.end_at, PartialBlock((Field("event", "snapshot"),), 'data: {"never'))
    ]


@pytest.mark.asyncio
async def test_stream_that_never_ends_ends_at_the_deadline(
    server: ScriptedServer, client: httpx.AsyncClient
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEADERS)
        while True:
            writer.write(chunk(b": tick\n\n"))
            await writer.drain()
            await asyncio.sleep(0.01)

    server.script = script
    url = await server.start()
    async with recorder(client, url, within=0.3) as rec:
        assert await rec.wait_end(PATIENCE)
    assert rec.recording.end is EndKind.DEADLINE
    assert all(isinstance(t.item, Comment) for t in rec.recording.items)


@pytest.mark.asyncio
async def test_non_200_body_is_recorded(server: ScriptedServer, client: httpx.AsyncClient) -> None:
    body = b'{"type":"about:blank","title":"Unauthorized","status":401}'

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/problem+json\r\n"
            b'WWW-Authenticate: Bearer realm="ssegate"\r\n'
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()

    server.script = script
    url = await server.start()
    async with recorder(client, url) as rec:
        assert await rec.wait_end(PATIENCE)
    recording = rec.recording
    assert recording.status == 401
    assert recording.header("www-authenticate") == 'Bearer realm="ssegate"'
    assert recording.body_text() == body.decode()
    assert recording.end is EndKind.CLEAN_EOF
    assert recording.events() == []


@pytest.mark.asyncio
async def test_gzip_body_is_recorded_raw_not_decompressed(
    server: ScriptedServer, client: httpx.AsyncClient
) -> None:
    compressed = gzip.compress(b"event: snapshot\ndata: {}\n\n")

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(compressed), compressed)
        )
        await writer.drain()

    server.script = script
    url = await server.start()
    async with recorder(client, url) as rec:
        assert await rec.wait_end(PATIENCE)
    recording = rec.recording
    assert recording.header("content-encoding") == "gzip"
    assert recording.body() == compressed
    assert recording.events() == []
    assert recording.invalid_utf8 > 0


@pytest.mark.asyncio
async def test_bom_and_invalid_utf8_are_reported(
    server: ScriptedServer, client: httpx.AsyncClient
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEADERS + chunk(b"\xef\xbb\xbfdata: caf\xe9\r\n\r\n") + b"0\r\n\r\n")
        await writer.drain()

    server.script = script
    url = await server.start()
    async with recorder(client, url) as rec:
        assert await rec.wait_end(PATIENCE)
    recording = rec.recording
    assert recording.bom_seen
    assert recording.invalid_utf8 == 1
    assert recording.line_ending_kinds == {"CRLF"}
    assert [t.item.data for t in recording.events()] == ["caf\ufffd"]


@pytest.mark.asyncio
async def test_long_line_is_cut_by_the_line_bound(
    server: ScriptedServer, client: httpx.AsyncClient
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEADERS + chunk(b"data: ok\n\n"))
        while True:
            writer.write(chunk(b"x" * 4096))
            await writer.drain()

    server.script = script
    url = await server.start()
    async with recorder(client, url, max_line_bytes=64 << 10, max_recorded_bytes=1000) as rec:
        assert await rec.wait_end(PATIENCE)
    recording = rec.recording
    assert recording.end is EndKind.LIMIT_EXCEEDED
    assert "max_line_bytes" in (recording.end_detail or "")
    assert [t.item.data for t in recording.events()] == ["ok"]
    assert len(recording.body()) == 1000
    assert recording.chunks_truncated
    assert recording.body_bytes <= (64 << 10) + 2 * 4096 + 100


@pytest.mark.asyncio
async def test_body_bound_ends_the_recording(
    server: ScriptedServer, client: httpx.AsyncClient
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEADERS)
        while True:
            writer.write(chunk(b"data: 0123456789\n\n" * 100))
            await writer.drain()

    server.script = script
    url = await server.start()
    async with recorder(client, url, max_body_bytes=50_000) as rec:
        assert await rec.wait_end(PATIENCE)
    recording = rec.recording
    assert recording.end is EndKind.LIMIT_EXCEEDED
    assert recording.end_detail == "body exceeded 50000 bytes"
    # Exactly the first 50 000 bytes were decoded: 2777 whole events of 18 bytes.
    assert len(recording.events()) == 50_000 // 18


@pytest.mark.asyncio
async def test_item_bound_ends_an_event_flood(
    server: ScriptedServer, client: httpx.AsyncClient
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEADERS)
        while True:
            writer.write(chunk(b"data: x\n\n" * 500))
            await writer.drain()

    server.script = script
    url = await server.start()
    async with recorder(client, url, max_items=1000) as rec:
        assert await rec.wait_end(PATIENCE)
    assert rec.recording.end is EndKind.LIMIT_EXCEEDED
    assert rec.recording.end_detail == "more than 1000 items"
    assert len(rec.recording.items) <= 1500


@pytest.mark.asyncio
async def test_other_methods_are_recorded_with_the_same_bounds(
    server: ScriptedServer, client: httpx.AsyncClient
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(7)
        writer.write(SSE_HEADERS)
        while True:
            writer.write(chunk(b"data: 0123456789\n\n" * 100))
            await writer.drain()

    server.script = script
    url = await server.start()
    clock = VirtualClock()
    rec = StreamRecorder(
        client,
        url,
        {"Content-Type": "application/json"},
        deadline=clock.now + PATIENCE,
        clock=clock,
        method="POST",
        content=b'{"a":1}',
        max_body_bytes=10_000,
    )
    async with rec:
        assert await rec.wait_end(PATIENCE)
    assert server.requests[0].startswith(b"POST /stream HTTP/1.1")
    assert rec.recording.request_headers["content-length"] == "7"
    assert rec.recording.end is EndKind.LIMIT_EXCEEDED


@pytest.mark.asyncio
async def test_unreachable_server_is_not_started(client: httpx.AsyncClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with recorder(client, f"http://127.0.0.1:{port}/stream") as rec:
        assert await rec.wait_end(PATIENCE)
    assert rec.recording.end is EndKind.NOT_STARTED
    assert "ConnectError" in (rec.recording.end_detail or "")


@pytest.mark.asyncio
async def test_deadline_already_passed(client: httpx.AsyncClient) -> None:
    async with recorder(client, "http://127.0.0.1:9/never", within=-1.0) as rec:
        assert await rec.wait_end(PATIENCE)
    assert rec.recording.end is EndKind.DEADLINE
    assert rec.recording.status is None


@pytest.mark.asyncio
async def test_wait_for_false_when_stream_ends_without_predicate(
    server: ScriptedServer, client: httpx.AsyncClient
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEADERS + chunk(b"data: 1\n\n") + b"0\r\n\r\n")
        await writer.drain()

    server.script = script
    url = await server.start()
    async with recorder(client, url) as rec:
        assert not await rec.wait_for(has_items(5), PATIENCE)
        assert rec.recording.end is EndKind.CLEAN_EOF


@pytest.mark.asyncio
async def test_wait_for_false_on_timeout(server: ScriptedServer, client: httpx.AsyncClient) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEADERS)
        await writer.drain()
        await server.wait_client_gone(reader)

    server.script = script
    url = await server.start()
    async with recorder(client, url) as rec:
        assert not await rec.wait_for(has_items(1), 0.05)
        assert rec.recording.end is None
    assert rec.recording.end is EndKind.CLOSED_BY_HARNESS


@pytest.mark.asyncio
async def test_harness_bug_in_the_recorder_is_a_harness_error(client: httpx.AsyncClient) -> None:
    def broken_clock() -> float:
        raise RuntimeError("clock broke")

    rec = StreamRecorder(client, "http://127.0.0.1:9/", {}, deadline=0.0, clock=broken_clock)
    rec.start()
    with pytest.raises(HarnessError, match="clock broke"):
        await rec.wait_end(PATIENCE)
    with pytest.raises(HarnessError, match="started twice"):
        rec.start()
