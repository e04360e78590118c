"""Change-only emission checks (spec/05-change-emission.md, CHG)."""

from __future__ import annotations

import itertools
from typing import Any

from conformance.checks._billing import change_key, state_matches
from conformance.checks._evidence import compact, parse_json, require_stream
from conformance.checks._observations import (
    ChangeObservation,
    ChangeStep,
    changes,
    coalesce,
    complete_at_start,
    cross_workspace,
    fallback,
    idle,
    reconnect,
    touch,
)
from conformance.checks._registry import check
from conformance.model import Finding, Level, NotApplicable
from conformance.recorder import Timed
from conformance.session import Exchange, Session
from conformance.timing import CadenceStats
from conformance.wire import Event


def _state(event: Event) -> dict[str, Any] | None:
    payload = parse_json(event.data)
    if not payload.ok or not isinstance(payload.value, dict):
        return None
    return {key: payload.value.get(key) for key in ("progress", "isComplete")}


def _first_new_event(
    seen: ChangeObservation, step: ChangeStep, event_name: str
) -> Timed[Event] | None:
    """The first data event received after ``step`` became visible."""
    exchange = seen.stream.exchange
    since = exchange.relative(step.visible_at)
    for timed in exchange.recording.events(event_name):
        if timed.at >= since:
            return timed
    return None


async def _changes(session: Session) -> ChangeObservation:
    seen = await session.observe(changes)
    require_stream(seen.stream.recording, "the change stream")
    if not seen.stream.recording.events(session.profile.event):
        raise NotApplicable("the change stream sent no initial snapshot (see snapshot.first-event)")
    return seen


@check(
    "change.emitted-in-time",
    Level.MUST,
    ("CHG-1", "CHG-4", "TIME-2"),
    "every change is emitted within intervalMs + tolerance of becoming visible",
    expects="a new data event within intervalMs + tolerance of each control call's response",
)
async def emitted_in_time(session: Session) -> Finding:
    seen = await _changes(session)
    limit = session.tolerance.latest(session.profile.interval_ms)
    latencies: list[float] = []
    problems = []
    for step in seen.steps:
        if step.label == "complete":
            continue  # judged by end.completion
        timed = _first_new_event(seen, step, session.profile.event)
        exchange = seen.stream.exchange
        if timed is None:
            watched = (exchange.recording.end_at or 0.0) - exchange.relative(step.visible_at)
            problems.append(f"{step.label}: none observed within {watched * 1000:.0f} ms")
            continue
        latency = round((timed.at - exchange.relative(step.visible_at)) * 1000.0, 1)
        latencies.append(latency)
        if latency > limit:
            problems.append(f"{step.label}: emitted {latency:.0f} ms after it became visible")
    stats = CadenceStats.of(latencies)
    return Finding(
        not problems,
        f"each change within {limit:.0f} ms",
        "; ".join(problems) or f"latencies {', '.join(f'{x:.0f}' for x in latencies)} ms",
        observed={"latencies": stats.as_dict(), "limitMs": limit},
        transcripts=(seen.stream.exchange.label,),
    )


@check(
    "change.derived-progress",
    Level.MUST,
    ("BIL-9", "BIL-10", "BIL-12", "CTL-8"),
    "every emitted change carries exactly the progress derived from the deliveries set",
    expects="progress and isComplete equal to the derivation from the control calls",
)
async def derived_progress(session: Session) -> Finding:
    seen = await _changes(session)
    problems = []
    judged = 0
    for step in seen.steps:
        if step.label == "complete":
            continue
        timed = _first_new_event(seen, step, session.profile.event)
        if timed is None:
            continue  # change.emitted-in-time reports the missing event
        judged += 1
        expected = step.state.payload_state()
        actual = _state(timed.item)
        if actual != expected:
            problems.append(f"{step.label}: expected {compact(expected)}, got {compact(actual)}")
    if not judged:
        raise NotApplicable("no change was emitted (see change.emitted-in-time)")
    return Finding(
        not problems,
        "exact derived progress",
        "; ".join(problems) or f"{judged} change(s) with exact progress",
        transcripts=(seen.stream.exchange.label,),
    )


async def _all_streams(session: Session) -> list[Exchange]:
    exchanges = [
        (await session.observe(idle)).exchange,
        (await session.observe(changes)).stream.exchange,
        (await session.observe(coalesce)).stream.exchange,
        (await session.observe(touch)).stream.exchange,
        (await session.observe(complete_at_start)).exchange,
        (await session.observe(fallback)).stream.exchange,
    ]
    seen = await session.observe(reconnect)
    cross = await session.observe(cross_workspace)
    exchanges += [seen.first.exchange, seen.second, cross.changed.exchange, cross.other.exchange]
    return [e for e in exchanges if e.recording.status == 200]


