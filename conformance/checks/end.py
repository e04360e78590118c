"""Timeout, completion and clean-end checks (spec/07-timeout-completion.md, END)."""

from __future__ import annotations

from datetime import datetime

from conformance.checks._billing import state_matches
from conformance.checks._evidence import (
    compact,
    ended_cleanly,
    excerpt,
    locate_items,
    ms_since_start,
    parse_json,
    require_stream,
    watched_ms,
)
from conformance.checks._observations import (
    RunStream,
    changes,
    coalesce,
    complete_at_start,
    cross_workspace,
    idle,
    reconnect,
    touch,
)
from conformance.checks._registry import check
from conformance.contracts.catalog import get_contract
from conformance.model import Finding, Level, NotApplicable
from conformance.recorder import EndKind, Recording, Timed
from conformance.session import Exchange, Session
from conformance.wire import Event

IDLE = ("idle",)


async def _idle(session: Session) -> RunStream:
    stream = await session.observe(idle)
    require_stream(stream.recording, "the idle stream")
    return stream


def _timeout(stream: RunStream) -> Timed[Event]:
    timeouts = stream.recording.events("timeout")
    if not timeouts:
        raise NotApplicable("no timeout event observed (see end.timeout-on-time)")
    return timeouts[0]


def _end(recording: Recording) -> str:
    kind = recording.end.value if recording.end else "still open"
    at = f" at {ms_since_start(recording, recording.end_at):.0f} ms" if recording.end_at else ""
    return kind + at


@check(
    "end.timeout-on-time",
    Level.MUST,
    ("END-1",),
    "the timeout event arrives timeoutMs after the stream start",
    expects="a `timeout` event at timeoutMs ± tolerance",
)
async def timeout_on_time(session: Session) -> Finding:
    stream = await _idle(session)
    low, high = session.tolerance.window(session.profile.timeout_ms)
    timeouts = stream.recording.events("timeout")
    expected = f"at {low:.0f}..{high:.0f} ms"
    if not timeouts:
        return Finding(
            False,
            expected,
            f"none observed within {watched_ms(stream.recording):.0f} ms "
            f"({_end(stream.recording)})",
            transcripts=IDLE,
        )
    at = ms_since_start(stream.recording, timeouts[0].at)
    return Finding(
        low <= at <= high,
        expected,
        f"at {at:.0f} ms",
        observed={"timeoutMs": at, "windowMs": [low, high]},
        transcripts=IDLE,
    )


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@check(
    "end.timeout-payload",
    Level.MUST,
    ("END-1", "END-4"),
    "timeout data is {startedAt, timestamp, timeoutMs} with the declared timeoutMs",
    expects="valid against sse.timeout@1, timeoutMs as declared, startedAt <= timestamp",
)
async def timeout_payload(session: Session) -> Finding:
    stream = await _idle(session)
    event = _timeout(stream).item
    data = parse_json(event.data)
    if not data.ok:
        return Finding(False, "JSON", f"not JSON: {excerpt(event.data, 80)!r}", transcripts=IDLE)
    problems = [
        f"{e.pointer or '/'}: {e.message}"
        for e in get_contract("sse.timeout", 1).validate(data.value)
    ]
    value = data.value if isinstance(data.value, dict) else {}
    declared = session.profile.timeout_ms
    if value.get("timeoutMs") != declared:
        problems.append(f"timeoutMs {value.get('timeoutMs')!r}, declared {declared}")
    started, stamp = _instant(value.get("startedAt")), _instant(value.get("timestamp"))
    if started and stamp and started > stamp:
        problems.append("startedAt is later than timestamp")
    return Finding(
        not problems,
        f"sse.timeout@1 with timeoutMs {declared}",
        "; ".join(problems[:5]) or compact(value),
        transcripts=IDLE,
    )


@check(
    "end.clean-after-timeout",
    Level.MUST,
    ("END-2",),
    "after the timeout event the response ends cleanly within the tolerance",
    expects="clean end of the body (not a reset) within the tolerance after the timeout event",
)
async def clean_after_timeout(session: Session) -> Finding:
    stream = await _idle(session)
    timeout = _timeout(stream)
    recording = stream.recording
    limit = session.tolerance.of(0)
    expected = f"clean end within {limit:.0f} ms"
    if not ended_cleanly(recording) or recording.end_at is None:
        return Finding(False, expected, _end(recording), transcripts=IDLE)
    after = round((recording.end_at - timeout.at) * 1000.0, 1)
    return Finding(
        after <= limit,
        expected,
        f"clean end {after:.0f} ms after the timeout event",
        observed={"endAfterTimeoutMs": after},
        transcripts=IDLE,
    )


@check(
    "end.nothing-after-timeout",
    Level.MUST,
    ("END-3",),
    "nothing follows the timeout event: no event, no comment, no byte",
    expects="the timeout event's empty line is the last byte of the body",
)
async def nothing_after_timeout(session: Session) -> Finding:
    stream = await _idle(session)
    _timeout(stream)
    located = locate_items(stream.recording)
    index = next(
        i for i, x in enumerate(located) if isinstance(x.item, Event) and x.item.name == "timeout"
    )
    after = list(located[index + 1 :])
    extra_bytes = None
    offset = located[index].end_offset
    if offset is not None:
        body = stream.recording.body()
        # The event is dispatched at the CR of a CRLF empty line; its LF is still the terminator
        # (P3), not a byte after the event.
        if body[offset - 1 : offset + 1] == b"\r\n":
            offset += 1
        extra_bytes = len(body) - offset
    problems = []
    if after:
        problems.append(f"{len(after)} item(s) after it, first {type(after[0].item).__name__}")
    if extra_bytes:
        problems.append(f"{extra_bytes} byte(s) after it")
    return Finding(
        not problems,
        "nothing after the timeout event",
        "; ".join(problems) or "nothing after it",
        observed={"bytesAfter": extra_bytes},
        transcripts=IDLE,
    )


