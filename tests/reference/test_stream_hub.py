"""The stream core in virtual time, one group per requirement family (SNAP, CHG, HB, END, ERR,
LIFE, TERM), plus the origin's three unit scenarios under their own names."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from conftest import VirtualClock

from reference.stream import (
    DataEvent,
    EndReason,
    Frame,
    Heartbeat,
    SnapshotFetchError,
    StreamError,
    StreamHub,
    StreamProfile,
    StreamTiming,
    Subscription,
    Timeout,
)


@dataclass(frozen=True)
class Snap:
    value: int
    complete: bool = False
    noise: int = 0  # outside the change key, like generatedAt


PROFILE: StreamProfile[Snap] = StreamProfile(
    event="thing",
    change_key=lambda s: (s.value, s.complete),
    is_complete=lambda s: s.complete,
    to_payload=lambda s: {"value": s.value, "complete": s.complete, "noise": s.noise},
)

TIMING = StreamTiming(interval_ms=200, heartbeat_ms=1000, timeout_ms=5000)


class Source:
    """A fetch function that serves snapshots from a script and counts its calls."""

    def __init__(
        self,
        script: list[Snap | Exception | None],
        clock: VirtualClock | None = None,
        delay: float = 0.0,
    ) -> None:
        self.script = script
        self.calls = 0
        self.clock = clock
        self.delay = delay

    def fetch(self) -> Callable[[], Awaitable[Snap | None]]:
        async def run() -> Snap | None:
            index = min(self.calls, len(self.script) - 1)
            self.calls += 1
            if self.delay and self.clock is not None:
                await self.clock.sleep(self.delay)
            item = self.script[index]
            if isinstance(item, Exception):
                raise item
            return item

        return run


def values(frames: list[Frame]) -> list[int]:
    return [json.loads(f.data)["value"] for f in frames if isinstance(f, DataEvent)]


def hub(clock: VirtualClock, timing: StreamTiming = TIMING, **kwargs: Any) -> StreamHub[Snap]:
    return StreamHub(PROFILE, timing, clock, **kwargs)


async def open_(h: StreamHub[Snap], source: Source, key: Hashable = "r") -> Subscription[Snap]:
    subscription = await h.open(key, source.fetch())
    assert subscription is not None
    return subscription


# -- the origin's three scenarios (shared/notes/origin-semantics.md §6) --------------------------


@pytest.mark.asyncio
async def test_origin_snapshots_1_1_2_emit_1_2(clock: VirtualClock) -> None:
    h = hub(clock)
    sub = await open_(h, Source([Snap(1), Snap(1), Snap(2)]))
    await clock.advance(0.6)
    assert values(sub.frames_nowait()) == [1, 2]


@pytest.mark.asyncio
async def test_origin_completes_when_snapshot_is_complete(clock: VirtualClock) -> None:
    h = hub(clock)
    sub = await open_(h, Source([Snap(0), Snap(1), Snap(2, complete=True), Snap(3)]))
    await clock.advance(1.0)
    frames = sub.frames_nowait()
    assert values(frames) == [0, 1, 2]
    assert isinstance(frames[-1], DataEvent)
    assert frames[-1].final
    assert sub.end_reason is EndReason.COMPLETE
    assert h.active_pollers == 0


@pytest.mark.asyncio
async def test_origin_interval_200_timeout_500_progress_then_timeout_then_completion(
    clock: VirtualClock,
) -> None:
    h = hub(clock, StreamTiming(interval_ms=200, heartbeat_ms=400, timeout_ms=500))
    sub = await open_(h, Source([Snap(1)]))
    await clock.advance(0.6)
    frames = sub.frames_nowait()
    assert isinstance(frames[0], DataEvent)
    assert isinstance(frames[-1], Timeout)
    assert sub.end_reason is EndReason.TIMEOUT
    assert await sub.next_frame() is None  # completed: nothing more, ever


# -- SNAP: the initial snapshot -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_snap_initial_snapshot_is_first_and_immediate(clock: VirtualClock) -> None:
    """SNAP-1, SNAP-2: queued before any time passes, before any other frame."""
    sub = await open_(hub(clock), Source([Snap(7)]))
    frames = sub.frames_nowait()
    assert values(frames) == [7]
    assert len(frames) == 1


@pytest.mark.asyncio
async def test_snap_complete_initial_snapshot_is_sent_then_the_stream_ends(
    clock: VirtualClock,
) -> None:
    """SNAP-6."""
    h = hub(clock)
    sub = await open_(h, Source([Snap(1, complete=True)]))
    frames = sub.frames_nowait()
    assert values(frames) == [1]
    assert isinstance(frames[0], DataEvent)
    assert frames[0].final
    assert sub.end_reason is EndReason.COMPLETE
    assert h.active_pollers == 0
    assert clock.pending_timers == 0


@pytest.mark.asyncio
async def test_snap_every_subscriber_gets_its_own_fresh_initial_snapshot(
    clock: VirtualClock,
) -> None:
    """SNAP-4, SNAP-5: a second subscriber's initial fetch is its own, not the poller's cache."""
    h = hub(clock)
    source = Source([Snap(1), Snap(1), Snap(5)])
    first = await open_(h, source)
    second = await open_(h, source)
    assert source.calls == 2
    assert values(first.frames_nowait()) == [1]
    assert values(second.frames_nowait()) == [1]
    assert h.statistics("r").snapshot_fetches == 2


@pytest.mark.asyncio
async def test_snap_a_poll_started_before_the_subscription_is_not_sent_to_it(
    clock: VirtualClock,
) -> None:
    """A fetch that began before a subscriber's own initial fetch may hold an older state."""
    h = hub(clock)
    slow = Source([Snap(1), Snap(1)], clock, delay=0.15)
    first = h.open("r", slow.fetch())
    # Let the first subscriber's initial fetch finish, then a poll start at t=0.35.
    opened = await _run_until_done(clock, first, 0.35)
    # The poll at t=0.35 is now running (it will return Snap(1) at t=0.5). A second subscriber
    # whose initial snapshot (fetched by a faster source) is already newer must not get it.
    fast = Source([Snap(9)])
    second = await open_(h, fast)
    await clock.advance(0.2)
    assert values(second.frames_nowait()) == [9]
    assert values(opened.frames_nowait()) == [1]


