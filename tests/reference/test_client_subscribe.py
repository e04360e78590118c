"""subscribe_sse (reference/client/_subscribe.py) in virtual time, over httpx.MockTransport.

Every reconnection decision of the table in the module docstring, the backoff sequence, the
attempt reset (CLI-6), `retry` as a floor (CLI-7), close() (CLI-12), and that any chunking of the
bytes gives the same callbacks. Real sockets are in test_client_faulty_servers.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from client_payloads import progress
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.client import (
    BackoffPolicy,
    ConnectionFailed,
    Ending,
    EndReason,
    Heartbeat,
    HttpStatusError,
    InvalidEvent,
    NotAnEventStream,
    Opened,
    ServerError,
    ServerErrorEvent,
    Snapshot,
    SseClientError,
    StreamInterrupted,
    Timeout,
    TypedEvent,
    aiter_sse,
    iter_sse_sync,
    subscribe_sse,
    subscribe_sse_sync,
)

URL = "http://stream.test/classes/billing/runs/r1/send-progress/stream"
SSE = {"content-type": "text/event-stream", "cache-control": "no-store"}


def event(name: str, data: Any, *, id: str | None = None, raw: bool = False) -> bytes:
    lines = [f"event: {name}"]
    if id is not None:
        lines.append(f"id: {id}")
    lines.append(f"data: {data if raw else json.dumps(data)}")
    return ("\n".join(lines) + "\n\n").encode()


SNAPSHOT = event("billing.invoice-send-progress", progress(1))
COMPLETE = event("billing.invoice-send-progress", progress(4))
HEARTBEAT = event("heartbeat", {"timestamp": "2026-11-03T10:00:01Z"})
TIMEOUT = event(
    "timeout",
    {"startedAt": "2026-11-03T10:00:00Z", "timestamp": "2026-11-03T10:00:03Z", "timeoutMs": 3000},
)


def stream(*chunks: bytes, fail: Exception | None = None, hang: bool = False) -> httpx.Response:
    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk
        if fail is not None:
            raise fail
        if hang:
            await asyncio.Event().wait()

    return httpx.Response(200, headers=SSE, content=body())


def problem(status: int) -> httpx.Response:
    return httpx.Response(
        status,
        headers={"content-type": "application/problem+json"},
        json={"title": f"status {status}", "status": status},
    )


@dataclass
class Script:
    """Answers request n with responses[n] (the last one repeats) and records every request."""

    responses: list[Callable[[], httpx.Response]]
    requests: list[httpx.Request] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses[min(len(self.requests), len(self.responses)) - 1]()


@dataclass
class Run:
    events: list[TypedEvent[Any]] = field(default_factory=list)
    errors: list[SseClientError] = field(default_factory=list)
    opens: list[Opened] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)
    ending: Ending | None = None


async def run_script(script: Script, **options: Any) -> Run:
    run = Run()

    async def sleep(seconds: float) -> None:
        run.sleeps.append(seconds)
        await asyncio.sleep(0)

    def on_close(ending: Ending) -> None:
        run.ending = ending

    options.setdefault("sleep", sleep)
    async with httpx.AsyncClient(transport=httpx.MockTransport(script.handler)) as client:
        subscription = subscribe_sse(
            URL,
            client=client,
            rng=lambda: 0.5,  # the middle of the jitter band: delays are exact
            on_event=run.events.append,
            on_error=run.errors.append,
            on_open=run.opens.append,
            on_close=on_close,
            **options,
        )
        ending = await asyncio.wait_for(subscription.wait(), 10)
    assert ending == run.ending
    return run


def kinds(items: list[Any]) -> list[str]:
    return [type(item).__name__ for item in items]


@pytest.mark.asyncio
async def test_complete_snapshot_ends_the_subscription() -> None:
    script = Script([lambda: stream(SNAPSHOT, HEARTBEAT, COMPLETE, SNAPSHOT)])
    run = await run_script(script)
    assert kinds(run.events) == ["Snapshot", "Heartbeat", "Snapshot"]  # nothing after completion
    assert run.ending == Ending(EndReason.COMPLETED)
    first = run.events[0]
    assert isinstance(first, Snapshot)
    assert first.payload.progress.processed_invoice_count == 1
    assert not first.complete
    assert len(script.requests) == 1
    assert script.requests[0].headers["accept"] == "text/event-stream"  # TR-2
    assert run.opens[0].connection == 1
    assert run.errors == []


@pytest.mark.asyncio
async def test_503_then_200_backs_off_once() -> None:
    script = Script([lambda: problem(503), lambda: stream(SNAPSHOT, COMPLETE)])
    run = await run_script(script)
    assert run.ending == Ending(EndReason.COMPLETED)
    assert run.sleeps == [0.5]
    assert isinstance(run.errors[0], HttpStatusError)
    assert run.errors[0].status == 503
    assert run.errors[0].title == "status 503"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410])
@pytest.mark.asyncio
async def test_client_errors_are_not_retried(status: int) -> None:
    script = Script([lambda: problem(status), lambda: stream(COMPLETE)])
    run = await run_script(script)
    assert run.ending is not None
    assert run.ending.reason is EndReason.REJECTED  # CLI-8
    assert isinstance(run.ending.error, HttpStatusError)
    assert run.ending.error.status == status
    assert len(script.requests) == 1
    assert run.sleeps == []


@pytest.mark.asyncio
async def test_401_is_retried_once_with_a_fresh_token() -> None:
    tokens = iter(["old", "new", "newer"])
    current = [next(tokens)]

    async def headers() -> dict[str, str]:
        return {"Authorization": f"Bearer {current[0]}"}

    async def refresh() -> bool:
        current[0] = next(tokens)
        return True

    script = Script([lambda: problem(401), lambda: stream(COMPLETE)])
    run = await run_script(script, headers=headers, on_unauthorized=refresh)
    assert run.ending == Ending(EndReason.COMPLETED)
    assert [r.headers["authorization"] for r in script.requests] == ["Bearer old", "Bearer new"]
    assert run.sleeps == []  # at once

    script = Script([lambda: problem(401)])
    current[0] = "old"
    tokens = iter(["new", "newer"])
    run = await run_script(script, headers=headers, on_unauthorized=refresh)
    assert run.ending is not None
    assert run.ending.reason is EndReason.REJECTED
    assert len(script.requests) == 2  # asked once, not twice


@pytest.mark.asyncio
async def test_wrong_content_type_fails_the_connection() -> None:
    script = Script([lambda: httpx.Response(200, json=progress(4))])
    run = await run_script(script)
    assert run.ending is not None
    assert run.ending.reason is EndReason.REJECTED
    assert isinstance(run.ending.error, NotAnEventStream)
    assert run.ending.error.content_type == "application/json"
    assert run.opens == []


@pytest.mark.asyncio
async def test_content_type_parameters_are_ignored() -> None:
    headers = {"content-type": "Text/Event-Stream; charset=UTF-8"}
    script = Script([lambda: httpx.Response(200, headers=headers, content=COMPLETE)])
    assert (await run_script(script)).ending == Ending(EndReason.COMPLETED)


@pytest.mark.asyncio
async def test_invalid_events_are_reported_and_skipped() -> None:
    bad = [
        event("billing.invoice-send-progress", "{not json", raw=True),
        event("billing.invoice-send-progress", progress(1, isComplete="yes")),
        event("billing.invoice-send-progress", {**progress(1), "month": "2026-13"}),
        event("heartbeat", {"timestamp": 5}),
        event("surprise", {}),
    ]
    script = Script([lambda: stream(*bad, SNAPSHOT, COMPLETE)])
    run = await run_script(script)
    assert run.ending == Ending(EndReason.COMPLETED)
    assert kinds(run.events) == ["Snapshot", "Snapshot"]
    assert all(isinstance(error, InvalidEvent) for error in run.errors)
    reasons = [error.reason for error in run.errors if isinstance(error, InvalidEvent)]
    assert "not JSON" in reasons[0]
    assert "isComplete" in reasons[1]
    assert "month" in reasons[2]
    assert "timestamp" in reasons[3]
    assert reasons[4] == "unknown event name"


@pytest.mark.asyncio
async def test_unknown_members_are_ignored() -> None:
    tolerant = progress(4, futureField={"x": 1})
    tolerant["progress"]["newCount"] = 3
    script = Script([lambda: stream(event("billing.invoice-send-progress", tolerant))])
    run = await run_script(script)  # CLI-4
    assert run.ending == Ending(EndReason.COMPLETED)
    assert run.errors == []


@pytest.mark.asyncio
async def test_early_end_reconnects_with_backoff() -> None:
    script = Script([lambda: stream(SNAPSHOT), lambda: stream(COMPLETE)])
    run = await run_script(script)
    assert run.ending == Ending(EndReason.COMPLETED)
    assert isinstance(run.errors[0], StreamInterrupted)
    assert "without a timeout event" in str(run.errors[0])
    assert run.sleeps == [0.5]
    assert [o.connection for o in run.opens] == [1, 2]


@pytest.mark.asyncio
async def test_partial_event_at_the_end_is_discarded() -> None:
    script = Script([lambda: stream(SNAPSHOT, COMPLETE[:-1]), lambda: stream(COMPLETE)])
    run = await run_script(script)  # P19: a complete snapshot without its empty line is not one
    assert kinds(run.events) == ["Snapshot", "Snapshot"]
    assert len(script.requests) == 2


@pytest.mark.asyncio
async def test_attempts_run_out() -> None:
    script = Script([lambda: problem(503)])
    run = await run_script(script)
    assert run.ending is not None
    assert run.ending.reason is EndReason.GAVE_UP
    assert len(script.requests) == 4  # the first connection and 3 reconnection attempts
    assert run.sleeps == [0.5, 1.0, 2.0]


@pytest.mark.asyncio
async def test_attempts_reset_after_a_successful_open() -> None:
    script = Script(
        [
            lambda: problem(503),
            lambda: problem(502),
            lambda: stream(SNAPSHOT, fail=httpx.ReadError("reset")),
            lambda: problem(503),
        ]
    )
    run = await run_script(script)
    assert run.ending is not None
    assert run.ending.reason is EndReason.GAVE_UP
    assert run.sleeps == [0.5, 1.0, 0.5, 1.0, 2.0]  # CLI-6
    assert len(script.requests) == 6


@pytest.mark.asyncio
async def test_network_failure_is_retried() -> None:
    def refuse() -> httpx.Response:
        raise httpx.ConnectError("refused")

    script = Script([refuse, lambda: stream(COMPLETE)])
    run = await run_script(script)
    assert run.ending == Ending(EndReason.COMPLETED)
    assert isinstance(run.errors[0], ConnectionFailed)


@pytest.mark.asyncio
async def test_timeout_event_reconnects_at_once() -> None:
    script = Script([lambda: stream(SNAPSHOT, TIMEOUT, SNAPSHOT), lambda: stream(COMPLETE)])
    run = await run_script(script)
    assert kinds(run.events) == ["Snapshot", "Timeout", "Snapshot"]  # nothing read after timeout
    assert run.ending == Ending(EndReason.COMPLETED)
    assert run.sleeps == []  # CLI-9
    assert run.errors == []
    timeout = run.events[1]
    assert isinstance(timeout, Timeout)
    assert timeout.timeout_ms == 3000


@pytest.mark.asyncio
async def test_server_retry_is_a_floor() -> None:
    script = Script(
        [
            lambda: stream(b"retry: 2500\n\n", SNAPSHOT, TIMEOUT),
            lambda: problem(503),
            lambda: problem(503),
            lambda: problem(503),
            lambda: problem(503),
            lambda: stream(COMPLETE),
        ]
    )
    run = await run_script(script, backoff=BackoffPolicy(max_attempts=4))
    assert run.ending == Ending(EndReason.COMPLETED)
    # After the timeout: the retry value alone; then CLI-7: max(backoff, retry).
    assert run.sleeps == [2.5, 2.5, 2.5, 2.5, 4.0]


@pytest.mark.asyncio
async def test_retry_after_is_a_floor() -> None:
    busy = httpx.Response(503, headers={"retry-after": "3"}, text="busy")
    script = Script([lambda: busy, lambda: stream(COMPLETE)])
    run = await run_script(script)
    assert run.sleeps == [3.0]


@pytest.mark.asyncio
async def test_error_event_ends_without_reconnecting() -> None:
    failed = event("error", {"code": "snapshot_failed", "message": "try later"})
    plain = event("error", "Not Found", raw=True)
    for body, code, message in [
        (failed, "snapshot_failed", "try later"),
        (plain, None, "Not Found"),
    ]:
        script = Script([lambda body=body: stream(SNAPSHOT, body), lambda: stream(COMPLETE)])
        run = await run_script(script)
        assert run.events[-1] == ServerError(code=code, message=message)
        assert run.ending is not None
        assert run.ending.reason is EndReason.ERROR_EVENT
        assert isinstance(run.ending.error, ServerErrorEvent)
        assert len(script.requests) == 1


@pytest.mark.asyncio
async def test_last_event_id_is_sent_back() -> None:
    first = event("billing.invoice-send-progress", progress(1), id="7")
    script = Script([lambda: stream(first), lambda: stream(COMPLETE)])
    await run_script(script)
    assert "last-event-id" not in script.requests[0].headers
    assert script.requests[1].headers["last-event-id"] == "7"


@pytest.mark.asyncio
async def test_silence_watchdog_reconnects() -> None:
    script = Script([lambda: stream(SNAPSHOT, hang=True), lambda: stream(COMPLETE)])
    run = await run_script(script, heartbeat_ms=10)  # CLI-11: 20 ms of silence is a break
    assert run.ending == Ending(EndReason.COMPLETED)
    assert isinstance(run.errors[0], StreamInterrupted)
    assert "twice the heartbeat" in str(run.errors[0])


@pytest.mark.asyncio
async def test_close_cancels_a_pending_reconnection() -> None:
    script = Script([lambda: problem(503)])
    endings: list[Ending] = []
    policy = BackoffPolicy(initial_delay_ms=3_600_000, max_delay_ms=3_600_000)
    async with httpx.AsyncClient(transport=httpx.MockTransport(script.handler)) as client:
        failed = asyncio.Event()
        subscription = subscribe_sse(
            URL,
            client=client,
            backoff=policy,
            on_error=lambda _: failed.set(),
            on_close=endings.append,
        )
        await asyncio.wait_for(failed.wait(), 10)  # the subscription now waits an hour
        await asyncio.wait_for(subscription.close(), 10)  # CLI-12
    assert endings == [Ending(EndReason.CLOSED)]
    assert await subscription.wait() == Ending(EndReason.CLOSED)
    assert len(script.requests) == 1


@pytest.mark.asyncio
async def test_close_at_once_still_reports_the_end() -> None:
    script = Script([lambda: stream(COMPLETE)])
    endings: list[Ending] = []
    async with httpx.AsyncClient(transport=httpx.MockTransport(script.handler)) as client:
        subscription = subscribe_sse(URL, client=client, on_close=endings.append)
        await subscription.close()  # before the task ran a single step
        assert await subscription.wait() == Ending(EndReason.CLOSED)
    assert endings == [Ending(EndReason.CLOSED)]
    assert script.requests == []


@pytest.mark.asyncio
async def test_close_from_a_callback_cancels_the_open_request() -> None:
    script = Script([lambda: stream(SNAPSHOT, hang=True)])
    async with httpx.AsyncClient(transport=httpx.MockTransport(script.handler)) as client:

        async def on_event(_: TypedEvent[Any]) -> None:
            await subscription.close()

        subscription = subscribe_sse(URL, client=client, on_event=on_event)
        assert await asyncio.wait_for(subscription.wait(), 10) == Ending(EndReason.CLOSED)


@pytest.mark.asyncio
async def test_headers_are_computed_for_every_connection() -> None:
    calls: list[int] = []

    async def headers() -> dict[str, str]:
        calls.append(len(calls))
        return {"X-Workspace-Id": f"w{len(calls)}"}

    script = Script([lambda: problem(503), lambda: stream(COMPLETE)])
    await run_script(script, headers=headers)
    assert [r.headers["x-workspace-id"] for r in script.requests] == ["w1", "w2"]


@pytest.mark.asyncio
async def test_async_iterator_form() -> None:
    script = Script([lambda: stream(SNAPSHOT, HEARTBEAT, COMPLETE)])
    async with httpx.AsyncClient(transport=httpx.MockTransport(script.handler)) as client:
        async with aiter_sse(URL, client=client) as events:
            received = [item async for item in events]
        assert kinds(received) == ["Snapshot", "Heartbeat", "Snapshot"]
        assert events.ending == Ending(EndReason.COMPLETED)

        script.responses = [lambda: problem(404)]
        script.requests.clear()
        async with aiter_sse(URL, client=client) as events:
            with pytest.raises(HttpStatusError, match="404"):
                async for _ in events:
                    pass


def test_sync_forms() -> None:
    script = Script([lambda: stream(SNAPSHOT, HEARTBEAT, COMPLETE)])
    client = httpx.AsyncClient(transport=httpx.MockTransport(script.handler))
    received = list(iter_sse_sync(URL, client=client))
    assert kinds(received) == ["Snapshot", "Heartbeat", "Snapshot"]

    seen: list[TypedEvent[Any]] = []
    with subscribe_sse_sync(URL, client=client, on_event=seen.append) as subscription:
        assert subscription.wait(10) == Ending(EndReason.COMPLETED)
    assert kinds(seen) == ["Snapshot", "Heartbeat", "Snapshot"]

    with pytest.raises(TypeError, match="unexpected keyword"):
        subscribe_sse_sync(URL, client=client, no_such_option=1)

    script.responses = [lambda: stream(SNAPSHOT, hang=True)]
    with subscribe_sse_sync(URL, client=client) as subscription:
        assert subscription.wait(0.01) is None  # still streaming
        subscription.close()
        assert subscription.wait() == Ending(EndReason.CLOSED)


# -- any chunking of the bytes gives the same callbacks ----------------------------------------

_events = st.lists(
    st.one_of(
        st.integers(min_value=0, max_value=3).map(
            lambda n: event("billing.invoice-send-progress", progress(n))
        ),
        st.just(HEARTBEAT),
        st.just(b": comment\n\n"),
        st.just(event("billing.invoice-send-progress", "{", raw=True)),
        st.just(b"event: ping\n\n"),
    ),
    max_size=8,
)
_line_ends = st.sampled_from(["\n", "\r\n", "\r"])


def _chunked(body: bytes, cuts: list[int]) -> Iterator[bytes]:
    start = 0
    for cut in [*sorted(set(cuts)), len(body)]:
        yield body[start:cut]
        start = cut


@settings(max_examples=60, deadline=None)
@given(parts=_events, line_end=_line_ends, data=st.data())
def test_any_chunking_gives_the_same_callbacks(
    parts: list[bytes], line_end: str, data: st.DataObject
) -> None:
    body = b"".join([*parts, COMPLETE]).replace(b"\n", line_end.encode())
    cuts = data.draw(st.lists(st.integers(min_value=1, max_value=len(body) - 1), max_size=40))

    def observed(chunks: list[bytes]) -> tuple[list[Any], list[str], Ending | None]:
        script = Script([lambda: stream(*chunks)])
        run = asyncio.run(run_script(script))
        return run.events, [str(error) for error in run.errors], run.ending

    whole = observed([body])
    assert observed(list(_chunked(body, cuts))) == whole
    assert whole[2] == Ending(EndReason.COMPLETED)
    assert isinstance(whole[0][-1], Snapshot)
    assert all(not isinstance(e, Heartbeat) or e.timestamp.year == 2026 for e in whole[0])
