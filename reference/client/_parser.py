"""A sans-IO Server-Sent Events parser that follows the WHATWG rules (CLI-2).

Bytes go in (`SseParser.feed`), dispatched events come out; no socket, no asyncio, so it can be fed
one byte at a time in tests. The rule numbers (P1...) are those of shared/notes/sse-wire-rules.md
§1; the quoted sentences are from WHATWG HTML §9.2.6 "Interpreting an event stream".

This is the reference client's own parser. The conformance harness has a separate one on purpose:
the checker and the checked share no protocol code.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

__all__ = ["ParsedEvent", "ParserLimitExceeded", "SseParser"]

_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class ParsedEvent:
    """One dispatched event, before its data is interpreted.

    `type` is the event type buffer, "message" when it was empty (P17). `id` is the value of an `id`
    field seen in this event's block (None when there was none); `last_event_id` is the stream's
    last event ID after the block (P14, P18).
    """

    type: str
    data: str
    last_event_id: str
    id: str | None = None


class ParserLimitExceeded(Exception):
    """The stream exceeded a bound of the parser (a line or an event too large to hold)."""

    def __init__(self, limit_name: str, limit: int) -> None:
        super().__init__(f"SSE {limit_name} exceeds {limit} characters")
        self.limit_name = limit_name
        self.limit = limit


class SseParser:
    """Incremental WHATWG event-stream parser.

    `feed(data)` returns the events completed by `data`; `close()` discards a partial event (P19).
    `retry` holds the last valid reconnection time (ms) the server sent (P13), or None. Bounds
    protect memory from a hostile stream: a line longer than `max_line_chars` or an event whose data
    exceeds `max_event_chars` raises `ParserLimitExceeded`.
    """

    def __init__(self, *, max_line_chars: int = 1 << 20, max_event_chars: int = 16 << 20) -> None:
        # P1: "streams must always be decoded as UTF-8"; invalid bytes become U+FFFD.
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._max_line = max_line_chars
        self._max_event = max_event_chars
        self._bom_checked = False
        self._pending = ""  # text after the last line terminator
        self._after_cr = False  # the last terminator was a CR whose LF may arrive in the next chunk
        self._data: list[str] = []
        self._data_chars = 0
        self._type = ""
        self._block_id: str | None = None
        self.last_event_id = ""
        self.retry: int | None = None
        self.comments = 0

    def feed(self, data: bytes) -> list[ParsedEvent]:
        text = self._decoder.decode(data)
        return self._feed_text(text)

    def close(self) -> list[ParsedEvent]:
        """End of stream: flush the decoder and discard any partial event (P19).

        "Once the end of the file is reached, any pending data must be discarded. (If the file ends
        in the middle of an event, before the final empty line, the incomplete event is not
        dispatched.)" That includes the partial block's id: the last event ID keeps its value.
        """
        events = self._feed_text(self._decoder.decode(b"", final=True))
        self._pending = ""
        self._reset_block()
        return events

    def _feed_text(self, text: str) -> list[ParsedEvent]:
        if not text:
            return []
        if not self._bom_checked:
            # P2: exactly one leading BOM is stripped; a second one is part of the first line.
            self._bom_checked = True
            if text.startswith(_BOM):
                text = text[1:]
                if not text:
                    return []
        if self._after_cr:
            # P3: a CRLF split across two chunks is one line terminator, not two.
            self._after_cr = False
            if text.startswith("\n"):
                text = text[1:]
        if "\r" in text:
            self._after_cr = text.endswith("\r")
            # P3/P4: only CRLF, LF and CR end a line (not U+2028 or U+0085, so no str.splitlines).
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        if len(self._pending) > self._max_line:
            raise ParserLimitExceeded("line", self._max_line)
        return self._process_lines(lines)

    def _process_lines(self, lines: list[str]) -> list[ParsedEvent]:
        # One loop with the block state in locals: the hot path (benchmarks/bench_parser.py).
        events: list[ParsedEvent] = []
        data = self._data
        data_chars = self._data_chars
        event_type = self._type
        block_id = self._block_id
        max_line, max_event = self._max_line, self._max_event
        for line in lines:
            if not line:
                # P5: "If the line is empty (a blank line): Dispatch the event."
                if block_id is not None:
                    # P14: the last event ID is set before the empty-data check (`id: 5\n\n`).
                    self.last_event_id = block_id
                if data:
                    # P16: the trailing LF is removed; joining with LF is the same thing.
                    events.append(
                        ParsedEvent(
                            event_type or "message", "\n".join(data), self.last_event_id, block_id
                        )
                    )
                    data = []
                # P15: "If the data buffer is an empty string, set the data buffer and the event
                # type buffer to the empty string and return": no event without data (CLI-2).
                data_chars = 0
                event_type = ""
                block_id = None
                continue
            if line[0] == ":":
                # P6: "If the line starts with a U+003A COLON character (:): Ignore the line."
                self.comments += 1
                continue
            if len(line) > max_line:
                raise ParserLimitExceeded("line", max_line)
            # P7: split at the first colon; "If value starts with a U+0020 SPACE character, remove
            # it". P8: a line without a colon is a field name with the empty string as value.
            name, _, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]
            # P9: field names are case-sensitive; any other name is ignored.
            if name == "data":
                # P11: "Append the field value to the data buffer, then append a single U+000A".
                data.append(value)
                data_chars += len(value) + 1
                if data_chars > max_event:
                    raise ParserLimitExceeded("event data", max_event)
            elif name == "event":
                # P10: "Set the event type buffer to the field value" (the last one wins).
                event_type = value
            elif name == "id":
                # P12: "If the field value does not contain U+0000 NULL, then set the last event
                # ID buffer to the field value. Otherwise, ignore the field."
                if "\x00" not in value:
                    block_id = value
            # P13: "If the field value consists of only ASCII digits, then interpret the field
            # value as an integer in base ten, and set the event stream's reconnection time".
            # str.isdigit would also accept other scripts' digits, hence the explicit ASCII test.
            elif name == "retry" and value.isascii() and value.isdigit():
                self.retry = int(value)
        self._data = data
        self._data_chars = data_chars
        self._type = event_type
        self._block_id = block_id
        return events

    def _reset_block(self) -> None:
        self._data = []
        self._data_chars = 0
        self._type = ""
        self._block_id = None
