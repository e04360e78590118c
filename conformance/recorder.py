"""Record one HTTP response as evidence: status, headers, raw bytes and every SSE item, timed.

:class:`StreamRecorder` sends a GET with httpx and reads the body in a background task, feeding
the raw bytes (``aiter_raw``: no content decoding, so a gzip-encoded stream is seen as the server
sent it, TR/WF checks) to the sans-IO :class:`~conformance.wire.Decoder`. Everything is stamped
with the injected monotonic clock, relative to the moment the request was started (TIME-1: an
event is observed when the line that terminates it arrives, i.e. with the chunk carrying it).

The recorder never hangs and never grows without bound:

- ``deadline`` (an absolute time on the injected clock) ends the recording whatever the server
  does -- headers that never come, a line that never ends, a stream that never ends
  (:attr:`EndKind.DEADLINE`). httpx's own timeouts are switched off for the request, because its
  5 s read timeout would cut a legitimately long silence; the deadline is the only authority.
- the body is read up to ``max_body_bytes``; raw chunks are kept up to ``max_recorded_bytes``;
  at most ``max_items`` items are kept; the decoder bounds one line and one block
  (:attr:`EndKind.LIMIT_EXCEEDED`). The defaults are far above what a snapshot stream sends (a
  payload is a few hundred bytes) and small enough that the harness's ~100 concurrent recordings
  of a hostile server stay within a few hundred MB (tests/conformance/test_hostile.py).
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Generic, TypeVar

import httpx

from conformance.errors import HarnessError
from conformance.wire import (
    Comment,
    Decoder,
    DiscardedBlock,
    Event,
    Field,
    Item,
    PartialBlock,
    WireLimitExceeded,
)

__all__ = ["EndKind", "Recording", "StreamRecorder", "Timed"]

T = TypeVar("T")

# Chunks closer together than this count as one arrival for silences(): the gaps inside a burst
# are not silences, and merging them bounds the bookkeeping by duration, not by chunk count.
_BURST_SECONDS = 0.001

RecordedItem = Event | Comment | DiscardedBlock | PartialBlock


@dataclass(frozen=True, slots=True)
class Timed(Generic[T]):
    """``item`` observed ``at`` seconds after the request was started (monotonic)."""

    at: float
    item: T


class EndKind(enum.Enum):
    """How a recording ended."""

    CLEAN_EOF = "clean-eof"  # the body ended as HTTP framing says a body ends
    RESET = "reset"  # the connection broke: reset, or closed before the body was complete
    CLOSED_BY_HARNESS = "closed-by-harness"  # disconnect() was called (client went away)
    DEADLINE = "deadline"  # the recorder's deadline came first
    LIMIT_EXCEEDED = "limit-exceeded"  # a body, line or event bound was crossed
    NOT_STARTED = "not-started"  # no connection: refused, unreachable, unusable URL


@dataclass
class Recording:
    """Everything observed about one response; grows while the recorder reads.

    Times are seconds since ``started_at``, the clock reading when the request was started, so a
    check can relate them to other readings of the same clock (e.g. control API answers, TIME-2).
    ``request_headers`` are the headers actually sent (httpx's defaults included, names in lower
    case) once the request is built. ``arrivals`` are the body's arrival times behind
    :meth:`silences`.
    """

    url: str
    request_headers: dict[str, str]
    started_at: float | None = None
    status: int | None = None
    http_version: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    headers_at: float | None = None
    chunks: list[Timed[bytes]] = field(default_factory=list)
    items: list[Timed[RecordedItem]] = field(default_factory=list)
    last_byte_at: float | None = None
    end: EndKind | None = None
    end_at: float | None = None
    end_detail: str | None = None
    body_bytes: int = 0
    bom_seen: bool = False
    invalid_utf8: int = 0
    line_ending_kinds: set[str] = field(default_factory=set)
    chunks_truncated: bool = False
    arrivals: list[float] = field(default_factory=list)

    def events(self, name: str | None = None) -> list[Timed[Event]]:
        """Dispatched events, optionally only those whose ``name`` (type or "message") matches."""
        return [
            Timed(timed.at, timed.item)
            for timed in self.items
            if isinstance(timed.item, Event) and (name is None or timed.item.name == name)
        ]

    def comments(self) -> list[Timed[Comment]]:
        """Comment lines (WF-15), in order."""
        return [Timed(t.at, t.item) for t in self.items if isinstance(t.item, Comment)]

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), in the order received."""
        wanted = name.lower()
        return [value for key, value in self.headers if key == wanted]

    def body(self) -> bytes:
        """The recorded raw body (the first ``max_recorded_bytes``; see ``chunks_truncated``)."""
        return b"".join(chunk.item for chunk in self.chunks)

    def body_text(self) -> str:
        """The recorded body decoded as UTF-8 with replacement, for non-stream answers."""
        return self.body().decode("utf-8", "replace")

    def silences(self) -> list[float]:
        """Gaps in seconds between consecutive arrivals of body bytes, the first one measured
        from the headers. Chunks less than 1 ms apart count as one arrival."""
        points = list(self.arrivals)
        if self.headers_at is not None:
            points.insert(0, self.headers_at)
        return [later - earlier for earlier, later in itertools.pairwise(points)]


