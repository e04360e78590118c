"""Running checks: describe the server, run every selected check concurrently, judge, time.

Each check runs as its own task under one global deadline; checks that judge the same
observation share it through the session's memo, so the suite's wall time is about the longest
observation (the idle stream, about ``timeoutMs``). Blame is a type (conformance/errors.py):

- the judge's :class:`~conformance.model.Finding` gives PASS, FAIL, WARN or INFO by level;
- :class:`~conformance.model.NotApplicable` gives N/A (feature not declared, or a precondition
  that another check reports);
- :class:`~conformance.errors.SetupError` and :class:`~conformance.model.ObservationUnusable`
  give ERROR, as does the global deadline;
- :class:`~conformance.errors.RemoteProtocolError` gives FAIL (the server broke the wire protocol);
- anything else, including :class:`~conformance.errors.HarnessError`, is a HARNESS-ERROR.
"""

from __future__ import annotations

import asyncio
import re
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from conformance.control import ControlClient
from conformance.errors import RemoteProtocolError, SetupError
from conformance.model import (
    Check,
    CheckResult,
    NotApplicable,
    ObservationUnusable,
    Verdict,
    exit_code,
)
from conformance.session import BILLING_EVENT, Exchange, PlainResponse, Profile, Session, Settings

__all__ = ["ConfigurationError", "RunOutcome", "judge_check", "parse_profile", "run_checks"]

# The protocol majors this harness version can judge (VER-3).
KNOWN_PROTOCOL_MAJORS = frozenset({1})
_CONTRACT_REF = re.compile(r"^(?P<name>[a-z][a-z0-9.-]*)@(?P<major>[1-9][0-9]*)$")


class ConfigurationError(Exception):
    """The run cannot be judged as configured (exit 2): e.g. an unknown protocol major (VER-3)."""


@dataclass
class RunOutcome:
    """Everything the reports need about one run."""

    settings: Settings
    results: list[CheckResult]
    excluded: list[Check]
    started_at: datetime
    wall_s: float
    describe: Mapping[str, Any] | None = None
    profile: Profile | None = None
    features: frozenset[str] = frozenset()
    setup_error: str | None = None
    exchanges: dict[str, Exchange] = field(default_factory=dict)
    plain: dict[str, PlainResponse] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return exit_code(self.results, strict=self.settings.strict)

    def counts(self) -> dict[str, int]:
        counts = {verdict.value: 0 for verdict in Verdict}
        for result in self.results:
            counts[result.verdict.value] += 1
        return counts


def parse_profile(describe: Mapping[str, Any]) -> Profile:
    """The billing profile of ``describe`` (CTL-3), refusing what this harness cannot judge."""
    version = describe.get("protocolVersion")
    major = str(version).split(".", 1)[0]
    if not isinstance(version, str) or not major.isdigit():
        raise SetupError(f"describe declares no usable protocolVersion: {version!r}")
    if int(major) not in KNOWN_PROTOCOL_MAJORS:
        raise ConfigurationError(
            f"the server declares protocol {version}; this harness judges protocol major(s) "
            f"{sorted(KNOWN_PROTOCOL_MAJORS)} only (VER-3)"
        )
    profiles = describe.get("profiles")
    if not isinstance(profiles, dict):
        raise SetupError("describe has no profiles object")
    for name, entry in profiles.items():
        if isinstance(entry, dict) and entry.get("event") == BILLING_EVENT:
            return _profile(name, entry)
    raise ConfigurationError(
        f"the server declares no profile with event {BILLING_EVENT!r}, the only profile this "
        f"harness knows (declared: {sorted(profiles)})"
    )


def _profile(name: str, entry: Mapping[str, Any]) -> Profile:
    contract = _CONTRACT_REF.match(str(entry.get("contract", "")))
    if contract is None:
        raise SetupError(f"profile {name}: contract {entry.get('contract')!r} is not NAME@MAJOR")
    values = []
    for key in ("intervalMs", "heartbeatMs", "timeoutMs"):
        value = entry.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise SetupError(f"profile {name}: {key} {value!r} is not a positive integer")
        values.append(value)
    path = entry.get("path")
    if not isinstance(path, str) or "{billingRunId}" not in path:
        raise SetupError(f"profile {name}: path {path!r} lacks {{billingRunId}}")
    return Profile(
        name,
        path,
        str(entry["event"]),
        contract["name"],
        int(contract["major"]),
        values[0],
        values[1],
        values[2],
    )


def default_deadline_s(profile: Profile, settings: Settings) -> float:
    """A global deadline generous enough for a correct server on a loaded machine."""
    longest = settings.tolerance.latest(profile.timeout_ms) + settings.tolerance.of(
        profile.timeout_ms
    )
    return 2.0 * longest / 1000.0 + 10.0


