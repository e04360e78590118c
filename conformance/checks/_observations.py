"""Observations: scenarios run once per session and judged by many checks.

Each scenario sets up its own fresh workspace and run through the control API, records what the
server does, and returns the recordings with what the harness did (and when, TIME-2). Scenarios
run concurrently; the longest, :func:`idle`, lasts about ``timeoutMs``, so the whole suite does too.

Scenario results are plain data; the judging lives in the check modules.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from conformance.checks._billing import RunState, change_key
from conformance.checks._evidence import data_events, parse_json
from conformance.control import BillingRun, Workspace
from conformance.recorder import Recording, StreamRecorder
from conformance.session import Exchange, PlainResponse, Session, lead_observation

__all__ = [
    "AuthObservation",
    "ChangeStep",
    "ControlObservation",
    "CreateObservation",
    "CrossObservation",
    "FailureObservation",
    "LifecycleObservation",
    "MissingObservation",
    "RunStream",
    "auth",
    "changes",
    "coalesce",
    "complete_at_start",
    "control_access",
    "create_runs",
    "cross_workspace",
    "fallback",
    "idle",
    "lifecycle",
    "missing_runs",
    "snapshot_failure",
    "touch",
    "unsent",
]

# Extra watching time after a window closes, so a late event is reported with its lateness
# rather than as "none observed".
_GRACE_S = 0.25


@dataclass(frozen=True, slots=True)
class RunStream:
    """A run the harness prepared and the stream it recorded on it."""

    workspace: Workspace
    run: BillingRun
    state: RunState
    exchange: Exchange

    @property
    def recording(self) -> Recording:
        return self.exchange.recording


def _s(ms: float) -> float:
    return ms / 1000.0


def _window_s(session: Session, nominal_ms: float) -> float:
    """The TIME-4 window for a nominal duration, plus the grace, in seconds."""
    return _s(session.tolerance.latest(nominal_ms)) + _GRACE_S


def _data_count(session: Session, recording: Recording) -> int:
    return len(data_events(recording, session.profile.event))


def _has_data(count: int, event: str) -> Callable[[Recording], bool]:
    def predicate(recording: Recording) -> bool:
        return len([t for t in recording.events() if t.item.name == event]) >= count

    return predicate


async def _prepare(
    session: Session, *, invoice_count: int, sent: bool, counts: dict[str, int] | None
) -> tuple[Workspace, BillingRun, RunState]:
    workspace = await session.control.create_workspace()
    run = await session.control.create_billing_run(
        workspace.workspace_id, invoice_count=invoice_count, sent=sent
    )
    status_counts = counts or {}
    if counts is not None:
        await session.control.set_deliveries(run.billing_run_id, counts)
    return workspace, run, RunState(invoice_count, sent, status_counts)


def _stream_path(session: Session, run: BillingRun) -> str:
    return session.profile.stream_path(run.billing_run_id)


async def _wait_initial(session: Session, recorder: StreamRecorder) -> bool:
    """Wait for the initial snapshot; whether it came.

    Generous (three SNAP-3 windows): snapshot.prompt judges the timing on the idle stream, here
    the scenario only must not change the run before the stream has shown its starting state.
    """
    return await recorder.wait_for(
        _has_data(1, session.profile.event), _window_s(session, session.profile.interval_ms) * 3
    )


# -- the full-length idle stream -------------------------------------------------------------


@lead_observation
async def idle(session: Session) -> RunStream:
    """A sent, incomplete run nobody changes, recorded from request to end (or END-8's limit).

    Judged by the transport, wire, snapshot, heartbeat and timeout checks.
    """
    try:
        counts = {"QUEUED": 2, "SENT": 1, "DELIVERED": 3, "DELAYED": 1, "FAILED": 1}
        workspace, run, state = await _prepare(session, invoice_count=10, sent=True, counts=counts)
        timeout_ms = session.profile.timeout_ms
        # END-8: closed by timeoutMs + tolerance; watch a little longer to report how late.
        duration = _window_s(session, timeout_ms) + _s(session.tolerance.of(timeout_ms))
        headers = session.stream_headers(workspace.token, workspace.workspace_id)
        path = _stream_path(session, run)
        async with session.record("idle", path, headers, duration_s=duration) as (
            recorder,
            exchange,
        ):
            await recorder.wait_for(lambda r: r.headers_at is not None, duration)
            session.lead_opened()
            await recorder.wait_end(duration)
        return RunStream(workspace, run, state, exchange)
    finally:
        session.lead_opened()


# -- change emission ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChangeStep:
    """One change the harness made: what it set, when it became visible (TIME-2), the state.

    ``sent_at`` is when the control request was sent. The server applies the change before it
    answers (CTL-13), so the stream may show the change before the answer reaches the harness:
    "after the change" means after ``sent_at``; latencies are measured from ``visible_at``.
    """

    label: str
    visible_at: float  # session clock, seconds
    state: RunState
    sent_at: float | None = None

    @property
    def since(self) -> float:
        """The earliest moment an effect of this change can be observed."""
        return self.visible_at if self.sent_at is None else self.sent_at


@dataclass(frozen=True, slots=True)
class ChangeObservation:
    stream: RunStream
    steps: tuple[ChangeStep, ...] = ()
    completed_at: float | None = None  # when ``complete`` became visible, if it was called


_CHANGE_SCRIPT: tuple[dict[str, int], ...] = (
    {"QUEUED": 2, "SENT": 3, "DELIVERED": 3},
    {"QUEUED": 1, "SENT": 2, "DELIVERED": 5, "FAILED": 1},
    {"QUEUED": 1, "SENT": 2, "DELIVERED": 5, "FAILED": 1, "BOUNCED": 1},
)


async def changes(session: Session) -> ChangeObservation:
    """Three changes one after the other, each waited for, then ``complete`` and the end."""
    initial = {"QUEUED": 4, "SENT": 2}
    workspace, run, state = await _prepare(session, invoice_count=10, sent=True, counts=initial)
    interval = session.profile.interval_ms
    budget = _window_s(session, interval) * (len(_CHANGE_SCRIPT) + 6)
    headers = session.stream_headers(workspace.token, workspace.workspace_id)
    steps: list[ChangeStep] = []
    completed_at = None
    async with session.record(
        "changes", _stream_path(session, run), headers, duration_s=budget
    ) as (recorder, exchange):
        started = await _wait_initial(session, recorder)
        seen = _data_count(session, exchange.recording)
        for number, counts in enumerate(_CHANGE_SCRIPT, start=1):
            if not started or recorder.recording.end is not None:
                break
            sent_at = session.clock()
            visible_at = await session.control.set_deliveries(run.billing_run_id, counts)
            state = RunState(state.invoice_count, True, counts)
            steps.append(ChangeStep(f"change {number}", visible_at, state, sent_at))
            await recorder.wait_for(
                _has_data(seen + 1, session.profile.event), _window_s(session, interval)
            )
            seen = _data_count(session, exchange.recording)
        if started and recorder.recording.end is None:
            sent_at = session.clock()
            completed_at = await session.control.complete(run.billing_run_id)
            steps.append(ChangeStep("complete", completed_at, state.completed(), sent_at))
            # END-5: the complete snapshot within one interval, then the end within tolerance.
            await recorder.wait_end(
                _window_s(session, interval) + _s(session.tolerance.of(interval))
            )
    stream = RunStream(workspace, run, RunState(10, True, initial), exchange)
    return ChangeObservation(stream, tuple(steps), completed_at)


async def coalesce(session: Session) -> ChangeObservation:
    """Three changes made back to back, within one interval (CHG-5): coalescing is allowed."""
    initial = {"QUEUED": 6}
    workspace, run, _ = await _prepare(session, invoice_count=6, sent=True, counts=initial)
    interval = session.profile.interval_ms
    headers = session.stream_headers(workspace.token, workspace.workspace_id)
    script = ({"QUEUED": 5, "SENT": 1}, {"QUEUED": 4, "SENT": 2}, {"QUEUED": 3, "SENT": 3})
    steps: list[ChangeStep] = []
    budget = _window_s(session, interval) * 6
    async with session.record(
        "coalesce", _stream_path(session, run), headers, duration_s=budget
    ) as (recorder, exchange):
        if not await _wait_initial(session, recorder):
            return ChangeObservation(
                RunStream(workspace, run, RunState(6, True, initial), exchange)
            )
        for number, counts in enumerate(script, start=1):
            sent_at = session.clock()
            visible_at = await session.control.set_deliveries(run.billing_run_id, counts)
            state = RunState(6, True, counts)
            steps.append(ChangeStep(f"change {number}", visible_at, state, sent_at))
        last_key = change_key(steps[-1].state.payload_state())

        def latest_sent(recording: Recording) -> bool:
            for timed in reversed(data_events(recording, session.profile.event)):
                payload = parse_json(timed.item.data)
                if payload.ok and isinstance(payload.value, dict):
                    state = {k: payload.value.get(k) for k in ("progress", "isComplete")}
                    return change_key(state) == last_key
            return False

        await recorder.wait_for(latest_sent, _window_s(session, interval))
        # Watch one more interval: nothing may follow the latest state (CHG-2, CHG-6).
        await asyncio.sleep(_s(interval))
    stream = RunStream(workspace, run, RunState(6, True, initial), exchange)
    return ChangeObservation(stream, tuple(steps))


@dataclass(frozen=True, slots=True)
class TouchObservation:
    stream: RunStream
    touches: tuple[float, ...]
    watched_until: float  # session clock


async def touch(session: Session) -> TouchObservation:
    """Touches that change ``generatedAt`` at most (CTL-9), spread over two polls."""
    counts = {"QUEUED": 1, "DELIVERED": 2}
    workspace, run, state = await _prepare(session, invoice_count=3, sent=True, counts=counts)
    interval = session.profile.interval_ms
    headers = session.stream_headers(workspace.token, workspace.workspace_id)
    touches: list[float] = []
    budget = _window_s(session, interval) * 5 + _s(interval) * 2
    async with session.record("touch", _stream_path(session, run), headers, duration_s=budget) as (
        recorder,
        exchange,
    ):
        started = await _wait_initial(session, recorder)
        for _ in range(3 if started else 0):
            touches.append(await session.control.touch(run.billing_run_id))
            await asyncio.sleep(_s(interval) / 2)
        await asyncio.sleep(_window_s(session, interval))
        watched_until = session.clock()
    return TouchObservation(
        RunStream(workspace, run, state, exchange), tuple(touches), watched_until
    )


# -- initial snapshot ------------------------------------------------------------------------


async def complete_at_start(session: Session) -> RunStream:
    """A run that is complete before the stream opens (SNAP-6): snapshot, then the end."""
    counts = {"DELIVERED": 1, "BOUNCED": 1}
    workspace, run, state = await _prepare(session, invoice_count=2, sent=True, counts=counts)
    interval = session.profile.interval_ms
    duration = _window_s(session, interval) + _s(session.tolerance.of(interval)) + _GRACE_S
    headers = session.stream_headers(workspace.token, workspace.workspace_id)
    async with session.record(
        "complete-at-start", _stream_path(session, run), headers, duration_s=duration
    ) as (recorder, exchange):
        await recorder.wait_end(duration)
    return RunStream(workspace, run, state, exchange)


async def unsent(session: Session) -> RunStream:
    """BIL-16: a run that has not been sent, watched until its initial snapshot."""
    workspace, run, state = await _prepare(session, invoice_count=2, sent=False, counts=None)
    window = _window_s(session, session.profile.interval_ms)
    headers = session.stream_headers(workspace.token, workspace.workspace_id)
    async with session.record(
        "unsent", _stream_path(session, run), headers, duration_s=window * 3
    ) as (recorder, exchange):
        await _wait_initial(session, recorder)
    return RunStream(workspace, run, state, exchange)


@dataclass(frozen=True, slots=True)
class ReconnectObservation:
    first: RunStream
    second: Exchange
    last_event_id: str


async def reconnect(session: Session) -> ReconnectObservation:
    """SNAP-4, WF-12, TR-3: a second stream, opened while the first is open, with
    ``Last-Event-ID`` and without ``Accept`` or ``Cache-Control``, gets its own snapshot."""
    counts = {"QUEUED": 1, "SENT": 1}
    workspace, run, state = await _prepare(session, invoice_count=4, sent=True, counts=counts)
    interval = session.profile.interval_ms
    window = _window_s(session, interval)
    headers = session.stream_headers(workspace.token, workspace.workspace_id)
    path = _stream_path(session, run)
    async with session.record("reconnect/first", path, headers, duration_s=window * 3) as (
        recorder,
        exchange,
    ):
        await _wait_initial(session, recorder)
        ids = [t.item.id for t in recorder.recording.events() if t.item.id]
        last_event_id = ids[-1] if ids else "1"
        second_headers = session.stream_headers(
            workspace.token,
            workspace.workspace_id,
            extra={"Last-Event-ID": last_event_id},
            omit=frozenset({"Accept", "Cache-Control"}),
        )
        async with session.record("reconnect/second", path, second_headers, duration_s=window) as (
            second,
            second_exchange,
        ):
            await _wait_initial(session, second)
    return ReconnectObservation(
        RunStream(workspace, run, state, exchange), second_exchange, last_event_id
    )


# -- errors, authentication, isolation -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthObservation:
    """Exchanges by label: ``missing``, ``malformed/N``, ``invalid``, ``no-workspace``,
    ``bad-workspace``, ``outsider``, ``unknown-workspace``."""

    exchanges: dict[str, Exchange]
    tokens: tuple[str, ...]  # every token the harness sent, to look for echoes (ERR-2)


MALFORMED_AUTHORIZATIONS = ("Basic dXNlcjpwYXNzd29yZA==", "Bearer", "Token abc123")


async def auth(session: Session) -> AuthObservation:
    """Requests that must be refused before any stream (ERR-3 to ERR-8)."""
    workspace, run, _ = await _prepare(session, invoice_count=1, sent=True, counts=None)
    outsider = await session.control.create_outsider()
    path = _stream_path(session, run)
    window = _window_s(session, session.profile.interval_ms)
    ws = workspace.workspace_id
    invalid_token = "ssegate-unknown-" + secrets.token_hex(16)
    unknown_workspace = "ws-" + secrets.token_hex(12)
    requests: dict[str, dict[str, str]] = {
        "auth/missing": session.stream_headers(None, ws),
        "auth/invalid": session.stream_headers(invalid_token, ws),
        "auth/no-workspace": session.stream_headers(workspace.token, None),
        "auth/bad-workspace": session.stream_headers(workspace.token, "not a workspace!"),
        "auth/outsider": session.stream_headers(outsider.token, ws),
        "auth/unknown-workspace": session.stream_headers(workspace.token, unknown_workspace),
    }
    for number, value in enumerate(MALFORMED_AUTHORIZATIONS, start=1):
        requests[f"auth/malformed-{number}"] = session.stream_headers(
            None, ws, extra={"Authorization": value}
        )
    results = await asyncio.gather(
        *(
            session.fetch(label, path, headers, window_s=window)
            for label, headers in requests.items()
        )
    )
    exchanges = {exchange.label: exchange for exchange in results}
    return AuthObservation(exchanges, (workspace.token, outsider.token, invalid_token))


@dataclass(frozen=True, slots=True)
class MissingObservation:
    """A member of workspace B asks for: A's run (foreign), a run that does not exist, a
    malformed id; on the stream and on the polling fallback."""

    foreign_id: str
    missing_id: str
    malformed_id: str
    exchanges: dict[str, Exchange]
    tokens: tuple[str, ...]


def _lookalike_id(template: str) -> str:
    """A well-formed run id of the same length as ``template`` that does not exist."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    length = max(len(template), 8)
    return "".join(secrets.choice(alphabet) for _ in range(length))


async def missing_runs(session: Session) -> MissingObservation:
    """ERR-9 to ERR-12, ISO-1, ISO-3, ISO-5."""
    owner, foreign_run, _ = await _prepare(session, invoice_count=2, sent=True, counts={"SENT": 1})
    stranger = await session.control.create_workspace()
    missing_id = _lookalike_id(foreign_run.billing_run_id)
    malformed_id = "bad.run.id"
    headers = session.stream_headers(stranger.token, stranger.workspace_id)
    fallback_headers = {**headers, "Accept": "application/json"}
    window = _window_s(session, session.profile.interval_ms) + _GRACE_S
    profile = session.profile
    targets = {
        "missing/foreign-stream": (profile.stream_path(foreign_run.billing_run_id), headers),
        "missing/missing-stream": (profile.stream_path(missing_id), headers),
        "missing/malformed-stream": (profile.stream_path(malformed_id), headers),
        "missing/foreign-fallback": (
            profile.fallback_path(foreign_run.billing_run_id),
            fallback_headers,
        ),
        "missing/missing-fallback": (profile.fallback_path(missing_id), fallback_headers),
    }
    results = await asyncio.gather(
        *(
            session.fetch(label, path, request_headers, window_s=window)
            for label, (path, request_headers) in targets.items()
        )
    )
    return MissingObservation(
        foreign_run.billing_run_id,
        missing_id,
        malformed_id,
        {exchange.label: exchange for exchange in results},
        (owner.token, stranger.token),
    )


@dataclass(frozen=True, slots=True)
class CrossObservation:
    changed: RunStream  # workspace A, whose run changes
    other: RunStream  # workspace B, which must see nothing of it
    changes: tuple[float, ...]


async def cross_workspace(session: Session) -> CrossObservation:
    """ISO-4: two concurrent streams in two workspaces; only A's run changes."""
    (ws_a, run_a, state_a), (ws_b, run_b, state_b) = await asyncio.gather(
        _prepare(session, invoice_count=5, sent=True, counts={"QUEUED": 5}),
        _prepare(session, invoice_count=5, sent=True, counts={"QUEUED": 5}),
    )
    interval = session.profile.interval_ms
    window = _window_s(session, interval)
    budget = window * 4
    changes: list[float] = []
    async with (
        session.record(
            "cross/changed",
            _stream_path(session, run_a),
            session.stream_headers(ws_a.token, ws_a.workspace_id),
            duration_s=budget,
        ) as (rec_a, exchange_a),
        session.record(
            "cross/other",
            _stream_path(session, run_b),
            session.stream_headers(ws_b.token, ws_b.workspace_id),
            duration_s=budget,
        ) as (rec_b, exchange_b),
    ):
        await asyncio.gather(
            _wait_initial(session, rec_a),
            _wait_initial(session, rec_b),
        )
        for counts in ({"QUEUED": 3, "DELIVERED": 2}, {"QUEUED": 1, "DELIVERED": 3, "FAILED": 1}):
            changes.append(await session.control.set_deliveries(run_a.billing_run_id, counts))
            await asyncio.sleep(window)
    return CrossObservation(
        RunStream(ws_a, run_a, state_a, exchange_a),
        RunStream(ws_b, run_b, state_b, exchange_b),
        tuple(changes),
    )


@dataclass(frozen=True, slots=True)
class FailureObservation:
    failing: RunStream
    other: RunStream
    failed_at: float | None  # when fail-next-snapshot became visible (None: never called)
    failure_sent_at: float | None = None  # when it was sent (see ChangeStep)


async def snapshot_failure(session: Session) -> FailureObservation:
    """ERR-13, ERR-17 (feature ``snapshot-failure``): one run's fetch fails, another's not."""
    workspace = await session.control.create_workspace()
    runs = await asyncio.gather(
        session.control.create_billing_run(workspace.workspace_id, invoice_count=3, sent=True),
        session.control.create_billing_run(workspace.workspace_id, invoice_count=3, sent=True),
    )
    interval = session.profile.interval_ms
    heartbeat = session.profile.heartbeat_ms
    headers = session.stream_headers(workspace.token, workspace.workspace_id)
    window = _window_s(session, interval)
    # ERR-17: the other stream must keep going for at least one heartbeat after the failure.
    budget = window * 5 + _window_s(session, heartbeat)
    async with (
        session.record(
            "failure/failing", _stream_path(session, runs[0]), headers, duration_s=budget
        ) as (failing, failing_exchange),
        session.record(
            "failure/other", _stream_path(session, runs[1]), headers, duration_s=budget
        ) as (other, other_exchange),
    ):
        started = await asyncio.gather(
            _wait_initial(session, failing),
            _wait_initial(session, other),
        )
        failed_at = failure_sent_at = None
        # Without the initial snapshots there is no running stream whose fetch could fail.
        if all(started):
            failure_sent_at = session.clock()
            failed_at = await session.control.fail_next_snapshot(runs[0].billing_run_id)
            await failing.wait_end(window + _s(session.tolerance.of(interval)))
            remaining = (
                failed_at + _s(session.tolerance.latest(heartbeat)) + _GRACE_S - session.clock()
            )
            if remaining > 0:
                await other.wait_end(remaining)
    state = RunState(3, True, {})
    return FailureObservation(
        RunStream(workspace, runs[0], state, failing_exchange),
        RunStream(workspace, runs[1], state, other_exchange),
        failed_at,
        failure_sent_at,
    )


@dataclass(frozen=True, slots=True)
class LifecycleObservation:
    stream: RunStream
    open_before: int
    disconnected_at: float
    settled: tuple[float, int, int]  # (when, openStreams, snapshotFetches) interval+tol later
    later: tuple[float, int, int]  # two intervals after that


async def lifecycle(session: Session) -> LifecycleObservation:
    """LIFE-1, LIFE-2 (feature ``stream-statistics``): fetches stop after the disconnect."""
    workspace, run, state = await _prepare(session, invoice_count=3, sent=True, counts=None)
    interval = session.profile.interval_ms
    headers = session.stream_headers(workspace.token, workspace.workspace_id)
    async with session.record(
        "lifecycle",
        _stream_path(session, run),
        headers,
        duration_s=_window_s(session, interval) * 2,
    ) as (recorder, exchange):
        await _wait_initial(session, recorder)
        before = await session.control.statistics(run.billing_run_id)
        await recorder.disconnect()
        disconnected_at = session.clock()
    await asyncio.sleep(_s(session.tolerance.latest(interval)))
    settled = await session.control.statistics(run.billing_run_id)
    settled_at = session.clock()
    await asyncio.sleep(_s(interval) * 2 + _GRACE_S)
    later = await session.control.statistics(run.billing_run_id)
    later_at = session.clock()
    return LifecycleObservation(
        RunStream(workspace, run, state, exchange),
        before.open_streams,
        disconnected_at,
        (settled_at, settled.open_streams, settled.snapshot_fetches),
        (later_at, later.open_streams, later.snapshot_fetches),
    )


# -- profile endpoints -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FallbackObservation:
    stream: RunStream
    fallback: Exchange


async def fallback(session: Session) -> FallbackObservation:
    """BIL-4, BIL-5: the polling fallback answers the stream's state."""
    counts = {"QUEUED": 1, "SENT": 1, "DELAYED": 1}
    workspace, run, state = await _prepare(session, invoice_count=4, sent=True, counts=counts)
    window = _window_s(session, session.profile.interval_ms)
    headers = session.stream_headers(workspace.token, workspace.workspace_id)
    async with session.record(
        "fallback/stream", _stream_path(session, run), headers, duration_s=window * 2
    ) as (recorder, exchange):
        await _wait_initial(session, recorder)
        fallback_exchange = await session.fetch(
            "fallback/get",
            session.profile.fallback_path(run.billing_run_id),
            {**headers, "Accept": "application/json"},
            window_s=window,
        )
    return FallbackObservation(RunStream(workspace, run, state, exchange), fallback_exchange)


async def _plain(
    session: Session,
    label: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
) -> PlainResponse:
    return await session.send(label, method, path, headers, body)


@dataclass(frozen=True, slots=True)
class CreateObservation:
    created: PlainResponse
    invalid: dict[str, PlainResponse]
    method: PlainResponse


CREATE_PATH = "/classes/billing/runs"
INVALID_CREATE_BODIES: dict[str, tuple[bytes, int]] = {
    "create/not-json": (b"{not json", 400),
    "create/bad-month": (b'{"month": "2026-13", "invoiceCount": 3}', 422),
    "create/negative-count": (b'{"month": "2026-01", "invoiceCount": -1}', 422),
    "create/unknown-member": (b'{"month": "2026-01", "invoiceCount": 1, "colour": "red"}', 422),
}


async def create_runs(session: Session) -> CreateObservation:
    """BIL-6, BIL-7, BIL-8 and TR-4 (a POST on the stream path)."""
    workspace = await session.control.create_workspace()
    headers = {
        "Authorization": f"Bearer {workspace.token}",
        "X-Workspace-Id": workspace.workspace_id,
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    body = b'{"month": "2026-01", "invoiceCount": 3, "sendInvoices": false}'
    created = await _plain(session, "create/valid", "POST", CREATE_PATH, headers, body)
    invalid = {}
    for label, (bad_body, _) in INVALID_CREATE_BODIES.items():
        invalid[label] = await _plain(session, label, "POST", CREATE_PATH, headers, bad_body)
    run = await session.control.create_billing_run(
        workspace.workspace_id, invoice_count=1, sent=True
    )
    method = await _plain(
        session, "create/post-on-stream", "POST", _stream_path(session, run), headers, b"{}"
    )
    return CreateObservation(created, invalid, method)


@dataclass(frozen=True, slots=True)
class ControlObservation:
    without_secret: PlainResponse
    wrong_secret: PlainResponse
    undeclared: dict[str, PlainResponse]


async def control_access(session: Session) -> ControlObservation:
    """CTL-2 and CTL-4: the control API's own access rules."""
    control = session.control

    async def call(
        label: str, method: str, path: str, *, secret: str | None = None, send: bool = True
    ) -> PlainResponse:
        response = await control.request(method, path, secret=secret, send_secret=send)
        plain = PlainResponse(
            label,
            method,
            control.base_url + path,
            "",
            response.status_code,
            [(key.lower(), value) for key, value in response.headers.multi_items()],
            response.text[:4000],
        )
        session.plain[label] = plain
        return plain

    without = await call("control/without-secret", "GET", "/describe", send=False)
    wrong = await call("control/wrong-secret", "GET", "/describe", secret=secrets.token_hex(16))
    undeclared: dict[str, PlainResponse] = {}
    optional = {
        "snapshot-failure": ("POST", "fail-next-snapshot"),
        "stream-statistics": ("GET", "statistics"),
    }
    missing = [name for name in optional if name not in session.features]
    if missing:
        workspace = await control.create_workspace()
        run = await control.create_billing_run(workspace.workspace_id, invoice_count=1, sent=True)
        for feature in missing:
            method, operation = optional[feature]
            path = f"/billing-runs/{run.billing_run_id}/{operation}"
            undeclared[feature] = await call(f"control/undeclared-{feature}", method, path)
    return ControlObservation(without, wrong, undeclared)
