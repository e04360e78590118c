"""Transcripts: what was sent and received, line by line, with times (the evidence of a verdict).

Times are milliseconds since the request was sent; the stream start (TIME-1) is the ``headers``
line. Credentials are never written: ``Authorization`` is shown as its scheme only.
"""

from __future__ import annotations

from typing import Any

from conformance.recorder import Recording
from conformance.session import Exchange, PlainResponse
from conformance.wire import Comment, DiscardedBlock, Event, PartialBlock

__all__ = ["exchange_transcript", "plain_transcript"]

DATA_EXCERPT = 200
MAX_LINES = 400
BODY_EXCERPT = 2000
_SECRET_HEADERS = {"authorization", "x-ssegate-control-secret", "cookie"}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 1)


def _redact(headers: dict[str, str]) -> dict[str, str]:
    out = {}
    for name, value in headers.items():
        if name.lower() in _SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            out[name] = f"{scheme} <redacted>".strip()
        else:
            out[name] = value
    return out


def _excerpt(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _line(at: float, item: object) -> dict[str, Any]:
    line: dict[str, Any] = {"atMs": _ms(at)}
    if isinstance(item, Event):
        line.update(
            kind="event", event=item.name, id=item.id, data=_excerpt(item.data, DATA_EXCERPT)
        )
        if item.retry is not None:
            line["retry"] = item.retry
    elif isinstance(item, Comment):
        line.update(kind="comment", text=_excerpt(item.text, DATA_EXCERPT))
    elif isinstance(item, DiscardedBlock):
        fields = [f"{f.name}:{f.value}" for f in item.fields]
        line.update(kind="discarded", text=_excerpt(" | ".join(fields), DATA_EXCERPT))
    elif isinstance(item, PartialBlock):
        fields = [f"{f.name}:{f.value}" for f in item.fields]
        if item.unterminated_line:
            fields.append(item.unterminated_line)
        line.update(kind="partial", text=_excerpt(" | ".join(fields), DATA_EXCERPT))
    else:
        line.update(kind=type(item).__name__.lower(), text=_excerpt(repr(item), DATA_EXCERPT))
    return line


def _is_stream(recording: Recording) -> bool:
    value = recording.header("content-type") or ""
    return value.split(";", 1)[0].strip().lower() == "text/event-stream"


def exchange_transcript(exchange: Exchange) -> dict[str, Any]:
    """The JSON transcript of one recorded GET."""
    recording = exchange.recording
    lines: list[dict[str, Any]] = []
    if recording.headers_at is not None:
        lines.append(
            {
                "atMs": _ms(recording.headers_at),
                "kind": "headers",
                "text": f"{recording.http_version or 'HTTP'} {recording.status}",
            }
        )
    items = recording.items
    for timed in items[:MAX_LINES]:
        lines.append(_line(timed.at, timed.item))
    if len(items) > MAX_LINES:
        lines.append({"atMs": None, "kind": "truncated", "text": f"{len(items) - MAX_LINES} more"})
    end = None
    if recording.end is not None:
        end = {
            "kind": recording.end.value,
            "atMs": _ms(recording.end_at),
            "detail": recording.end_detail,
        }
        lines.append({"atMs": _ms(recording.end_at), "kind": "end", "text": recording.end.value})
    transcript: dict[str, Any] = {
        "label": exchange.label,
        "method": exchange.method,
        "url": recording.url,
        "requestHeaders": _redact(dict(recording.request_headers)),
        "status": recording.status,
        "httpVersion": recording.http_version,
        "responseHeaders": [[name, value] for name, value in recording.headers],
        "headersMs": _ms(recording.headers_at),
        "bodyBytes": recording.body_bytes,
        "lines": lines,
        "end": end,
    }
    if recording.status is not None and not _is_stream(recording):
        transcript["body"] = _excerpt(recording.body_text(), BODY_EXCERPT)
    return transcript


def plain_transcript(response: PlainResponse) -> dict[str, Any]:
    """The JSON transcript of a request answered at once (a POST, a control call)."""
    return {
        "label": response.label,
        "method": response.method,
        "url": response.path,
        "requestHeaders": {},
        "requestBody": _excerpt(response.request_body, BODY_EXCERPT),
        "status": response.status,
        "httpVersion": None,
        "responseHeaders": [[name, value] for name, value in response.headers],
        "headersMs": None,
        "bodyBytes": len(response.body.encode()),
        "lines": [],
        "end": None,
        "body": _excerpt(response.body, BODY_EXCERPT),
    }