async def run_checks(
    settings: Settings,
    checks: Sequence[Check],
    *,
    excluded: Sequence[Check] = (),
    deadline_s: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    transport: httpx.AsyncBaseTransport | None = None,
) -> RunOutcome:
    """Run ``checks`` against the server of ``settings``; never raises for the server's sake.

    Raises :class:`ConfigurationError` when the server declares what this harness cannot judge.
    """
    started_at = datetime.now(UTC)
    t0 = clock()
    outcome = RunOutcome(settings, [], list(excluded), started_at, 0.0)
    control_http = httpx.AsyncClient(timeout=httpx.Timeout(10.0), transport=transport)
    # Streams: no read timeout, the recorder's deadline is the only authority on silence.
    stream_http = httpx.AsyncClient(
        timeout=httpx.Timeout(connect=10.0, read=None, write=10.0, pool=10.0),
        transport=transport,
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=20),
    )
    try:
        control = ControlClient(
            control_http, settings.control_url, settings.control_secret, clock=clock
        )
        try:
            describe = await control.describe()
            profile = parse_profile(describe)
        except SetupError as exc:
            outcome.setup_error = str(exc)
            outcome.results = [CheckResult(c, Verdict.ERROR, reason=str(exc)) for c in checks]
            return outcome
        features = frozenset(f for f in describe.get("features", []) if isinstance(f, str))
        outcome.describe, outcome.profile, outcome.features = describe, profile, features
        budget = deadline_s if deadline_s is not None else default_deadline_s(profile, settings)
        session = Session(
            settings,
            control=control,
            client=stream_http,
            describe=describe,
            profile=profile,
            features=features,
            deadline=t0 + budget,
            clock=clock,
        )
        try:
            outcome.results = await _run_all(session, checks, budget, clock)
        finally:
            await session.close()
            outcome.exchanges = dict(session.exchanges)
            outcome.plain = dict(session.plain)
        return outcome
    finally:
        await asyncio.gather(control_http.aclose(), stream_http.aclose())
        outcome.wall_s = clock() - t0


async def _run_all(
    session: Session, checks: Sequence[Check], budget_s: float, clock: Callable[[], float]
) -> list[CheckResult]:
    limit = session.settings.jobs
    semaphore = asyncio.Semaphore(limit if limit > 0 else max(1, len(checks)))
    results: dict[str, CheckResult] = {}
    tasks: dict[asyncio.Task[CheckResult], Check] = {}
    for check in checks:
        if check.feature is not None and check.feature not in session.features:
            results[check.id] = CheckResult(
                check,
                Verdict.NOT_APPLICABLE,
                reason=f"the server does not declare the optional feature {check.feature!r}",
            )
            continue
        task = asyncio.create_task(_limited(session, check, semaphore, clock), name=check.id)
        tasks[task] = check
    if tasks:
        done, pending = await asyncio.wait(tasks, timeout=max(0.0, session.remaining()))
        for task in done:
            results[tasks[task].id] = task.result()
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        for task in pending:
            check = tasks[task]
            results[check.id] = CheckResult(
                check,
                Verdict.ERROR,
                reason=f"not finished within the global deadline of {budget_s:.1f} s",
            )
    return [results[check.id] for check in checks]


async def _limited(
    session: Session, check: Check, semaphore: asyncio.Semaphore, clock: Callable[[], float]
) -> CheckResult:
    async with semaphore:
        return await judge_check(session, check, clock=clock)


async def judge_check(
    session: Session, check: Check, *, clock: Callable[[], float] = time.monotonic
) -> CheckResult:
    """Run one check's judge and turn its finding, or the type of its error, into a verdict."""
    start = clock()

    def result(verdict: Verdict, reason: str = "") -> CheckResult:
        return CheckResult(check, verdict, reason=reason, duration_s=clock() - start)

    try:
        finding = await check.judge(session)
    except NotApplicable as exc:
        return result(Verdict.NOT_APPLICABLE, str(exc))
    except (SetupError, ObservationUnusable) as exc:
        return result(Verdict.ERROR, str(exc))
    except RemoteProtocolError as exc:
        return result(Verdict.FAIL, f"the server broke the wire protocol: {exc}")
    except Exception as exc:
        # Anything else is the harness's own bug, reported as such and never blamed on the server.
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
        return result(Verdict.HARNESS_ERROR, f"{type(exc).__name__}: {exc}{where}")
    return CheckResult(
        check,
        check.verdict_for(finding),
        expected=finding.expected,
        actual=finding.actual,
        observed=dict(finding.observed),
        transcripts=finding.transcripts,
        duration_s=clock() - start,
    )
