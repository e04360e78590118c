"""One timer for the heartbeats of every subscription of a hub, instead of one timer each.

Every open stream owes a heartbeat each ``heartbeatMs`` on its own timeline (HB-2, HB-3). Arming a
loop timer per heartbeat cost a timer handle per event, a large part of the server's CPU at 10,000
streams (uvloop allocates a libuv handle for each). Here the due times wait in one heap and a single
timer wakes at the earliest one, sends every heartbeat that is due by then and re-arms.

Two rules keep the timelines exact:

- never early: a heartbeat is sent only once its due time has passed (HB-2 measures from the
  stream start), and the next one is due ``heartbeatMs`` after the previous *due time*, not after
  the moment it was sent, so lateness never accumulates (HB-3);
- late by at most ``tick`` (plus whatever the loop is busy with): after a wake the timer is not
  re-armed sooner than ``tick`` later, so heartbeats falling due close together leave in one wake.
  With ``tick`` 0 every heartbeat is sent at its due time.

All heartbeats of one wake carry the same ``Heartbeat`` frame (one timestamp, the time of sending
for HB-1), so the wire encoding can be shared (:mod:`reference.stream.sse` caches it).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Protocol

from reference.stream.clock import Cancellable, Clock
from reference.stream.frames import Heartbeat


class HeartbeatTarget(Protocol):
    """A subscription, as the schedule sees it."""

    def _send_heartbeat(self, frame: Heartbeat) -> bool:
        """Queue ``frame``; False when the stream has ended and wants no more heartbeats."""
        ...


class HeartbeatSchedule:
    def __init__(self, clock: Clock, period: float, tick: float) -> None:
        self._clock = clock
        self._period = period
        self._tick = tick
        # (due, arrival order, target): the order breaks ties without comparing targets.
        self._due: list[tuple[float, int, HeartbeatTarget]] = []
        self._order: Callable[[], int] = itertools.count().__next__
        self._members = 0  # targets still wanting heartbeats; entries of ended ones are skipped
        self._timer: Cancellable | None = None
        self._timer_at = 0.0
        self._last_wake = float("-inf")

    def add(self, target: HeartbeatTarget, first_due: float) -> None:
        """Start ``target``'s timeline: heartbeats at ``first_due``, then every period."""
        self._members += 1
        heapq.heappush(self._due, (first_due, self._order(), target))
        self._arm()

    def remove(self) -> None:
        """A target ended; its heap entry is dropped when it comes due. When none is left the
        timer is cancelled at once, so an idle hub holds no timer."""
        self._members -= 1
        if self._members == 0:
            self._due.clear()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _arm(self) -> None:
        if not self._due:
            return
        when = max(self._due[0][0], self._last_wake + self._tick)
        if self._timer is not None:
            if self._timer_at <= when:
                return  # the armed timer comes first and re-arms after serving
            self._timer.cancel()
        self._timer_at = when
        self._timer = self._clock.call_at(when, self._wake)

    def _wake(self) -> None:
        self._timer = None
        now = self._last_wake = self._clock.monotonic()
        due = self._due
        frame: Heartbeat | None = None
        while due and due[0][0] <= now:
            when, _, target = heapq.heappop(due)
            if frame is None:
                frame = Heartbeat(self._clock.utcnow())
            if target._send_heartbeat(frame):
                heapq.heappush(due, (when + self._period, self._order(), target))
        self._arm()
