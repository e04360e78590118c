"""`subscribe_sse`: a snapshot-stream subscription over httpx, with reconnection (CLI-1 to CLI-12).

One `Subscription` runs one loop: connect, parse (our own WHATWG parser, CLI-2), deliver typed
events (CLI-3), and decide after each end what to do next:

| how the stream ended                              | next step                                  |
|---------------------------------------------------|--------------------------------------------|
| a complete snapshot                               | stop, COMPLETED (CLI-8)                    |
| a `timeout` event                                 | reconnect at once (CLI-9; `retry` a floor) |
| an `error` event                                  | stop, ERROR_EVENT                          |
| 401, with `on_unauthorized` not yet tried         | ask it once, reconnect at once (CLI-8)     |
| 401/403/404, other 4xx, not text/event-stream     | stop, REJECTED (CLI-8, WHATWG C3/C4)       |
| network failure, 5xx/408/429, early end, silence  | back off, reconnect (CLI-5, CLI-7, CLI-11) |

The backoff delay is at least the server's `retry` value and, for an HTTP error, its
`Retry-After` seconds.

After the last reconnection attempt fails, the subscription ends with GAVE_UP.

The attempt counter resets after each successful open (CLI-6); `close()` cancels the request and
any pending reconnection (CLI-12). Sleep and randomness are injected so tests run in virtual time.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import json
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar, cast

import httpx
from pydantic import BaseModel

from reference.client._backoff import Backoff, BackoffPolicy
from reference.client._errors import (
    ConnectionFailed,
    HttpStatusError,
    InvalidEvent,
    NotAnEventStream,
    ServerErrorEvent,
    SseClientError,
    StreamInterrupted,
)
from reference.client._events import (
    BILLING_SEND_PROGRESS,
    ServerError,
    Snapshot,
    StreamProfile,
    Timeout,
    TypedEvent,
    interpret,
)
from reference.client._parser import ParserLimitExceeded, SseParser

__all__ = [
    "EndReason",
    "Ending",
    "EventStream",
    "Opened",
    "Subscription",
    "aiter_sse",
    "subscribe_sse",
]

P = TypeVar("P", bound=BaseModel)
A = TypeVar("A")

Callback = Callable[[A], Awaitable[None] | None]
HeaderSource = Mapping[str, str] | Callable[[], Awaitable[Mapping[str, str]]]

_MAX_ERROR_BODY = 64 * 1024


class EndReason(enum.Enum):
    COMPLETED = "completed"  # a complete snapshot arrived
    CLOSED = "closed"  # close() was called
    ERROR_EVENT = "error-event"  # the server ended the stream with an error event
    REJECTED = "rejected"  # an answer not worth retrying (401/403/404, not an event stream...)
    GAVE_UP = "gave-up"  # the reconnection attempts ran out


@dataclass(frozen=True, slots=True)
class Ending:
    reason: EndReason
    error: SseClientError | None = None


@dataclass(frozen=True, slots=True)
class Opened:
    """A stream was opened: status 200 with Content-Type text/event-stream."""

    url: str
    headers: tuple[tuple[str, str], ...]
    connection: int  # 1 for the first successful open, 2 for the next...


class _End(enum.Enum):
    COMPLETED = enum.auto()
    TIMEOUT = enum.auto()


class Subscription(Generic[P]):
    """A running subscription; create it with `subscribe_sse`."""

    def __init__(
        self,
        url: str,
        *,
        profile: StreamProfile[P],
        headers: HeaderSource | None,
        client: httpx.AsyncClient | None,
        on_event: Callback[TypedEvent[P]] | None,
        on_open: Callback[Opened] | None,
        on_error: Callback[SseClientError] | None,
        on_close: Callback[Ending] | None,
        on_unauthorized: Callable[[], Awaitable[bool]] | None,
        backoff: BackoffPolicy,
        rng: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        heartbeat_ms: int | None,
    ) -> None:
        self.url = url
        self._profile = profile
        self._headers = headers
        self._client = client
        self._on_event = on_event
        self._on_open = on_open
        self._on_error = on_error
        self._on_close = on_close
        self._on_unauthorized = on_unauthorized
        self._backoff = Backoff(policy=backoff, rng=rng)
        self._sleep = sleep
        self._silence_limit = None if heartbeat_ms is None else 2 * heartbeat_ms / 1000  # CLI-11
        self._retry_ms: int | None = None
        self._last_event_id = ""
        self._opens = 0
        self._close_requested = False
        self._task: asyncio.Task[Ending] | None = None

    @property
    def attempts(self) -> int:
        """Reconnection attempts since the last successful open (CLI-6)."""
        return self._backoff.attempts

    @property
    def retry_ms(self) -> int | None:
        """The last reconnection time the server sent (`retry:`), if any (CLI-7)."""
        return self._retry_ms

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._main())

    async def wait(self) -> Ending:
        """Wait for the end; re-raises an exception raised by a callback."""
        task = self._task
        if task is None:
            raise RuntimeError("the subscription was not started")
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled() and self._close_requested:
                return Ending(EndReason.CLOSED)  # closed before it ever ran
            raise

    async def close(self) -> None:
        """Cancel the open request and any pending reconnection (CLI-12); on_close still runs."""
        self._close_requested = True
        task = self._task
        if task is None or task.done():
            return
        task.cancel()
        if task is asyncio.current_task():
            return  # called from a callback: the cancellation lands at the task's next await
        await asyncio.wait([task])
        if task.cancelled():
            # Cancelled before its first step, so _main never ran: on_close is still owed.
            await _call(self._on_close, Ending(EndReason.CLOSED))

    async def __aenter__(self) -> Subscription[P]:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _main(self) -> Ending:
        own_client = self._client is None
        client = self._client or httpx.AsyncClient(
            # No read timeout: heartbeats may be further apart than httpx's 5 s default
            # (httpx-sse #38); a silence is caught by the heartbeat watchdog instead (CLI-11).
            timeout=httpx.Timeout(10.0, read=None),
            follow_redirects=True,
        )
        try:
            try:
                ending = await self._run(client)
            except asyncio.CancelledError:
                if not self._close_requested:
                    raise
                current = asyncio.current_task()
                if current is not None:
                    current.uncancel()
                ending = Ending(EndReason.CLOSED)
        finally:
            if own_client:
                await client.aclose()
        await _call(self._on_close, ending)
        return ending

    async def _run(self, client: httpx.AsyncClient) -> Ending:
        refreshed = False
        while True:
            try:
                end = await self._connect_once(client)
            except SseClientError as error:
                await _call(self._on_error, error)
                if isinstance(error, HttpStatusError) and error.status == 401:
                    # CLI-8: a 401 may be retried once with a fresh token, at once.
                    if self._on_unauthorized is not None and not refreshed:
                        refreshed = True
                        if await self._on_unauthorized():
                            continue
                    return Ending(EndReason.REJECTED, error)
                if isinstance(error, ServerErrorEvent):
                    return Ending(EndReason.ERROR_EVENT, error)
                if not error.retryable:
                    return Ending(EndReason.REJECTED, error)
                floor = self._retry_ms
                if isinstance(error, HttpStatusError) and error.retry_after_ms is not None:
                    # Retry-After, like `retry`, says how long the server wants us to stay away.
                    floor = max(floor or 0, error.retry_after_ms)
                delay = self._backoff.next_delay_ms(floor)
                if delay is None:
                    return Ending(EndReason.GAVE_UP, error)
                await self._sleep(delay / 1000)
                continue
            refreshed = False
            if end is _End.COMPLETED:
                return Ending(EndReason.COMPLETED)
            # _End.TIMEOUT: a planned end; reconnect at once for a fresh snapshot (CLI-9), waiting
            # only as long as the server asked with `retry` (CLI-7).
            if self._retry_ms:
                await self._sleep(self._retry_ms / 1000)

    async def _request_headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
        if self._last_event_id:
            # WHATWG C1. A snapshot server ignores it (WF-12), but a client sends it all the same.
            headers["Last-Event-ID"] = self._last_event_id
        source = self._headers
        if callable(source):
            source = await source()
        if source is not None:
            headers.update(source)
        return headers

    async def _connect_once(self, client: httpx.AsyncClient) -> _End:
        """One request; returns how a planned end happened or raises what went wrong."""
        request = client.build_request("GET", self.url, headers=await self._request_headers())
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise ConnectionFailed(f"cannot reach {self.url}: {_describe(exc)}") from None
        try:
            if response.status_code != 200:
                raise await _status_error(response)
            content_type = response.headers.get("content-type")
            essence = (content_type or "").split(";", 1)[0].strip().lower()
            if essence != "text/event-stream":
                raise NotAnEventStream(content_type)  # WHATWG C4
            self._opens += 1
            self._backoff.reset()  # CLI-6
            await _call(
                self._on_open,
                Opened(
                    url=str(response.url),
                    headers=tuple(response.headers.multi_items()),
                    connection=self._opens,
                ),
            )
            return await self._read(response)
        finally:
            await response.aclose()

    async def _read(self, response: httpx.Response) -> _End:
        parser = SseParser()
        # httpx implements aiter_bytes as an async generator: close it when leaving early.
        chunks = cast(AsyncGenerator[bytes, None], response.aiter_bytes())
        try:
            while True:
                try:
                    async with asyncio.timeout(self._silence_limit):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                events = parser.feed(chunk)
                self._retry_ms = parser.retry if parser.retry is not None else self._retry_ms
                for parsed in events:
                    self._last_event_id = parsed.last_event_id
                    end = await self._deliver(parsed)
                    if end is not None:
                        return end
            parser.close()
        except TimeoutError:
            raise StreamInterrupted(
                f"no byte for {self._silence_limit:g} s, twice the heartbeat period"
            ) from None
        except httpx.HTTPError as exc:
            raise StreamInterrupted(f"the stream broke: {_describe(exc)}") from None
        except ParserLimitExceeded as exc:
            raise StreamInterrupted(str(exc)) from None
        finally:
            await chunks.aclose()
        raise StreamInterrupted(
            "the stream ended without a timeout event, a complete snapshot or an error event"
        )

    async def _deliver(self, parsed: Any) -> _End | None:
        try:
            event = interpret(parsed, self._profile)
        except InvalidEvent as invalid:
            await _call(self._on_error, invalid)  # CLI-3: reported, skipped
            return None
        await _call(self._on_event, event)
        if isinstance(event, Snapshot) and event.complete:
            return _End.COMPLETED
        if isinstance(event, Timeout):
            return _End.TIMEOUT
        if isinstance(event, ServerError):
            raise ServerErrorEvent(event.code, event.message)
        return None


def subscribe_sse(
    url: str,
    *,
    headers: HeaderSource | None = None,
    profile: StreamProfile[P] = BILLING_SEND_PROGRESS,  # type: ignore[assignment]
    client: httpx.AsyncClient | None = None,
    on_event: Callback[TypedEvent[P]] | None = None,
    on_open: Callback[Opened] | None = None,
    on_error: Callback[SseClientError] | None = None,
    on_close: Callback[Ending] | None = None,
    on_unauthorized: Callable[[], Awaitable[bool]] | None = None,
    backoff: BackoffPolicy | None = None,
    rng: Callable[[], float] = random.random,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    heartbeat_ms: int | None = None,
) -> Subscription[P]:
    """Start a subscription to the snapshot stream at `url` (must be called inside a running loop).

    `headers` is a mapping, or an async function called before every connection (so a reconnect
    carries a fresh token). Callbacks may be plain functions or coroutines. `on_error` receives
    every failure (the retryable ones too) and every invalid event; `on_close` runs exactly once,
    with the `Ending`. `on_unauthorized` is asked once after a 401; True reconnects at once.
    `heartbeat_ms` switches on the silence watchdog (CLI-11). `rng` and `sleep` are for tests.
    """
    subscription = Subscription(
        url,
        profile=profile,
        headers=headers,
        client=client,
        on_event=on_event,
        on_open=on_open,
        on_error=on_error,
        on_close=on_close,
        on_unauthorized=on_unauthorized,
        backoff=backoff or BackoffPolicy(),
        rng=rng,
        sleep=sleep,
        heartbeat_ms=heartbeat_ms,
    )
    subscription.start()
    return subscription


class EventStream(Generic[P]):
    """The async-iterator form: `async with aiter_sse(url, ...) as events: async for e in events`.

    Iteration ends after a complete snapshot or `close()`; when the subscription ends any other way
    (REJECTED, GAVE_UP, ERROR_EVENT) the iteration raises that error. `ending` tells which.
    """

    def __init__(self, url: str, options: dict[str, Any]) -> None:
        self._url = url
        self._options = options
        self._queue: asyncio.Queue[TypedEvent[P] | Ending] = asyncio.Queue()
        self._subscription: Subscription[P] | None = None
        self.ending: Ending | None = None

    async def __aenter__(self) -> EventStream[P]:
        self._subscription = subscribe_sse(
            self._url,
            on_event=self._queue.put_nowait,
            on_close=self._queue.put_nowait,
            **self._options,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.close()

    def __aiter__(self) -> AsyncIterator[TypedEvent[P]]:
        return self

    async def __anext__(self) -> TypedEvent[P]:
        if self.ending is not None:
            raise StopAsyncIteration
        if self._subscription is None:
            raise RuntimeError("use `async with aiter_sse(...)` before iterating")
        item = await self._queue.get()
        if not isinstance(item, Ending):
            return item
        self.ending = item
        if item.error is not None and item.reason is not EndReason.CLOSED:
            raise item.error
        raise StopAsyncIteration


def aiter_sse(
    url: str,
    *,
    headers: HeaderSource | None = None,
    profile: StreamProfile[P] = BILLING_SEND_PROGRESS,  # type: ignore[assignment]
    **options: Any,
) -> EventStream[P]:
    """The async-iterator form of `subscribe_sse` (same keyword options, except the on_event and
    on_close callbacks, which the iterator uses)."""
    return EventStream(url, {"headers": headers, "profile": profile, **options})


async def _call(callback: Callable[[A], Awaitable[None] | None] | None, argument: A) -> None:
    if callback is None:
        return
    result = callback(argument)
    if inspect.isawaitable(result):
        await result


async def _status_error(response: httpx.Response) -> HttpStatusError:
    body = b""
    try:
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) >= _MAX_ERROR_BODY:
                break
    except httpx.HTTPError:
        pass  # the status is what matters; a broken error body is not worth more
    text = body[:_MAX_ERROR_BODY].decode("utf-8", errors="replace")
    title = None
    if "json" in response.headers.get("content-type", ""):
        try:
            problem = json.loads(text)
        except ValueError:
            problem = None
        if isinstance(problem, dict) and isinstance(problem.get("title"), str):
            title = problem["title"]
    retry_after = response.headers.get("retry-after", "").strip()
    retry_after_ms = (
        int(retry_after) * 1000 if retry_after.isascii() and retry_after.isdigit() else None
    )
    return HttpStatusError(response.status_code, title, text, retry_after_ms)


def _describe(exc: httpx.HTTPError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
