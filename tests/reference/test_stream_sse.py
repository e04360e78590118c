"""Framing of each frame kind (WF-5 to WF-9, HB-1, HB-4, END-1, ERR-14)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from reference.stream import DataEvent, Heartbeat, StreamError, Timeout
from reference.stream.clock import rfc3339
from reference.stream.sse import STREAM_HEADERS, encode_frame

MOMENT = datetime(2026, 3, 1, 12, 0, 5, 123456, tzinfo=UTC)


def test_data_event_is_one_event_line_one_data_line_and_an_empty_line() -> None:
    frame = DataEvent("billing.invoice-send-progress", '{"a":1}', final=False)
    assert encode_frame(frame) == b'event: billing.invoice-send-progress\ndata: {"a":1}\n\n'


def test_heartbeat_has_a_utc_timestamp_and_no_id() -> None:
    raw = encode_frame(Heartbeat(MOMENT))
    assert raw == b'event: heartbeat\ndata: {"timestamp":"2026-03-01T12:00:05.123Z"}\n\n'
    assert b"\nid:" not in raw


def test_timeout_event_payload() -> None:
    raw = encode_frame(Timeout(MOMENT, MOMENT, 90000)).decode()
    lines = raw.split("\n")
    assert lines[0] == "event: timeout"
    assert json.loads(lines[1].removeprefix("data: ")) == {
        "startedAt": "2026-03-01T12:00:05.123Z",
        "timestamp": "2026-03-01T12:00:05.123Z",
        "timeoutMs": 90000,
    }


def test_error_event_payload() -> None:
    raw = encode_frame(StreamError("snapshot_failed", "The current state could not be read."))
    assert raw.startswith(b"event: error\ndata: {")
    assert json.loads(raw.split(b"\n")[1][6:]) == {
        "code": "snapshot_failed",
        "message": "The current state could not be read.",
    }


def test_rfc3339_is_utc_with_z_even_for_other_zones() -> None:
    from datetime import timedelta, timezone

    moment = datetime(2026, 3, 1, 14, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    assert rfc3339(moment) == "2026-03-01T12:00:00.000Z"


def test_stream_headers_forbid_caching_and_buffering() -> None:
    """TR-7, TR-8, TR-9; nothing that would make a proxy compress or a client misread."""
    assert STREAM_HEADERS == {"Cache-Control": "no-store, no-transform", "X-Accel-Buffering": "no"}
