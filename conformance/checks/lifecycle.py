"""Lifecycle checks (spec/10-lifecycle.md, LIFE), through the statistics feature (CTL-12)."""

from __future__ import annotations

from conformance.checks._observations import lifecycle
from conformance.checks._registry import check
from conformance.model import Finding, Level
from conformance.session import Session


@check(
    "lifecycle.polling-stops",
    Level.MUST,
    ("LIFE-1", "LIFE-2", "CTL-12"),
    "after the client disconnects, polling for its stream stops within intervalMs + tolerance",
    expects="openStreams 0 and no further snapshot fetch from intervalMs + tolerance after the "
    "disconnect on",
    feature="stream-statistics",
)
async def polling_stops(session: Session) -> Finding:
    seen = await session.observe(lifecycle)
    settled_at, settled_open, settled_fetches = seen.settled
    later_at, later_open, later_fetches = seen.later
    window_ms = (later_at - settled_at) * 1000.0
    problems = []
    if seen.open_before < 1:
        problems.append(f"openStreams {seen.open_before} while the stream was open")
    if settled_open != 0 or later_open != 0:
        problems.append(f"openStreams {settled_open}, then {later_open} after the disconnect")
    if later_fetches != settled_fetches:
        problems.append(
            f"{later_fetches - settled_fetches} snapshot fetch(es) within {window_ms:.0f} ms, "
            f"starting {(settled_at - seen.disconnected_at) * 1000:.0f} ms after the disconnect"
        )
    return Finding(
        not problems,
        "polling stopped",
        "; ".join(problems)
        or f"no fetch observed within {window_ms:.0f} ms (snapshotFetches stayed {later_fetches})",
        observed={
            "openBefore": seen.open_before,
            "fetchesSettled": settled_fetches,
            "fetchesLater": later_fetches,
            "windowMs": round(window_ms, 1),
        },
        transcripts=(seen.stream.exchange.label,),
    )
