"""The generic snapshot stream core: the counterpart of the origin's ``createPollingSseStream``.

Nothing in this package knows about billing. A profile supplies a :class:`StreamProfile` (event
name, change key, completion rule, payload) and a fetch function per resource; the
:class:`StreamHub` does the rest: the initial snapshot, coalesced polling, change-only emission,
heartbeats, the timeout and cleanup. :mod:`reference.stream.sse` turns a subscription into an
HTTP response.
"""

from reference.stream.clock import Cancellable, Clock, LoopClock
from reference.stream.frames import DataEvent, EndReason, Frame, Heartbeat, StreamError, Timeout
from reference.stream.hub import KeyStatistics, SnapshotFetchError, StreamHub, Subscription
from reference.stream.profile import StreamProfile, StreamTiming

__all__ = [
    "Cancellable",
    "Clock",
    "DataEvent",
    "EndReason",
    "Frame",
    "Heartbeat",
    "KeyStatistics",
    "LoopClock",
    "SnapshotFetchError",
    "StreamError",
    "StreamHub",
    "StreamProfile",
    "StreamTiming",
    "Subscription",
    "Timeout",
]
