"""Synthetic recordings and sessions for judging checks without a network.

A recording is built from a script of (seconds since the request, bytes) chunks, decoded with the
real decoder exactly as the recorder does. A session carries the declared profile and preset
observations, so a check's judge runs on what the test made up.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from conformance.checks import _observations as obs
from conformance.checks._billing import RunState
from conformance.checks._observations import (
    INVALID_CREATE_BODIES,
    AuthObservation,
    ChangeObservation,
    ChangeStep,
    ControlObservation,
    CreateObservation,
    CrossObservation,
    FailureObservation,
    FallbackObservation,
    LifecycleObservation,
    MissingObservation,
    ReconnectObservation,
    RunStream,
    TouchObservation,
)
from conformance.control import BillingRun, Workspace
from conformance.recorder import EndKind, Recording, Timed
from conformance.session import Exchange, PlainResponse, Profile, Session, Settings
from conformance.wire import Decoder, Field

EVENT = "billing.invoice-send-progress"
PROFILE = Profile(
    name=EVENT,
    path="/classes/billing/runs/{billingRunId}/send-progress/stream",
    event=EVENT,
    contract_name=EVENT,
    contract_major=1,
    interval_ms=200,
    heartbeat_ms=1000,
    timeout_ms=3000,
)
DESCRIBE: dict[str, Any] = {
    "protocolVersion": "1.0",
    "server": {"name": "synthetic", "version": "1"},
    "profiles": {
        EVENT: {
            "path": PROFILE.path,
            "event": EVENT,
            "contract": f"{EVENT}@1",
            "intervalMs": 200,
            "heartbeatMs": 1000,
            "timeoutMs": 3000,
        }
    },
    "features": ["snapshot-failure", "stream-statistics"],
}
STREAM_HEADERS = [
    ("content-type", "text/event-stream; charset=utf-8"),
    ("cache-control", "no-store, no-transform"),
    ("x-accel-buffering", "no"),
    ("transfer-encoding", "chunked"),
]
STAMP = "2026-01-01T00:00:00Z"


def frame(name: str, data: str, *, ident: str | None = None, eol: str = "\n") -> bytes:
    """One SSE event as a server would write it."""
    lines = [f"event: {name}"]
    if ident is not None:
        lines.append(f"id: {ident}")
    lines += [f"data: {line}" for line in data.split("\n")]
    return (eol.join(lines) + eol + eol).encode()


def payload(run: BillingRun, state: RunState, *, generated_at: str = STAMP) -> dict[str, Any]:
    return {
        "billingRunId": run.billing_run_id,
        "month": run.month,
        **state.payload_state(),
        "generatedAt": generated_at,
    }


def data_frame(run: BillingRun, state: RunState, **kwargs: Any) -> bytes:
    return frame(EVENT, json.dumps(payload(run, state)), **kwargs)


def heartbeat(stamp: str = STAMP) -> bytes:
    return frame("heartbeat", json.dumps({"timestamp": stamp}))


def timeout_frame(timeout_ms: int = 3000) -> bytes:
    body = {"startedAt": STAMP, "timestamp": "2026-01-01T00:00:03Z", "timeoutMs": timeout_ms}
    return frame("timeout", json.dumps(body))


def recording(
    script: Sequence[tuple[float, bytes]],
    *,
    status: int | None = 200,
    headers: Sequence[tuple[str, str]] = STREAM_HEADERS,
    headers_at: float | None = 0.010,
    end: EndKind | None = EndKind.CLEAN_EOF,
    end_at: float | None = None,
) -> Recording:
    """A recording of ``script``, decoded by the real decoder as the recorder would."""
    rec = Recording(url="http://127.0.0.1:9/synthetic", request_headers={})
    rec.started_at = 0.0
    rec.status = status
    rec.http_version = "HTTP/1.1" if status is not None else None
    rec.headers = list(headers) if status is not None else []
    rec.headers_at = headers_at if status is not None else None
    decoder = Decoder()
    last = headers_at or 0.0
    for at, chunk in script:
        rec.chunks.append(Timed(at, chunk))
        rec.arrivals.append(at)
        rec.body_bytes += len(chunk)
        rec.last_byte_at = at
        last = at
        for item in decoder.feed(chunk):
            if not isinstance(item, Field):
                rec.items.append(Timed(at, item))
    if end is not None:
        rec.end = end
        rec.end_at = end_at if end_at is not None else last + 0.005
        rec.end_detail = end.value
        rec.items.extend(Timed(rec.end_at, partial) for partial in decoder.close())
    rec.bom_seen = decoder.bom_seen
    rec.invalid_utf8 = decoder.invalid_utf8
    rec.line_ending_kinds = decoder.line_ending_kinds
    return rec


def body_recording(status: int, body: str, headers: Sequence[tuple[str, str]]) -> Recording:
    """A plain (non-stream) answer, e.g. a problem body."""
    rec = recording([(0.012, body.encode())], status=status, headers=headers)
    rec.items.clear()  # a problem body is not an event stream
    return rec


def problem_headers(extra: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    return [("content-type", "application/problem+json"), *extra]


def problem(status: int, title: str = "Problem", **extra: Any) -> str:
    return json.dumps({"title": title, "status": status, **extra})


def exchange(label: str, rec: Recording) -> Exchange:
    return Exchange(label, "GET", rec, 0.0)


WORKSPACE = Workspace("ws-one", "token-one")
RUN = BillingRun("run-one", "2026-01", "ws-one", 10, True)
IDLE_STATE = RunState(10, True, {"QUEUED": 2, "SENT": 1, "DELIVERED": 3, "DELAYED": 1, "FAILED": 1})


def run_stream(rec: Recording, label: str = "idle", state: RunState = IDLE_STATE) -> RunStream:
    return RunStream(WORKSPACE, RUN, state, exchange(label, rec))


def good_idle_script(
    *,
    heartbeats: Sequence[float] = (1.010, 2.010),
    timeout_at: float | None = 3.010,
) -> list[tuple[float, bytes]]:
    """A conformant idle stream: snapshot at once, heartbeats every second, timeout at 3 s."""
    script = [(0.020, data_frame(RUN, IDLE_STATE))]
    script += [(at, heartbeat()) for at in heartbeats]
    if timeout_at is not None:
        script.append((timeout_at, timeout_frame()))
    return script


def session(features: Sequence[str] = ("snapshot-failure", "stream-statistics")) -> Session:
    """A session with the synthetic profile; observations must be preset."""
    settings = Settings("http://127.0.0.1:9", "http://127.0.0.1:9/__ssegate", "secret")
    return Session(
        settings,
        control=None,  # type: ignore[arg-type]
        client=None,  # type: ignore[arg-type]
        describe=DESCRIBE,
        profile=PROFILE,
        features=frozenset(features),
        deadline=time.monotonic() + 60.0,
    )


# -- a complete conformant run, observation by observation ----------------------------------------


def _run(run_id: str, invoice_count: int, sent: bool = True) -> BillingRun:
    return BillingRun(run_id, "2026-01", "ws-one", invoice_count, sent)


def _closed(script: list[tuple[float, bytes]], at: float) -> Recording:
    return recording(script, end=EndKind.CLOSED_BY_HARNESS, end_at=at)


def _stream(run: BillingRun, state: RunState, rec: Recording, label: str) -> RunStream:
    return RunStream(WORKSPACE, run, state, exchange(label, rec))


def changes_observation(*, script_override: list[tuple[float, bytes]] | None = None) -> Any:
    """Three changes, each emitted 150 ms after it became visible, then complete and the end."""
    run = _run("run-changes", 10)
    initial = RunState(10, True, {"QUEUED": 4, "SENT": 2})
    states = [
        RunState(10, True, {"QUEUED": 2, "SENT": 3, "DELIVERED": 3}),
        RunState(10, True, {"QUEUED": 1, "SENT": 2, "DELIVERED": 5, "FAILED": 1}),
        RunState(10, True, {"QUEUED": 1, "SENT": 2, "DELIVERED": 5, "FAILED": 1, "BOUNCED": 1}),
    ]
    steps = [ChangeStep(f"change {n}", 0.1 + 0.3 * (n - 1), s) for n, s in enumerate(states, 1)]
    done = states[-1].completed()
    steps.append(ChangeStep("complete", 1.0, done))
    script = [(0.02, data_frame(run, initial))]
    script += [(step.visible_at + 0.15, data_frame(run, step.state)) for step in steps]
    rec = recording(script_override if script_override is not None else script)
    return ChangeObservation(_stream(run, initial, rec, "changes"), tuple(steps), 1.0)


def conformant_observations() -> dict[Any, Any]:
    """Every observation as a conformant server would produce it."""
    idle_rec = recording(good_idle_script())
    complete_run = _run("run-complete", 2)
    complete_state = RunState(2, True, {"DELIVERED": 1, "BOUNCED": 1})
    unsent_run = _run("run-unsent", 2, sent=False)
    unsent_state = RunState(2, False, {})

    coalesce_run = _run("run-coalesce", 6)
    coalesce_initial = RunState(6, True, {"QUEUED": 6})
    coalesce_states = [
        RunState(6, True, {"QUEUED": 5, "SENT": 1}),
        RunState(6, True, {"QUEUED": 4, "SENT": 2}),
        RunState(6, True, {"QUEUED": 3, "SENT": 3}),
    ]
    coalesce_steps = tuple(
        ChangeStep(f"change {n}", 0.1 + 0.01 * n, s) for n, s in enumerate(coalesce_states, 1)
    )
    coalesce_rec = _closed(
        [
            (0.02, data_frame(coalesce_run, coalesce_initial)),
            (0.3, data_frame(coalesce_run, coalesce_states[-1])),
        ],
        0.6,
    )

    touch_run = _run("run-touch", 3)
    touch_state = RunState(3, True, {"QUEUED": 1, "DELIVERED": 2})
    touch_rec = _closed([(0.02, data_frame(touch_run, touch_state))], 0.9)

    first_rec = _closed([(0.02, data_frame(RUN, IDLE_STATE, ident="1"))], 0.5)
    second_rec = _closed([(0.03, data_frame(RUN, IDLE_STATE, ident="1"))], 0.3)

    run_b = _run("run-other", 5)
    cross_state = RunState(5, True, {"QUEUED": 5})
    changed_rec = _closed(
        [
            (0.02, data_frame(RUN, cross_state)),
            (0.3, data_frame(RUN, RunState(5, True, {"QUEUED": 3, "DELIVERED": 2}))),
        ],
        1.2,
    )
    other_rec = _closed([(0.02, data_frame(run_b, cross_state)), (1.01, heartbeat())], 1.2)

    fail_run, ok_run = _run("run-fail", 3), _run("run-ok", 3)
    failing_rec = recording(
        [
            (0.02, data_frame(fail_run, RunState(3, True, {}))),
            (0.3, frame("error", json.dumps({"code": "snapshot_failed", "message": "failed"}))),
        ]
    )
    other_fail_rec = _closed(
        [(0.02, data_frame(ok_run, RunState(3, True, {}))), (1.01, heartbeat())], 1.6
    )

    fallback_run = _run("run-fallback", 4)
    fallback_state = RunState(4, True, {"QUEUED": 1, "SENT": 1, "DELAYED": 1})
    fallback_stream = _closed([(0.02, data_frame(fallback_run, fallback_state))], 0.5)
    fallback_body = json.dumps(
        payload(fallback_run, fallback_state, generated_at="2026-01-01T00:00:01Z")
    )
    fallback_get = body_recording(200, fallback_body, [("content-type", "application/json")])

    tokens = ("token-one", "token-two", "token-unknown")
    challenge = [("www-authenticate", 'Bearer error="invalid_token"')]
    auth = {
        "auth/missing": body_recording(
            401, problem(401), problem_headers([("www-authenticate", "Bearer")])
        ),
        "auth/invalid": body_recording(401, problem(401), problem_headers(challenge)),
        "auth/no-workspace": body_recording(400, problem(400), problem_headers()),
        "auth/bad-workspace": body_recording(400, problem(400), problem_headers()),
        "auth/outsider": body_recording(403, problem(403), problem_headers()),
        "auth/unknown-workspace": body_recording(403, problem(403), problem_headers()),
    }
    for n in (1, 2, 3):
        auth[f"auth/malformed-{n}"] = body_recording(
            401, problem(401), problem_headers([("www-authenticate", "Bearer")])
        )

    def not_found(run_id: str, fallback: bool = False) -> Recording:
        suffix = "" if fallback else "/stream"
        body = problem(
            404, "Not found", instance=f"/classes/billing/runs/{run_id}/send-progress{suffix}"
        )
        return body_recording(404, body, problem_headers([("content-length", str(len(body)))]))

    foreign_id, missing_id, malformed_id = "run-foreign", "run-absent", "bad.run.id"
    missing = {
        "missing/foreign-stream": not_found(foreign_id),
        "missing/missing-stream": not_found(missing_id),
        "missing/malformed-stream": not_found(malformed_id),
        "missing/foreign-fallback": not_found(foreign_id, True),
        "missing/missing-fallback": not_found(missing_id, True),
    }

    def plain(
        label: str, method: str, status: int, body: str, headers: list[tuple[str, str]]
    ) -> PlainResponse:
        return PlainResponse(label, method, "/classes/billing/runs", "", status, headers, body)

    invalid = {
        label: plain(label, "POST", code, problem(code), problem_headers())
        for label, (_, code) in INVALID_CREATE_BODIES.items()
    }
    created = plain(
        "create/valid",
        "POST",
        201,
        '{"billingRunId": "run-new"}',
        [("content-type", "application/json")],
    )
    method = plain(
        "create/post-on-stream", "POST", 405, problem(405), problem_headers([("allow", "GET")])
    )
    control = ControlObservation(
        plain("control/without-secret", "GET", 401, problem(401), problem_headers()),
        plain("control/wrong-secret", "GET", 401, problem(401), problem_headers()),
        {},
    )
    lifecycle_rec = _closed([(0.02, data_frame(RUN, IDLE_STATE))], 0.2)
    return {
        obs.idle: run_stream(idle_rec),
        obs.changes: changes_observation(),
        obs.coalesce: ChangeObservation(
            _stream(coalesce_run, coalesce_initial, coalesce_rec, "coalesce"), coalesce_steps
        ),
        obs.touch: TouchObservation(
            _stream(touch_run, touch_state, touch_rec, "touch"), (0.1, 0.2, 0.3), 0.9
        ),
        obs.complete_at_start: _stream(
            complete_run,
            complete_state,
            recording([(0.02, data_frame(complete_run, complete_state))]),
            "complete-at-start",
        ),
        obs.unsent: _stream(
            unsent_run,
            unsent_state,
            _closed([(0.02, data_frame(unsent_run, unsent_state))], 0.3),
            "unsent",
        ),
        obs.reconnect: ReconnectObservation(
            run_stream(first_rec, "reconnect/first"), exchange("reconnect/second", second_rec), "1"
        ),
        obs.auth: AuthObservation(
            {label: exchange(label, rec) for label, rec in auth.items()}, tokens
        ),
        obs.missing_runs: MissingObservation(
            foreign_id,
            missing_id,
            malformed_id,
            {label: exchange(label, rec) for label, rec in missing.items()},
            tokens,
        ),
        obs.cross_workspace: CrossObservation(
            run_stream(changed_rec, "cross/changed", cross_state),
            _stream(run_b, cross_state, other_rec, "cross/other"),
            (0.1, 0.6),
        ),
        obs.snapshot_failure: FailureObservation(
            _stream(fail_run, RunState(3, True, {}), failing_rec, "failure/failing"),
            _stream(ok_run, RunState(3, True, {}), other_fail_rec, "failure/other"),
            0.1,
        ),
        obs.lifecycle: LifecycleObservation(
            run_stream(lifecycle_rec, "lifecycle"), 1, 0.2, (0.65, 0, 5), (1.1, 0, 5)
        ),
        obs.fallback: FallbackObservation(
            _stream(fallback_run, fallback_state, fallback_stream, "fallback/stream"),
            exchange("fallback/get", fallback_get),
        ),
        obs.create_runs: CreateObservation(created, invalid, method),
        obs.control_access: control,
    }


def conformant_session(**overrides: Any) -> Session:
    """A session whose observations are conformant, except those given by scenario name."""
    sess = session()
    observations = conformant_observations()
    for scenario, result in observations.items():
        sess.preset(scenario, overrides.get(scenario.__name__, result))
    return sess


async def judge(check_id: str, **overrides: Any) -> Any:
    """The CheckResult of ``check_id`` on the conformant session with ``overrides``."""
    from conformance.checks import all_checks
    from conformance.runner import judge_check

    checks = {check.id: check for check in all_checks()}
    return await judge_check(conformant_session(**overrides), checks[check_id])


def idle_with(
    script: list[tuple[float, bytes]] | None = None, **kwargs: Any
) -> dict[str, RunStream]:
    """An ``idle`` override: the good idle script (or ``script``) with recording options."""
    rec = recording(script if script is not None else good_idle_script(), **kwargs)
    return {"idle": run_stream(rec)}