@check(
    "end.no-overrun",
    Level.MUST,
    ("END-8",),
    "the stream is not kept open beyond timeoutMs + tolerance",
    expects="the server ends the response by timeoutMs + tolerance",
)
async def no_overrun(session: Session) -> Finding:
    stream = await _idle(session)
    recording = stream.recording
    limit = session.tolerance.latest(session.profile.timeout_ms)
    ended_by_server = recording.end in (EndKind.CLEAN_EOF, EndKind.RESET)
    at = ms_since_start(recording, recording.end_at) if recording.end_at is not None else None
    if not ended_by_server or at is None:
        return Finding(
            False,
            f"ended by {limit:.0f} ms",
            f"still open after {watched_ms(recording):.0f} ms",
            transcripts=IDLE,
        )
    return Finding(
        at <= limit,
        f"ended by {limit:.0f} ms",
        f"ended at {at:.0f} ms",
        observed={"endMs": at, "limitMs": limit},
        transcripts=IDLE,
    )


@check(
    "end.completion",
    Level.MUST,
    ("END-5", "END-6", "BIL-3"),
    "after the run completes: the complete snapshot, a clean end, no timeout, nothing after",
    expects="a complete data event within intervalMs + tolerance of `complete`, then the clean "
    "end within the tolerance",
)
async def completion(session: Session) -> Finding:
    seen = await session.observe(changes)
    recording = seen.stream.recording
    require_stream(recording, "the change stream")
    label = (seen.stream.exchange.label,)
    completes = [step for step in seen.steps if step.label == "complete"]
    if seen.completed_at is None or not completes:
        raise NotApplicable(
            "the run was never completed: the change stream ended early or showed no initial "
            "snapshot (see end.planned-end, snapshot.first-event)"
        )
    exchange = seen.stream.exchange
    completed_rel = exchange.relative(seen.completed_at)
    expected_state = completes[-1].state.payload_state()
    limit = session.tolerance.latest(session.profile.interval_ms)
    # The complete snapshot may overtake the `complete` response (CTL-13): look from the request.
    after = [t for t in recording.events() if t.at >= exchange.relative(completes[-1].since)]
    complete = [
        t
        for t in after
        if t.item.name == session.profile.event
        and state_matches(parse_json(t.item.data).value, expected_state)
    ]
    problems = []
    observed: dict[str, object] = {}
    if not complete:
        names = [t.item.name for t in after]
        problems.append(f"no complete snapshot after `complete` (events after it: {names})")
    else:
        latency = max(0.0, round((complete[0].at - completed_rel) * 1000.0, 1))
        observed["snapshotAfterCompleteMs"] = latency
        if latency > limit:
            problems.append(
                f"complete snapshot {latency:.0f} ms after `complete` (limit {limit:.0f})"
            )
        trailing = [t.item.name for t in recording.events() if t.at > complete[0].at]
        if trailing:
            problems.append(f"events after the complete snapshot: {trailing}")
        if not ended_cleanly(recording) or recording.end_at is None:
            problems.append(f"no clean end: {_end(recording)}")
        else:
            gap = round((recording.end_at - complete[0].at) * 1000.0, 1)
            observed["endAfterSnapshotMs"] = gap
            if gap > session.tolerance.of(0):
                problems.append(f"ended {gap:.0f} ms after the complete snapshot")
    if recording.events("timeout"):
        problems.append("a timeout event was sent")
    return Finding(
        not problems,
        f"complete snapshot {compact(expected_state)[:80]}…, clean end, no timeout",
        "; ".join(problems) or "complete snapshot, clean end",
        observed=observed,
        transcripts=label,
    )


def _ending(exchange: Exchange, event_name: str) -> str | None:
    """Why a stream the server ended did not end as END-7 allows (None if it did)."""
    recording = exchange.recording
    if recording.end not in (EndKind.CLEAN_EOF, EndKind.RESET) or recording.status != 200:
        return None
    events = recording.events()
    if recording.end is EndKind.RESET:
        return "the connection was reset instead of ending cleanly"
    if not events:
        return "ended without any event"
    last = events[-1].item
    if last.name in ("timeout", "error"):
        return None
    if last.name == event_name:
        payload = parse_json(last.data)
        if (
            payload.ok
            and isinstance(payload.value, dict)
            and payload.value.get("isComplete") is True
        ):
            return None
    return f"ended after {last.name!r} event, not after timeout, complete snapshot or error"


@check(
    "end.planned-end",
    Level.MUST,
    ("END-7",),
    "every stream the server ends, it ends cleanly after a timeout, complete snapshot or error",
    expects="each server-side end follows a timeout event, a complete snapshot or an error event",
)
async def planned_end(session: Session) -> Finding:
    exchanges = [
        (await session.observe(idle)).exchange,
        (await session.observe(changes)).stream.exchange,
        (await session.observe(complete_at_start)).exchange,
        (await session.observe(coalesce)).stream.exchange,
        (await session.observe(touch)).stream.exchange,
    ]
    seen = await session.observe(reconnect)
    exchanges += [seen.first.exchange, seen.second]
    cross = await session.observe(cross_workspace)
    exchanges += [cross.changed.exchange, cross.other.exchange]
    problems = []
    for exchange in exchanges:
        reason = _ending(exchange, session.profile.event)
        if reason:
            problems.append(f"{exchange.label}: {reason}")
    return Finding(
        not problems,
        "planned ends only",
        "; ".join(problems) or "every server-side end was planned",
        transcripts=tuple(e.label for e in exchanges),
    )
