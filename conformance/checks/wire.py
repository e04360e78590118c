"""Wire-format checks (spec/03-wire-format.md, WF): bytes, lines, fields, events.

They judge every successful stream the harness recorded in the idle, change and completion
observations, as decoded by the WHATWG-exact decoder, and re-decode each body one byte at a time
(every possible chunk boundary) to prove the verdict does not depend on how TCP cut the bytes.
"""

from __future__ import annotations

from collections.abc import Callable

from conformance.checks._evidence import (
    CONTROL_EVENTS,
    Located,
    excerpt,
    locate_items,
    parse_json,
    require_stream,
)
from conformance.checks._observations import changes, complete_at_start, idle
from conformance.checks._registry import check
from conformance.model import Finding, Level
from conformance.recorder import EndKind
from conformance.session import Exchange, Session
from conformance.wire import DiscardedBlock, Event, PartialBlock

_FIELD_NAMES = ("event", "data", "id", "retry")


async def _streams(session: Session) -> list[Exchange]:
    """The successful streams of the idle, change and completion observations."""
    observed = [
        (await session.observe(idle)).exchange,
        (await session.observe(changes)).stream.exchange,
        (await session.observe(complete_at_start)).exchange,
    ]
    require_stream(observed[0].recording, "the idle stream")
    return [e for e in observed if e.recording.status == 200]


def _labels(exchanges: list[Exchange]) -> tuple[str, ...]:
    return tuple(e.label for e in exchanges)


async def _judge_items(
    session: Session,
    expected: str,
    bad: Callable[[Exchange, Located], str | None],
) -> Finding:
    """Apply ``bad`` to every recorded item; the finding lists the first offences."""
    exchanges = await _streams(session)
    offences: list[str] = []
    for exchange in exchanges:
        for located in locate_items(exchange.recording):
            problem = bad(exchange, located)
            if problem is not None:
                offences.append(f"{exchange.label} @{located.ms:.0f} ms: {problem}")
    return Finding(
        not offences,
        expected,
        "; ".join(offences[:5]) + (f" (+{len(offences) - 5} more)" if len(offences) > 5 else "")
        if offences
        else "as expected",
        observed={"offences": len(offences)},
        transcripts=_labels(exchanges),
    )


@check(
    "wire.utf8",
    Level.MUST,
    ("WF-1",),
    "the body is valid UTF-8",
    expects="no invalid UTF-8 sequence",
)
async def utf8(session: Session) -> Finding:
    exchanges = await _streams(session)
    bad = {e.label: e.recording.invalid_utf8 for e in exchanges if e.recording.invalid_utf8}
    actual = ", ".join(f"{label}: {n} invalid sequence(s)" for label, n in bad.items())
    return Finding(not bad, "valid UTF-8", actual or "valid UTF-8", transcripts=_labels(exchanges))


@check(
    "wire.no-bom",
    Level.MUST,
    ("WF-2",),
    "the body does not begin with a byte order mark",
    expects="no leading U+FEFF",
)
async def no_bom(session: Session) -> Finding:
    exchanges = await _streams(session)
    bad = [e.label for e in exchanges if e.recording.bom_seen]
    return Finding(
        not bad,
        "no BOM",
        f"BOM in {', '.join(bad)}" if bad else "no BOM",
        transcripts=_labels(exchanges),
    )


@check(
    "wire.terminated-events",
    Level.MUST,
    ("WF-3",),
    "every event is terminated by an empty line before the response ends",
    expects="no partial block when the server ends the response",
)
async def terminated_events(session: Session) -> Finding:
    def bad(exchange: Exchange, located: Located) -> str | None:
        # A block cut by the harness (deadline, disconnect) is not the server's doing.
        if isinstance(located.item, PartialBlock) and exchange.recording.end in (
            EndKind.CLEAN_EOF,
            EndKind.RESET,
        ):
            fields = [f"{f.name}:{excerpt(f.value, 40)}" for f in located.item.fields]
            tail = located.item.unterminated_line
            return (
                f"unterminated block {fields}{f' + {tail!r}' if tail else ''} discarded at the end"
            )
        return None

    return await _judge_items(session, "every block ends with an empty line", bad)


@check(
    "wire.lf-line-endings",
    Level.SHOULD,
    ("WF-4",),
    "lines end with LF only",
    expects="line endings: LF",
)
async def lf_line_endings(session: Session) -> Finding:
    exchanges = await _streams(session)
    kinds: set[str] = set()
    for exchange in exchanges:
        kinds |= exchange.recording.line_ending_kinds
    return Finding(
        kinds <= {"LF"},
        "LF",
        ", ".join(sorted(kinds)) or "(no lines)",
        observed={"lineEndings": sorted(kinds)},
        transcripts=_labels(exchanges),
    )


