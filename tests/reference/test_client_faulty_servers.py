"""The reference client against faulty servers over real loopback sockets.

A scripted raw HTTP/1.1 server answers each request from a per-path script: it can drop the
connection mid-stream (no terminating chunk), answer 503 then 200, 401, a wrong content type,
data that is not JSON, or end a stream cleanly without a timeout event or a complete snapshot.
Reconnection delays are recorded by an injected sleep, so nothing waits in real time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from client_payloads import progress

from reference.client import (
    ApiClient,
    AuthenticationFailed,
    BackoffPolicy,
    Ending,
    EndReason,
    HttpStatusError,
    InvalidEvent,
    NotAnEventStream,
    ProgressSource,
    ProgressUpdate,
    Snapshot,
    SseClientError,
    StreamInterrupted,
    TypedEvent,
    subscribe_sse,
)

STREAM = "/classes/billing/runs/r1/send-progress/stream"
FALLBACK = "/classes/billing/runs/r1/send-progress"

Step = Callable[[asyncio.StreamWriter], Awaitable[None]]


def snapshot(processed: int) -> bytes:
    data = json.dumps(progress(processed))
    return f"event: billing.invoice-send-progress\ndata: {data}\n\n".encode()


def respond(status: int, body: bytes, content_type: str) -> Step:
    async def step(writer: asyncio.StreamWriter) -> None:
        head = (
            f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + body)
        await writer.drain()

    return step


def problem(status: int) -> Step:
    body = json.dumps({"title": f"status {status}", "status": status}).encode()
    return respond(status, body, "application/problem+json")


def sse(*chunks: bytes, finish: bool = True) -> Step:
    """A chunked event stream; finish=False drops the connection without the final chunk."""

    async def step(writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        for chunk in chunks:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
        if finish:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        else:
            writer.transport.abort()  # a reset, not a clean end

    return step


@dataclass
class ScriptedServer:
    """Request n to a path gets routes[path][n] (the last step repeats)."""

    routes: dict[str, list[Step]]
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    base_url: str = ""

    def count(self, path: str) -> int:
        return sum(1 for requested, _ in self.requests if requested == path)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            path = request_line.split(" ")[1]
            headers = {}
            for line in header_lines:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            self.requests.append((path, headers))
            steps = self.routes.get(path, [problem(404)])
            await steps[min(self.count(path), len(steps)) - 1](writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def scripted(routes: dict[str, list[Step]]) -> AsyncIterator[ScriptedServer]:
    server = ScriptedServer(routes)
    listener = await asyncio.start_server(server._handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    server.base_url = f"http://127.0.0.1:{port}"
    async with listener:
        yield server


@dataclass
class Observed:
    events: list[TypedEvent[Any]] = field(default_factory=list)
    errors: list[SseClientError] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


async def subscribe(server: ScriptedServer, **options: Any) -> tuple[Observed, Ending]:
    observed = Observed()
    subscription = subscribe_sse(
        server.base_url + STREAM,
        on_event=observed.events.append,
        on_error=observed.errors.append,
        sleep=observed.sleep,
        rng=lambda: 0.5,
        **options,
    )
    ending = await asyncio.wait_for(subscription.wait(), 20)
    return observed, ending


@pytest.mark.asyncio
async def test_dropped_mid_stream_reconnects() -> None:
    routes = {STREAM: [sse(snapshot(1), b"event: billing.inv", finish=False), sse(snapshot(4))]}
    async with scripted(routes) as server:
        observed, ending = await subscribe(server)
    assert ending == Ending(EndReason.COMPLETED)
    assert isinstance(observed.errors[0], StreamInterrupted)
    assert "broke" in str(observed.errors[0])
    assert [type(e).__name__ for e in observed.events] == ["Snapshot", "Snapshot"]
    assert observed.sleeps == [0.5]
    assert server.count(STREAM) == 2


@pytest.mark.asyncio
async def test_503_then_200() -> None:
    async with scripted({STREAM: [problem(503), sse(snapshot(4))]}) as server:
        observed, ending = await subscribe(server)
    assert ending == Ending(EndReason.COMPLETED)
    assert isinstance(observed.errors[0], HttpStatusError)
    assert observed.errors[0].status == 503
    assert observed.sleeps == [0.5]


@pytest.mark.asyncio
async def test_401_is_final() -> None:
    async with scripted({STREAM: [problem(401), sse(snapshot(4))]}) as server:
        observed, ending = await subscribe(server)
    assert ending.reason is EndReason.REJECTED
    assert isinstance(ending.error, HttpStatusError)
    assert ending.error.status == 401
    assert server.count(STREAM) == 1
    assert observed.sleeps == []


@pytest.mark.asyncio
async def test_wrong_content_type_is_final() -> None:
    page = respond(200, b"<html>login</html>", "text/html")
    async with scripted({STREAM: [page, sse(snapshot(4))]}) as server:
        _, ending = await subscribe(server)
    assert ending.reason is EndReason.REJECTED
    assert isinstance(ending.error, NotAnEventStream)
    assert server.count(STREAM) == 1


@pytest.mark.asyncio
async def test_data_that_is_not_json_is_reported_not_fatal() -> None:
    bad = b"event: billing.invoice-send-progress\ndata: {oops\n\n"
    async with scripted({STREAM: [sse(snapshot(1), bad, snapshot(4))]}) as server:
        observed, ending = await subscribe(server)
    assert ending == Ending(EndReason.COMPLETED)
    assert [type(e).__name__ for e in observed.errors] == ["InvalidEvent"]
    assert isinstance(observed.errors[0], InvalidEvent)
    assert observed.errors[0].data == "{oops"
    assert len(observed.events) == 2


@pytest.mark.asyncio
async def test_clean_end_without_timeout_or_completion_reconnects() -> None:
    async with scripted({STREAM: [sse(snapshot(1)), sse(snapshot(2)), sse(snapshot(4))]}) as srv:
        observed, ending = await subscribe(srv)
    assert ending == Ending(EndReason.COMPLETED)
    assert [type(e).__name__ for e in observed.errors] == ["StreamInterrupted"] * 2
    # Each end came after a successful open, so each reconnection is attempt 1 again (CLI-6).
    assert observed.sleeps == [0.5, 0.5]
    progress_seen = [
        e.payload.progress.processed_invoice_count
        for e in observed.events
        if isinstance(e, Snapshot)
    ]
    assert progress_seen == [1, 2, 4]


# -- ApiClient: auth headers, one token refresh, polling fallback ------------------------------


def api(server: ScriptedServer, token: Any, observed: Observed, **options: Any) -> ApiClient:
    clock = iter(range(10_000))
    return ApiClient(
        server.base_url,
        token,
        "w1",
        sleep=observed.sleep,
        rng=lambda: 0.5,
        clock=lambda: float(next(clock)),
        **options,
    )


async def collect(client: ApiClient, observed: Observed) -> list[ProgressUpdate]:
    updates = []
    async with client:
        async for update in client.billing_send_progress("r1", on_fallback=observed.errors.append):
            updates.append(update)
    return updates


@pytest.mark.asyncio
async def test_api_client_sends_auth_headers_and_refreshes_once() -> None:
    asked: list[bool] = []

    def tokens(refresh: bool) -> str:
        asked.append(refresh)
        return "fresh" if refresh else "stale"

    async with scripted({STREAM: [problem(401), sse(snapshot(4))]}) as server:
        observed = Observed()
        updates = await collect(api(server, tokens, observed), observed)
    assert [u.source for u in updates] == [ProgressSource.STREAM]
    assert asked == [False, True]
    auths = [(h["authorization"], h["x-workspace-id"]) for _, h in server.requests]
    assert auths == [("Bearer stale", "w1"), ("Bearer fresh", "w1")]


@pytest.mark.asyncio
async def test_api_client_stops_on_auth_errors() -> None:
    async with scripted({STREAM: [problem(401)], FALLBACK: [problem(401)]}) as server:
        observed = Observed()
        with pytest.raises(AuthenticationFailed) as raised:
            await collect(api(server, "t", observed), observed)
    assert raised.value.status == 401
    # A static token's "refresh" gives the same token: not worth repeating the request.
    assert server.count(STREAM) == 1
    assert server.count(FALLBACK) == 0  # no fallback: polling would be refused the same way


@pytest.mark.asyncio
async def test_api_client_falls_back_to_polling_when_streaming_fails() -> None:
    json_ = "application/json"
    polls = [respond(200, json.dumps(progress(n)).encode(), json_) for n in (2, 2, 3, 4)]
    routes = {STREAM: [sse(snapshot(1)), problem(503)], FALLBACK: [problem(503), *polls]}
    async with scripted(routes) as server:
        observed = Observed()
        client = api(server, "t", observed, backoff=BackoffPolicy(max_attempts=2))
        updates = await collect(client, observed)
    seen = [(u.source.value, u.payload.progress.processed_invoice_count) for u in updates]
    # Polled states are reported once each: the repeated 2 is not a change (BIL-2).
    assert seen == [("stream", 1), ("polling", 2), ("polling", 3), ("polling", 4)]
    assert isinstance(observed.errors[-1], HttpStatusError)  # the error that caused the fallback
    # The early end and one 503 are reconnected after 0.5 s and 1 s; the next 503 ends the attempts.
    assert server.count(STREAM) == 3
    assert server.count(FALLBACK) == 5  # a 503 is retried at the next interval
    assert observed.sleeps == [0.5, 1.0, 1.5, 1.5, 1.5, 1.5]


@pytest.mark.asyncio
async def test_api_client_polling_gives_up_after_its_limit() -> None:
    stuck = respond(200, json.dumps(progress(1)).encode(), "application/json")
    page = respond(200, b"<html></html>", "text/html")
    async with scripted({STREAM: [page], FALLBACK: [stuck]}) as server:
        observed = Observed()
        client = api(server, "t", observed, polling_interval_ms=1000, polling_limit_ms=5000)
        with pytest.raises(Exception, match="not complete after polling") as raised:
            await collect(client, observed)
    assert type(raised.value).__name__ == "PollingTimedOut"
    assert isinstance(observed.errors[0], NotAnEventStream)
    # The injected clock moves 1 s per reading: polls at 1, 2, 3, 4 and 5 s, then the limit.
    assert server.count(FALLBACK) == 5
