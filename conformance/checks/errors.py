"""Error checks (spec/08-errors.md, ERR): problem bodies, authentication, missing runs, failures."""

from __future__ import annotations

import re
from collections.abc import Iterable

from conformance.checks._evidence import (
    ended_cleanly,
    excerpt,
    is_event_stream,
    ms_since_start,
    parse_json,
    watched_ms,
)
from conformance.checks._observations import (
    AuthObservation,
    MissingObservation,
    auth,
    create_runs,
    missing_runs,
    snapshot_failure,
)
from conformance.checks._registry import check
from conformance.contracts.catalog import get_contract
from conformance.model import Finding, Level, NotApplicable, ObservationUnusable
from conformance.recorder import EndKind
from conformance.session import Exchange, PlainResponse, Session

# -- authentication --------------------------------------------------------------------------


def answered(exchange: Exchange) -> Exchange:
    """``exchange`` if it got response headers; otherwise nothing can be judged (ERROR)."""
    recording = exchange.recording
    if recording.status is None:
        detail = recording.end_detail or (recording.end.value if recording.end else "no answer")
        raise ObservationUnusable(f"{exchange.label}: no response headers ({detail})")
    return exchange


def _scheme(challenge: str | None) -> str:
    return (challenge or "").strip().split(" ", 1)[0].split(",", 1)[0].lower()


def _refused(exchange: Exchange, status: int, *, bearer: bool) -> str | None:
    """Why ``exchange`` is not the refusal ERR-3 to ERR-8 ask for (None when it is)."""
    recording = answered(exchange).recording
    problems = []
    if recording.status != status:
        problems.append(f"status {recording.status}")
    if bearer:
        challenges = recording.header_values("www-authenticate")
        if not any(_scheme(c) == "bearer" for c in challenges):
            problems.append(f"WWW-Authenticate {challenges or '(absent)'}")
    if recording.status == 200 and recording.events():
        problems.append(f"a stream opened with {len(recording.events())} event(s)")
    return f"{exchange.label}: {', '.join(problems)}" if problems else None


def _refusals(
    exchanges: Iterable[Exchange], status: int, *, bearer: bool, expected: str
) -> Finding:
    chosen = list(exchanges)
    problems = [p for e in chosen if (p := _refused(e, status, bearer=bearer))]
    return Finding(
        not problems,
        expected,
        "; ".join(problems) or f"{len(chosen)} request(s) refused as expected",
        observed={e.label: e.recording.status for e in chosen},
        transcripts=tuple(e.label for e in chosen),
    )


async def _auth(session: Session) -> AuthObservation:
    return await session.observe(auth)


_BEARER_401 = "401 + WWW-Authenticate: Bearer"


@check(
    "errors.missing-credentials",
    Level.MUST,
    ("ERR-3", "ERR-8"),
    "a request without Authorization is answered 401 with WWW-Authenticate: Bearer",
    expects="401, WWW-Authenticate scheme Bearer, before any stream",
)
async def missing_credentials(session: Session) -> Finding:
    seen = await _auth(session)
    return _refusals(
        [seen.exchanges["auth/missing"]],
        401,
        bearer=True,
        expected=_BEARER_401,
    )


@check(
    "errors.malformed-credentials",
    Level.MUST,
    ("ERR-4", "ERR-8"),
    "Authorization not of the form `Bearer <token>` is answered 401 with WWW-Authenticate: Bearer",
    expects="401 + WWW-Authenticate: Bearer for Basic, a bare `Bearer` and an unknown scheme",
)
async def malformed_credentials(session: Session) -> Finding:
    seen = await _auth(session)
    chosen = [e for label, e in seen.exchanges.items() if label.startswith("auth/malformed-")]
    return _refusals(chosen, 401, bearer=True, expected=_BEARER_401)


@check(
    "errors.invalid-token",
    Level.MUST,
    ("ERR-5", "ERR-8"),
    "an unknown bearer token is answered 401 with WWW-Authenticate: Bearer",
    expects=_BEARER_401,
)
async def invalid_token(session: Session) -> Finding:
    seen = await _auth(session)
    return _refusals(
        [seen.exchanges["auth/invalid"]],
        401,
        bearer=True,
        expected=_BEARER_401,
    )


