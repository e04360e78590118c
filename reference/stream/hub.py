"""Subscriptions and shared pollers: one poller per resource, one timeline per subscriber.

The origin ran one poll loop per open stream, so N browsers watching the same billing run cost N
database queries per interval. Here every open stream of the same resource key shares one
:class:`_Poller` (CHG-8), while each :class:`Subscription` keeps what the protocol requires per
stream: its own initial snapshot, its own last-sent change key, its own heartbeat timeline and its
own timeout. With ``coalesce=False`` every subscription gets a private poller (the origin's way),
which the coalescing benchmark compares against.

Ordering rule for shared pollers: a subscriber only accepts snapshots from fetches that *started*
after its own initial fetch started. A fetch that began earlier may return a state older than the
subscriber's initial snapshot, and sending it would move the client's view backwards (CHG-5 keeps
the order in which states became visible).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from reference.stream._heartbeats import HeartbeatSchedule
from reference.stream.clock import Cancellable, Clock
from reference.stream.frames import (
    DataEvent,
    EndReason,
    Frame,
    Heartbeat,
    StreamError,
    Timeout,
    is_terminal,
)
from reference.stream.profile import StreamProfile, StreamTiming

S = TypeVar("S")

Fetch = Callable[[], Awaitable[S | None]]

_log = logging.getLogger(__name__)

SNAPSHOT_FAILED = StreamError("snapshot_failed", "The current state could not be read.")
RESOURCE_GONE = StreamError("not_found", "The resource no longer exists.")
SHUTTING_DOWN = StreamError("shutting_down", "The server is shutting down.")


class SnapshotFetchError(Exception):
    """The initial snapshot could not be fetched, so no stream was opened."""


@dataclass(frozen=True, slots=True)
class KeyStatistics:
    """Per resource key: streams open now, snapshot fetches made since the key was first seen
    (a shared poller's fetch counts once, CTL-12)."""

    open_streams: int
    snapshot_fetches: int


@dataclass(slots=True)
class _Polled:
    """One fetched snapshot, prepared once and shared by every subscriber of the poller."""

    seq: int
    key: Hashable
    complete: bool
    data: str


@dataclass(slots=True)
class _KeyState:
    open_streams: int = 0
    snapshot_fetches: int = 0


class Subscription(Generic[S]):
    """One open stream: its frames, in order, through a bounded mailbox.

    The consumer (the HTTP response) awaits :meth:`next_frame` until it returns None, writing each
    frame. :meth:`close` is the disconnect path and is idempotent.
    """

    __slots__ = (
        "_hub",
        "_in_heartbeats",
        "_last_key",
        "_mailbox",
        "_poller",
        "_timeout_timer",
        "_waiter",
        "baseline_seq",
        "end_reason",
        "key",
        "started_at",
        "started_mono",
    )

    def __init__(self, hub: StreamHub[S], key: Hashable, baseline_seq: int) -> None:
        self._hub = hub
        self.key = key
        self.baseline_seq = baseline_seq
        self.started_mono = hub.clock.monotonic()
        self.started_at: datetime = hub.clock.utcnow()
        self.end_reason: EndReason | None = None
        self._mailbox: deque[Frame] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._last_key: Hashable = None
        self._poller: _Poller[S] | None = None
        self._in_heartbeats = False
        self._timeout_timer: Cancellable | None = None

    @property
    def closed(self) -> bool:
        return self.end_reason is not None

    # -- consumer side ------------------------------------------------------------------------

    def frames_nowait(self) -> list[Frame]:
        """Take every frame queued so far (unit tests read the stream this way)."""
        frames = list(self._mailbox)
        self._mailbox.clear()
        return frames

    async def next_frame(self) -> Frame | None:
        """The next frame to write, or None once the stream has ended and everything was taken.

        After an OVERFLOW or DISCONNECT end nothing more is returned: the connection is dropped
        or gone, so queued frames have nowhere to go.
        """
        while not self._mailbox:
            if self.end_reason is not None:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._mailbox.popleft()

    def close(self, reason: EndReason = EndReason.DISCONNECT) -> None:
        """End the stream without a final frame: disconnect (LIFE-1) or a dropped connection."""
        if self.end_reason is None:
            self._mailbox.clear()
            self._finish(reason)
        elif reason in (EndReason.DISCONNECT, EndReason.OVERFLOW):
            self._mailbox.clear()
        self._wake()

    # -- producer side (hub, poller, timers) ----------------------------------------------------

    def _start(self, initial: _Polled) -> None:
        """Send the initial snapshot at once (SNAP-1, SNAP-2), then run the timers."""
        self._last_key = initial.key
        self._deliver(DataEvent(self._hub.profile.event, initial.data, final=initial.complete))
        if initial.complete:  # SNAP-6: a complete initial snapshot ends the stream
            return
        hub, timing = self._hub, self._hub.timing
        hub._heartbeats.add(self, self.started_mono + timing.heartbeat)  # HB-2
        self._in_heartbeats = True
        self._timeout_timer = hub.clock.call_at(
            self.started_mono + timing.timeout, self._on_timeout
        )

    def _offer(self, polled: _Polled) -> None:
        """A poll result: send it only when its change key differs (CHG-1, CHG-2, CHG-3)."""
        if self.closed or polled.seq <= self.baseline_seq:
            return
        if polled.key != self._last_key:
            self._last_key = polled.key
            self._deliver(DataEvent(self._hub.profile.event, polled.data, final=polled.complete))
        elif polled.complete:
            # END-5: a complete snapshot equal to the last one sent is not sent again.
            self._finish(EndReason.COMPLETE)
            self._wake()

    def _fail(self, seq: int, error: StreamError) -> None:
        if not self.closed and seq > self.baseline_seq:
            self._deliver(error)

    def _send_heartbeat(self, frame: Heartbeat) -> bool:
        """HB-2, HB-3: called by the hub's schedule on a fixed cadence from the stream start,
        whatever else was sent. False once the stream has ended (or this heartbeat overflowed
        the mailbox), which takes it off the schedule."""
        return not self.closed and self._deliver(frame)

    def _on_timeout(self) -> None:
        """END-1: the timeout event, measured from the stream start, then the end."""
        if self.closed:
            return
        now = self._hub.clock.utcnow()
        # startedAt never later than timestamp (END-4), even if the wall clock stepped back.
        started = min(self.started_at, now)
        self._deliver(Timeout(started, now, self._hub.timing.timeout_ms))

    def _deliver(self, frame: Frame) -> bool:
        """Queue ``frame``; False when the mailbox was full and the stream was dropped instead."""
        if len(self._mailbox) >= self._hub.mailbox_limit:
            # LIFE-4: the client stopped reading; bound what we keep and drop the connection.
            self.close(EndReason.OVERFLOW)
            return False
        self._mailbox.append(frame)
        if is_terminal(frame):
            self._finish(_reason_of(frame))
        self._wake()
        return True

    def _finish(self, reason: EndReason) -> None:
        """Release everything the stream holds: timers, poller membership, statistics."""
        self.end_reason = reason
        if self._in_heartbeats:
            self._in_heartbeats = False
            self._hub._heartbeats.remove()
        if self._timeout_timer is not None:
            self._timeout_timer.cancel()
            self._timeout_timer = None
        self._hub._detach(self)

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


def _reason_of(frame: Frame) -> EndReason:
    if isinstance(frame, Timeout):
        return EndReason.TIMEOUT
    if isinstance(frame, StreamError):
        return EndReason.SHUTDOWN if frame is SHUTTING_DOWN else EndReason.ERROR
    return EndReason.COMPLETE


@dataclass(eq=False, slots=True)
class _Poller(Generic[S]):
    """Polls one resource every interval for its subscribers; polls never overlap (CHG-7)."""

    hub: StreamHub[S]
    resource_key: Hashable
    poller_key: Hashable
    fetch: Fetch[S]
    subscribers: set[Subscription[S]] = field(default_factory=set)
    next_due: float = 0.0
    timer: Cancellable | None = None
    in_flight: asyncio.Task[None] | None = None
    stopped: bool = False
    skipped_ticks: int = 0

    def start(self) -> None:
        self.next_due = self.hub.clock.monotonic() + self.hub.timing.interval
        self.timer = self.hub.clock.call_at(self.next_due, self._tick)

    def stop(self) -> None:
        """LIFE-2: no further tick; a fetch already running finishes and is ignored."""
        self.stopped = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _tick(self) -> None:
        if self.stopped:
            return
        interval = self.hub.timing.interval
        now = self.hub.clock.monotonic()
        self.next_due += interval
        if self.next_due <= now:  # the loop was stalled: realign instead of firing a burst
            self.next_due = now + interval
        self.timer = self.hub.clock.call_at(self.next_due, self._tick)
        if self.in_flight is not None:
            self.skipped_ticks += 1  # CHG-7: skipped, not queued
            return
        seq = self.hub._begin_fetch(self.resource_key)
        self.in_flight = asyncio.ensure_future(self._poll(seq))

    async def _poll(self, seq: int) -> None:
        try:
            snapshot = await self.fetch()
        except Exception:
            # ERR-13 and ERR-17: this resource's streams end with an error event; the log says
            # which resource, the client sees no detail (ERR-16).
            _log.warning("snapshot fetch failed for %r", self.resource_key, exc_info=True)
            if not self.stopped:
                for subscriber in list(self.subscribers):
                    subscriber._fail(seq, SNAPSHOT_FAILED)
            return
        finally:
            self.in_flight = None
        if self.stopped:
            return
        if snapshot is None:
            for subscriber in list(self.subscribers):
                subscriber._fail(seq, RESOURCE_GONE)
            return
        polled = self.hub._prepare(seq, snapshot)
        for subscriber in list(self.subscribers):
            subscriber._offer(polled)


class StreamHub(Generic[S]):
    """Opens subscriptions for one profile and keeps one poller per resource key.

    ``fetch`` returns the current snapshot, or None when the resource does not exist (or is not
    visible to the caller, which the profile's use case decides). It may raise: a failed fetch ends
    that resource's streams with an error event and nothing else.
    """

    def __init__(
        self,
        profile: StreamProfile[S],
        timing: StreamTiming,
        clock: Clock,
        *,
        coalesce: bool = True,
        mailbox_limit: int = 32,
        heartbeat_tick: float = 0.005,
    ) -> None:
        """``heartbeat_tick``: how late a heartbeat may be sent so that heartbeats falling due
        close together leave in one timer wake (see :mod:`reference.stream._heartbeats`); 5 ms
        is far inside the tolerance (TIME-3) and lets 10,000 streams share about 200 wakes a
        second."""
        self.profile = profile
        self.timing = timing
        self.clock = clock
        self.coalesce = coalesce
        self.mailbox_limit = mailbox_limit
        self._heartbeats = HeartbeatSchedule(clock, timing.heartbeat, heartbeat_tick)
        self._pollers: dict[Hashable, _Poller[S]] = {}
        self._keys: dict[Hashable, _KeyState] = {}
        self._open: set[Subscription[S]] = set()
        self._seq = 0
        self._shutting_down = False

    @property
    def open_streams(self) -> int:
        return len(self._open)

    @property
    def active_pollers(self) -> int:
        return len(self._pollers)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def statistics(self, key: Hashable) -> KeyStatistics:
        state = self._keys.get(key, _KeyState())
        return KeyStatistics(state.open_streams, state.snapshot_fetches)

    async def open(self, key: Hashable, fetch: Fetch[S]) -> Subscription[S] | None:
        """Fetch the initial snapshot and open a subscription with it.

        Returns None when the resource does not exist (ERR-9); raises :class:`SnapshotFetchError`
        when the initial fetch fails or the hub is shutting down. The initial fetch is this
        subscriber's own: it started after the request arrived, so it reflects every change that was
        visible before (SNAP-4, SNAP-5).
        """
        if self._shutting_down:
            raise SnapshotFetchError("shutting down")
        seq = self._begin_fetch(key)
        try:
            snapshot = await fetch()
        except Exception as exc:
            _log.warning("initial snapshot fetch failed for %r", key, exc_info=True)
            raise SnapshotFetchError("initial snapshot failed") from exc
        if snapshot is None:
            return None
        if self._shutting_down:
            raise SnapshotFetchError("shutting down")
        subscription = Subscription(self, key, seq)
        self._open.add(subscription)
        self._keys[key].open_streams += 1
        subscription._start(self._prepare(seq, snapshot))
        if not subscription.closed:
            self._join(subscription, fetch)
        return subscription

    def shutdown(self) -> None:
        """LIFE-3: every open stream gets an ``error`` event ``shutting_down`` and ends."""
        self._shutting_down = True
        for subscription in list(self._open):
            subscription._deliver(SHUTTING_DOWN)

    # -- internals shared with subscriptions and pollers ---------------------------------------

    def _begin_fetch(self, key: Hashable) -> int:
        self._seq += 1
        self._keys.setdefault(key, _KeyState()).snapshot_fetches += 1
        return self._seq

    def _prepare(self, seq: int, snapshot: S) -> _Polled:
        profile = self.profile
        data = json.dumps(profile.to_payload(snapshot), separators=(",", ":"), ensure_ascii=False)
        return _Polled(seq, profile.change_key(snapshot), profile.is_complete(snapshot), data)

    def _join(self, subscription: Subscription[S], fetch: Fetch[S]) -> None:
        poller_key = subscription.key if self.coalesce else (subscription.key, id(subscription))
        poller = self._pollers.get(poller_key)
        if poller is None:
            poller = _Poller(self, subscription.key, poller_key, fetch)
            self._pollers[poller_key] = poller
            poller.start()
        poller.subscribers.add(subscription)
        subscription._poller = poller

    def _detach(self, subscription: Subscription[S]) -> None:
        if subscription in self._open:
            self._open.discard(subscription)
            self._keys[subscription.key].open_streams -= 1
        poller = subscription._poller
        subscription._poller = None
        if poller is None:
            return
        poller.subscribers.discard(subscription)
        if not poller.subscribers:
            poller.stop()
            del self._pollers[poller.poller_key]
