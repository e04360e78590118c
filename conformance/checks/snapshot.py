"""Initial-snapshot checks (spec/04-initial-snapshot.md, SNAP)."""

from __future__ import annotations

from conformance.checks._billing import change_key
from conformance.checks._evidence import (
    compact,
    ended_cleanly,
    ms_since_start,
    parse_json,
    require_stream,
    watched_ms,
)
from conformance.checks._observations import RunStream, complete_at_start, idle, reconnect, unsent
from conformance.checks._registry import check
from conformance.model import Finding, Level, NotApplicable
from conformance.session import Session


def _first_event(stream: RunStream) -> str:
    events = stream.recording.events()
    if not events:
        return "no event"
    first = events[0]
    return f"{first.item.name!r} at {ms_since_start(stream.recording, first.at):.0f} ms"


@check(
    "snapshot.first-event",
    Level.MUST,
    ("SNAP-1", "SNAP-2"),
    "the first event of the stream is the data event, before any heartbeat or timeout",
    expects="first event: the profile's data event",
)
async def first_event(session: Session) -> Finding:
    stream = await session.observe(idle)
    require_stream(stream.recording, "the idle stream")
    events = stream.recording.events()
    ok = bool(events) and events[0].item.name == session.profile.event
    return Finding(
        ok,
        f"first event {session.profile.event!r}",
        _first_event(stream),
        transcripts=(stream.exchange.label,),
    )


@check(
    "snapshot.prompt",
    Level.MUST,
    ("SNAP-3",),
    "the initial snapshot arrives within intervalMs + tolerance of the stream start",
    expects="initial snapshot within intervalMs + tolerance",
)
async def prompt(session: Session) -> Finding:
    stream = await session.observe(idle)
    recording = stream.recording
    require_stream(recording, "the idle stream")
    limit = session.tolerance.latest(session.profile.interval_ms)
    data = recording.events(session.profile.event)
    if not data:
        return Finding(
            False,
            f"within {limit:.0f} ms",
            f"none observed within {watched_ms(recording):.0f} ms",
            transcripts=(stream.exchange.label,),
        )
    at = ms_since_start(recording, data[0].at)
    return Finding(
        at <= limit,
        f"within {limit:.0f} ms",
        f"after {at:.0f} ms",
        observed={"initialSnapshotMs": at, "limitMs": limit},
        transcripts=(stream.exchange.label,),
    )


def _state(payload: object) -> dict[str, object]:
    if not isinstance(payload, dict):
        return {"(payload)": payload}
    return {key: payload.get(key) for key in ("billingRunId", "month", "progress", "isComplete")}


@check(
    "snapshot.current-state",
    Level.MUST,
    ("SNAP-5", "BIL-9", "BIL-10", "BIL-17", "CTL-8"),
    "the initial snapshot reports exactly the state set through the control API",
    expects="billingRunId, month, progress and isComplete as derived from the control calls",
)
async def current_state(session: Session) -> Finding:
    stream = await session.observe(idle)
    require_stream(stream.recording, "the idle stream")
    data = stream.recording.events(session.profile.event)
    if not data:
        raise NotApplicable("no data event observed (see snapshot.first-event)")
    payload = parse_json(data[0].item.data)
    expected = {
        "billingRunId": stream.run.billing_run_id,
        "month": stream.run.month,
        **stream.state.payload_state(),
    }
    actual = _state(payload.value) if payload.ok else {"(data)": data[0].item.data[:120]}
    return Finding(
        actual == expected,
        compact(expected),
        compact(actual),
        transcripts=(stream.exchange.label,),
    )


@check(
    "snapshot.fresh-per-request",
    Level.MUST,
    ("SNAP-4", "WF-12", "TR-3"),
    "a second request, with Last-Event-ID and no Accept, gets its own initial snapshot",
    expects="200 and an initial snapshot equal in state to the first stream's, both streams open",
)
async def fresh_per_request(session: Session) -> Finding:
    seen = await session.observe(reconnect)
    first = seen.first.recording
    second = seen.second.recording
    require_stream(first, "the first stream")
    labels = (seen.first.exchange.label, seen.second.label)
    first_data = first.events(session.profile.event)
    if not first_data:
        raise NotApplicable("the first stream sent no initial snapshot (see snapshot.first-event)")
    expected_key = change_key(parse_json(first_data[0].item.data).value)
    if second.status != 200:
        return Finding(
            False,
            "200 with an initial snapshot",
            f"status {second.status} for Last-Event-ID {seen.last_event_id!r}",
            transcripts=labels,
        )
    events = second.events()
    if not events or events[0].item.name != session.profile.event:
        window = watched_ms(second)
        return Finding(
            False,
            "an initial snapshot first",
            f"first event {events[0].item.name!r}"
            if events
            else f"no event within {window:.0f} ms",
            transcripts=labels,
        )
    key = change_key(parse_json(events[0].item.data).value)
    return Finding(
        key == expected_key,
        "the same state as the first stream's snapshot",
        "the same state" if key == expected_key else f"a different state: {key[:160]}",
        observed={"lastEventId": seen.last_event_id},
        transcripts=labels,
    )


@check(
    "snapshot.complete-at-start",
    Level.MUST,
    ("SNAP-6", "END-5", "END-6"),
    "a run complete before the stream opens: its snapshot, then a clean end, no timeout",
    expects="one complete data event, then the end of the response within the tolerance",
)
async def complete_first(session: Session) -> Finding:
    stream = await session.observe(complete_at_start)
    recording = stream.recording
    require_stream(recording, "the stream of a complete run")
    names = [t.item.name for t in recording.events()]
    data = recording.events(session.profile.event)
    limit_after = session.tolerance.of(0)
    problems = []
    if names[:1] != [session.profile.event]:
        problems.append(f"events {names}")
    elif len(names) > 1:
        problems.append(f"events after the complete snapshot: {names[1:]}")
    if not ended_cleanly(recording):
        problems.append(f"ended by {recording.end.value if recording.end else 'nothing'}")
    elif data and recording.end_at is not None:
        gap = (recording.end_at - data[0].at) * 1000.0
        if gap > limit_after:
            problems.append(f"ended {gap:.0f} ms after the snapshot (limit {limit_after:.0f} ms)")
    if data:
        payload = parse_json(data[0].item.data)
        if not (
            payload.ok
            and isinstance(payload.value, dict)
            and payload.value.get("isComplete") is True
        ):
            problems.append("the snapshot is not complete")
    return Finding(
        not problems,
        "complete snapshot, clean end, nothing else",
        "; ".join(problems) or "complete snapshot, clean end",
        observed={"events": names, "end": recording.end.value if recording.end else None},
        transcripts=(stream.exchange.label,),
    )


@check(
    "snapshot.unsent-run",
    Level.MUST,
    ("BIL-16",),
    "a run not yet sent has progress null and is incomplete while it has invoices",
    expects='initial snapshot with "progress": null and "isComplete": false',
)
async def unsent_run(session: Session) -> Finding:
    stream = await session.observe(unsent)
    require_stream(stream.recording, "the stream of an unsent run")
    data = stream.recording.events(session.profile.event)
    if not data:
        raise NotApplicable("no initial snapshot observed (see snapshot.first-event)")
    payload = parse_json(data[0].item.data)
    expected = stream.state.payload_state()
    actual = _state(payload.value) if payload.ok else {"(data)": data[0].item.data[:120]}
    actual = {key: actual.get(key) for key in expected} if payload.ok else actual
    return Finding(
        actual == expected,
        compact(expected),
        compact(actual),
        transcripts=(stream.exchange.label,),
    )