@check(
    "errors.invalid-token-hint",
    Level.SHOULD,
    ("ERR-5",),
    'the 401 for an unknown token carries error="invalid_token"',
    expects='WWW-Authenticate: Bearer ... error="invalid_token"',
)
async def invalid_token_hint(session: Session) -> Finding:
    exchange = (await _auth(session)).exchanges["auth/invalid"]
    challenges = exchange.recording.header_values("www-authenticate")
    ok = any(re.search(r'error\s*=\s*"?invalid_token"?', c) for c in challenges)
    return Finding(
        ok,
        'error="invalid_token"',
        "; ".join(challenges) or "(no WWW-Authenticate)",
        transcripts=(exchange.label,),
    )


@check(
    "errors.workspace-header",
    Level.MUST,
    ("ERR-6", "ERR-8"),
    "a missing or malformed X-Workspace-Id is answered 400",
    expects="400 for no X-Workspace-Id and for a value outside the workspace id pattern",
)
async def workspace_header(session: Session) -> Finding:
    seen = await _auth(session)
    chosen = [seen.exchanges["auth/no-workspace"], seen.exchanges["auth/bad-workspace"]]
    return _refusals(chosen, 400, bearer=False, expected="400")


@check(
    "errors.non-member",
    Level.MUST,
    ("ERR-7", "ERR-8"),
    "a principal naming a workspace it is not a member of (or that does not exist) gets 403",
    expects="403 for an outsider and for an unknown workspace",
)
async def non_member(session: Session) -> Finding:
    seen = await _auth(session)
    chosen = [seen.exchanges["auth/outsider"], seen.exchanges["auth/unknown-workspace"]]
    return _refusals(chosen, 403, bearer=False, expected="403")


# -- problem bodies --------------------------------------------------------------------------


def _problem_issues(
    status: int,
    content_type: str | None,
    body: str,
    tokens: Iterable[str],
    headers: Iterable[tuple[str, str]] = (),
) -> list[str]:
    issues = []
    essence = (content_type or "").split(";", 1)[0].strip().lower()
    if essence == "text/event-stream":
        issues.append("an error answered as text/event-stream")
    elif essence != "application/problem+json":
        issues.append(f"Content-Type {content_type or '(absent)'}")
    payload = parse_json(body)
    if not payload.ok:
        issues.append(f"body not JSON: {excerpt(body, 60)!r}")
    else:
        for error in get_contract("problem", 1).validate(payload.value):
            issues.append(f"{error.pointer or '/'}: {error.message}")
        if isinstance(payload.value, dict) and payload.value.get("status") != status:
            issues.append(f"status member {payload.value.get('status')!r} != {status}")
    header_text = "\n".join(value for _, value in headers)
    issues.extend(
        "the bearer token is echoed"
        for token in tokens
        if token and (token in body or token in header_text)
    )
    return issues


@check(
    "errors.problem-bodies",
    Level.MUST,
    ("ERR-1", "ERR-2"),
    "every 4xx/5xx of a stream, fallback or profile endpoint is a problem+json body",
    expects="Content-Type application/problem+json, valid against problem@1, status member equal "
    "to the HTTP status, never text/event-stream, no token echoed",
)
async def problem_bodies(session: Session) -> Finding:
    seen_auth = await _auth(session)
    seen_missing = await session.observe(missing_runs)
    created = await session.observe(create_runs)
    tokens = (*seen_auth.tokens, *seen_missing.tokens)
    problems: list[str] = []
    judged: list[str] = []
    for exchange in [*seen_auth.exchanges.values(), *seen_missing.exchanges.values()]:
        recording = exchange.recording
        if recording.status is None or recording.status < 400:
            continue
        judged.append(exchange.label)
        issues = _problem_issues(
            recording.status,
            recording.header("content-type"),
            recording.body_text(),
            tokens,
            recording.headers,
        )
        problems.extend(f"{exchange.label}: {issue}" for issue in issues)
    plain: list[PlainResponse] = [*created.invalid.values(), created.method]
    for response in plain:
        if response.status < 400:
            continue
        judged.append(response.label)
        issues = _problem_issues(
            response.status,
            response.header("content-type"),
            response.body,
            tokens,
            response.headers,
        )
        problems.extend(f"{response.label}: {issue}" for issue in issues)
    return Finding(
        not problems,
        "problem+json bodies",
        "; ".join(problems[:6]) or f"{len(judged)} error answer(s), all problem bodies",
        observed={"judged": len(judged)},
        transcripts=tuple(judged),
    )


