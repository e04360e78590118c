"""Workspace isolation checks (spec/09-isolation.md, ISO)."""

from __future__ import annotations

from conformance.checks._evidence import parse_json, require_stream
from conformance.checks._observations import cross_workspace, missing_runs
from conformance.checks._registry import check
from conformance.checks.errors import answer_differences
from conformance.model import Finding, Level, NotApplicable
from conformance.session import Session


@check(
    "isolation.foreign-like-missing",
    Level.MUST,
    ("ISO-3", "ERR-11"),
    "a run of another workspace and a run that does not exist are indistinguishable",
    expects="same status, header names (without Date), content type and body shape, the run id "
    "replaced by a placeholder",
)
async def foreign_like_missing(session: Session) -> Finding:
    seen = await session.observe(missing_runs)
    foreign = seen.exchanges["missing/foreign-stream"]
    missing = seen.exchanges["missing/missing-stream"]
    diff = answer_differences(foreign, seen.foreign_id, missing, seen.missing_id)
    return Finding(
        not diff,
        "indistinguishable answers",
        "; ".join(diff)[:400] or f"both {missing.recording.status}, same shape",
        transcripts=(foreign.label, missing.label),
    )


@check(
    "isolation.no-foreign-data",
    Level.MUST,
    ("ISO-1",),
    "a run of another workspace never yields its data, on the stream or the fallback",
    expects="no data event and no payload of the foreign run",
)
async def no_foreign_data(session: Session) -> Finding:
    seen = await session.observe(missing_runs)
    problems = []
    labels = ("missing/foreign-stream", "missing/foreign-fallback")
    for label in labels:
        recording = seen.exchanges[label].recording
        if recording.events(session.profile.event):
            problems.append(
                f"{label}: {len(recording.events(session.profile.event))} data event(s)"
            )
        if recording.status == 200 and not recording.events():
            payload = parse_json(recording.body_text())
            if payload.ok and isinstance(payload.value, dict) and "progress" in payload.value:
                problems.append(f"{label}: 200 with the foreign run's payload")
    return Finding(
        not problems,
        "nothing of the foreign run",
        "; ".join(problems) or "no foreign data",
        transcripts=labels,
    )


@check(
    "isolation.cross-workspace-changes",
    Level.MUST,
    ("ISO-4",),
    "changes in one workspace cause no event on another workspace's concurrent stream",
    expects="the other workspace's stream carries only its own initial snapshot and control events",
)
async def cross_workspace_changes(session: Session) -> Finding:
    seen = await session.observe(cross_workspace)
    other = seen.other.recording
    require_stream(other, "the other workspace's stream")
    data = other.events(session.profile.event)
    if not data:
        raise NotApplicable("the other stream sent no initial snapshot (see snapshot.first-event)")
    problems = []
    foreign_id = seen.changed.run.billing_run_id
    for timed in data:
        if foreign_id in timed.item.data:
            problems.append("a data event carrying the other workspace's run")
    if len(data) > 1:
        problems.append(f"{len(data) - 1} data event(s) after the initial snapshot")
    changed = len(seen.changed.recording.events(session.profile.event))
    return Finding(
        not problems,
        "only the initial snapshot",
        "; ".join(problems)
        or f"only the initial snapshot while the other run changed {len(seen.changes)} times",
        observed={"changesMade": len(seen.changes), "dataEventsOnChangedStream": changed},
        transcripts=(seen.other.exchange.label, seen.changed.exchange.label),
    )


@check(
    "isolation.fallback",
    Level.MUST,
    ("ISO-5", "BIL-4"),
    "the polling fallback answers 404 alike for a foreign and a nonexistent run",
    expects="404 for both, indistinguishable",
)
async def fallback_isolation(session: Session) -> Finding:
    seen = await session.observe(missing_runs)
    foreign = seen.exchanges["missing/foreign-fallback"]
    missing = seen.exchanges["missing/missing-fallback"]
    diff = answer_differences(foreign, seen.foreign_id, missing, seen.missing_id)
    if foreign.recording.status != 404:
        diff.insert(0, f"foreign run answered {foreign.recording.status}")
    if missing.recording.status != 404:
        diff.insert(0, f"nonexistent run answered {missing.recording.status}")
    return Finding(
        not diff,
        "404 for both, indistinguishable",
        "; ".join(diff)[:400] or "404 for both, same shape",
        transcripts=(foreign.label, missing.label),
    )