@check(
    "wire.event-and-data-fields",
    Level.MUST,
    ("WF-5",),
    "every event has exactly one event: field and at least one data: field",
    expects="one event: and >= 1 data: per block; no block that dispatches nothing",
)
async def event_and_data_fields(session: Session) -> Finding:
    def bad(_: Exchange, located: Located) -> str | None:
        item = located.item
        if isinstance(item, DiscardedBlock):
            names = [f.name for f in item.fields]
            return f"block with fields {names} but no data dispatched nothing"
        if isinstance(item, Event):
            events = sum(1 for f in item.fields if f.name == "event")
            datas = sum(1 for f in item.fields if f.name == "data")
            if events != 1 or datas < 1:
                return f"{item.name!r} event with {events} event: and {datas} data: fields"
        return None

    return await _judge_items(session, "exactly one event:, at least one data:", bad)


@check(
    "wire.event-names",
    Level.MUST,
    ("WF-6",),
    "only the profile's data event, heartbeat, timeout and error are sent",
    expects="event names: the profile event, heartbeat, timeout, error; never unnamed",
)
async def event_names(session: Session) -> Finding:
    allowed = {session.profile.event, *CONTROL_EVENTS}

    def bad(_: Exchange, located: Located) -> str | None:
        item = located.item
        if isinstance(item, Event) and item.type not in allowed:
            return f"event named {item.type!r}" if item.type else "unnamed event (message)"
        return None

    return await _judge_items(session, f"one of {sorted(allowed)}", bad)


@check(
    "wire.json-data",
    Level.MUST,
    ("WF-7",),
    "the data of data, heartbeat and timeout events is exactly one JSON document",
    expects="data parses as one RFC 8259 JSON document",
)
async def json_data(session: Session) -> Finding:
    judged = {session.profile.event, "heartbeat", "timeout"}

    def bad(_: Exchange, located: Located) -> str | None:
        item = located.item
        if isinstance(item, Event) and item.name in judged:
            payload = parse_json(item.data)
            if not payload.ok:
                return f"{item.name} data {excerpt(item.data, 60)!r} is not JSON ({payload.error})"
        return None

    return await _judge_items(session, "one JSON document per event", bad)


@check(
    "wire.single-line-json",
    Level.SHOULD,
    ("WF-8",),
    "each JSON document is written on one data: line",
    expects="one data: field per data, heartbeat and timeout event",
)
async def single_line_json(session: Session) -> Finding:
    judged = {session.profile.event, "heartbeat", "timeout"}

    def bad(_: Exchange, located: Located) -> str | None:
        item = located.item
        if isinstance(item, Event) and item.name in judged:
            lines = sum(1 for f in item.fields if f.name == "data")
            if lines != 1:
                return f"{item.name} event split over {lines} data: lines"
        return None

    return await _judge_items(session, "one data: line", bad)


@check(
    "wire.field-names",
    Level.MUST,
    ("WF-9",),
    "only the lower-case field names event, data, id and retry are sent",
    expects="field names in {event, data, id, retry}",
)
async def field_names(session: Session) -> Finding:
    def bad(_: Exchange, located: Located) -> str | None:
        item = located.item
        fields = getattr(item, "fields", ())
        unknown = sorted({f.name for f in fields if f.name not in _FIELD_NAMES})
        return f"field name(s) {unknown}" if unknown else None

    return await _judge_items(session, "event, data, id, retry only", bad)


@check(
    "wire.id-no-null",
    Level.MUST,
    ("WF-11",),
    "no id value contains U+0000",
    expects="id values without NUL",
)
async def id_no_null(session: Session) -> Finding:
    def bad(_: Exchange, located: Located) -> str | None:
        fields = getattr(located.item, "fields", ())
        if any(f.name == "id" and "\0" in f.value for f in fields):
            return "id containing U+0000"
        return None

    return await _judge_items(session, "no NUL in ids", bad)


@check(
    "wire.retry-digits",
    Level.MUST,
    ("WF-14",),
    "retry values consist of ASCII digits only",
    expects="retry: [0-9]+",
)
async def retry_digits(session: Session) -> Finding:
    def bad(_: Exchange, located: Located) -> str | None:
        fields = getattr(located.item, "fields", ())
        wrong = [
            f.value
            for f in fields
            if f.name == "retry" and not (f.value.isascii() and f.value.isdigit())
        ]
        return f"retry value(s) {wrong}" if wrong else None

    return await _judge_items(session, "ASCII digits", bad)


@check(
    "wire.ids",
    Level.MAY,
    ("WF-10",),
    "informational: whether data events carry an id field",
    expects="either is conformant",
)
async def ids(session: Session) -> Finding:
    exchanges = await _streams(session)
    with_id = without = 0
    for exchange in exchanges:
        for timed in exchange.recording.events(session.profile.event):
            if timed.item.id is None:
                without += 1
            else:
                with_id += 1
    return Finding(
        True,
        "ids or no ids",
        f"{with_id} data event(s) with an id, {without} without",
        observed={"withId": with_id, "withoutId": without},
        transcripts=_labels(exchanges),
    )


@check(
    "wire.comments",
    Level.MAY,
    ("WF-15",),
    "informational: whether the server sends comment lines",
    expects="either is conformant",
)
async def comments(session: Session) -> Finding:
    exchanges = await _streams(session)
    count = sum(len(e.recording.comments()) for e in exchanges)
    return Finding(
        True,
        "comments or none",
        f"{count} comment line(s)",
        observed={"comments": count},
        transcripts=_labels(exchanges),
    )