# -- missing and malformed runs --------------------------------------------------------------


def _error_variant(exchange: Exchange, event_name: str) -> str | None:
    """ERR-10: a 200 whose first and only event is `error`, then a clean end."""
    recording = exchange.recording
    names = [t.item.name for t in recording.events()]
    if event_name in names:
        return f"{exchange.label}: a data event was sent"
    if names != ["error"]:
        return f"{exchange.label}: 200 with events {names} instead of exactly one error event"
    if not ended_cleanly(recording):
        return f"{exchange.label}: no clean end after the error event"
    return None


@check(
    "errors.missing-run-404",
    Level.SHOULD,
    ("ERR-9",),
    "a stream request for a run that does not exist is answered 404",
    expects="404 with a problem body (200 + error event is permitted by ERR-10, hence a WARN)",
)
async def missing_run_404(session: Session) -> Finding:
    seen = await session.observe(missing_runs)
    exchange = answered(seen.exchanges["missing/missing-stream"])
    return Finding(
        exchange.recording.status == 404,
        "404",
        str(exchange.recording.status),
        transcripts=(exchange.label,),
    )


@check(
    "errors.missing-run-no-data",
    Level.MUST,
    ("ERR-10", "ERR-11"),
    "a run that does not exist never gets a data event: 404, or 200 with one error event",
    expects="404 before the stream, or 200 + exactly one `error` event and a clean end",
)
async def missing_run_no_data(session: Session) -> Finding:
    seen = await session.observe(missing_runs)
    exchange = answered(seen.exchanges["missing/missing-stream"])
    recording = exchange.recording
    if recording.status == 404:
        return Finding(True, "404 or 200 + error", "404", transcripts=(exchange.label,))
    if recording.status == 200 and is_event_stream(recording):
        problem = _error_variant(exchange, session.profile.event)
        return Finding(
            problem is None,
            "404 or 200 + error",
            problem or "200 + one error event + clean end",
            transcripts=(exchange.label,),
        )
    return Finding(
        False, "404 or 200 + error", f"status {recording.status}", transcripts=(exchange.label,)
    )


def _shape(exchange: Exchange, resource_id: str) -> dict[str, object]:
    """What ISO-3 compares: status, header names (without Date), content type, body shape."""
    recording = answered(exchange).recording
    names = sorted({name for name, _ in recording.headers if name != "date"})
    body: object
    if is_event_stream(recording):
        body = [
            (t.item.name, _data_shape(t.item.data.replace(resource_id, "{id}")))
            for t in recording.events()
        ]
    else:
        text = recording.body_text().replace(resource_id, "{id}")
        payload = parse_json(text)
        body = payload.value if payload.ok else text
    return {
        "status": recording.status,
        "headers": names,
        "contentType": recording.header("content-type"),
        "body": body,
    }


def _data_shape(data: str) -> object:
    payload = parse_json(data)
    if not payload.ok:
        return "text"
    if isinstance(payload.value, dict):
        return sorted(payload.value)
    return type(payload.value).__name__


def answer_differences(
    exchange: Exchange, resource_id: str, reference: Exchange, reference_id: str
) -> list[str]:
    """How two answers differ in what ISO-3 compares, each with its own resource id replaced
    by a placeholder; empty when they are indistinguishable."""
    a, b = _shape(exchange, resource_id), _shape(reference, reference_id)
    return [f"{key}: {a[key]!r} vs {b[key]!r}" for key in a if a[key] != b[key]]


