"""The shared heartbeat schedule in virtual time: never early, late by at most the tick, no drift
(HB-2, HB-3), one frame per wake, and no timer left once nobody wants heartbeats."""

from __future__ import annotations

import pytest
from conftest import VirtualClock

from reference.stream._heartbeats import HeartbeatSchedule
from reference.stream.frames import Heartbeat


class Target:
    def __init__(self, clock: VirtualClock, beats: int = 1000) -> None:
        self.clock = clock
        self.sent: list[tuple[float, Heartbeat]] = []
        self.beats = beats  # how many heartbeats it accepts before it "ends"

    def _send_heartbeat(self, frame: Heartbeat) -> bool:
        if len(self.sent) >= self.beats:
            return False
        self.sent.append((self.clock.now, frame))
        return True

    def times(self) -> list[float]:
        return [round(at, 6) for at, _ in self.sent]


@pytest.mark.asyncio
async def test_heartbeats_close_together_share_a_wake_never_early_and_never_drift(
    clock: VirtualClock,
) -> None:
    schedule = HeartbeatSchedule(clock, period=1.0, tick=0.005)
    a, b, c, d = (Target(clock) for _ in range(4))
    for target, first in ((a, 1.0), (b, 1.002), (c, 1.004), (d, 1.010)):
        schedule.add(target, first)
    await clock.advance(2.5)
    assert a.times() == [1.0, 2.0]
    assert b.times() == [1.005, 2.005]  # due 1.002 and 2.002: late by the tick at most
    assert c.times() == [1.005, 2.005]
    assert d.times() == [1.010, 2.010]
    # One wake, one frame: the encoded event can be shared (HB-1 timestamp = time of sending).
    assert b.sent[0][1] is c.sent[0][1]
    assert (b.sent[0][1].timestamp - clock.wall_base).total_seconds() == pytest.approx(1.005)


@pytest.mark.asyncio
async def test_tick_zero_sends_each_heartbeat_at_its_due_time(clock: VirtualClock) -> None:
    schedule = HeartbeatSchedule(clock, period=1.0, tick=0.0)
    a, b = Target(clock), Target(clock)
    schedule.add(a, 1.0)
    schedule.add(b, 1.002)
    await clock.advance(2.1)
    assert a.times() == [1.0, 2.0]
    assert b.times() == [1.002, 2.002]


@pytest.mark.asyncio
async def test_an_ended_target_leaves_the_schedule_and_the_last_one_cancels_the_timer(
    clock: VirtualClock,
) -> None:
    schedule = HeartbeatSchedule(clock, period=1.0, tick=0.005)
    short, long = Target(clock, beats=1), Target(clock)
    schedule.add(short, 1.0)
    schedule.add(long, 1.5)
    await clock.advance(3.0)
    assert short.times() == [1.0]  # refused the 2 s heartbeat and was not asked again
    assert long.times() == [1.5, 2.5]
    schedule.remove()  # short ended
    assert clock.pending_timers == 1
    schedule.remove()  # long ended
    assert clock.pending_timers == 0
    await clock.advance(5.0)
    assert long.times() == [1.5, 2.5]
