"""Transport, wire, snapshot, heartbeat and end checks on synthetic streams: pass and fail."""

from __future__ import annotations

import json

import pytest
from synthetic_streams import (
    IDLE_STATE,
    RUN,
    STREAM_HEADERS,
    data_frame,
    frame,
    good_idle_script,
    heartbeat,
    idle_with,
    judge,
    timeout_frame,
)

from conformance.checks._billing import RunState
from conformance.model import Verdict
from conformance.recorder import EndKind

PASS, FAIL, WARN = Verdict.PASS, Verdict.FAIL, Verdict.WARN


def headers_with(name: str, value: str | None) -> list[tuple[str, str]]:
    kept = [(k, v) for k, v in STREAM_HEADERS if k != name]
    return kept if value is None else [*kept, (name, value)]


def script_replacing(index: int, chunk: bytes) -> list[tuple[float, bytes]]:
    script = good_idle_script()
    script[index] = (script[index][0], chunk)
    return script


# (check, idle recording options, expected verdict): each names the one thing that differs from
# the conformant idle stream.
HEADER_CASES = [
    ("transport.status-200", {"status": 500}, FAIL),
    ("transport.content-type", {"headers": headers_with("content-type", "text/plain")}, FAIL),
    (
        "transport.content-type",
        {"headers": headers_with("content-type", "text/event-stream; charset=latin-1")},
        FAIL,
    ),
    (
        "transport.content-type",
        {"headers": headers_with("content-type", "Text/Event-Stream;Charset=UTF-8")},
        PASS,
    ),
    ("transport.cache-control", {"headers": headers_with("cache-control", None)}, FAIL),
    ("transport.cache-control", {"headers": headers_with("cache-control", "no-cache")}, PASS),
    ("transport.cache-control", {"headers": headers_with("cache-control", "max-age=60")}, FAIL),
    (
        "transport.cache-control-recommended",
        {"headers": headers_with("cache-control", "no-cache")},
        WARN,
    ),
    ("transport.x-accel-buffering", {"headers": headers_with("x-accel-buffering", None)}, WARN),
    ("transport.no-content-encoding", {"headers": headers_with("content-encoding", "gzip")}, FAIL),
    (
        "transport.no-content-encoding",
        {"headers": headers_with("content-encoding", "identity")},
        PASS,
    ),
    ("transport.no-content-length", {"headers": headers_with("content-length", "100")}, FAIL),
    ("transport.headers-prompt", {"headers_at": 0.5}, FAIL),
    ("transport.headers-prompt", {"headers_at": 0.4}, PASS),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("check", "options", "verdict"), HEADER_CASES)
async def test_transport(check: str, options: dict[str, object], verdict: Verdict) -> None:
    result = await judge(check, **idle_with(**options))
    assert result.verdict is verdict, result


@pytest.mark.asyncio
async def test_no_headers_is_an_error_for_content_checks_and_a_fail_for_the_prompt() -> None:
    silent = idle_with([], status=None, end=EndKind.DEADLINE, end_at=4.0)
    assert (await judge("transport.headers-prompt", **silent)).verdict is FAIL
    assert (await judge("heartbeat.first", **silent)).verdict is Verdict.ERROR
    assert (await judge("transport.content-type", **silent)).verdict is Verdict.ERROR


@pytest.mark.asyncio
async def test_connection_headers_are_judged_over_http2_only() -> None:
    result = await judge("transport.no-connection-header-h2")
    assert result.verdict is Verdict.NOT_APPLICABLE
    override = idle_with(headers=headers_with("connection", "keep-alive"))
    override["idle"].recording.http_version = "HTTP/2"
    assert (await judge("transport.no-connection-header-h2", **override)).verdict is FAIL