@check(
    "errors.malformed-run-id",
    Level.MUST,
    ("ERR-12",),
    "a malformed run id is answered exactly like a run that does not exist",
    expects="same status, header names, content type and body shape as for a nonexistent run",
)
async def malformed_run_id(session: Session) -> Finding:
    seen: MissingObservation = await session.observe(missing_runs)
    malformed = seen.exchanges["missing/malformed-stream"]
    missing = seen.exchanges["missing/missing-stream"]
    diff = answer_differences(malformed, seen.malformed_id, missing, seen.missing_id)
    return Finding(
        not diff,
        "the same answer as for a nonexistent run",
        "; ".join(diff)[:400] or f"both {missing.recording.status}",
        transcripts=(malformed.label, missing.label),
    )


# -- failures during the stream --------------------------------------------------------------


@check(
    "errors.snapshot-failure",
    Level.MUST,
    ("ERR-13",),
    "a failed snapshot fetch gives an error event and a clean end",
    expects="an `error` event within intervalMs + tolerance of the failure, then a clean end",
    feature="snapshot-failure",
)
async def snapshot_failure_check(session: Session) -> Finding:
    seen = await session.observe(snapshot_failure)
    if seen.failed_at is None:
        raise NotApplicable("no initial snapshot came, so no fetch was made to fail")
    exchange = seen.failing.exchange
    recording = exchange.recording
    limit = session.tolerance.latest(session.profile.interval_ms)
    failed = exchange.relative(seen.failed_at)
    # The error event may overtake the control response (CTL-13): look from the request.
    since = exchange.relative(seen.failure_sent_at if seen.failure_sent_at else seen.failed_at)
    errors = [t for t in recording.events("error") if t.at >= since]
    if not errors:
        return Finding(
            False,
            f"error event within {limit:.0f} ms",
            f"none observed within "
            f"{max(0.0, watched_ms(recording) - ms_since_start(recording, since)):.0f} ms "
            f"after the failure ({recording.end.value if recording.end else 'open'})",
            transcripts=(exchange.label,),
        )
    latency = max(0.0, round((errors[0].at - failed) * 1000.0, 1))
    problems = []
    if latency > limit:
        problems.append(f"error event {latency:.0f} ms after the failure")
    after = [t.item.name for t in recording.events() if t.at > errors[0].at]
    if after:
        problems.append(f"events after the error: {after}")
    if not ended_cleanly(recording) or recording.end_at is None:
        problems.append(f"no clean end ({recording.end.value if recording.end else 'still open'})")
    elif (recording.end_at - errors[0].at) * 1000.0 > session.tolerance.of(0):
        problems.append("the end came later than the tolerance after the error event")
    return Finding(
        not problems,
        f"error event within {limit:.0f} ms, then a clean end",
        "; ".join(problems) or f"error event {latency:.0f} ms after the failure, clean end",
        observed={"errorAfterFailureMs": latency},
        transcripts=(exchange.label,),
    )


async def _error_events(session: Session) -> list[tuple[str, str, str]]:
    """(label, expected code, data) of every error event observed."""
    found = []
    seen = await session.observe(missing_runs)
    for label in ("missing/missing-stream", "missing/foreign-stream", "missing/malformed-stream"):
        for timed in seen.exchanges[label].recording.events("error"):
            found.append((label, "not_found", timed.item.data))
    if "snapshot-failure" in session.features:
        failure = await session.observe(snapshot_failure)
        for timed in failure.failing.recording.events("error"):
            found.append((failure.failing.exchange.label, "snapshot_failed", timed.item.data))
    return found


