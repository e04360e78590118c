"""The SSE decoder against WHATWG rules P1-P19 (shared/notes/sse-wire-rules.md) and WPT cases."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.wire import (
    Comment,
    Decoder,
    DiscardedBlock,
    Event,
    Field,
    Item,
    PartialBlock,
    WireLimitExceeded,
)


def decode(*chunks: bytes, decoder: Decoder | None = None) -> list[Item | PartialBlock]:
    dec = decoder or Decoder()
    items: list[Item | PartialBlock] = []
    for chunk in chunks:
        items.extend(dec.feed(chunk))
    items.extend(dec.close())
    return items


def events(*chunks: bytes) -> list[Event]:
    return [item for item in decode(*chunks) if isinstance(item, Event)]


def summary(*chunks: bytes) -> list[tuple[str, str, str]]:
    """(name, data, lastEventId) per dispatched event, as a WPT test would observe them."""
    return [(e.name, e.data, e.last_event_id) for e in events(*chunks)]


# -- Decoding and lines ---------------------------------------------------------------------------


def test_p1_invalid_utf8_becomes_replacement_and_is_counted() -> None:
    dec = Decoder()
    items = decode(b"data: caf\xe9\ndata: \xe2\x82\ndata: \xed\xa0\x80\n\n", decoder=dec)
    assert items[-1] == Event(
        "", "caf\ufffd\n\ufffd\n\ufffd\ufffd\ufffd", None, "", None, tuple(items[:3])
    )
    # Latin-1 é is one invalid byte, a truncated sequence one maximal subpart, a surrogate three.
    assert dec.invalid_utf8 == 5


def test_p1_literal_replacement_character_is_not_counted_as_invalid() -> None:
    dec = Decoder()
    assert summary(b"data: \xef\xbf\xbd\n\n") == [("message", "\ufffd", "")]
    decode(b"data: \xef\xbf\xbd\n\n", decoder=dec)
    assert dec.invalid_utf8 == 0


def test_p1_multibyte_character_split_across_feeds_decodes_whole() -> None:
    dec = Decoder()
    encoded = "data: a€😀\n\n".encode()
    items = decode(*(encoded[i : i + 1] for i in range(len(encoded))), decoder=dec)
    assert [e.data for e in items if isinstance(e, Event)] == ["a€😀"]
    assert dec.invalid_utf8 == 0


def test_p1_truncated_sequence_at_eof_is_invalid() -> None:
    dec = Decoder()
    assert decode(b"data: \xe2\x82", decoder=dec) == [PartialBlock((), "data: \ufffd")]
    assert dec.invalid_utf8 == 1


def test_p2_one_leading_bom_is_stripped() -> None:
    dec = Decoder()
    assert decode(b"\xef\xbb\xbfdata: 1\n\n", decoder=dec)[-1] == Event(
        "", "1", None, "", None, (Field("data", "1"),)
    )
    assert dec.bom_seen


def test_p2_bom_split_across_feeds_is_stripped() -> None:
    dec = Decoder()
    assert decode(b"\xef", b"\xbb", b"\xbf", b"data: 1\n\n", decoder=dec)[-1] == Event(
        "", "1", None, "", None, (Field("data", "1"),)
    )
    assert dec.bom_seen


def test_p2_second_bom_is_part_of_field_name() -> None:
    # WPT format-bom-2: "\uFEFF\uFEFFdata:1\n\n" dispatches nothing.
    dec = Decoder()
    items = decode(b"\xef\xbb\xbf\xef\xbb\xbfdata:1\n\n", decoder=dec)
    assert items == [Field("\ufeffdata", "1"), DiscardedBlock((Field("\ufeffdata", "1"),))]
    assert dec.bom_seen


def test_p2_bom_later_in_stream_is_data() -> None:
    dec = Decoder()
    assert decode(b"data: \xef\xbb\xbfx\n\n", decoder=dec)[0] == Field("data", "\ufeffx")
    assert not dec.bom_seen


def test_p2_incomplete_bom_prefix_is_not_a_bom() -> None:
    dec = Decoder()
    assert decode(b"\xef\xbb", b"data: 1\n\n", decoder=dec)[0] == Field("\ufffddata", "1")
    assert not dec.bom_seen
    assert dec.invalid_utf8 == 1


@pytest.mark.parametrize(
    ("stream", "kinds"),
    [
        (b"data: a\n\n", {"LF"}),
        (b"data: a\r\r", {"CR"}),
        (b"data: a\r\n\r\n", {"CRLF"}),
        (b"data: a\r\ndata: b\rdata: c\n\n", {"CR", "CRLF", "LF"}),
    ],
)
def test_p3_lines_end_at_crlf_lf_or_cr(stream: bytes, kinds: set[str]) -> None:
    dec = Decoder()
    items = decode(stream, decoder=dec)
    assert next(e for e in items if isinstance(e, Event)).data.startswith("a")
    assert dec.line_ending_kinds == kinds


def test_p3_crlf_split_across_feeds_is_one_terminator() -> None:
    dec = Decoder()
    # Were the split CRLF two terminators, the LF would be an empty line dispatching "a" alone.
    items = decode(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n", decoder=dec)
    assert [e.data for e in items if isinstance(e, Event)] == ["a\nb"]
    assert dec.line_ending_kinds == {"CRLF"}


def test_p3_cr_dispatches_without_waiting_for_next_feed() -> None:
    dec = Decoder()
    assert dec.feed(b"data: a\r\r")[-1] == Event("", "a", None, "", None, (Field("data", "a"),))


def test_p3_cr_at_end_then_cr_is_two_line_ends() -> None:
    dec = Decoder()
    assert [e.data for e in decode(b"data: a\r", b"\r", decoder=dec) if isinstance(e, Event)] == [
        "a"
    ]
    assert dec.line_ending_kinds == {"CR"}


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\u0085", "\x0b", "\x0c", "\x1c"])
def test_p4_only_cr_and_lf_end_lines(char: str) -> None:
    assert summary(f"data: a{char}b\n\n".encode()) == [("message", f"a{char}b", "")]


def test_p5_empty_line_dispatches() -> None:
    dec = Decoder()
    assert dec.feed(b"data: a\n") == [Field("data", "a")]
    assert dec.feed(b"\n") == [Event("", "a", None, "", None, (Field("data", "a"),))]


def test_p6_comment_lines_are_ignored_and_reported() -> None:
    items = decode(b": hello\ndata: a\n:\n:: x\n\n")
    assert items == [
        Comment(" hello"),
        Field("data", "a"),
        Comment(""),
        Comment(": x"),
        Event("", "a", None, "", None, (Field("data", "a"),)),
    ]


def test_p6_comment_only_block_dispatches_nothing() -> None:
    assert decode(b":\n\n: ping\r\n\r\n") == [Comment(""), Comment(" ping")]


@pytest.mark.parametrize(
    ("line", "value"),
    [
        (b"data:x", "x"),
        (b"data: x", "x"),
        (b"data:  x", " x"),
        (b"data: x: y", "x: y"),
        (b"data:\tx", "\tx"),
        (b"data: ", ""),
    ],
)
def test_p7_split_at_first_colon_and_drop_one_space(line: bytes, value: str) -> None:
    assert decode(line + b"\n")[0] == Field("data", value)


def test_p8_line_without_colon_is_field_name_with_empty_value() -> None:
    items = decode(b"data\n\n")
    assert items[0] == Field("data", "")
    assert summary(b"data\ndata: x\n\n") == [("message", "\nx", "")]


@pytest.mark.parametrize("name", ["Data", "DATA", "data ", " data", "foo"])
def test_p9_field_names_are_case_sensitive_and_unknown_ignored(name: str) -> None:
    items = decode(f"{name}: x\n\n".encode())
    assert items == [Field(name, "x"), DiscardedBlock((Field(name, "x"),))]


def test_p9_unknown_fields_are_kept_in_event_fields() -> None:
    (event,) = events(b"foo: 1\ndata: a\nbar\n\n")
    assert event.fields == (Field("foo", "1"), Field("data", "a"), Field("bar", ""))
    assert event.data == "a"


def test_p10_event_sets_type_buffer_last_one_wins() -> None:
    (event,) = events(b"event: a\nevent: b\ndata: x\n\n")
    assert event.type == "b"
    assert event.name == "b"
    assert event.fields[:2] == (Field("event", "a"), Field("event", "b"))


def test_p10_empty_event_means_default_type() -> None:
    (event,) = events(b"event: a\nevent:\ndata: x\n\n")
    assert (event.type, event.name) == ("", "message")


def test_p11_data_lines_join_with_lf() -> None:
    assert summary(b"data: a\ndata: b\ndata:c\n\n") == [("message", "a\nb\nc", "")]


def test_p12_id_with_nul_is_ignored_entirely() -> None:
    items = events(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")
    assert [(e.id, e.last_event_id) for e in items] == [("1", "1"), (None, "1")]
    assert items[1].fields[0] == Field("id", "2\x003")


def test_p12_empty_id_resets_last_event_id() -> None:
    items = events(b"id: 1\ndata: a\n\nid\ndata: b\n\n")
    assert [(e.id, e.last_event_id) for e in items] == [("1", "1"), ("", "")]


@pytest.mark.parametrize(
    ("value", "retry"),
    [
        (b"1000", 1000),
        (b"0", 0),
        (b"007", 7),
        (b"+5", None),
        (b" 5", None),
        (b"1000x", None),
        (b"1_000", None),
        (b"-1", None),
        (b"1.5", None),
        (b"", None),
        ("٣".encode(), None),
    ],
)
def test_p13_retry_only_ascii_digits(value: bytes, retry: int | None) -> None:
    dec = Decoder()
    items = decode(b"retry: " + value + b"\ndata: x\n\n", decoder=dec)
    assert [e.retry for e in items if isinstance(e, Event)] == [retry]
    assert dec.retry == retry


def test_p14_id_only_block_updates_last_event_id_but_fires_nothing() -> None:
    dec = Decoder()
    items = decode(b"id: 5\n\ndata: a\n\n", decoder=dec)
    assert items[1] == DiscardedBlock((Field("id", "5"),), "5")
    assert items[-1] == Event("", "a", None, "5", None, (Field("data", "a"),))
    assert dec.last_event_id == "5"


def test_p15_event_without_data_fires_nothing_and_resets_type() -> None:
    items = decode(b"event: ping\n\ndata: a\n\n")
    assert items[1] == DiscardedBlock((Field("event", "ping"),))
    assert [e.name for e in items if isinstance(e, Event)] == ["message"]


def test_p16_one_trailing_lf_is_removed() -> None:
    assert summary(b"data\n\n") == [("message", "", "")]
    assert summary(b"data\ndata\n\n") == [("message", "\n", "")]
    assert summary(b"data: a\ndata\n\n") == [("message", "a\n", "")]


def test_p17_type_defaults_to_message() -> None:
    (event,) = events(b"data: a\n\n")
    assert (event.type, event.name) == ("", "message")


def test_p18_last_event_id_persists_across_events() -> None:
    items = events(b"id: 7\ndata: a\n\ndata: b\n\nevent: x\ndata: c\n\n")
    assert [(e.id, e.last_event_id) for e in items] == [("7", "7"), (None, "7"), (None, "7")]


def test_p19_partial_event_at_eof_is_discarded_with_its_id() -> None:
    # WPT format-data-before-final-empty-line.
    dec = Decoder()
    items = decode(b"id: 1\ndata: a\n\nid: t\ndata: x", decoder=dec)
    assert [e.data for e in items if isinstance(e, Event)] == ["a"]
    assert items[-1] == PartialBlock((Field("id", "t"),), "data: x")
    assert dec.last_event_id == "1"


def test_p19_complete_lines_without_final_empty_line_are_partial() -> None:
    assert decode(b"data: a\ndata: b\n")[-1] == PartialBlock(
        (Field("data", "a"), Field("data", "b"))
    )


def test_p19_clean_end_reports_no_partial_block() -> None:
    assert decode(b"data: a\n\n: bye\n") == [
        Field("data", "a"),
        Event("", "a", None, "", None, (Field("data", "a"),)),
        Comment(" bye"),
    ]


# -- WPT eventsource/format-* cases, as data ------------------------------------------------------


@dataclass(frozen=True)
class WptCase:
    name: str
    stream: bytes
    expected: list[tuple[str, str, str]]


WPT_CASES = [
    WptCase(
        "format-bom",
        b"\xef\xbb\xbfdata:1\n\n\xef\xbb\xbfdata:2\n\ndata:3\n\n",
        [
            ("message", "1", ""),
            ("message", "3", ""),
        ],
    ),
    WptCase(
        "format-bom-2",
        b"\xef\xbb\xbf\xef\xbb\xbfdata:1\n\ndata:2\n\ndata:3\n\n",
        [
            ("message", "2", ""),
            ("message", "3", ""),
        ],
    ),
    WptCase(
        "format-comments",
        b"data:1\r:\0\n:\r\ndata:2\n:" + b"x" * 300 + b"\rdata:3\n:data:fail\r:" + b"\n\n",
        [("message", "1\n2\n3", "")],
    ),
    WptCase(
        "format-field-data",
        b"data:\n\ndata\ndata\n\ndata:test\n\n",
        [
            ("message", "", ""),
            ("message", "\n", ""),
            ("message", "test", ""),
        ],
    ),
    WptCase("format-field-event-empty", b"event: \ndata:data\n\n", [("message", "data", "")]),
    WptCase(
        "format-field-event",
        b"event:test\ndata:x\n\ndata:x\n\n",
        [
            ("test", "x", ""),
            ("message", "x", ""),
        ],
    ),
    WptCase(
        "format-field-id",
        b"id: 1\ndata: a\n\nid: 2\ndata: b\n\n",
        [
            ("message", "a", "1"),
            ("message", "b", "2"),
        ],
    ),
    WptCase(
        "format-field-id-2",
        b"id: 1\ndata: a\n\nid\ndata: b\n\n",
        [
            ("message", "a", "1"),
            ("message", "b", ""),
        ],
    ),
    WptCase(
        "format-field-id-null",
        b"id: a\0b\ndata: x\n\nid: c\ndata: y\n\n",
        [
            ("message", "x", ""),
            ("message", "y", "c"),
        ],
    ),
    WptCase(
        "format-field-parsing",
        b"data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n"
        b" data:32\ndata:4\n\n",
        [("message", "\0\n 2\n1\n3\n\n4", "")],
    ),
    WptCase(
        "format-field-unknown",
        b"data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n",
        [
            ("message", "test\n\ntest", ""),
        ],
    ),
    WptCase(
        "format-leading-space",
        b"data:\ttest\rdata: \ndata:test\n\n",
        [
            ("message", "\ttest\n\ntest", ""),
        ],
    ),
    WptCase(
        "format-newlines",
        b"data:test\r\ndata\ndata:test\r\n\r\n",
        [
            ("message", "test\n\ntest", ""),
        ],
    ),
    WptCase("format-null-character", b"data:\0\n\n\n\n", [("message", "\0", "")]),
    WptCase("format-utf-8", "data:ok…\n\n".encode(), [("message", "ok…", "")]),
    WptCase(
        "format-data-before-final-empty-line",
        b"retry:1000\ndata:test1\n\nid:test\ndata:test2",
        [
            ("message", "test1", ""),
        ],
    ),
]


@pytest.mark.parametrize("case", WPT_CASES, ids=[case.name for case in WPT_CASES])
def test_wpt_format_case(case: WptCase) -> None:
    assert summary(case.stream) == case.expected
    # The same at every chunk boundary: one byte per feed.
    assert summary(*(case.stream[i : i + 1] for i in range(len(case.stream)))) == case.expected


def test_wpt_format_field_retry_bogus() -> None:
    dec = Decoder()
    decode(b"retry:3000\n\nretry:1000x\ndata:x\n\n", decoder=dec)
    assert dec.retry == 3000


# -- Bounds ---------------------------------------------------------------------------------------


def test_line_that_never_ends_is_rejected_by_the_line_bound() -> None:
    dec = Decoder(max_line_bytes=1 << 20)
    chunk = b"data: " + b"x" * ((64 << 10) - 6)
    feeds = 0
    error: WireLimitExceeded | None = None
    # A 100 MB hostile line, fed as a server would send it; the bound stops it at 1 MiB.
    for _ in range((100 << 20) // len(chunk)):
        feeds += 1
        try:
            dec.feed(chunk)
        except WireLimitExceeded as exc:
            error = exc
            break
        chunk = b"x" * (64 << 10)
    assert error is not None
    assert error.limit_name == "max_line_bytes"
    assert error.limit == 1 << 20
    assert isinstance(error, RemoteProtocolError)
    assert feeds == 17


def test_line_bound_counts_bytes_not_characters() -> None:
    # "data:€€" is 7 characters but 11 bytes; "data:€€€" is 8 characters but 14 bytes.
    assert Decoder(max_line_bytes=11).feed("data:€€\n".encode()) == [Field("data", "€€")]
    with pytest.raises(WireLimitExceeded):
        Decoder(max_line_bytes=11).feed("data:€€€\n".encode())


def test_line_exactly_at_the_bound_is_accepted() -> None:
    dec = Decoder(max_line_bytes=8)
    assert dec.feed(b"data:abc\n") == [Field("data", "abc")]
    with pytest.raises(WireLimitExceeded):
        dec.feed(b"data:abcd\n")


def test_event_that_never_ends_is_rejected_by_the_event_bound() -> None:
    dec = Decoder(max_line_bytes=1 << 10, max_event_bytes=1 << 16)
    line = b"data: " + b"x" * 1000 + b"\n"
    # 16 lines of 1007 bytes per feed: four feeds fit in 64 KiB, the fifth crosses it.
    for _ in range(4):
        dec.feed(line * 16)
    with pytest.raises(WireLimitExceeded) as info:
        dec.feed(line * 16)
    assert info.value.limit_name == "max_event_bytes"


def test_event_bound_resets_at_each_dispatch() -> None:
    dec = Decoder(max_event_bytes=20)
    for _ in range(100):
        assert dec.feed(b"data: 0123456789\n\n")[-1] == Event(
            "", "0123456789", None, "", None, (Field("data", "0123456789"),)
        )


def test_comments_do_not_count_towards_the_event_bound() -> None:
    dec = Decoder(max_event_bytes=20)
    dec.feed(b": 0123456789012345678901234567890\n" * 10)
    assert dec.feed(b"data: a\n\n")[-1] == Event("", "a", None, "", None, (Field("data", "a"),))


def test_limit_error_carries_items_parsed_before_it_and_decoder_stays_failed() -> None:
    dec = Decoder(max_line_bytes=16)
    with pytest.raises(WireLimitExceeded) as info:
        dec.feed(b"data: a\n\n" + b"data: " + b"y" * 20)
    assert info.value.items == (
        Field("data", "a"),
        Event("", "a", None, "", None, (Field("data", "a"),)),
    )
    with pytest.raises(WireLimitExceeded):
        dec.feed(b"\n\n")
    with pytest.raises(WireLimitExceeded):
        dec.close()


def test_feed_after_close_is_a_harness_error() -> None:
    dec = Decoder()
    dec.close()
    with pytest.raises(LocalProtocolError):
        dec.feed(b"data: a\n\n")


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Decoder(max_line_bytes=0)


# -- Properties -----------------------------------------------------------------------------------

# Fragments that exercise every branch: terminators, BOMs, colons, field names, invalid bytes.
_FRAGMENTS = st.sampled_from(
    [
        b"data",
        b"event",
        b"id",
        b"retry",
        b"Data",
        b":",
        b": ",
        b" ",
        b"\r",
        b"\n",
        b"\r\n",
        b"\n\n",
        b"\xef\xbb\xbf",
        b"\xff",
        b"\xe2\x82",
        "é€😀\u2028".encode(),
        b"\x00",
        b"12",
        b"x",
    ]
)
_STREAMS = st.lists(_FRAGMENTS | st.binary(max_size=6), max_size=40).map(b"".join)


def _observe(chunks: list[bytes]) -> tuple[object, ...]:
    dec = Decoder()
    items = decode(*chunks, decoder=dec)
    return (
        items,
        dec.bom_seen,
        dec.invalid_utf8,
        dec.line_ending_kinds,
        dec.last_event_id,
        dec.retry,
    )


@settings(max_examples=300)
@given(stream=_STREAMS, data=st.data())
def test_any_chunking_gives_the_same_items(stream: bytes, data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.sets(st.integers(0, len(stream)))))
    bounds = [0, *cuts, len(stream)]
    chunks = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    whole = _observe([stream])
    assert _observe(chunks) == whole
    assert _observe([stream[i : i + 1] for i in range(len(stream))]) == whole


def _no(chars: str) -> st.SearchStrategy[str]:
    return st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters=chars))


@dataclass(frozen=True)
class Generated:
    type: str
    data: str
    id: str | None
    retry: int | None


# Names and ids have no CR/LF (ids no NUL either); data has no CR (its LFs become data lines).
_GENERATED = st.builds(
    Generated,
    type=_no("\r\n"),
    data=_no("\r"),
    id=st.none() | _no("\r\n\0"),
    retry=st.none() | st.integers(0, 10**9),
)


def _encode(event: Generated, eol: str) -> bytes:
    lines = []
    if event.id is not None:
        lines.append(f"id: {event.id}")
    if event.type:
        lines.append(f"event: {event.type}")
    if event.retry is not None:
        lines.append(f"retry: {event.retry}")
    lines.extend(f"data: {part}" for part in event.data.split("\n"))
    return (eol.join(lines) + eol + eol).encode()


@given(generated=st.lists(_GENERATED, max_size=8), eol=st.sampled_from(["\n", "\r\n", "\r"]))
def test_encode_then_decode_is_identity(generated: list[Generated], eol: str) -> None:
    stream = b"".join(_encode(event, eol) for event in generated)
    dec = Decoder()
    decoded = events(stream)
    last_id = ""
    expected = []
    for event in generated:
        last_id = event.id if event.id is not None else last_id
        expected.append((event.type, event.data, event.id, last_id, event.retry))
    assert [(e.type, e.data, e.id, e.last_event_id, e.retry) for e in decoded] == expected
    decode(stream, decoder=dec)
    assert dec.invalid_utf8 == 0
