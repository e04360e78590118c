"""The reference client's WHATWG parser (reference/client/_parser.py), rule by rule (P1-P19 of
shared/notes/sse-wire-rules.md §1, with the WPT `eventsource/format-*` cases they come from)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.client import ParsedEvent, ParserLimitExceeded, SseParser


def parse(body: bytes) -> tuple[list[ParsedEvent], SseParser]:
    parser = SseParser()
    events = parser.feed(body)
    events += parser.close()
    return events, parser


def datas(body: bytes) -> list[tuple[str, str]]:
    return [(event.type, event.data) for event in parse(body)[0]]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b"data: x\n\n", [("message", "x")], id="P5-lf"),
        pytest.param(b"data: x\r\n\r\n", [("message", "x")], id="P3-crlf"),
        pytest.param(b"data: x\r\r", [("message", "x")], id="P3-cr"),
        pytest.param(b"data: a\rdata: b\r\n\n", [("message", "a\nb")], id="P3-mixed"),
        pytest.param(b"data: a\xe2\x80\xa8b\n\n", [("message", "a\u2028b")], id="P4-u2028-is-data"),
        pytest.param(b"data: a\xc2\x85b\n\n", [("message", "a\u0085b")], id="P4-nel-is-data"),
        pytest.param(b": comment\ndata: x\n\n", [("message", "x")], id="P6-comment"),
        pytest.param(b"data:x\n\n", [("message", "x")], id="P7-no-space"),
        pytest.param(b"data:  x\n\n", [("message", " x")], id="P7-one-space-removed"),
        pytest.param(b"data: a: b\n\n", [("message", "a: b")], id="P7-first-colon"),
        pytest.param(b"data\n\n", [("message", "")], id="P8-bare-data"),
        pytest.param(b"data\ndata\n\n", [("message", "\n")], id="P16-two-bare-data"),
        pytest.param(b"Data: x\n\n", [], id="P9-case-sensitive"),
        pytest.param(b"foo: bar\ndata: x\n\n", [("message", "x")], id="P9-unknown-field"),
        pytest.param(b"event: a\nevent: b\ndata: x\n\n", [("b", "x")], id="P10-last-wins"),
        pytest.param(b"event:\ndata: x\n\n", [("message", "x")], id="P10-empty-type"),
        pytest.param(b"data: a\ndata: b\n\n", [("message", "a\nb")], id="P11-join"),
        pytest.param(b"event: ping\n\n", [], id="P15-no-data-no-event"),
        pytest.param(b"id: 7\n\n", [], id="P15-id-only"),
        pytest.param(b"data: x", [], id="P19-partial-discarded"),
        pytest.param(b"data: x\n", [], id="P19-no-empty-line"),
        pytest.param(b"\xef\xbb\xbfdata: x\n\n", [("message", "x")], id="P2-bom-stripped"),
        pytest.param(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\n", [], id="P2-second-bom"),
        pytest.param(b"data: \xff\n\n", [("message", "\ufffd")], id="P1-invalid-utf8"),
    ],
)
def test_whatwg_cases(body: bytes, expected: list[tuple[str, str]]) -> None:
    assert datas(body) == expected


def test_charset_parameter_is_irrelevant_utf8_always() -> None:
    # P1: the bytes are UTF-8 whatever the headers say (httpx-sse honours a latin-1 charset).
    assert datas("data: é\n\n".encode()) == [("message", "é")]


def test_id_sets_last_event_id_before_the_empty_data_check() -> None:
    events, parser = parse(b"id: 5\n\ndata: x\n\n")
    assert parser.last_event_id == "5"  # P14
    assert events == [ParsedEvent(type="message", data="x", last_event_id="5", id=None)]  # P18


def test_id_with_nul_is_ignored() -> None:
    events, parser = parse(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")
    assert [event.last_event_id for event in events] == ["1", "1"]  # P12
    assert parser.last_event_id == "1"


def test_empty_id_resets() -> None:
    events, _ = parse(b"id: 1\ndata: a\n\nid\ndata: b\n\n")
    assert [(event.id, event.last_event_id) for event in events] == [("1", "1"), ("", "")]


def test_partial_block_id_is_discarded() -> None:
    _, parser = parse(b"id: 1\ndata: a\n\nid: 2\ndata: b")
    assert parser.last_event_id == "1"  # P19, WPT format-data-before-final-empty-line


@pytest.mark.parametrize(
    ("line", "retry"),
    [
        (b"retry: 1000", 1000),
        (b"retry:0", 0),
        (b"retry: +5", None),
        (b"retry:  5", None),
        (b"retry: 1000x", None),
        (b"retry: 1_000", None),
        (b"retry: \xd9\xa3", None),  # ARABIC-INDIC DIGIT THREE: a digit, but not ASCII
        (b"retry", None),
    ],
)
def test_retry_only_ascii_digits(line: bytes, retry: int | None) -> None:
    _, parser = parse(line + b"\n\n")
    assert parser.retry == retry  # P13, WPT format-field-retry-bogus


def test_retry_survives_a_later_bogus_value() -> None:
    _, parser = parse(b"retry: 2500\n\nretry: x\n\n")
    assert parser.retry == 2500


def test_comments_are_counted_not_dispatched() -> None:
    events, parser = parse(b":\n: ping\n\n")
    assert events == []
    assert parser.comments == 2


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    # The origin client's defect: it normalised CRLF per chunk, so "\r" | "\n" made two line ends
    # and dispatched the event early (an empty line). Here the split changes nothing.
    parser = SseParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\ndata: b\r\n\r") == [ParsedEvent("message", "a\nb", "")]
    assert parser.feed(b"\n") == []
    assert parser.feed(b"data: c\r\n\r\n") == [ParsedEvent("message", "c", "")]


def test_line_limit() -> None:
    parser = SseParser(max_line_chars=10)
    with pytest.raises(ParserLimitExceeded, match="line"):
        parser.feed(b"data: " + b"x" * 20)


def test_event_limit() -> None:
    parser = SseParser(max_event_chars=10)
    with pytest.raises(ParserLimitExceeded, match="event data"):
        parser.feed(b"data: 123456\ndata: 123456\n")


_line_ends = st.sampled_from(["\n", "\r\n", "\r"])
_field_lines = st.one_of(
    st.tuples(
        st.sampled_from(["data", "event", "id", "retry", "Data", "x", ""]),
        st.sampled_from([":", ": ", ":  ", ""]),
        st.text(
            alphabet=st.characters(exclude_characters="\r\n", exclude_categories=["Cs"]),
            max_size=8,
        ),
    ).map(lambda parts: "".join(parts)),
    st.just(""),
    st.just(": comment"),
)
_bodies = st.tuples(st.booleans(), st.lists(st.tuples(_field_lines, _line_ends), max_size=30)).map(
    lambda t: ("\ufeff" if t[0] else "") + "".join(line + end for line, end in t[1])
)


@given(body=_bodies, data=st.data())
def test_any_chunking_gives_the_same_events(body: str, data: st.DataObject) -> None:
    raw = body.encode()
    whole, whole_parser = parse(raw)
    cuts = sorted(data.draw(st.sets(st.integers(min_value=1, max_value=max(1, len(raw) - 1)))))
    parser = SseParser()
    events: list[ParsedEvent] = []
    start = 0
    for cut in [*cuts, len(raw)]:
        events += parser.feed(raw[start:cut])
        start = cut
    events += parser.close()
    assert events == whole
    assert (parser.retry, parser.last_event_id) == (whole_parser.retry, whole_parser.last_event_id)


@given(body=_bodies)
def test_one_byte_at_a_time(body: str) -> None:
    raw = body.encode()
    parser = SseParser()
    events = [event for i in range(len(raw)) for event in parser.feed(raw[i : i + 1])]
    events += parser.close()
    assert events == parse(raw)[0]


@given(
    payloads=st.lists(
        st.text(
            alphabet=st.characters(exclude_characters="\r\n", exclude_categories=["Cs"]),
            max_size=20,
        ),
        max_size=10,
    )
)
def test_encoded_events_decode_to_their_data(payloads: list[str]) -> None:
    body = "".join(f"event: e\ndata:{payload}\n\n" for payload in payloads).encode()
    # One leading space is removed by P7, so a payload starting with a space loses it.
    expected = [("e", p[1:] if p.startswith(" ") else p) for p in payloads]
    assert datas(body) == expected