SNAPSHOT = (0.020, data_frame(RUN, IDLE_STATE))
WIRE_CASES = [
    ("wire.utf8", [SNAPSHOT, (1.01, b'event: heartbeat\ndata: {"timestamp": "\xff"}\n\n')], FAIL),
    ("wire.no-bom", [(0.02, b"\xef\xbb\xbf" + SNAPSHOT[1])], FAIL),
    ("wire.terminated-events", [*good_idle_script()[:-1], (3.01, timeout_frame()[:-1])], FAIL),
    ("wire.lf-line-endings", [(0.02, SNAPSHOT[1].replace(b"\n", b"\r\n"))], WARN),
    (
        "wire.event-and-data-fields",
        [SNAPSHOT, (0.5, b"event: heartbeat\nevent: heartbeat\ndata: {}\n\n")],
        FAIL,
    ),
    ("wire.event-and-data-fields", [SNAPSHOT, (0.5, b"event: ping\n\n")], FAIL),
    ("wire.event-names", [SNAPSHOT, (0.5, frame("ping", "{}"))], FAIL),
    ("wire.event-names", [SNAPSHOT, (0.5, b"data: {}\n\n")], FAIL),
    ("wire.json-data", [SNAPSHOT, (1.01, frame("heartbeat", "hello"))], FAIL),
    ("wire.json-data", [SNAPSHOT, (1.01, frame("heartbeat", '{"a": NaN}'))], FAIL),
    (
        "wire.json-data",
        [SNAPSHOT, (1.01, frame("error", "plain text is allowed for errors"))],
        PASS,
    ),
    ("wire.single-line-json", [SNAPSHOT, (1.01, frame("heartbeat", '{"timestamp":\n"x"}'))], WARN),
    ("wire.field-names", [SNAPSHOT, (1.01, b"event: heartbeat\nData: x\ndata: {}\n\n")], FAIL),
    ("wire.id-no-null", [SNAPSHOT, (1.01, b"event: heartbeat\nid: a\x00b\ndata: {}\n\n")], FAIL),
    ("wire.retry-digits", [SNAPSHOT, (1.01, b"retry: 1_000\n\n")], FAIL),
    ("wire.retry-digits", [(0.02, b"retry: 1000\n" + SNAPSHOT[1])], PASS),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("check", "script", "verdict"), WIRE_CASES)
async def test_wire(check: str, script: list[tuple[float, bytes]], verdict: Verdict) -> None:
    result = await judge(check, **idle_with(script))
    assert result.verdict is verdict, result


@pytest.mark.asyncio
async def test_permitted_wire_variants_pass_every_wire_check() -> None:
    """CRLF, ids, comments and a stream cut at every byte are all conformant (WF-10, WF-15)."""
    variant = b""
    for _, chunk in good_idle_script():
        variant += b": a comment\n" + chunk.replace(b"event: ", b"id: 7\nevent: ", 1)
    variant = variant.replace(b"\n", b"\r\n")
    one_byte_chunks = [(0.02 + i * 0.0001, variant[i : i + 1]) for i in range(len(variant))]
    override = idle_with(one_byte_chunks)
    for check in (
        "wire.utf8",
        "wire.terminated-events",
        "wire.event-and-data-fields",
        "wire.field-names",
        "wire.json-data",
    ):
        assert (await judge(check, **override)).verdict is PASS, check
    assert (await judge("wire.lf-line-endings", **override)).verdict is WARN
    info = await judge("wire.comments", **override)
    assert info.verdict is Verdict.INFO
    assert info.observed["comments"] == 4


SNAPSHOT_CASES = [
    ("snapshot.first-event", [(0.01, heartbeat()), *good_idle_script()], FAIL),
    ("snapshot.first-event", [], FAIL),
    ("snapshot.prompt", [(0.6, SNAPSHOT[1]), *good_idle_script()[1:]], FAIL),
    ("snapshot.prompt", [(0.45, SNAPSHOT[1]), *good_idle_script()[1:]], PASS),
    ("snapshot.prompt", [], FAIL),
    (
        "snapshot.current-state",
        [(0.02, data_frame(RUN, RunState(10, True, {"QUEUED": 9}))), *good_idle_script()[1:]],
        FAIL,
    ),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("check", "script", "verdict"), SNAPSHOT_CASES)
async def test_snapshot(check: str, script: list[tuple[float, bytes]], verdict: Verdict) -> None:
    result = await judge(check, **idle_with(script))
    assert result.verdict is verdict, result


HEARTBEAT_CASES = [
    ("heartbeat.first", good_idle_script(heartbeats=()), FAIL),
    ("heartbeat.first", good_idle_script(heartbeats=(0.5, 1.5, 2.5)), FAIL),
    ("heartbeat.first", good_idle_script(heartbeats=(1.24, 2.2)), PASS),
    # HB-6: comments do not replace heartbeats.
    ("heartbeat.first", [SNAPSHOT, (1.0, b":\n\n"), (2.0, b":\n\n"), (3.0, timeout_frame())], FAIL),
    ("heartbeat.cadence", good_idle_script(heartbeats=(1.0, 1.3, 1.6, 1.9, 2.2, 2.5)), FAIL),
    ("heartbeat.cadence", good_idle_script(heartbeats=(1.0,)), FAIL),
    ("heartbeat.cadence", good_idle_script(heartbeats=(1.0, 2.6)), FAIL),
    # HB-7: the heartbeat due at the timeout may be omitted; one due 250 ms before it too.
    ("heartbeat.cadence", good_idle_script(heartbeats=(1.0, 2.0)), PASS),
    ("heartbeat.cadence", good_idle_script(heartbeats=(0.9, 2.0), timeout_at=3.2), PASS),
    ("heartbeat.cadence", good_idle_script(heartbeats=()), FAIL),
    ("heartbeat.payload", [SNAPSHOT, (1.0, frame("heartbeat", json.dumps({"ts": "x"})))], FAIL),
    (
        "heartbeat.payload",
        [SNAPSHOT, (1.0, frame("heartbeat", json.dumps({"timestamp": "yesterday"})))],
        FAIL,
    ),
    (
        "heartbeat.no-id",
        [SNAPSHOT, (1.0, frame("heartbeat", '{"timestamp": "2026-01-01T00:00:00Z"}', ident="4"))],
        FAIL,
    ),
    ("heartbeat.max-silence", good_idle_script(heartbeats=(1.0, 2.3)), FAIL),
    ("heartbeat.max-silence", good_idle_script(heartbeats=(1.2, 2.2), timeout_at=3.2), PASS),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("check", "script", "verdict"), HEARTBEAT_CASES)
