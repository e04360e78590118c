"""Change-only emission and completion checks on synthetic streams: pass and fail."""

from __future__ import annotations

import dataclasses

import pytest
from synthetic_streams import (
    IDLE_STATE,
    RUN,
    changes_observation,
    conformant_observations,
    data_frame,
    good_idle_script,
    heartbeat,
    idle_with,
    judge,
    recording,
    timeout_frame,
)

from conformance.checks import _observations as obs
from conformance.checks._billing import RunState
from conformance.model import Verdict
from conformance.recorder import EndKind

PASS, FAIL = Verdict.PASS, Verdict.FAIL


def changes_script(
    *, skip: int | None = None, delay: float = 0.15, wrong: int | None = None
) -> dict[str, object]:
    """The change stream with change ``skip`` not emitted, events ``delay`` s after visibility,
    or change ``wrong`` carrying wrong counts."""
    base = changes_observation()
    run = base.stream.run
    script = [(0.02, data_frame(run, base.stream.state))]
    for index, step in enumerate(base.steps):
        if index == skip:
            continue
        state = step.state
        if index == wrong:
            state = RunState(10, True, {"QUEUED": 9})
        script.append((step.visible_at + delay, data_frame(run, state)))
    return {"changes": changes_observation(script_override=script)}


@pytest.mark.asyncio
async def test_a_missed_change_is_not_emitted_in_time() -> None:
    result = await judge("change.emitted-in-time", **changes_script(skip=2))
    assert result.verdict is FAIL
    assert "change 3: none observed" in result.actual


@pytest.mark.asyncio
async def test_a_late_change_fails_and_records_latencies() -> None:
    result = await judge("change.emitted-in-time", **changes_script(delay=0.5))
    assert result.verdict is FAIL
    assert result.observed["latencies"]["maxMs"] == 500.0


@pytest.mark.asyncio
async def test_a_change_coalesced_into_the_next_one_is_emitted() -> None:
    """CHG-5: change 2 skipped, change 3's state arrives within the window of change 2."""
    base = changes_observation()
    run = base.stream.run
    steps = base.steps
    script = [
        (0.02, data_frame(run, base.stream.state)),
        (0.25, data_frame(run, steps[0].state)),
        (0.45, data_frame(run, steps[2].state)),
        (1.15, data_frame(run, steps[3].state)),
    ]
    moved = list(steps)
    moved[2] = dataclasses.replace(steps[2], visible_at=0.41)
    observation = dataclasses.replace(
        changes_observation(script_override=script), steps=tuple(moved)
    )
    assert (await judge("change.emitted-in-time", changes=observation)).verdict is PASS


@pytest.mark.asyncio
async def test_an_event_may_arrive_just_before_the_control_response() -> None:
    """TIME-2 race: the stream event can overtake the response of the call that made it."""
    assert (await judge("change.emitted-in-time", **changes_script(delay=-0.01))).verdict is PASS
    assert (await judge("change.derived-progress", **changes_script(delay=-0.01))).verdict is PASS


@pytest.mark.asyncio
async def test_wrong_counts_fail_derived_progress() -> None:
    result = await judge("change.derived-progress", **changes_script(wrong=1))
    assert result.verdict is FAIL
    assert '"queuedCount":9' in result.actual


@pytest.mark.asyncio
async def test_no_initial_snapshot_makes_change_checks_not_applicable() -> None:
    empty = {"changes": dataclasses.replace(changes_observation(script_override=[]), steps=())}
    for check in ("change.emitted-in-time", "change.derived-progress", "end.completion"):
        assert (await judge(check, **empty)).verdict is Verdict.NOT_APPLICABLE, check


@pytest.mark.asyncio
async def test_a_repeated_state_fails_no_repeat() -> None:
    again = data_frame(RUN, IDLE_STATE).replace(b"2026-01-01T00:00:00Z", b"2026-01-01T00:00:01Z")
    script = [*good_idle_script()[:1], (0.5, again), *good_idle_script()[1:]]
    result = await judge("change.no-repeat", **idle_with(script))
    assert result.verdict is FAIL
    assert "idle: 1 repeated state" in result.actual


def touch_override(extra: list[tuple[float, bytes]]) -> dict[str, object]:
    base = conformant_observations()[obs.touch]
    run, state = base.stream.run, base.stream.state
    rec = recording(
        [(0.02, data_frame(run, state)), *extra], end=EndKind.CLOSED_BY_HARNESS, end_at=0.9
    )
    return {
        "touch": dataclasses.replace(
            base,
            stream=dataclasses.replace(
                base.stream, exchange=dataclasses.replace(base.stream.exchange, recording=rec)
            ),
        )
    }


@pytest.mark.asyncio
async def test_an_event_after_a_touch_fails_non_key_silent() -> None:
    base = conformant_observations()[obs.touch]
    touched = data_frame(base.stream.run, base.stream.state).replace(b"00:00:00Z", b"00:00:09Z")
    result = await judge("change.non-key-silent", **touch_override([(0.35, touched)]))
    assert result.verdict is FAIL
    assert (
        await judge("change.non-key-silent", **touch_override([(0.5, heartbeat())]))
    ).verdict is PASS


