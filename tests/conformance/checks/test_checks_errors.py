"""Error, isolation, lifecycle, contract, profile and control checks: pass and fail."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from synthetic_streams import (
    IDLE_STATE,
    RUN,
    body_recording,
    conformant_observations,
    data_frame,
    exchange,
    frame,
    good_idle_script,
    heartbeat,
    idle_with,
    judge,
    payload,
    problem,
    problem_headers,
    recording,
)

from conformance.checks import _observations as obs
from conformance.model import Verdict
from conformance.recorder import EndKind, Recording
from conformance.session import PlainResponse

PASS, FAIL, WARN = Verdict.PASS, Verdict.FAIL, Verdict.WARN


def auth_with(label: str, rec: Recording) -> dict[str, Any]:
    base = conformant_observations()[obs.auth]
    return {
        "auth": dataclasses.replace(base, exchanges={**base.exchanges, label: exchange(label, rec)})
    }


def missing_with(label: str, rec: Recording) -> dict[str, Any]:
    base = conformant_observations()[obs.missing_runs]
    return {
        "missing_runs": dataclasses.replace(
            base, exchanges={**base.exchanges, label: exchange(label, rec)}
        )
    }


OPEN_STREAM = recording(
    [(0.02, data_frame(RUN, IDLE_STATE))], end=EndKind.CLOSED_BY_HARNESS, end_at=0.5
)
NO_CHALLENGE = body_recording(401, problem(401), problem_headers())

AUTH_CASES = [
    (
        "errors.problem-bodies",
        "auth/outsider",
        body_recording(403, problem(403), problem_headers([("x-debug", "token=token-two")])),
        FAIL,
    ),
    ("errors.missing-credentials", "auth/missing", OPEN_STREAM, FAIL),
    ("errors.missing-credentials", "auth/missing", NO_CHALLENGE, FAIL),
    ("errors.malformed-credentials", "auth/malformed-2", NO_CHALLENGE, FAIL),
    ("errors.malformed-credentials", "auth/malformed-1", OPEN_STREAM, FAIL),
    ("errors.invalid-token", "auth/invalid", OPEN_STREAM, FAIL),
    (
        "errors.invalid-token-hint",
        "auth/invalid",
        body_recording(401, problem(401), problem_headers([("www-authenticate", "Bearer")])),
        WARN,
    ),
    (
        "errors.workspace-header",
        "auth/no-workspace",
        body_recording(403, problem(403), problem_headers()),
        FAIL,
    ),
    ("errors.workspace-header", "auth/bad-workspace", OPEN_STREAM, FAIL),
    ("errors.non-member", "auth/outsider", OPEN_STREAM, FAIL),
    (
        "errors.non-member",
        "auth/unknown-workspace",
        body_recording(404, problem(404), problem_headers()),
        FAIL,
    ),
    (
        "errors.problem-bodies",
        "auth/outsider",
        body_recording(403, "forbidden", [("content-type", "text/plain")]),
        FAIL,
    ),
    (
        "errors.problem-bodies",
        "auth/outsider",
        body_recording(403, problem(400), problem_headers()),
        FAIL,
    ),
    (
        "errors.problem-bodies",
        "auth/outsider",
        body_recording(403, json.dumps({"status": 403}), problem_headers()),
        FAIL,
    ),
    (
        "errors.problem-bodies",
        "auth/outsider",
        body_recording(403, problem(403, detail="token-two"), problem_headers()),
        FAIL,
    ),
    (
        "errors.problem-bodies",
        "auth/outsider",
        body_recording(403, problem(403), [("content-type", "text/event-stream")]),
        FAIL,
    ),
    (
        "errors.no-internal-details",
        "auth/outsider",
        body_recording(
            403, problem(403, detail='File "/srv/app/db.py", line 3'), problem_headers()
        ),
        FAIL,
    ),
    (
        "errors.no-internal-details",
        "auth/outsider",
        body_recording(
            403, problem(403, detail="SELECT * FROM runs WHERE id=1"), problem_headers()
        ),
        FAIL,
    ),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("check", "label", "rec", "verdict"), AUTH_CASES)
async def test_authentication(check: str, label: str, rec: Recording, verdict: Verdict) -> None:
    result = await judge(check, **auth_with(label, rec))
    assert result.verdict is verdict, result


@pytest.mark.asyncio
async def test_no_answer_is_an_error_not_a_failure() -> None:
    silent = recording([], status=None, end=EndKind.DEADLINE, end_at=5.0)
    assert (
        await judge("errors.missing-credentials", **auth_with("auth/missing", silent))
    ).verdict is Verdict.ERROR


def error_stream(
    data: str, *, events: list[bytes] | None = None, end: EndKind = EndKind.CLEAN_EOF
) -> Recording:
    chunks = events if events is not None else [frame("error", data)]
    return recording([(0.02 + 0.01 * n, chunk) for n, chunk in enumerate(chunks)], end=end)


NOT_FOUND_EVENT = json.dumps({"code": "not_found", "message": "no such run"})


@pytest.mark.asyncio
async def test_missing_run_as_200_with_an_error_event_is_permitted() -> None:
    """ERR-10: 404 is recommended, 200 + one error event + clean end permitted (a WARN)."""
    override: dict[str, Any] = {}
    base = conformant_observations()[obs.missing_runs]
    exchanges = dict(base.exchanges)
    for label in ("missing/foreign-stream", "missing/missing-stream", "missing/malformed-stream"):
        exchanges[label] = exchange(label, error_stream(NOT_FOUND_EVENT))
    override["missing_runs"] = dataclasses.replace(base, exchanges=exchanges)
    assert (await judge("errors.missing-run-404", **override)).verdict is WARN
    for check in (
        "errors.missing-run-no-data",
        "errors.malformed-run-id",
        "isolation.foreign-like-missing",
        "errors.error-payload",
    ):
        assert (await judge(check, **override)).verdict is PASS, check


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "rec",
    [
        error_stream("", events=[data_frame(RUN, IDLE_STATE)], end=EndKind.CLOSED_BY_HARNESS),
        error_stream("", events=[frame("error", NOT_FOUND_EVENT), heartbeat()]),
        error_stream(NOT_FOUND_EVENT, end=EndKind.CLOSED_BY_HARNESS),
        body_recording(500, problem(500), problem_headers()),
    ],
    ids=["data-event", "more-events", "no-end", "500"],
)
async def test_missing_run_never_gets_data_or_anything_but_one_error(rec: Recording) -> None:
    result = await judge(
        "errors.missing-run-no-data", **missing_with("missing/missing-stream", rec)
    )
    assert result.verdict is FAIL, result


@pytest.mark.asyncio
async def test_malformed_id_answered_differently_fails() -> None:
    rec = body_recording(400, problem(400), problem_headers())
    assert (
        await judge("errors.malformed-run-id", **missing_with("missing/malformed-stream", rec))
    ).verdict is FAIL


@pytest.mark.asyncio
async def test_foreign_run_distinguishable_or_visible_fails() -> None:
    forbidden = body_recording(403, problem(403), problem_headers([("content-length", "40")]))
    assert (
        await judge(
            "isolation.foreign-like-missing", **missing_with("missing/foreign-stream", forbidden)
        )
    ).verdict is FAIL
    extra_header = body_recording(404, problem(404), problem_headers([("x-owner", "other")]))
    assert (
        await judge(
            "isolation.foreign-like-missing", **missing_with("missing/foreign-stream", extra_header)
        )
    ).verdict is FAIL
    visible = recording(
        [(0.02, data_frame(RUN, IDLE_STATE))], end=EndKind.CLOSED_BY_HARNESS, end_at=0.5
    )
    assert (
        await judge("isolation.no-foreign-data", **missing_with("missing/foreign-stream", visible))
    ).verdict is FAIL
    body = json.dumps(payload(RUN, IDLE_STATE))
    shown = body_recording(200, body, [("content-type", "application/json")])
    assert (
        await judge("isolation.no-foreign-data", **missing_with("missing/foreign-fallback", shown))
    ).verdict is FAIL
    assert (
        await judge("isolation.fallback", **missing_with("missing/foreign-fallback", shown))
    ).verdict is FAIL


@pytest.mark.asyncio
async def test_a_change_leaking_into_another_workspace_fails() -> None:
    base = conformant_observations()[obs.cross_workspace]
    changed_run = base.changed.run
    leaked = recording(
        [
            (0.02, data_frame(base.other.run, base.other.state)),
            (0.3, data_frame(changed_run, base.changed.state)),
        ],
        end=EndKind.CLOSED_BY_HARNESS,
        end_at=1.2,
    )
    other = dataclasses.replace(
        base.other, exchange=dataclasses.replace(base.other.exchange, recording=leaked)
    )
    result = await judge(
        "isolation.cross-workspace-changes", cross_workspace=dataclasses.replace(base, other=other)
    )
    assert result.verdict is FAIL


def failure_with(
    failing: Recording | None = None, other: Recording | None = None
) -> dict[str, Any]:
    base = conformant_observations()[obs.snapshot_failure]
    result = base
    if failing is not None:
        result = dataclasses.replace(
            result,
            failing=dataclasses.replace(
                base.failing, exchange=dataclasses.replace(base.failing.exchange, recording=failing)
            ),
        )
    if other is not None:
        result = dataclasses.replace(
            result,
            other=dataclasses.replace(
                base.other, exchange=dataclasses.replace(base.other.exchange, recording=other)
            ),
        )
    return {"snapshot_failure": result}


@pytest.mark.asyncio
async def test_snapshot_failure_checks() -> None:
    start = (0.02, data_frame(RUN, IDLE_STATE))
    silent = recording([start, (1.01, heartbeat())], end=EndKind.CLOSED_BY_HARNESS, end_at=1.2)
    assert (await judge("errors.snapshot-failure", **failure_with(failing=silent))).verdict is FAIL
    late = recording([start, (0.9, frame("error", '{"code": "snapshot_failed", "message": "x"}'))])
    assert (await judge("errors.snapshot-failure", **failure_with(failing=late))).verdict is FAIL
    plain = recording([start, (0.3, frame("error", "the database is locked"))])
    assert (await judge("errors.snapshot-failure", **failure_with(failing=plain))).verdict is PASS
    assert (await judge("errors.error-payload", **failure_with(failing=plain))).verdict is WARN
    leaky = recording([start, (0.3, frame("error", "Traceback (most recent call last): boom"))])
    assert (
        await judge("errors.no-internal-details", **failure_with(failing=leaky))
    ).verdict is FAIL
    ended = recording([start, (0.3, frame("error", "x"))])
    assert (await judge("errors.failure-contained", **failure_with(other=ended))).verdict is FAIL
    timed_out = recording([start, (1.01, heartbeat()), (3.0, frame("timeout", "{}"))])
    assert (
        await judge("errors.failure-contained", **failure_with(other=timed_out))
    ).verdict is PASS
    quiet = recording(
        [start, (0.5, b": still here\n\n")], end=EndKind.CLOSED_BY_HARNESS, end_at=1.6
    )
    assert (await judge("errors.failure-contained", **failure_with(other=quiet))).verdict is PASS
    early = recording(
        [start, (0.08, frame("error", '{"code": "snapshot_failed", "message": "x"}'))]
    )
    raced = dataclasses.replace(
        failure_with(failing=early)["snapshot_failure"], failure_sent_at=0.05
    )
    assert (await judge("errors.snapshot-failure", snapshot_failure=raced)).verdict is PASS
    never = {
        "snapshot_failure": dataclasses.replace(failure_with()["snapshot_failure"], failed_at=None)
    }
    assert (await judge("errors.snapshot-failure", **never)).verdict is Verdict.NOT_APPLICABLE
    assert (await judge("errors.failure-contained", **never)).verdict is Verdict.NOT_APPLICABLE


@pytest.mark.asyncio
async def test_polling_that_goes_on_after_the_disconnect_fails() -> None:
    base = conformant_observations()[obs.lifecycle]
    assert (
        await judge(
            "lifecycle.polling-stops", lifecycle=dataclasses.replace(base, later=(1.1, 0, 7))
        )
    ).verdict is FAIL
    assert (
        await judge(
            "lifecycle.polling-stops", lifecycle=dataclasses.replace(base, settled=(0.65, 1, 5))
        )
    ).verdict is FAIL


CONTRACT_CASES = [
    ("contract.payloads-valid", {"generatedAt": None}, FAIL),
    ("contract.payloads-valid", {"extra": 1}, FAIL),
    ("contract.cross-field", {"progress.processedInvoiceCount": 99}, FAIL),
    ("contract.run-identity", {"billingRunId": "someone-else"}, FAIL),
    ("contract.run-identity", {"month": "2025-12"}, FAIL),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("check", "change", "verdict"), CONTRACT_CASES)
async def test_contract(check: str, change: dict[str, Any], verdict: Verdict) -> None:
    body = payload(RUN, IDLE_STATE)
    for key, value in change.items():
        target = body
        *path, last = key.split(".")
        for part in path:
            target = target[part]
        if value is None:
            del target[last]
        else:
            target[last] = value
    script = [
        (0.02, frame("billing.invoice-send-progress", json.dumps(body))),
        *good_idle_script()[1:],
    ]
    result = await judge(check, **idle_with(script))
    assert result.verdict is verdict, result


def plain(label: str, status: int, body: str, headers: list[tuple[str, str]]) -> PlainResponse:
    return PlainResponse(label, "POST", "/classes/billing/runs", "", status, headers, body)


@pytest.mark.asyncio
async def test_profile_endpoints() -> None:
    base = conformant_observations()
    created = base[obs.create_runs]
    broken = dataclasses.replace(
        created, created=plain("create/valid", 200, "{}", [("content-type", "application/json")])
    )
    assert (await judge("profile.create-run", create_runs=broken)).verdict is FAIL
    lax = dict(created.invalid)
    lax["create/bad-month"] = plain("create/bad-month", 201, '{"billingRunId": "x"}', [])
    assert (
        await judge(
            "profile.create-run-invalid", create_runs=dataclasses.replace(created, invalid=lax)
        )
    ).verdict is FAIL
    odd = dataclasses.replace(
        created, created=plain("create/valid", 201, '{"billingRunId": "has space"}', [])
    )
    assert (await judge("profile.run-id-format", create_runs=odd)).verdict is WARN
    no_405 = dataclasses.replace(
        created, method=plain("create/post-on-stream", 404, problem(404), problem_headers())
    )
    assert (await judge("transport.method-not-allowed", create_runs=no_405)).verdict is WARN

    fallback = base[obs.fallback]
    stale_state = dataclasses.replace(fallback.stream.state, status_counts={"QUEUED": 4})
    stale = body_recording(
        200,
        json.dumps(payload(fallback.stream.run, stale_state)),
        [("content-type", "application/json")],
    )
    override = dataclasses.replace(
        fallback, fallback=dataclasses.replace(fallback.fallback, recording=stale)
    )
    assert (await judge("profile.fallback-same-state", fallback=override)).verdict is FAIL


@pytest.mark.asyncio
async def test_control_api_checks() -> None:
    from synthetic_streams import DESCRIBE, conformant_session

    from conformance.checks import all_checks
    from conformance.runner import judge_check

    checks = {c.id: c for c in all_checks()}
    session = conformant_session()
    session.describe = {**DESCRIBE, "extra": True}
    assert (await judge_check(session, checks["control.describe"])).verdict is FAIL

    base = conformant_observations()[obs.control_access]
    open_api = dataclasses.replace(
        base, without_secret=plain("control/without-secret", 200, "{}", [])
    )
    assert (await judge("control.secret-required", control_access=open_api)).verdict is FAIL
    undeclared = dataclasses.replace(
        base,
        undeclared={
            "stream-statistics": plain("control/undeclared-stream-statistics", 200, "{}", [])
        },
    )
    assert (await judge("control.undeclared-features", control_access=undeclared)).verdict is FAIL
