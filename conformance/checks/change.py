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


def _changes_only(seen: ChangeObservation) -> list[ChangeStep]:
    return [step for step in seen.steps if step.label != "complete"]  # END-5: end.completion


def _step_index(seen: ChangeObservation, state: dict[str, Any] | None) -> int | None:
    """Which change step's state ``state`` is (the last one, if several are equal)."""
    found = None
    for index, step in enumerate(_changes_only(seen)):
        if state is not None and state_matches(state, step.state.payload_state()):
            found = index
    return found


def _carrier(seen: ChangeObservation, index: int, event_name: str) -> Timed[Event] | None:
    """The first data event after the initial snapshot that carries step ``index``'s state or a
    later one (CHG-5: an intermediate state may be coalesced away).

    It may arrive a moment before the control call's response does: the server made the change
    visible when it answered, and the two responses race on the way back.
    """
    exchange = seen.stream.exchange
    for timed in exchange.recording.events(event_name)[1:]:
        carried = _step_index(seen, _state(timed.item))
        if carried is not None and carried >= index:
            return timed
    return None


async def _changes(session: Session) -> ChangeObservation:
    seen = await session.observe(changes)
    require_stream(seen.stream.recording, "the change stream")
    if not seen.stream.recording.events(session.profile.event) or not _changes_only(seen):
        raise NotApplicable(
            "the change stream showed no initial snapshot, so no change was made "
            "(see snapshot.first-event, snapshot.prompt)"
        )
    return seen


@check(
    "change.emitted-in-time",
    Level.MUST,
    ("CHG-1", "CHG-4", "TIME-2"),
    "every change is emitted within intervalMs + tolerance of becoming visible",
    expects="a data event with the new state (or a later one) within intervalMs + tolerance of "
    "each control call's response",
)
async def emitted_in_time(session: Session) -> Finding:
    seen = await _changes(session)
    exchange = seen.stream.exchange
    limit = session.tolerance.latest(session.profile.interval_ms)
    latencies: list[float] = []
    problems = []
    for index, step in enumerate(_changes_only(seen)):
        timed = _carrier(seen, index, session.profile.event)
        visible = exchange.relative(step.visible_at)
        if timed is None:
            watched = max(0.0, (exchange.recording.end_at or visible) - visible)
            problems.append(f"{step.label}: none observed within {watched * 1000:.0f} ms")
            continue
        latency = max(0.0, round((timed.at - visible) * 1000.0, 1))
        latencies.append(latency)
        if latency > limit:
            problems.append(f"{step.label}: emitted {latency:.0f} ms after it became visible")
    stats = CadenceStats.of(latencies)
    return Finding(
        not problems,
        f"each change within {limit:.0f} ms",
        "; ".join(problems) or f"latencies {', '.join(f'{x:.0f}' for x in latencies)} ms",
        observed={"latencies": stats.as_dict(), "limitMs": limit},
        transcripts=(exchange.label,),
    )


@check(
    "change.derived-progress",
    Level.MUST,
    ("BIL-9", "BIL-10", "BIL-12", "CTL-8"),
    "every emitted change carries exactly the progress derived from the deliveries set",
    expects="each data event after the initial snapshot equals, in progress and isComplete, a "
    "state the harness made visible",
)
async def derived_progress(session: Session) -> Finding:
    seen = await _changes(session)
    exchange = seen.stream.exchange
    steps = _changes_only(seen)
    problems = []
    judged = 0
    completed = [s.state.payload_state() for s in seen.steps if s.label == "complete"]
    for timed in exchange.recording.events(session.profile.event)[1:]:
        state = _state(timed.item)
        if any(state_matches(state or {}, done) for done in completed):
            continue  # the complete snapshot: end.completion judges it
        judged += 1
        if not any(state_matches(state or {}, s.state.payload_state()) for s in steps):
            # The state the harness had made visible last before the event arrived.
            before = [s for s in steps if exchange.relative(s.visible_at) <= timed.at]
            expected = (before or steps)[-1].state.payload_state()
            problems.append(
                f"@{(timed.at - exchange.relative(steps[0].visible_at)) * 1000:.0f} ms after the "
                f"first change: expected {compact(expected)}, got {compact(state)}"
            )
    if not judged:
        raise NotApplicable("no change was emitted (see change.emitted-in-time)")
    return Finding(
        not problems,
        "exact derived progress",
        "; ".join(problems[:3]) or f"{judged} change event(s) with exact progress",
        transcripts=(exchange.label,),
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
    if not seen.touches:
        raise NotApplicable("no initial snapshot came, so nothing was touched")
    watched = (seen.watched_until - seen.touches[0]) * 1000.0
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
    if not seen.steps:
        raise NotApplicable("no initial snapshot came, so nothing was changed")
    states = [step.state.payload_state() for step in seen.steps]
    exchange = seen.stream.exchange
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