async def _run_until_done(
    clock: VirtualClock, pending: Awaitable[Subscription[Snap] | None], seconds: float
) -> Subscription[Snap]:
    task = asyncio.ensure_future(pending)
    await clock.advance(seconds)
    subscription = await task
    assert subscription is not None
    return subscription


@pytest.mark.asyncio
async def test_snap_missing_resource_opens_nothing(clock: VirtualClock) -> None:
    """ERR-9 at the core: the profile's fetch says "no such resource", no subscription."""
    h = hub(clock)
    assert await h.open("r", Source([None]).fetch()) is None
    assert h.open_streams == 0
    assert h.active_pollers == 0


@pytest.mark.asyncio
async def test_snap_failing_initial_fetch_raises(clock: VirtualClock) -> None:
    h = hub(clock)
    with pytest.raises(SnapshotFetchError):
        await h.open("r", Source([RuntimeError("db locked")]).fetch())
    assert h.open_streams == 0


# -- CHG: change-only emission --------------------------------------------------------------------


@pytest.mark.asyncio
async def test_chg_fields_outside_the_change_key_cause_no_event(clock: VirtualClock) -> None:
    """CHG-3 (the billing profile's generatedAt)."""
    sub = await open_(hub(clock), Source([Snap(1, noise=1), Snap(1, noise=2), Snap(1, noise=3)]))
    await clock.advance(1.0)
    assert values(sub.frames_nowait()) == [1]


@pytest.mark.asyncio
async def test_chg_consecutive_data_events_differ_and_return_to_a_state_is_sent(
    clock: VirtualClock,
) -> None:
    """CHG-1, CHG-2: compared with the last *sent* state, so 1,2,1 is three events."""
    sub = await open_(hub(clock), Source([Snap(1), Snap(2), Snap(2), Snap(1)]))
    await clock.advance(1.0)
    assert values(sub.frames_nowait()) == [1, 2, 1]


@pytest.mark.asyncio
async def test_chg_polls_never_overlap(clock: VirtualClock) -> None:
    """CHG-7: a fetch taking 2.5 intervals makes the ticks that fall due meanwhile skip."""
    h = hub(clock)
    source = Source([Snap(1)], clock, delay=0.5)
    sub = await _run_until_done(clock, h.open("r", source.fetch()), 0.5)
    before = source.calls
    await clock.advance(2.0)  # 10 intervals, but each fetch occupies 3 of them
    polls = source.calls - before
    assert 3 <= polls <= 4
    assert not sub.closed


@pytest.mark.asyncio
async def test_chg_shared_poller_fetches_once_per_interval_for_many_subscribers(
    clock: VirtualClock,
) -> None:
    """CHG-8: ten subscribers of one resource cost one fetch per interval."""
    h = hub(clock)
    source = Source([Snap(1)])
    subs = [await open_(h, source) for _ in range(10)]
    initial = source.calls
    await clock.advance(1.0)  # five intervals
    assert source.calls - initial == 5
    assert h.active_pollers == 1
    assert all(not s.closed for s in subs)


