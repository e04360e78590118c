"""Transport checks (spec/02-transport.md, TR): status and headers of the stream response."""

from __future__ import annotations

from conformance.checks._evidence import ms_since_start
from conformance.checks._observations import create_runs, idle
from conformance.checks._registry import check
from conformance.model import Finding, Level, NotApplicable, ObservationUnusable
from conformance.recorder import Recording
from conformance.session import Session

IDLE = ("idle",)


async def _answered(session: Session) -> Recording:
    recording = (await session.observe(idle)).recording
    if recording.status is None:
        detail = recording.end_detail or "no answer"
        raise ObservationUnusable(f"the stream request got no response headers ({detail})")
    return recording


def _directives(value: str | None) -> set[str]:
    if value is None:
        return set()
    return {part.split("=", 1)[0].strip().lower() for part in value.split(",") if part.strip()}


def _all(recording: Recording, name: str) -> str | None:
    values = recording.header_values(name)
    return ", ".join(values) if values else None


@check(
    "transport.status-200",
    Level.MUST,
    ("TR-5",),
    "a member's stream request for its own run answers 200",
    expects="status 200",
)
async def status_200(session: Session) -> Finding:
    recording = await _answered(session)
    return Finding(recording.status == 200, "200", str(recording.status), transcripts=IDLE)


@check(
    "transport.content-type",
    Level.MUST,
    ("TR-6",),
    "Content-Type essence is text/event-stream, charset utf-8 if present",
    expects="Content-Type: text/event-stream (optionally ; charset=utf-8)",
)
async def content_type(session: Session) -> Finding:
    recording = await _answered(session)
    value = recording.header("content-type")
    ok = False
    if value is not None:
        essence, *params = (part.strip() for part in value.split(";"))
        charsets = [
            p.split("=", 1)[1].strip().strip('"')
            for p in params
            if p.lower().startswith("charset=")
        ]
        ok = essence.lower() == "text/event-stream" and all(c.lower() == "utf-8" for c in charsets)
    return Finding(
        ok, "text/event-stream[; charset=utf-8]", value or "(no Content-Type)", transcripts=IDLE
    )


@check(
    "transport.cache-control",
    Level.MUST,
    ("TR-7",),
    "Cache-Control forbids caching (no-store or no-cache)",
    expects="Cache-Control containing no-store or no-cache",
)
async def cache_control(session: Session) -> Finding:
    recording = await _answered(session)
    value = _all(recording, "cache-control")
    ok = bool(_directives(value) & {"no-store", "no-cache"})
    return Finding(ok, "no-store or no-cache", value or "(no Cache-Control)", transcripts=IDLE)


@check(
    "transport.cache-control-recommended",
    Level.SHOULD,
    ("TR-8",),
    "Cache-Control carries no-store and no-transform",
    expects="Cache-Control containing no-store and no-transform",
)
async def cache_control_recommended(session: Session) -> Finding:
    recording = await _answered(session)
    value = _all(recording, "cache-control")
    ok = {"no-store", "no-transform"} <= _directives(value)
    return Finding(ok, "no-store, no-transform", value or "(no Cache-Control)", transcripts=IDLE)


@check(
    "transport.x-accel-buffering",
    Level.SHOULD,
    ("TR-9",),
    "X-Accel-Buffering: no switches proxy buffering off",
    expects="X-Accel-Buffering: no",
)
async def x_accel_buffering(session: Session) -> Finding:
    recording = await _answered(session)
    value = recording.header("x-accel-buffering")
    ok = value is not None and value.strip().lower() == "no"
    return Finding(ok, "no", value or "(absent)", transcripts=IDLE)


@check(
    "transport.no-content-encoding",
    Level.MUST,
    ("TR-10",),
    "no Content-Encoding although the request sent Accept-Encoding: gzip",
    expects="no Content-Encoding header (or identity)",
)
async def no_content_encoding(session: Session) -> Finding:
    recording = await _answered(session)
    values = [v.strip().lower() for v in recording.header_values("content-encoding")]
    ok = all(v in ("", "identity") for v in values)
    return Finding(ok, "absent or identity", ", ".join(values) or "(absent)", transcripts=IDLE)


@check(
    "transport.no-content-length",
    Level.MUST,
    ("TR-13",),
    "the stream response carries no Content-Length",
    expects="no Content-Length header",
)
async def no_content_length(session: Session) -> Finding:
    recording = await _answered(session)
    value = recording.header("content-length")
    return Finding(value is None, "(absent)", value or "(absent)", transcripts=IDLE)


_CONNECTION_SPECIFIC = (
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
)


@check(
    "transport.no-connection-header-h2",
    Level.MUST,
    ("TR-12",),
    "over HTTP/2 or HTTP/3 no connection-specific header fields",
    expects="none of Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade",
)
async def no_connection_header_h2(session: Session) -> Finding:
    recording = await _answered(session)
    version = recording.http_version or ""
    if not version.upper().startswith(("HTTP/2", "HTTP/3")):
        raise NotApplicable(
            f"the stream was served over {version or 'HTTP/1.x'}; TR-12 concerns HTTP/2 and HTTP/3"
        )
    found = [name for name, _ in recording.headers if name in _CONNECTION_SPECIFIC]
    return Finding(not found, "none", ", ".join(found) or "none", transcripts=IDLE)


@check(
    "transport.headers-prompt",
    Level.MUST,
    ("TR-11",),
    "response headers arrive without waiting for anything but the initial snapshot",
    expects="headers within intervalMs + tolerance of the request",
)
async def headers_prompt(session: Session) -> Finding:
    recording = (await session.observe(idle)).recording
    interval = session.profile.interval_ms
    limit = session.tolerance.latest(interval)
    if recording.headers_at is None:
        watched = ms_since_start(recording, recording.end_at or 0.0) if recording.end_at else None
        return Finding(
            False,
            f"headers within {limit:.0f} ms",
            f"none observed within {watched:.0f} ms" if watched is not None else "none observed",
            transcripts=IDLE,
        )
    at_ms = round(recording.headers_at * 1000.0, 1)
    return Finding(
        at_ms <= limit,
        f"headers within {limit:.0f} ms",
        f"headers after {at_ms:.0f} ms",
        observed={"headersMs": at_ms, "limitMs": limit},
        transcripts=IDLE,
    )


@check(
    "transport.method-not-allowed",
    Level.SHOULD,
    ("TR-4",),
    "a POST on the stream path answers 405 with Allow: GET and a problem body",
    expects="405, Allow containing GET, Content-Type application/problem+json",
)
async def method_not_allowed(session: Session) -> Finding:
    response = (await session.observe(create_runs)).method
    allow = {m.strip().upper() for m in (response.header("allow") or "").split(",")}
    content_type = (response.header("content-type") or "").split(";", 1)[0].strip().lower()
    ok = response.status == 405 and "GET" in allow and content_type == "application/problem+json"
    actual = (
        f"{response.status}, Allow: {response.header('allow') or '(absent)'}, "
        f"Content-Type: {response.header('content-type') or '(absent)'}"
    )
    return Finding(
        ok, "405, Allow: GET, application/problem+json", actual, transcripts=(response.label,)
    )
