"""A sans-IO decoder for the Server-Sent Events wire format, exact to WHATWG HTML §9.2.

Bytes go in (:meth:`Decoder.feed`), typed items come out: :class:`Field`, :class:`Comment`,
:class:`Event`, :class:`DiscardedBlock`; :meth:`Decoder.close` reports a :class:`PartialBlock`
left without its terminating empty line. No I/O happens here (no httpx, no asyncio), so the
decoder can be fed one byte at a time and proven against the rules P1-P19 of
shared/notes/sse-wire-rules.md, which the comments cite beside the WHATWG sentence they implement.

The decoder is the oracle behind the wire-format checks (spec/03-wire-format.md, WF-1..WF-16):
it parses exactly as a browser would and keeps what a lenient parser would throw away (every
field line, blocks that dispatched nothing, the partial block at EOF, BOMs, invalid UTF-8,
line-ending kinds) so a check can say what the server did.

Lines are split on raw bytes before they are decoded. This is equivalent to decoding the whole
stream first, because CR and LF bytes never occur inside a UTF-8 sequence and an incomplete
sequence cut by them is replaced in both orders; it lets the bounds count bytes and keeps a
hostile stream from costing more than its bound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conformance.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "Comment",
    "Decoder",
    "DiscardedBlock",
    "Event",
    "Field",
    "Item",
    "PartialBlock",
    "WireLimitExceeded",
]

_BOM = b"\xef\xbb\xbf"
_REPLACEMENT = "\ufffd"
# A literal U+FFFD in the input is valid UTF-8; it must not count as a replacement.
_ENCODED_REPLACEMENT = _REPLACEMENT.encode()
_LINE_END = re.compile(rb"[\r\n]")
_CR = 0x0D
_LF = 0x0A


@dataclass(frozen=True, slots=True)
class Field:
    """One field line, split as WHATWG splits it (P7, P8). ``name`` may be unknown or mis-cased."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment line (P6); ``text`` is everything after the leading colon, unstripped."""

    text: str


@dataclass(frozen=True, slots=True)
class Event:
    """An event dispatched by an empty line (P5).

    ``type`` is the raw event type buffer ("" when there was no or an empty ``event:`` field);
    :attr:`name` gives the type a listener sees (P17). ``id`` is the value of the last accepted
    ``id`` field of this block (None if the block set none; an id containing NUL is not accepted,
    P12). ``last_event_id`` is the stream's last event ID after this dispatch (P14, P18).
    ``retry`` is the last valid ``retry`` value of this block (P13). ``fields`` holds every field
    line of the block in order, so checks can see duplicates and unknown fields.
    """

    type: str
    data: str
    id: str | None
    last_event_id: str
    retry: int | None
    fields: tuple[Field, ...]

    @property
    def name(self) -> str:
        """The event type as a listener sees it: the type buffer, or ``message`` (P17)."""
        return self.type or "message"


@dataclass(frozen=True, slots=True)
class DiscardedBlock:
    """An empty line that dispatched nothing because the data buffer was empty (P15).

    Only reported for blocks that had at least one field line; an empty line after nothing or after
    comments only is the ordinary keep-alive pattern (WF-15) and yields no item. The id of such a
    block still updated the stream's last event ID (P14), given here as ``last_event_id``.
    """

    fields: tuple[Field, ...]
    last_event_id: str = ""


@dataclass(frozen=True, slots=True)
class PartialBlock:
    """What :meth:`Decoder.close` found after the last empty line: discarded, id included (P19).

    ``fields`` are the complete field lines of the unfinished block; ``unterminated_line`` is the
    decoded text of a last line that never got its line terminator ("" if there was none).
    """

    fields: tuple[Field, ...]
    unterminated_line: str = ""


Item = Field | Comment | Event | DiscardedBlock


class WireLimitExceeded(RemoteProtocolError):
    """A line or an event outgrew the decoder's bound; the server is blamed (FAIL).

    ``items`` are what the decoder had parsed from the same ``feed`` call before the bound was
    crossed, so a caller loses nothing that arrived before the offending bytes.
    """

    def __init__(self, limit_name: str, limit: int, *, items: tuple[Item, ...] = ()) -> None:
        super().__init__(f"SSE {limit_name} of {limit} bytes exceeded")
        self.limit_name = limit_name
        self.limit = limit
        self.items = items


