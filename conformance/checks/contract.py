"""Payload contract checks (spec/15-versioning.md VER-4, spec/13-billing-profile.md BIL)."""

from __future__ import annotations

from conformance.checks._evidence import ms_since_start, parse_json
from conformance.checks._observations import (
    RunStream,
    changes,
    coalesce,
    complete_at_start,
    cross_workspace,
    fallback,
    idle,
    reconnect,
    touch,
    unsent,
)
from conformance.checks._registry import check
from conformance.contracts.catalog import UnknownContractError, get_contract
from conformance.contracts.rules import check_cross_field
from conformance.errors import SetupError
from conformance.model import Finding, Level, NotApplicable
from conformance.recorder import Recording
from conformance.session import Session


async def _streams(session: Session) -> list[tuple[RunStream, Recording, str]]:
    """Every stream recorded on a prepared run, with its label."""
    streams: list[RunStream] = [
        await session.observe(idle),
        (await session.observe(changes)).stream,
        (await session.observe(coalesce)).stream,
        (await session.observe(touch)).stream,
        await session.observe(complete_at_start),
        await session.observe(unsent),
        (await session.observe(fallback)).stream,
    ]
    cross = await session.observe(cross_workspace)
    streams += [cross.changed, cross.other]
    seen = await session.observe(reconnect)
    found = [(s, s.recording, s.exchange.label) for s in streams]
    found += [(seen.first, seen.first.recording, seen.first.exchange.label)]
    found += [(seen.first, seen.second.recording, seen.second.label)]
    return [f for f in found if f[1].status == 200]


def _payloads(session: Session, recording: Recording) -> list[tuple[float, object]]:
    out = []
    for timed in recording.events(session.profile.event):
        payload = parse_json(timed.item.data)
        if payload.ok:
            out.append((ms_since_start(recording, timed.at), payload.value))
    return out


def contract_ref(session: Session) -> tuple[str, int]:
    """The contract payloads are judged against: the declared one unless overridden (issue 5)."""
    if session.settings.contract_override is not None:
        return session.settings.contract_override
    return session.profile.contract_name, session.profile.contract_major


@check(
    "contract.payloads-valid",
    Level.MUST,
    ("VER-4", "BIL-1"),
    "every data payload is valid against the contract version the server declares",
    expects="no JSON Schema error on any data event payload",
)
async def payloads_valid(session: Session) -> Finding:
    name, major = contract_ref(session)
    try:
        contract = get_contract(name, major)
    except UnknownContractError as exc:
        raise SetupError(f"the harness has no contract {name}@{major}") from exc
    streams = await _streams(session)
    problems = []
    count = 0
    for _, recording, label in streams:
        for at, value in _payloads(session, recording):
            count += 1
            for error in contract.validate(value):
                problems.append(f"{label} @{at:.0f} ms: {error.pointer or '/'}: {error.message}")
    if not count:
        raise NotApplicable("no data payload observed (see snapshot.first-event)")
    return Finding(
        not problems,
        f"valid against {name}@{major}",
        "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else "")
        if problems
        else f"{count} payload(s) valid",
        observed={"payloads": count, "errors": len(problems)},
        transcripts=tuple(label for _, _, label in streams),
    )


@check(
    "contract.cross-field",
    Level.MUST,
    ("BIL-11", "BIL-12", "BIL-13", "BIL-14", "BIL-15"),
    "the cross-field rules hold on every data payload",
    expects="processed = sum of status counts, pending = max(expected - processed, 0), "
    "flags consistent",
)
async def cross_field(session: Session) -> Finding:
    streams = await _streams(session)
    problems = []
    count = 0
    for _, recording, label in streams:
        for at, value in _payloads(session, recording):
            count += 1
            for violation in check_cross_field(value):
                where = f"{label} @{at:.0f} ms: {violation.requirement} {violation.pointer}"
                problems.append(f"{where}: {violation.message}")
    if not count:
        raise NotApplicable("no data payload observed (see snapshot.first-event)")
    return Finding(
        not problems,
        "BIL-11..BIL-15 hold",
        "; ".join(problems[:5]) or f"{count} payload(s) consistent",
        observed={"payloads": count, "violations": len(problems)},
        transcripts=tuple(label for _, _, label in streams),
    )


@check(
    "contract.run-identity",
    Level.MUST,
    ("BIL-17",),
    "billingRunId and month of every payload are those of the run the stream was opened for",
    expects="billingRunId and month equal to the run's",
)
async def run_identity(session: Session) -> Finding:
    streams = await _streams(session)
    problems = []
    for stream, recording, label in streams:
        for at, value in _payloads(session, recording):
            if not isinstance(value, dict):
                continue
            if value.get("billingRunId") != stream.run.billing_run_id:
                problems.append(f"{label} @{at:.0f} ms: billingRunId {value.get('billingRunId')!r}")
            if value.get("month") != stream.run.month:
                problems.append(
                    f"{label} @{at:.0f} ms: month {value.get('month')!r}, run {stream.run.month!r}"
                )
    return Finding(
        not problems,
        "the run's own id and month",
        "; ".join(problems[:5]) or "every payload names its run",
        transcripts=tuple(label for _, _, label in streams),
    )