@check(
    "change.no-repeat",
    Level.MUST,
    ("CHG-2", "CHG-1"),
    "no two consecutive data events of a stream have equal change keys",
    expects="consecutive data events always differ outside generatedAt",
)
async def no_repeat(session: Session) -> Finding:
    exchanges = await _all_streams(session)
    problems = []
    for exchange in exchanges:
        keys = [
            change_key(parse_json(t.item.data).value)
            for t in exchange.recording.events(session.profile.event)
            if parse_json(t.item.data).ok
        ]
        repeats = sum(1 for a, b in itertools.pairwise(keys) if a == b)
        if repeats:
            problems.append(
                f"{exchange.label}: {repeats} repeated state(s) in {len(keys)} data events"
            )
    return Finding(
        not problems,
        "no repeated state",
        "; ".join(problems) or "no repeated state",
        transcripts=tuple(e.label for e in exchanges),
    )


@check(
    "change.non-key-silent",
    Level.MUST,
    ("CHG-3", "BIL-2", "CTL-9"),
    "touching only non-key fields (generatedAt) emits nothing",
    expects="no data event after the initial snapshot while only touches happen",
)
async def non_key_silent(session: Session) -> Finding:
    seen = await session.observe(touch)
    recording = seen.stream.recording
    require_stream(recording, "the touch stream")
    data = recording.events(session.profile.event)
    if not data:
        raise NotApplicable("the touch stream sent no initial snapshot (see snapshot.first-event)")
    exchange = seen.stream.exchange
    watched = (seen.watched_until - seen.touches[0]) * 1000.0 if seen.touches else 0.0
    extra = list(data[1:])
    if not extra:
        return Finding(
            True,
            "no data event after touches",
            f"none observed within {watched:.0f} ms after the first of {len(seen.touches)} touches",
            observed={"touches": len(seen.touches), "windowMs": round(watched, 1)},
            transcripts=(exchange.label,),
        )
    first = extra[0]
    return Finding(
        False,
        "no data event after touches",
        f"{len(extra)} data event(s) after touches, the first at "
        f"{(first.at - exchange.relative(seen.touches[0])) * 1000:.0f} ms after the first touch",
        observed={"touches": len(seen.touches), "dataEvents": len(extra)},
        transcripts=(exchange.label,),
    )


@check(
    "change.coalescing",
    Level.MUST,
    ("CHG-5", "CHG-6", "CHG-4"),
    "changes made within one interval: only visible states, in order, the latest sent",
    expects="every sent state was visible, states in order, the latest within intervalMs + "
    "tolerance (coalescing intermediate states is allowed)",
)
async def coalescing(session: Session) -> Finding:
    seen = await session.observe(coalesce)
    recording = seen.stream.recording
    require_stream(recording, "the coalescing stream")
    data = recording.events(session.profile.event)
    if not data:
        raise NotApplicable(
            "the coalescing stream sent no initial snapshot (see snapshot.first-event)"
        )
    states = [step.state.payload_state() for step in seen.steps]
    exchange = seen.stream.exchange
    first_visible = exchange.relative(seen.steps[0].visible_at)
    problems = []
    indexes: list[int] = []
    for timed in data[1:]:
        state = _state(timed.item)
        matching = [
            i
            for i, expected in enumerate(states)
            if state is not None and state_matches(state, expected)
        ]
        if not matching:
            problems.append(f"a state that was never visible: {compact(state)[:160]}")
            continue
        if timed.at < first_visible:
            problems.append("a changed state before any change was made")
        indexes.append(matching[-1])
    if indexes != sorted(indexes) or len(set(indexes)) != len(indexes):
        problems.append(f"states out of order: {[i + 1 for i in indexes]}")
    limit = session.tolerance.latest(session.profile.interval_ms)
    latency = None
    if not indexes or indexes[-1] != len(states) - 1:
        problems.append("the latest state was never sent")
    else:
        last = next(t for t in data[1:] if state_matches(_state(t.item) or {}, states[-1]))
        latency = round((last.at - exchange.relative(seen.steps[-1].visible_at)) * 1000.0, 1)
        if latency > limit:
            problems.append(f"the latest state arrived {latency:.0f} ms after it became visible")
    sent = [i + 1 for i in indexes]
    return Finding(
        not problems,
        f"visible states in order, the latest within {limit:.0f} ms",
        "; ".join(problems)
        or f"sent states {sent} of {len(states)} (coalesced: {len(states) - len(sent)})",
        observed={"sentStates": sent, "latestLatencyMs": latency},
        transcripts=(exchange.label,),
    )
