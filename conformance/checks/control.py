"""Control API checks (spec/14-control-api.md CTL-2 to CTL-4, TERM-2, VER-1)."""

from __future__ import annotations

from conformance.checks._evidence import parse_json
from conformance.checks._observations import control_access
from conformance.checks._registry import check
from conformance.contracts.catalog import get_contract
from conformance.model import Finding, Level, NotApplicable
from conformance.session import Session


@check(
    "control.describe",
    Level.MUST,
    ("CTL-3", "VER-1", "TERM-2"),
    "describe is valid, names protocol 1.x and orders the parameters",
    expects="valid against control.describe@1; positive integers "
    "intervalMs < heartbeatMs < timeoutMs",
)
async def describe(session: Session) -> Finding:
    problems = [
        f"{e.pointer or '/'}: {e.message}"
        for e in get_contract("control.describe", 1).validate(dict(session.describe))
    ]
    profile = session.profile
    values = (profile.interval_ms, profile.heartbeat_ms, profile.timeout_ms)
    if not all(v > 0 for v in values) or not values[0] < values[1] < values[2]:
        problems.append(f"parameters {values} are not 0 < intervalMs < heartbeatMs < timeoutMs")
    return Finding(
        not problems,
        "a valid describe",
        "; ".join(problems[:5])
        or f"protocol {session.describe.get('protocolVersion')}, parameters {values} ms",
        observed={"describe": dict(session.describe)},
    )


@check(
    "control.secret-required",
    Level.MUST,
    ("CTL-2",),
    "the control API answers 401 with a problem body without the secret or with a wrong one",
    expects="401 application/problem+json for both",
)
async def secret_required(session: Session) -> Finding:
    seen = await session.observe(control_access)
    problems = []
    for response in (seen.without_secret, seen.wrong_secret):
        essence = (response.header("content-type") or "").split(";", 1)[0].strip().lower()
        if response.status != 401:
            problems.append(f"{response.label}: status {response.status}")
        elif essence != "application/problem+json" or not parse_json(response.body).ok:
            problems.append(
                f"{response.label}: no problem body ({response.header('content-type')})"
            )
    return Finding(
        not problems,
        "401 problem bodies",
        "; ".join(problems) or "401 for both",
        transcripts=(seen.without_secret.label, seen.wrong_secret.label),
    )


@check(
    "control.undeclared-features",
    Level.MUST,
    ("CTL-4",),
    "optional control operations the server does not declare answer 404",
    expects="404 for every undeclared optional operation",
)
async def undeclared_features(session: Session) -> Finding:
    seen = await session.observe(control_access)
    if not seen.undeclared:
        raise NotApplicable("the server declares every optional feature")
    bad = [f"{name}: {r.status}" for name, r in seen.undeclared.items() if r.status != 404]
    return Finding(
        not bad,
        "404",
        "; ".join(bad) or f"404 for {sorted(seen.undeclared)}",
        transcripts=tuple(r.label for r in seen.undeclared.values()),
    )