class Decoder:
    """Incremental WHATWG event-stream parser with bounded buffers.

    ``max_line_bytes`` bounds one line (without its terminator); ``max_event_bytes`` bounds the
    field lines of one block (each counted with one terminator byte). Crossing either raises
    :class:`WireLimitExceeded`; the decoder then stays failed and raises it again on every call.
    """

    def __init__(self, max_line_bytes: int = 1 << 20, max_event_bytes: int = 16 << 20) -> None:
        if max_line_bytes < 1 or max_event_bytes < 1:
            raise ValueError("decoder bounds must be positive")
        self._max_line = max_line_bytes
        self._max_event = max_event_bytes
        # Stream start: bytes held back until we know whether they begin with a BOM.
        self._head: bytes | None = b""
        self._bom_seen = False
        # The unfinished line, as raw byte pieces, and its length.
        self._partial: list[bytes] = []
        self._partial_len = 0
        # A CR ended the previous feed: an LF at the start of the next one belongs to it (P3).
        self._skip_lf = False
        self._endings = {"LF": 0, "CR": 0, "CRLF": 0}
        self._invalid_utf8 = 0
        # WHATWG buffers.
        self._data: list[str] = []
        self._type = ""
        self._last_event_id_buffer = ""
        self._last_event_id = ""
        self._retry: int | None = None
        # Per block, for reporting.
        self._fields: list[Field] = []
        self._block_id: str | None = None
        self._block_retry: int | None = None
        self._block_bytes = 0
        self._failed: WireLimitExceeded | None = None
        self._closed = False

    # -- observations ---------------------------------------------------------------------------

    @property
    def bom_seen(self) -> bool:
        """A leading U+FEFF was stripped from the stream (P2; WF-2 forbids sending it)."""
        return self._bom_seen

    @property
    def invalid_utf8(self) -> int:
        """How many U+FFFD replacements decoding produced (P1; WF-1 forbids any)."""
        return self._invalid_utf8

    @property
    def line_ending_kinds(self) -> set[str]:
        """Which of ``"LF"``, ``"CRLF"``, ``"CR"`` ended at least one line (P3; WF-4)."""
        return {kind for kind, count in self._endings.items() if count}

    @property
    def last_event_id(self) -> str:
        """The stream's last event ID string, as of the last empty line (P14, P18, P19)."""
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        """The reconnection time set by the last valid ``retry`` field, if any (P13)."""
        return self._retry

    # -- input ----------------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Item]:
        """Parse ``data``; return the items completed by it, in stream order."""
        self._check_usable()
        out: list[Item] = []
        try:
            self._feed(data, out)
        except WireLimitExceeded as exc:
            failure = WireLimitExceeded(exc.limit_name, exc.limit, items=tuple(out))
            self._failed = failure
            # A failed decoder is never used again: give its (possibly huge) buffers back now.
            self._partial.clear()
            self._partial_len = 0
            self._reset_block()
            raise failure from None
        return out

    def close(self) -> list[PartialBlock]:
        """Signal the end of the stream; report the unfinished block, which WHATWG discards.

        "Once the end of the file is reached, any pending data must be discarded. (If the file ends
        in the middle of an event, before the final empty line, the incomplete event is not
        dispatched.)" (P19) The id of that block never reaches the last event ID.
        """
        self._check_usable()
        self._closed = True
        head = self._head or b""
        self._head = None
        tail = head + b"".join(self._partial)
        self._partial.clear()
        self._partial_len = 0
        unterminated = self._decode(tail) if tail else ""
        if not self._fields and not unterminated:
            return []
        partial = PartialBlock(tuple(self._fields), unterminated)
        self._reset_block()
        return [partial]

    # -- internals ------------------------------------------------------------------------------

    def _check_usable(self) -> None:
        if self._failed is not None:
            raise self._failed
        if self._closed:
            raise LocalProtocolError("SSE decoder used after close()")

    def _feed(self, data: bytes, out: list[Item]) -> None:
        if self._head is not None:
            # "UTF-8 decode": "If buffer is 0xEF 0xBB 0xBF, read three bytes" -- one BOM only (P2).
            head = self._head + data
            if len(head) < len(_BOM) and _BOM.startswith(head):
                self._head = head
                return
            self._head = None
            if head.startswith(_BOM):
                self._bom_seen = True
                head = head[len(_BOM) :]
            data = head
        pos = 0
        end_of_data = len(data)
        if self._skip_lf and end_of_data:
            # "Lines must be separated by either a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF)
            # character pair, a single U+000A LINE FEED (LF) character, or a single U+000D
            # CARRIAGE RETURN (CR) character." A CRLF split across feeds is one terminator (P3).
            self._skip_lf = False
            if data[0] == _LF:
                self._endings["CR"] -= 1
                self._endings["CRLF"] += 1
                pos = 1
        while pos < end_of_data:
            match = _LINE_END.search(data, pos)
            if match is None:
                self._hold(data[pos:])
                return
            end = match.start()
            if self._partial_len + (end - pos) > self._max_line:
                raise WireLimitExceeded("max_line_bytes", self._max_line)
            if self._partial:
                self._partial.append(data[pos:end])
                line = b"".join(self._partial)
                self._partial.clear()
                self._partial_len = 0
            else:
                line = data[pos:end]
            # Only CR, LF and CRLF end a line; U+2028, U+0085 and the like are data (P4).
            if data[end] == _CR:
                if end + 1 < end_of_data:
                    if data[end + 1] == _LF:
                        self._endings["CRLF"] += 1
                        pos = end + 2
                    else:
                        self._endings["CR"] += 1
                        pos = end + 1
                else:
                    # Counted as CR until the next feed shows whether an LF follows.
                    self._endings["CR"] += 1
                    self._skip_lf = True
                    pos = end + 1
            else:
                self._endings["LF"] += 1
                pos = end + 1
            self._line(line, out)

    def _hold(self, piece: bytes) -> None:
        self._partial_len += len(piece)
        if self._partial_len > self._max_line:
            raise WireLimitExceeded("max_line_bytes", self._max_line)
        self._partial.append(piece)

    def _decode(self, raw: bytes) -> str:
        # "The stream must then be decoded using UTF-8 decode" -- any charset parameter is
        # ignored and invalid sequences become U+FFFD (P1). Python's decoder replaces each maximal
        # subpart, as the Encoding Standard does.
        text = raw.decode("utf-8", "replace")
        if _REPLACEMENT in text:
            self._invalid_utf8 += text.count(_REPLACEMENT) - raw.count(_ENCODED_REPLACEMENT)
        return text

    def _line(self, raw: bytes, out: list[Item]) -> None:
        if not raw:
            # "If the line is empty (a blank line): Dispatch the event, as defined below." (P5)
            self._dispatch(out)
            return
        line = self._decode(raw)
        if line[0] == ":":
            # "If the line starts with a U+003A COLON character (:): Ignore the line." (P6)
            out.append(Comment(line[1:]))
            return
        self._block_bytes += len(raw) + 1
        if self._block_bytes > self._max_event:
            raise WireLimitExceeded("max_event_bytes", self._max_event)
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            # "Collect the characters on the line before the first U+003A COLON character (:),
            # and let field be that string. Collect the characters on the line after the first
            # U+003A COLON character (:), and let value be that string. If value starts with a
            # U+0020 SPACE character, remove it from value." (P7)
            value = value[1:]
        # Without a colon: "using the whole line as the field name, and the empty string as the
        # field value." (P8) -- partition already gives exactly that.
        field = Field(name, value)
        self._fields.append(field)
        out.append(field)
        self._process_field(field)

    def _process_field(self, field: Field) -> None:
        # Field names are compared case-sensitively; "Otherwise: The field is ignored." (P9)
        name, value = field.name, field.value
        if name == "event":
            # "Set the event type buffer to field value." Last one wins (P10).
            self._type = value
        elif name == "data":
            # "Append the field value to the data buffer, then append a single U+000A LINE FEED
            # (LF) character to the data buffer." (P11)
            self._data.append(value)
            self._data.append("\n")
        elif name == "id":
            # "If the field value does not contain U+0000 NULL, then set the last event ID buffer
            # to the field value. Otherwise, ignore the field." (P12)
            if "\0" not in value:
                self._last_event_id_buffer = value
                self._block_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            # "If the field value consists of only ASCII digits, then interpret the field value as
            # an integer in base ten, and set the event stream's reconnection time to that
            # integer. Otherwise, ignore the field." (P13; an empty value has no digits.)
            self._retry = int(value)
            self._block_retry = self._retry

    def _dispatch(self, out: list[Item]) -> None:
        # "Set the last event ID string of the event source to the value of the last event ID
        # buffer. The buffer does not get reset, so the last event ID string of the event source
        # remains set to this value until the next time it is set by the server." (P14, P18)
        self._last_event_id = self._last_event_id_buffer
        if not self._data:
            # "If the data buffer is an empty string, set the data buffer and the event type
            # buffer to the empty string and return." (P15)
            if self._fields:
                out.append(DiscardedBlock(tuple(self._fields), self._last_event_id))
            self._reset_block()
            return
        # "If the data buffer's last character is a U+000A LINE FEED (LF) character, then remove
        # the last character from the data buffer." (P16) Our buffer always ends with that LF.
        data = "".join(self._data[:-1])
        # "If the event type buffer has a value other than the empty string, change the type of
        # the newly created event to equal the value of the event type buffer." (P17: `name`)
        out.append(
            Event(
                type=self._type,
                data=data,
                id=self._block_id,
                last_event_id=self._last_event_id,
                retry=self._block_retry,
                fields=tuple(self._fields),
            )
        )
        # "Set the data buffer and the event type buffer to the empty string."
        self._reset_block()

    def _reset_block(self) -> None:
        self._data.clear()
        self._type = ""
        self._fields.clear()
        self._block_id = None
        self._block_retry = None
        self._block_bytes = 0