@pytest.mark.asyncio
async def test_chg_without_coalescing_every_subscriber_polls(clock: VirtualClock) -> None:
    h = hub(clock, coalesce=False)
    source = Source([Snap(1)])
    for _ in range(10):
        await open_(h, source)
    initial = source.calls
    await clock.advance(1.0)
    assert source.calls - initial == 50
    assert h.active_pollers == 10


@pytest.mark.asyncio
async def test_chg_shared_poller_keeps_each_subscribers_own_last_sent_state(
    clock: VirtualClock,
) -> None:
    """Subscribers that joined at different states each get exactly their own changes."""
    h = hub(clock)
    script: list[Snap | Exception | None] = [Snap(1), Snap(1), Snap(2), Snap(2), Snap(3)]
    source = Source(script)
    early = await open_(h, source)  # initial 1
    await clock.advance(0.2)  # poll: 1
    late = await open_(h, source)  # initial 2
    await clock.advance(0.4)  # polls: 2, 3
    assert values(early.frames_nowait()) == [1, 2, 3]
    assert values(late.frames_nowait()) == [2, 3]


@pytest.mark.asyncio
async def test_chg_different_keys_do_not_share(clock: VirtualClock) -> None:
    """ISO-4 at the core: one key's changes never reach another key's subscribers."""
    h = hub(clock)
    a = await open_(h, Source([Snap(1), Snap(2)]), key=("ws-a", "r"))
    b = await open_(h, Source([Snap(1)]), key=("ws-b", "r"))
    await clock.advance(0.4)
    assert values(a.frames_nowait()) == [1, 2]
    assert values(b.frames_nowait()) == [1]
    assert h.active_pollers == 2


# -- HB: heartbeats -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_hb_cadence_from_stream_start_regardless_of_data(clock: VirtualClock) -> None:
    """HB-2, HB-3, HB-6: at 1 s, 2 s, 3 s even though data events flow in between."""
    sub = await open_(hub(clock), Source([Snap(i) for i in range(100)]))
    await clock.advance(3.05)
    beats = [f for f in sub.frames_nowait() if isinstance(f, Heartbeat)]
    start = clock.wall_base
    assert [(b.timestamp - start).total_seconds() for b in beats] == [1.0, 2.0, 3.0]


@pytest.mark.asyncio
async def test_hb_each_subscriber_has_its_own_timeline(clock: VirtualClock) -> None:
    h = hub(clock)
    first = await open_(h, Source([Snap(1)]))
    await clock.advance(0.3)
    second = await open_(h, Source([Snap(1)]))
    await clock.advance(1.0)
    first_beats = [f.timestamp for f in first.frames_nowait() if isinstance(f, Heartbeat)]
    second_beats = [f.timestamp for f in second.frames_nowait() if isinstance(f, Heartbeat)]
    assert [_offset(t, clock) for t in first_beats] == [1.0]
    assert [_offset(t, clock) for t in second_beats] == [1.3]


def _offset(moment: datetime, clock: VirtualClock) -> float:
    return round((moment - clock.wall_base).total_seconds(), 6)


# -- END: timeout and completion ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_end_timeout_event_carries_start_time_and_declared_timeout(
    clock: VirtualClock,
) -> None:
    """END-1, END-3, END-4: at timeoutMs, then nothing."""
    h = hub(clock)
    sub = await open_(h, Source([Snap(1)]))
    await clock.advance(6.0)
    frames = sub.frames_nowait()
    timeout = frames[-1]
    assert isinstance(timeout, Timeout)
    assert timeout.timeout_ms == 5000
    assert timeout.started_at == clock.wall_base
    assert _offset(timeout.timestamp, clock) == 5.0
    assert sum(isinstance(f, Heartbeat) for f in frames) == 4  # 1 s ... 4 s; 5 s is the end
    assert h.active_pollers == 0
    assert clock.pending_timers == 0


@pytest.mark.asyncio
async def test_end_complete_snapshot_equal_to_last_sent_ends_without_resending(
    clock: VirtualClock,
) -> None:
    """END-5 with a completion flag outside the change key: end, do not send again."""
    profile: StreamProfile[Snap] = StreamProfile(
        event="thing",
        change_key=lambda s: s.value,
        is_complete=lambda s: s.complete,
        to_payload=lambda s: {"value": s.value},
    )
    h = StreamHub(profile, TIMING, clock)
    sub = await open_(h, Source([Snap(1), Snap(1, complete=True)]))
    await clock.advance(0.2)
    assert values(sub.frames_nowait()) == [1]
    assert sub.end_reason is EndReason.COMPLETE


# -- ERR: failures during the stream --------------------------------------------------------------


