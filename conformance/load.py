"""Load mode: ``ssegate check --load N [--load-duration S]`` (docs/ci.md, "Load mode").

Holds N concurrent streams open while the rest of the suite runs, and judges the timing
requirements on every one of them (TIME-3 tolerance as everywhere):

- ``load.snapshots`` (SNAP-1, SNAP-3): every stream answered 200 and its first event is the
  data event, within intervalMs + tolerance of its stream start;
- ``load.heartbeat-lateness`` (HB-3, HB-5): no heartbeat later than heartbeatMs + tolerance after
  the stream start or the previous heartbeat, and no silence of that length before the stream
  ended or was let go (early heartbeats are ``heartbeat.cadence``'s business on the idle stream);
- ``load.no-drop`` (END-7): no stream ended before it was let go unless after a timeout event,
  a complete snapshot or an error event, and then with a clean end.

Every load check records the latency percentiles (p50/p95/p99/max, nearest rank) of snapshot
latency, heartbeat lateness and time to response headers, so a report shows how the server
degrades before it breaks. The streams are spread over a few billing runs of one workspace and
held for ``--load-duration`` seconds after their headers (default and maximum: a stream's whole
life, timeoutMs + tolerance, END-8). Two recordings go into the transcripts: the stream with
the worst heartbeat lateness and the one with the slowest snapshot.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.model import Check, Finding, Level
from conformance.recorder import EndKind, Recording, StreamRecorder
from conformance.session import HEADERS_ALLOWANCE_S, Exchange, Session

__all__ = [
    "LOAD_CHECK_IDS",
    "LoadObservation",
    "LoadSettings",
    "StreamFigures",
    "load_checks",
    "percentiles",
    "stream_figures",
]

# Streams per billing run: a load run looks like many users watching a few runs.
_STREAMS_PER_RUN = 10
_MAX_RUNS = 20
_COUNTS = {"QUEUED": 3, "SENT": 2, "DELIVERED": 4, "FAILED": 1}
_PLANNED_ENDS = ("timeout", "error")
TRANSCRIPT_WORST_HEARTBEAT = "load-worst-heartbeat"
TRANSCRIPT_SLOWEST_SNAPSHOT = "load-slowest-snapshot"


@dataclass(frozen=True, slots=True)
class LoadSettings:
    """How many streams, and for how long (seconds; None: timeoutMs)."""

    streams: int
    duration_s: float | None = None

    def __post_init__(self) -> None:
        if self.streams < 1:
            raise ValueError("--load needs at least 1 stream")
        if self.duration_s is not None and self.duration_s <= 0:
            raise ValueError("--load-duration must be positive")


def percentiles(values: Sequence[float]) -> dict[str, float | int | None]:
    """Nearest-rank p50, p95, p99 and the maximum of ``values`` (None when there are none)."""
    if not values:
        return {"count": 0, "p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return round(ordered[max(0, math.ceil(p / 100.0 * len(ordered)) - 1)], 1)

    return {
        "count": len(ordered),
        "p50": rank(50),
        "p95": rank(95),
        "p99": rank(99),
        "max": round(ordered[-1], 1),
    }


@dataclass(frozen=True, slots=True)
class StreamFigures:
    """What one load stream showed, in milliseconds since its stream start (TIME-1)."""

    index: int
    status: int | None
    headers_ms: float | None  # request sent -> response headers
    first_event: str | None
    snapshot_ms: float | None  # stream start -> first data event
    lateness_ms: tuple[float, ...]  # per heartbeat (and trailing silence): gap - heartbeatMs
    watched_ms: float
    end: EndKind | None
    planned_end: str | None  # the event after which the stream ended, if any
    dropped: str | None  # why the stream counts as dropped, or None


@dataclass
class LoadObservation:
    settings: LoadSettings
    held_s: float
    streams: list[StreamFigures] = field(default_factory=list)


def _is_complete(data: str) -> bool:
    try:
        payload = json.loads(data)
    except ValueError:
        return False
    return isinstance(payload, dict) and payload.get("isComplete") is True


def stream_figures(
    index: int, recording: Recording, *, event: str, heartbeat_ms: int, held_s: float
) -> StreamFigures:
    """The timings of one load stream, and whether (and why) it counts as dropped."""
    start = recording.headers_at
    headers_ms = None if start is None else round(start * 1000.0, 1)
    events = recording.events()
    first_event = events[0].item.name if events else None
    snapshot_ms = None
    data = [t for t in events if t.item.name == event]
    if start is not None and data:
        snapshot_ms = round((data[0].at - start) * 1000.0, 1)
    end_at = recording.end_at if recording.end_at is not None else recording.last_byte_at
    watched = 0.0 if start is None or end_at is None else (end_at - start) * 1000.0
    lateness: list[float] = []
    planned = None
    if events and events[-1].item.name in _PLANNED_ENDS:
        planned = events[-1].item.name
    elif data and data[-1] is events[-1] and _is_complete(data[-1].item.data):
        planned = "complete"  # END-5: a complete snapshot ends the stream
    if start is not None:
        beats = [(t.at - start) * 1000.0 for t in events if t.item.name == "heartbeat"]
        previous = 0.0
        for beat in beats:
            lateness.append(beat - previous - heartbeat_ms)
            previous = beat
        # A silence at the end counts when the stream was still expected to beat (not after a
        # timeout or error event, which end it).
        stop = watched
        if planned is not None:
            stop = (events[-1].at - start) * 1000.0
        trailing = stop - previous - heartbeat_ms
        if trailing > 0:
            lateness.append(trailing)
    dropped = None
    if recording.status != 200:
        dropped = f"status {recording.status}" if recording.status else "no response"
    elif recording.end in (EndKind.RESET, EndKind.LIMIT_EXCEEDED, EndKind.NOT_STARTED):
        dropped = f"{recording.end.value}: {recording.end_detail or ''}".strip(": ")
    elif recording.end is EndKind.CLEAN_EOF and planned is None and watched < held_s * 1000.0:
        dropped = f"ended after {watched:.0f} ms without a timeout or error event"
    return StreamFigures(
        index,
        recording.status,
        headers_ms,
        first_event,
        snapshot_ms,
        tuple(round(value, 1) for value in lateness),
        round(watched, 1),
        recording.end,
        planned,
        dropped,
    )


async def _observe(session: Session, settings: LoadSettings) -> LoadObservation:
    profile = session.profile
    tolerance = session.tolerance
    life_s = tolerance.latest(profile.timeout_ms) / 1000.0
    held_s = min(settings.duration_s or life_s, life_s)
    workspace = await session.control.create_workspace()
    runs = []
    for _ in range(min(_MAX_RUNS, math.ceil(settings.streams / _STREAMS_PER_RUN))):
        run = await session.control.create_billing_run(
            workspace.workspace_id, invoice_count=10, sent=True
        )
        await session.control.set_deliveries(run.billing_run_id, _COUNTS)
        runs.append(run)
    headers = session.stream_headers(workspace.token, workspace.workspace_id)
    # Its own client: the runner's pools 200 connections, and load mode must not queue.
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(connect=30.0, read=None, write=10.0, pool=30.0),
        limits=httpx.Limits(max_connections=settings.streams + 10, max_keepalive_connections=0),
    )
    observation = LoadObservation(settings, held_s)
    started = session.clock()
    # Hard bound; each stream is let go ``held_s`` after its own headers (below).
    deadline = min(started + HEADERS_ALLOWANCE_S + held_s, session.deadline)
    recorders = [
        StreamRecorder(
            client,
            session.url(profile.stream_path(runs[i % len(runs)].billing_run_id)),
            headers,
            deadline=deadline,
            clock=session.clock,
            # Bounded memory at thousands of streams: a load stream is judged on its timings.
            max_recorded_bytes=16 << 10,
        )
        for i in range(settings.streams)
    ]

    async def hold(recorder: StreamRecorder) -> None:
        opened = await recorder.wait_for(
            lambda r: r.headers_at is not None, max(0.0, deadline - session.clock())
        )
        if opened:
            await recorder.wait_end(held_s)
        await recorder.disconnect()

    try:
        for recorder in recorders:
            recorder.start()
        await asyncio.gather(*(hold(r) for r in recorders))
    finally:
        await asyncio.gather(*(r.disconnect() for r in recorders))
        await client.aclose()
    recordings = [r.recording for r in recorders]
    observation.streams = [
        stream_figures(
            i,
            recording,
            event=profile.event,
            heartbeat_ms=profile.heartbeat_ms,
            held_s=held_s,
        )
        for i, recording in enumerate(recordings)
    ]
    _file_transcripts(session, observation, recordings, started)
    return observation


def _file_transcripts(
    session: Session,
    observation: LoadObservation,
    recordings: Sequence[Recording],
    started: float,
) -> None:
    streams = observation.streams
    worst_beat = max(streams, key=lambda s: max(s.lateness_ms, default=-math.inf))
    slowest = max(streams, key=lambda s: math.inf if s.snapshot_ms is None else s.snapshot_ms)
    for label, figures in (
        (TRANSCRIPT_WORST_HEARTBEAT, worst_beat),
        (TRANSCRIPT_SLOWEST_SNAPSHOT, slowest),
    ):
        if label not in session.exchanges:
            session.exchanges[label] = Exchange(label, "GET", recordings[figures.index], started)


def _observed(observation: LoadObservation, *metrics: str) -> dict[str, Any]:
    """Stream counts and the percentiles of ``metrics`` (each check records its own)."""
    streams = observation.streams
    values = {
        "snapshotLatency": [s.snapshot_ms for s in streams if s.snapshot_ms is not None],
        "heartbeatLateness": [v for s in streams for v in s.lateness_ms],
        "headers": [s.headers_ms for s in streams if s.headers_ms is not None],
    }
    return {
        "streams": len(streams),
        "heldS": round(observation.held_s, 3),
        "percentilesMs": {metric: percentiles(values[metric]) for metric in metrics},
        "dropped": sum(1 for s in streams if s.dropped is not None),
    }


_TRANSCRIPTS = (TRANSCRIPT_WORST_HEARTBEAT, TRANSCRIPT_SLOWEST_SNAPSHOT)
LOAD_CHECK_IDS = ("load.snapshots", "load.heartbeat-lateness", "load.no-drop")


def load_checks(settings: LoadSettings) -> list[Check]:
    """The load checks for ``settings``; they share one observation per session."""

    async def load_streams(session: Session) -> LoadObservation:
        return await _observe(session, settings)

    async def snapshots(session: Session) -> Finding:
        observation = await session.observe(load_streams)
        latest = session.tolerance.latest(session.profile.interval_ms)
        bad = []
        for s in observation.streams:
            if s.status != 200:
                bad.append(f"#{s.index}: status {s.status}")
            elif s.first_event != session.profile.event:
                bad.append(f"#{s.index}: first event {s.first_event!r}")
            elif s.snapshot_ms is None or s.snapshot_ms > latest:
                bad.append(f"#{s.index}: snapshot at {s.snapshot_ms} ms")
        observed = _observed(observation, "snapshotLatency", "headers")
        stats = observed["percentilesMs"]["snapshotLatency"]
        return Finding(
            not bad,
            f"all {len(observation.streams)} streams: the data event first, within "
            f"{latest:.0f} ms of the stream start",
            f"{len(bad)} stream(s) wrong: {'; '.join(bad[:5])}"
            if bad
            else f"all got their snapshot; p50 {stats['p50']} ms, p99 {stats['p99']} ms, "
            f"max {stats['max']} ms",
            observed={**observed, "wrong": bad[:20]},
            transcripts=_TRANSCRIPTS,
        )

    async def heartbeats(session: Session) -> Finding:
        observation = await session.observe(load_streams)
        allowed = session.tolerance.of(session.profile.heartbeat_ms)
        late = [
            f"#{s.index}: {max(s.lateness_ms):.0f} ms late"
            for s in observation.streams
            if s.lateness_ms and max(s.lateness_ms) > allowed
        ]
        observed = _observed(observation, "heartbeatLateness")
        stats = observed["percentilesMs"]["heartbeatLateness"]
        return Finding(
            not late,
            f"every heartbeat at most {allowed:.0f} ms late (heartbeatMs "
            f"{session.profile.heartbeat_ms} + tolerance) on all {len(observation.streams)} "
            "streams",
            f"{len(late)} stream(s) late: {'; '.join(late[:5])}"
            if late
            else f"lateness p50 {stats['p50']} ms, p99 {stats['p99']} ms, max {stats['max']} ms",
            observed={**observed, "late": late[:20]},
            transcripts=_TRANSCRIPTS,
        )

    async def no_drop(session: Session) -> Finding:
        observation = await session.observe(load_streams)
        dropped = [f"#{s.index}: {s.dropped}" for s in observation.streams if s.dropped]
        return Finding(
            not dropped,
            f"all {len(observation.streams)} streams open for {observation.held_s:.1f} s or "
            "ended after a timeout or error event",
            f"{len(dropped)} dropped: {'; '.join(dropped[:5])}" if dropped else "none dropped",
            observed={**_observed(observation, "headers"), "droppedStreams": dropped[:20]},
            transcripts=_TRANSCRIPTS,
        )

    n = settings.streams
    return [
        Check(
            "load.snapshots",
            Level.MUST,
            ("SNAP-1", "SNAP-3"),
            f"under load ({n} concurrent streams) every stream gets its snapshot in time",
            expects="on every stream: status 200, the data event first, within intervalMs + "
            "tolerance of the stream start",
            judge=snapshots,
        ),
        Check(
            "load.heartbeat-lateness",
            Level.MUST,
            ("HB-3", "HB-5"),
            f"under load ({n} concurrent streams) no heartbeat is late beyond the tolerance",
            expects="every heartbeat gap and the final silence at most heartbeatMs + tolerance",
            judge=heartbeats,
        ),
        Check(
            "load.no-drop",
            Level.MUST,
            ("END-7",),
            f"under load ({n} concurrent streams) no stream is dropped",
            expects="every stream stays open until let go, or ends after timeout/error cleanly",
            judge=no_drop,
        ),
    ]
