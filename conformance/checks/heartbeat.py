"""Heartbeat checks (spec/06-heartbeat.md, HB), judged on the full-length idle stream."""

from __future__ import annotations

from conformance.checks._evidence import (
    excerpt,
    ms_since_start,
    parse_json,
    require_stream,
    watched_ms,
)
from conformance.checks._observations import RunStream, idle
from conformance.checks._registry import check
from conformance.contracts.catalog import get_contract
from conformance.model import Finding, Level, NotApplicable
from conformance.recorder import EndKind
from conformance.session import Session
from conformance.timing import CadenceStats, gaps

IDLE = ("idle",)


async def _idle(session: Session) -> RunStream:
    stream = await session.observe(idle)
    require_stream(stream.recording, "the idle stream")
    return stream


def _heartbeat_ms(stream: RunStream) -> list[float]:
    recording = stream.recording
    return [ms_since_start(recording, t.at) for t in recording.events("heartbeat")]


def end_ms(stream: RunStream) -> float:
    """When the stream ended or was last watched: the timeout event if any, else the end."""
    recording = stream.recording
    timeouts = recording.events("timeout")
    if timeouts:
        return ms_since_start(recording, timeouts[0].at)
    return watched_ms(recording)


@check(
    "heartbeat.first",
    Level.MUST,
    ("HB-2", "HB-6", "WF-16"),
    "the first heartbeat event arrives heartbeatMs after the stream start",
    expects="first `heartbeat` event at heartbeatMs ± tolerance (comments do not count)",
)
async def first(session: Session) -> Finding:
    stream = await _idle(session)
    nominal = session.profile.heartbeat_ms
    low, high = session.tolerance.window(nominal)
    beats = _heartbeat_ms(stream)
    expected = f"at {low:.0f}..{high:.0f} ms"
    if not beats:
        return Finding(
            False,
            expected,
            f"none observed within {watched_ms(stream.recording):.0f} ms",
            observed={"comments": len(stream.recording.comments())},
            transcripts=IDLE,
        )
    return Finding(
        low <= beats[0] <= high,
        expected,
        f"at {beats[0]:.0f} ms",
        observed={"firstHeartbeatMs": beats[0], "windowMs": [low, high]},
        transcripts=IDLE,
    )


@check(
    "heartbeat.cadence",
    Level.MUST,
    ("HB-3", "HB-6", "HB-7"),
    "heartbeats follow each other every heartbeatMs, none missing before the end",
    expects="every gap within heartbeatMs ± tolerance; only a heartbeat due within the "
    "tolerance before the end may be omitted",
)
async def cadence(session: Session) -> Finding:
    stream = await _idle(session)
    nominal = session.profile.heartbeat_ms
    tolerance = session.tolerance.of(nominal)
    low, high = session.tolerance.window(nominal)
    beats = _heartbeat_ms(stream)
    series = gaps(beats)
    stats = CadenceStats.of(series)
    problems = [f"gap {gap:.0f} ms" for gap in series if not low <= gap <= high]
    # HB-7: the heartbeat due after the last one may be missing only if it fell due within the
    # tolerance before the end.
    end = end_ms(stream)
    due = (beats[-1] if beats else 0.0) + nominal
    if due < end - tolerance:
        problems.append(
            f"heartbeat due at {due:.0f} ms missing (stream watched until {end:.0f} ms)"
        )
    observed = {**stats.as_dict(), "heartbeats": len(beats), "endMs": end}
    return Finding(
        not problems,
        f"gaps {low:.0f}..{high:.0f} ms, none missing",
        "; ".join(problems[:5]) if problems else stats.describe(),
        observed=observed,
        transcripts=IDLE,
    )


@check(
    "heartbeat.payload",
    Level.MUST,
    ("HB-1",),
    'heartbeat data is {"timestamp": RFC 3339 UTC} (contract sse.heartbeat@1)',
    expects="every heartbeat's data valid against sse.heartbeat@1",
)
async def payload(session: Session) -> Finding:
    stream = await _idle(session)
    beats = stream.recording.events("heartbeat")
    if not beats:
        raise NotApplicable("no heartbeat observed (see heartbeat.first)")
    contract = get_contract("sse.heartbeat", 1)
    problems = []
    for timed in beats:
        at = ms_since_start(stream.recording, timed.at)
        data = parse_json(timed.item.data)
        if not data.ok:
            problems.append(f"@{at:.0f} ms: not JSON: {excerpt(timed.item.data, 60)!r}")
            continue
        for error in contract.validate(data.value):
            problems.append(f"@{at:.0f} ms: {error.pointer or '/'}: {error.message}")
    return Finding(
        not problems,
        "valid against sse.heartbeat@1",
        "; ".join(problems[:5]) or f"{len(beats)} valid heartbeat(s)",
        transcripts=IDLE,
    )


@check(
    "heartbeat.no-id",
    Level.MUST,
    ("HB-4",),
    "heartbeat events carry no id field",
    expects="no `id:` line in any heartbeat event",
)
async def no_id(session: Session) -> Finding:
    stream = await _idle(session)
    beats = stream.recording.events("heartbeat")
    if not beats:
        raise NotApplicable("no heartbeat observed (see heartbeat.first)")
    with_id = [
        f"@{ms_since_start(stream.recording, t.at):.0f} ms id={f.value!r}"
        for t in beats
        for f in t.item.fields
        if f.name == "id"
    ]
    return Finding(
        not with_id,
        "no id",
        "; ".join(with_id[:5]) or f"{len(beats)} heartbeat(s) without id",
        transcripts=IDLE,
    )


@check(
    "heartbeat.max-silence",
    Level.MUST,
    ("HB-5",),
    "no silence on the open stream exceeds heartbeatMs + tolerance",
    expects="longest gap between received bytes <= heartbeatMs + tolerance",
)
async def max_silence(session: Session) -> Finding:
    stream = await _idle(session)
    recording = stream.recording
    limit = session.tolerance.latest(session.profile.heartbeat_ms)
    silences = [s * 1000.0 for s in recording.silences()]
    # A stream the harness had to cut (still open at the deadline) was silent until the cut too.
    if recording.end in (EndKind.DEADLINE, EndKind.CLOSED_BY_HARNESS) and recording.end_at:
        last = recording.last_byte_at or recording.headers_at or 0.0
        silences.append((recording.end_at - last) * 1000.0)
    stats = CadenceStats.of(silences)
    longest = stats.max_ms or 0.0
    return Finding(
        longest <= limit,
        f"longest silence <= {limit:.0f} ms",
        f"longest silence {longest:.0f} ms",
        observed={**stats.as_dict(), "limitMs": limit},
        transcripts=IDLE,
    )