@pytest.mark.asyncio
async def test_err_failed_poll_ends_that_stream_with_an_error_event(clock: VirtualClock) -> None:
    """ERR-13, ERR-14, ERR-16, ERR-17."""
    h = hub(clock)
    failing = await open_(h, Source([Snap(1), OSError("disk I/O error at /var/db")]), key="bad")
    healthy = await open_(h, Source([Snap(1), Snap(2)]), key="good")
    await clock.advance(0.2)
    frames = failing.frames_nowait()
    assert isinstance(frames[-1], StreamError)
    assert frames[-1].code == "snapshot_failed"
    assert "/var/db" not in frames[-1].message
    assert failing.end_reason is EndReason.ERROR
    await clock.advance(0.2)
    assert values(healthy.frames_nowait()) == [1, 2]
    assert not healthy.closed


@pytest.mark.asyncio
async def test_err_resource_that_disappears_ends_with_not_found(clock: VirtualClock) -> None:
    sub = await open_(hub(clock), Source([Snap(1), None]))
    await clock.advance(0.2)
    last = sub.frames_nowait()[-1]
    assert isinstance(last, StreamError)
    assert last.code == "not_found"


# -- LIFE: disconnect, last subscriber, slow readers, shutdown ------------------------------------


@pytest.mark.asyncio
async def test_life_disconnect_releases_timers_and_stops_polling(clock: VirtualClock) -> None:
    """LIFE-1."""
    h = hub(clock)
    source = Source([Snap(1)])
    sub = await open_(h, source)
    await clock.advance(0.4)
    sub.close()
    calls = source.calls
    await clock.advance(2.0)
    assert source.calls == calls
    assert h.open_streams == 0
    assert h.active_pollers == 0
    assert clock.pending_timers == 0
    assert h.statistics("r").open_streams == 0


@pytest.mark.asyncio
async def test_life_shared_poller_stops_only_with_its_last_subscriber(
    clock: VirtualClock,
) -> None:
    """LIFE-2."""
    h = hub(clock)
    source = Source([Snap(1)])
    first, second = await open_(h, source), await open_(h, source)
    first.close()
    calls = source.calls
    await clock.advance(0.4)
    assert source.calls == calls + 2  # still polling for the second
    second.close()
    calls = source.calls
    await clock.advance(0.4)
    assert source.calls == calls
    assert h.active_pollers == 0


@pytest.mark.asyncio
async def test_life_a_client_that_stops_reading_is_dropped_not_buffered(
    clock: VirtualClock,
) -> None:
    """LIFE-4: the mailbox is bounded; overflowing it ends the stream and drops its frames."""
    h = hub(clock, StreamTiming(10, 20, 100_000), mailbox_limit=8)
    sub = await open_(h, Source([Snap(i) for i in range(10_000)]))
    await clock.advance(1.0)
    assert sub.end_reason is EndReason.OVERFLOW
    assert await sub.next_frame() is None
    assert h.active_pollers == 0


@pytest.mark.asyncio
async def test_life_shutdown_ends_every_stream_with_an_error_event(clock: VirtualClock) -> None:
    """LIFE-3: ``error`` with code ``shutting_down``, then the end; no new streams."""
    h = hub(clock)
    subs = [await open_(h, Source([Snap(1)]), key=k) for k in ("a", "b")]
    h.shutdown()
    for sub in subs:
        last = sub.frames_nowait()[-1]
        assert isinstance(last, StreamError)
        assert last.code == "shutting_down"
        assert sub.end_reason is EndReason.SHUTDOWN
    assert h.active_pollers == 0
    assert clock.pending_timers == 0
    with pytest.raises(SnapshotFetchError):
        await h.open("c", Source([Snap(1)]).fetch())


@pytest.mark.asyncio
async def test_life_next_frame_waits_for_the_next_frame(clock: VirtualClock) -> None:
    sub = await open_(hub(clock), Source([Snap(1), Snap(2)]))
    assert values([await sub.next_frame()]) == [1]  # type: ignore[list-item]
    waiting = asyncio.ensure_future(sub.next_frame())
    await clock.settle()
    assert not waiting.done()
    await clock.advance(0.2)
    frame = await waiting
    assert isinstance(frame, DataEvent)
    assert json.loads(frame.data)["value"] == 2
    sub.close()
    assert await sub.next_frame() is None


# -- TERM: parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "heartbeat", "timeout"),
    [(0, 1000, 3000), (200, 200, 3000), (200, 3000, 1000), (-1, 2, 3), (1, 2, 2)],
)
def test_term_parameters_must_be_positive_and_ordered(
    interval: int, heartbeat: int, timeout: int
) -> None:
    """TERM-2."""
    with pytest.raises(ValueError, match="must"):
        StreamTiming(interval, heartbeat, timeout)


def test_term_valid_parameters() -> None:
    timing = StreamTiming(200, 1000, 3000)
    assert (timing.interval, timing.heartbeat, timing.timeout) == (0.2, 1.0, 3.0)