async def test_heartbeat(check: str, script: list[tuple[float, bytes]], verdict: Verdict) -> None:
    result = await judge(check, **idle_with(script))
    assert result.verdict is verdict, result


@pytest.mark.asyncio
async def test_timing_verdicts_record_what_they_observed() -> None:
    """TIME-5: a cadence verdict carries the number of gaps and min/median/max."""
    result = await judge(
        "heartbeat.cadence",
        **idle_with(good_idle_script(heartbeats=(1.0, 1.9, 3.0), timeout_at=3.5)),
    )
    assert result.verdict is PASS
    assert result.observed["gaps"] == 2
    assert result.observed["minMs"] == 900.0
    assert result.observed["maxMs"] == 1100.0
    assert result.observed["medianMs"] == 1000.0


@pytest.mark.asyncio
async def test_none_observed_names_its_window() -> None:
    """TIME-6: a negative result says how long the harness watched."""
    result = await judge("heartbeat.first", **idle_with(good_idle_script(heartbeats=())))
    assert result.actual == "none observed within 3005 ms"


@pytest.mark.asyncio
async def test_heartbeat_checks_without_heartbeats_are_not_applicable() -> None:
    override = idle_with(good_idle_script(heartbeats=()))
    assert (await judge("heartbeat.payload", **override)).verdict is Verdict.NOT_APPLICABLE
    assert (await judge("heartbeat.no-id", **override)).verdict is Verdict.NOT_APPLICABLE


def _after_timeout(chunk: bytes) -> list[tuple[float, bytes]]:
    return [*good_idle_script(), (3.05, chunk)]


END_CASES = [
    (
        "end.timeout-on-time",
        good_idle_script(timeout_at=None),
        {"end": EndKind.DEADLINE, "end_at": 4.0},
        FAIL,
    ),
    ("end.timeout-on-time", good_idle_script(timeout_at=3.8), {}, FAIL),
    ("end.timeout-on-time", good_idle_script(timeout_at=2.2), {}, FAIL),
    ("end.timeout-on-time", good_idle_script(timeout_at=3.7), {}, PASS),
    (
        "end.timeout-payload",
        [*good_idle_script(timeout_at=None), (3.0, timeout_frame(2000))],
        {},
        FAIL,
    ),
    ("end.clean-after-timeout", good_idle_script(), {"end": EndKind.RESET}, FAIL),
    ("end.clean-after-timeout", good_idle_script(), {"end_at": 3.5}, FAIL),
    ("end.nothing-after-timeout", _after_timeout(heartbeat()), {}, FAIL),
    ("end.nothing-after-timeout", _after_timeout(b": bye\n"), {}, FAIL),
    ("end.nothing-after-timeout", _after_timeout(b"\n"), {}, FAIL),
    (
        "end.no-overrun",
        good_idle_script(timeout_at=None),
        {"end": EndKind.DEADLINE, "end_at": 4.0},
        FAIL,
    ),
    ("end.no-overrun", good_idle_script(), {"end_at": 3.8}, FAIL),
    ("end.planned-end", good_idle_script(timeout_at=None), {}, FAIL),
    ("end.planned-end", good_idle_script(), {"end": EndKind.RESET}, FAIL),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("check", "script", "options", "verdict"), END_CASES)
async def test_end(
    check: str, script: list[tuple[float, bytes]], options: dict[str, object], verdict: Verdict
) -> None:
    result = await judge(check, **idle_with(script, **options))
    assert result.verdict is verdict, result


@pytest.mark.asyncio
async def test_a_crlf_split_across_chunks_after_the_timeout_is_no_byte_after_it() -> None:
    """P3: the LF of the timeout's final CRLF, arriving in the next chunk, is its terminator."""
    body = timeout_frame().replace(b"\n", b"\r\n")
    script = [*good_idle_script(timeout_at=None), (3.0, body[:-1]), (3.01, body[-1:])]
    result = await judge("end.nothing-after-timeout", **idle_with(script))
    assert result.verdict is PASS, result
