"""Billing profile endpoint checks (spec/13-billing-profile.md, BIL-4 to BIL-8)."""

from __future__ import annotations

import re

from conformance.checks._billing import change_key
from conformance.checks._evidence import excerpt, parse_json, require_stream
from conformance.checks._observations import INVALID_CREATE_BODIES, create_runs, fallback, idle
from conformance.checks._registry import check
from conformance.contracts.catalog import get_contract
from conformance.model import Finding, Level, NotApplicable
from conformance.session import Session

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@check(
    "profile.fallback-same-state",
    Level.MUST,
    ("BIL-5", "BIL-4"),
    "the polling fallback answers 200 JSON with the stream's latest state",
    expects="200, application/json, a payload whose change key equals the stream's latest",
)
async def fallback_same_state(session: Session) -> Finding:
    seen = await session.observe(fallback)
    stream = seen.stream.recording
    require_stream(stream, "the fallback scenario's stream")
    data = stream.events(session.profile.event)
    if not data:
        raise NotApplicable("the stream sent no initial snapshot (see snapshot.first-event)")
    answer = seen.fallback.recording
    labels = (seen.stream.exchange.label, seen.fallback.label)
    content_type = (answer.header("content-type") or "").split(";", 1)[0].strip().lower()
    problems = []
    if answer.status != 200:
        problems.append(f"status {answer.status}")
    if content_type != "application/json":
        problems.append(f"Content-Type {answer.header('content-type') or '(absent)'}")
    payload = parse_json(answer.body_text())
    if not payload.ok:
        problems.append(f"body not JSON: {excerpt(answer.body_text(), 60)!r}")
    elif change_key(payload.value) != change_key(parse_json(data[-1].item.data).value):
        problems.append("a state different from the stream's latest data event")
    return Finding(
        not problems,
        "200 application/json with the stream's state",
        "; ".join(problems) or "the same state as the stream",
        transcripts=labels,
    )


@check(
    "profile.create-run",
    Level.MUST,
    ("BIL-6",),
    "POST /classes/billing/runs creates a run and answers 201 {billingRunId}",
    expects="201 with a body valid against billing.create-run-response@1",
)
async def create_run(session: Session) -> Finding:
    created = (await session.observe(create_runs)).created
    problems = []
    if created.status != 201:
        problems.append(f"status {created.status}")
    payload = parse_json(created.body)
    if not payload.ok:
        problems.append(f"body not JSON: {excerpt(created.body, 60)!r}")
    else:
        contract = get_contract("billing.create-run-response", 1)
        problems += [f"{e.pointer or '/'}: {e.message}" for e in contract.validate(payload.value)]
    return Finding(
        not problems,
        "201 {billingRunId}",
        "; ".join(problems) or f"201 {excerpt(created.body, 80)}",
        transcripts=(created.label,),
    )


@check(
    "profile.create-run-invalid",
    Level.MUST,
    ("BIL-7",),
    "a creation body that is not JSON is answered 400, one off contract 422, with problem bodies",
    expects="400 for non-JSON; 422 for a bad month, a negative count, an unknown member",
)
async def create_run_invalid(session: Session) -> Finding:
    invalid = (await session.observe(create_runs)).invalid
    problems = []
    for label, response in invalid.items():
        expected = INVALID_CREATE_BODIES[label][1]
        content_type = (response.header("content-type") or "").split(";", 1)[0].strip().lower()
        if response.status != expected:
            problems.append(f"{label}: {response.status}, expected {expected}")
        elif content_type != "application/problem+json":
            problems.append(f"{label}: Content-Type {response.header('content-type')}")
    return Finding(
        not problems,
        "400 / 422 with problem bodies",
        "; ".join(problems) or "all refused as specified",
        observed={label: r.status for label, r in invalid.items()},
        transcripts=tuple(invalid),
    )


@check(
    "profile.run-id-format",
    Level.SHOULD,
    ("BIL-8",),
    "billingRunId values are opaque strings matching ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
    expects="every run id the server made matches the pattern",
)
async def run_id_format(session: Session) -> Finding:
    ids = [(await session.observe(idle)).run.billing_run_id]
    created = (await session.observe(create_runs)).created
    payload = parse_json(created.body)
    if (
        payload.ok
        and isinstance(payload.value, dict)
        and isinstance(payload.value.get("billingRunId"), str)
    ):
        ids.append(payload.value["billingRunId"])
    bad = [run_id for run_id in ids if not _RUN_ID.match(run_id)]
    return Finding(
        not bad,
        "ids matching the pattern",
        f"{bad}" if bad else f"{len(ids)} id(s) match",
        transcripts=("idle", created.label),
    )