@check(
    "errors.error-payload",
    Level.SHOULD,
    ("ERR-14", "ERR-15"),
    'error event data is {"code", "message"} with a stable code (plain text is permitted)',
    expects="valid against sse.error@1 with code not_found (ERR-10) or snapshot_failed (ERR-13)",
)
async def error_payload(session: Session) -> Finding:
    found = await _error_events(session)
    if not found:
        raise NotApplicable(
            "no error event observed (404 answers, and no snapshot-failure feature)"
        )
    contract = get_contract("sse.error", 1)
    problems = []
    for label, code, data in found:
        payload = parse_json(data)
        if not payload.ok:
            problems.append(f"{label}: plain text {excerpt(data, 60)!r}")
            continue
        issues = [f"{e.pointer or '/'}: {e.message}" for e in contract.validate(payload.value)]
        if isinstance(payload.value, dict) and payload.value.get("code") != code:
            issues.append(f"code {payload.value.get('code')!r}, expected {code!r}")
        problems.extend(f"{label}: {issue}" for issue in issues)
    return Finding(
        not problems,
        "sse.error@1 objects with the documented codes",
        "; ".join(problems[:5]) or f"{len(found)} error event(s) as recommended",
        transcripts=tuple(sorted({label for label, _, _ in found})),
    )


_INTERNAL = (
    re.compile(r"Traceback \(most recent call last\)"),
    re.compile(r'File "[^"]+", line \d+'),
    re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b.+\b(FROM|INTO|SET|WHERE)\b"),
    re.compile(r"\bsqlite3?\.\w+"),
    re.compile(r"(?:/[\w.-]+){2,}\.(?:py|js|ts|go|java|rb|db)\b"),
)


@check(
    "errors.no-internal-details",
    Level.MUST,
    ("ERR-16", "ERR-2"),
    "error events and problem bodies carry no stack trace, SQL, file path or credential",
    expects="no traceback, SQL statement, source path or bearer token in any error answer",
)
async def no_internal_details(session: Session) -> Finding:
    texts: list[tuple[str, str]] = [
        (label, data) for label, _, data in await _error_events(session)
    ]
    seen_auth = await _auth(session)
    seen_missing = await session.observe(missing_runs)
    for exchange in [*seen_auth.exchanges.values(), *seen_missing.exchanges.values()]:
        if exchange.recording.status is not None and exchange.recording.status >= 400:
            texts.append((exchange.label, exchange.recording.body_text()))
    tokens = [t for t in (*seen_auth.tokens, *seen_missing.tokens) if t]
    problems = []
    for label, text in texts:
        for pattern in _INTERNAL:
            match = pattern.search(text)
            if match:
                problems.append(f"{label}: {excerpt(match.group(0), 60)!r}")
        if any(token in text for token in tokens):
            problems.append(f"{label}: a bearer token")
    return Finding(
        not problems,
        "no internal details",
        "; ".join(problems[:5]) or f"{len(texts)} error answer(s) clean",
        transcripts=tuple(sorted({label for label, _ in texts})),
    )


@check(
    "errors.failure-contained",
    Level.MUST,
    ("ERR-17",),
    "a failing fetch of one run does not end or disturb another run's stream",
    expects="the other run's stream stays open and keeps sending after the failure",
    feature="snapshot-failure",
)
async def failure_contained(session: Session) -> Finding:
    seen = await session.observe(snapshot_failure)
    if seen.failed_at is None:
        raise NotApplicable("no initial snapshot came, so no fetch was made to fail")
    other = seen.other.exchange
    recording = other.recording
    failed = other.relative(seen.failure_sent_at if seen.failure_sent_at else seen.failed_at)
    after = [t.item.name for t in recording.events() if t.at > failed]
    arrivals = [at for at in recording.arrivals if at > failed]
    problems = []
    if recording.status != 200:
        problems.append(f"status {recording.status}")
    names = [t.item.name for t in recording.events()]
    planned = recording.end is EndKind.CLEAN_EOF and names[-1:] == ["timeout"]
    if recording.end in (EndKind.CLEAN_EOF, EndKind.RESET) and not planned:
        problems.append(f"the other stream ended ({recording.end.value if recording.end else ''})")
    if "error" in after:
        problems.append("the other stream got an error event")
    watched = (recording.end_at or failed) - failed
    return Finding(
        not problems,
        "the other stream stays open without an error",
        "; ".join(problems)
        or f"open for {watched * 1000:.0f} ms after the failure; events after it: {after}",
        observed={"eventsAfter": len(after), "arrivalsAfter": len(arrivals)},
        transcripts=(other.label, seen.failing.exchange.label),
    )