def coalesce_override(states: list[int | RunState]) -> dict[str, object]:
    base = conformant_observations()[obs.coalesce]
    run = base.stream.run
    script = [(0.02, data_frame(run, base.stream.state))]
    for n, item in enumerate(states):
        state = base.steps[item].state if isinstance(item, int) else item
        script.append((0.2 + 0.05 * n, data_frame(run, state)))
    rec = recording(script, end=EndKind.CLOSED_BY_HARNESS, end_at=0.6)
    exchange = dataclasses.replace(base.stream.exchange, recording=rec)
    return {
        "coalesce": dataclasses.replace(
            base, stream=dataclasses.replace(base.stream, exchange=exchange)
        )
    }


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("states", "verdict"),
    [
        ([0, 1, 2], PASS),  # every state
        ([0, 2], PASS),  # one coalesced
        ([2], PASS),  # all coalesced
        ([2, 1], FAIL),  # out of order
        ([0, 1], FAIL),  # the latest never sent
        ([0, RunState(6, True, {"QUEUED": 2, "SENT": 4}), 2], FAIL),  # a state never visible
    ],
)
async def test_coalescing(states: list[int | RunState], verdict: Verdict) -> None:
    result = await judge("change.coalescing", **coalesce_override(states))
    assert result.verdict is verdict, result


def completion_override(tail: list[tuple[float, bytes]], **options: object) -> dict[str, object]:
    base = changes_observation()
    run = base.stream.run
    script = [(0.02, data_frame(run, base.stream.state))]
    script += [(step.visible_at + 0.15, data_frame(run, step.state)) for step in base.steps[:-1]]
    script += tail
    return {
        "changes": changes_observation(script_override=script)
        if not options
        else dataclasses.replace(
            base,
            stream=dataclasses.replace(
                base.stream,
                exchange=dataclasses.replace(
                    base.stream.exchange, recording=recording(script, **options)
                ),
            ),
        )
    }


@pytest.mark.asyncio
async def test_completion_failures() -> None:
    base = changes_observation()
    done = data_frame(base.stream.run, base.steps[-1].state)
    # the complete snapshot, then more events
    assert (
        await judge("end.completion", **completion_override([(1.15, done), (1.2, heartbeat())]))
    ).verdict is FAIL
    # a timeout instead of the complete snapshot
    assert (
        await judge("end.completion", **completion_override([(1.15, timeout_frame())]))
    ).verdict is FAIL
    # the complete snapshot but the stream stays open
    kept_open = completion_override([(1.15, done)], end=EndKind.CLOSED_BY_HARNESS, end_at=2.0)
    assert (await judge("end.completion", **kept_open)).verdict is FAIL
    # the complete snapshot too late
    assert (await judge("end.completion", **completion_override([(1.6, done)]))).verdict is FAIL
    assert (await judge("end.completion", **completion_override([(1.15, done)]))).verdict is PASS


@pytest.mark.asyncio
async def test_complete_at_start_must_end_after_its_snapshot() -> None:
    base = conformant_observations()[obs.complete_at_start]
    run, state = base.run, base.state
    still_open = recording(
        [(0.02, data_frame(run, state)), (1.01, heartbeat())],
        end=EndKind.CLOSED_BY_HARNESS,
        end_at=1.2,
    )
    override = {
        "complete_at_start": dataclasses.replace(
            base, exchange=dataclasses.replace(base.exchange, recording=still_open)
        )
    }
    assert (await judge("snapshot.complete-at-start", **override)).verdict is FAIL


@pytest.mark.asyncio
async def test_unsent_run_must_show_no_progress() -> None:
    base = conformant_observations()[obs.unsent]
    shown = RunState(2, True, {})
    rec = recording(
        [(0.02, data_frame(base.run, shown))], end=EndKind.CLOSED_BY_HARNESS, end_at=0.3
    )
    override = {
        "unsent": dataclasses.replace(
            base, exchange=dataclasses.replace(base.exchange, recording=rec)
        )
    }
    assert (await judge("snapshot.unsent-run", **override)).verdict is FAIL


@pytest.mark.asyncio
async def test_second_stream_without_its_own_snapshot_fails() -> None:
    base = conformant_observations()[obs.reconnect]
    refused = recording([], status=204, headers=[])
    override = {
        "reconnect": dataclasses.replace(
            base, second=dataclasses.replace(base.second, recording=refused)
        )
    }
    assert (await judge("snapshot.fresh-per-request", **override)).verdict is FAIL
    silent = recording([(0.5, heartbeat())], end=EndKind.CLOSED_BY_HARNESS, end_at=0.6)
    override = {
        "reconnect": dataclasses.replace(
            base, second=dataclasses.replace(base.second, recording=silent)
        )
    }
    assert (await judge("snapshot.fresh-per-request", **override)).verdict is FAIL


@pytest.mark.asyncio
async def test_a_complete_snapshot_overtaking_the_complete_response_counts() -> None:
    """CTL-13: the effect precedes the response, so the stream may show it first."""
    base = changes_observation()
    steps = list(base.steps)
    steps[-1] = dataclasses.replace(steps[-1], sent_at=0.95, visible_at=1.3)
    run = base.stream.run
    script = [(0.02, data_frame(run, base.stream.state))]
    script += [(step.visible_at + 0.15, data_frame(run, step.state)) for step in base.steps[:-1]]
    script += [(1.1, data_frame(run, base.steps[-1].state))]
    observation = dataclasses.replace(
        changes_observation(script_override=script), steps=tuple(steps), completed_at=1.3
    )
    result = await judge("end.completion", changes=observation)
    assert result.verdict is PASS, result
    assert result.observed["snapshotAfterCompleteMs"] == 0.0