class StreamRecorder:
    """Send ``GET url`` and record the response in a background task (async context manager).

    ``deadline`` is an absolute reading of ``clock``; by then the recording has ended. On leaving
    the ``async with`` block the response is closed (as :meth:`disconnect`) if still open.
    ``method`` and ``content`` send another request (e.g. a POST on a stream path, TR-4) with the
    same bounds: use this rather than ``client.request``, which reads a whole body into memory.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        headers: Mapping[str, str],
        *,
        deadline: float,
        max_body_bytes: int = 64 << 20,
        max_recorded_bytes: int = 256 << 10,
        max_line_bytes: int = 256 << 10,
        max_event_bytes: int = 1 << 20,
        max_items: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        method: str = "GET",
        content: bytes | None = None,
    ) -> None:
        self._client = client
        self._method = method
        self._content = content
        self._headers = dict(headers)
        self._deadline = deadline
        self._max_body = max_body_bytes
        self._max_recorded = max_recorded_bytes
        self._max_items = max_items
        self._clock = clock
        self._decoder = Decoder(max_line_bytes=max_line_bytes, max_event_bytes=max_event_bytes)
        self._decoder_done = False
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self.recording = Recording(url=url, request_headers=dict(headers))

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start reading (``async with`` does this). Starting twice is a harness error."""
        if self._task is not None:
            raise HarnessError("StreamRecorder started twice")
        self._task = asyncio.create_task(self._run(), name=f"record {self.recording.url}")

    async def __aenter__(self) -> StreamRecorder:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.disconnect()

    async def disconnect(self) -> None:
        """Close the response as a client going away would (end ``CLOSED_BY_HARNESS``).

        Returns once the connection is closed. Does nothing to a recording that already ended.
        """
        if self._task is None:
            self._finish(EndKind.NOT_STARTED, "the recorder was never started")
            return
        if not self._task.done():
            self._finish(EndKind.CLOSED_BY_HARNESS, "the harness closed the response")
            self._task.cancel()
            # asyncio.wait neither raises the task's CancelledError nor swallows our own.
            await asyncio.wait([self._task])

    # The fixed interface takes ``timeout`` (seconds): checks wait for a condition *or* a time.
    async def wait_for(
        self,
        predicate: Callable[[Recording], bool],
        timeout: float,  # noqa: ASYNC109
    ) -> bool:
        """Wait up to ``timeout`` seconds until ``predicate(recording)`` holds.

        Returns False when the time is up or the recording ended without the predicate holding.
        Raises :class:`HarnessError` if the recorder itself crashed.
        """
        loop = asyncio.get_running_loop()
        until = loop.time() + timeout
        while True:
            self._raise_failure()
            if predicate(self.recording):
                return True
            remaining = until - loop.time()
            if self.recording.end is not None or remaining <= 0:
                return False
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                self._raise_failure()
                return predicate(self.recording)

    async def wait_end(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait up to ``timeout`` seconds for the recording to end; True if it has."""
        return await self.wait_for(lambda recording: recording.end is not None, timeout)

    # -- the reading task -----------------------------------------------------------------------

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise HarnessError(
                f"the recorder of {self.recording.url} crashed: {self._failure!r}"
            ) from self._failure

    def _now(self) -> float:
        started = self.recording.started_at
        return self._clock() - (started if started is not None else self._clock())

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _finish(self, kind: EndKind, detail: str) -> None:
        recording = self.recording
        if recording.end is not None:
            return
        recording.end_at = self._now()
        recording.end = kind
        recording.end_detail = detail
        self._close_decoder(recording.end_at)
        self._notify()

    def _close_decoder(self, at: float) -> None:
        if self._decoder_done:
            return
        self._decoder_done = True
        try:
            partial = self._decoder.close()
        except WireLimitExceeded:
            return  # already recorded as LIMIT_EXCEEDED
        self.recording.items.extend(Timed(at, block) for block in partial)
        self._sync_decoder()

    async def _run(self) -> None:
        try:
            await self._record()
        except asyncio.CancelledError:
            # disconnect() already recorded CLOSED_BY_HARNESS; anyone else's cancel ends us too.
            self._finish(EndKind.CLOSED_BY_HARNESS, "the recorder was cancelled")
            raise
        except Exception as exc:  # a bug of ours: reported as a harness fault, never a verdict
            self._failure = exc
            self._notify()

    async def _record(self) -> None:
        recording = self.recording
        recording.started_at = self._clock()
        remaining = self._deadline - recording.started_at
        if remaining <= 0:
            self._finish(EndKind.DEADLINE, "the deadline had passed before the request")
            return
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(loop.time() + remaining):
                await self._exchange()
        except TimeoutError:
            self._finish(EndKind.DEADLINE, f"deadline reached after {self._now():.3f} s")
        except httpx.TransportError as exc:
            if recording.status is None and isinstance(
                exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.UnsupportedProtocol
            ):
                self._finish(EndKind.NOT_STARTED, _describe(exc))
            else:
                self._finish(EndKind.RESET, _describe(exc))

    async def _exchange(self) -> None:
        recording = self.recording
        request = self._client.build_request(
            self._method,
            recording.url,
            headers=self._headers,
            content=self._content,
            timeout=httpx.Timeout(None),
        )
        recording.request_headers = dict(request.headers.items())
        response = await self._client.send(request, stream=True)
        try:
            recording.headers_at = self._now()
            recording.status = response.status_code
            recording.http_version = response.http_version
            recording.headers = [
                (name.decode("latin-1").lower(), value.decode("latin-1"))
                for name, value in response.headers.raw
            ]
            self._notify()
            async for chunk in response.aiter_raw():
                if self._receive(chunk):
                    return
            self._finish(EndKind.CLEAN_EOF, "the body ended")
        finally:
            await response.aclose()

    def _receive(self, chunk: bytes) -> bool:
        """Record one raw chunk; True when a bound was crossed and reading must stop."""
        recording = self.recording
        if recording.end is not None:
            return True  # ended (e.g. disconnect()) while this chunk was on its way: not ours
        if not chunk:
            return False
        at = self._now()
        recording.last_byte_at = at
        if not recording.arrivals or at - recording.arrivals[-1] >= _BURST_SECONDS:
            recording.arrivals.append(at)
        kept = recording.body_bytes
        recording.body_bytes += len(chunk)
        if kept < self._max_recorded:
            room = self._max_recorded - kept
            recording.chunks.append(Timed(at, chunk[:room]))
            recording.chunks_truncated = len(chunk) > room
        else:
            recording.chunks_truncated = True
        if recording.body_bytes > self._max_body:
            chunk = chunk[: len(chunk) - (recording.body_bytes - self._max_body)]
        try:
            items = self._decoder.feed(chunk)
        except WireLimitExceeded as exc:
            self._keep(at, exc.items)
            self._sync_decoder()
            self._decoder_done = True
            self._finish(EndKind.LIMIT_EXCEEDED, str(exc))
            return True
        self._keep(at, items)
        self._sync_decoder()
        if recording.body_bytes > self._max_body:
            self._finish(EndKind.LIMIT_EXCEEDED, f"body exceeded {self._max_body} bytes")
            return True
        if len(recording.items) > self._max_items:
            # A flood of tiny events costs far more memory than its bytes: bound the count too.
            self._finish(EndKind.LIMIT_EXCEEDED, f"more than {self._max_items} items")
            return True
        self._notify()
        return False

    def _keep(self, at: float, items: Iterable[Item]) -> None:
        # Field items are the decoder's running commentary; events carry their fields.
        self.recording.items.extend(
            Timed(at, item) for item in items if not isinstance(item, Field)
        )

    def _sync_decoder(self) -> None:
        recording = self.recording
        recording.bom_seen = self._decoder.bom_seen
        recording.invalid_utf8 = self._decoder.invalid_utf8
        recording.line_ending_kinds = self._decoder.line_ending_kinds


def _describe(exc: BaseException) -> str:
    text = str(exc) or "no detail"
    return f"{type(exc).__name__}: {text}"
