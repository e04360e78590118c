"""Hand-written SSE framing (WHATWG HTML §9.2), with the permitted variants of spec/03.

Written by hand on purpose: the reference server uses a framework's SSE support, the harness a
sans-IO decoder; a third, independent encoder is what proves the decoder accepts every permitted
spelling of the same events.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from snapshot_options import Options


class Framer:
    """Turns events into body chunks for one stream."""

    def __init__(self, options: Options) -> None:
        self._options = options
        self._eol = "\r\n" if options.has("crlf") else "\n"
        self._sep = ":" if options.has("nospace") else ": "
        self._next_id = 1
        self._gzip = (
            zlib.compressobj(wbits=31) if options.broken("gzip-encoded") else None
        )  # gzip container

    def _line(self, name: str, value: str) -> str:
        return f"{name}{self._sep}{value}"

    def _data_lines(self, data: str) -> list[str]:
        return [self._line("data", part) for part in data.split("\n")]

    def _json(self, value: Any) -> str:
        if self._options.has("multiline"):
            return json.dumps(value, indent=2)  # several data: lines, joined by LF (WF-7)
        return json.dumps(value, separators=(",", ":"))

    def _take_id(self) -> str:
        value = str(self._next_id)
        self._next_id += 1
        return value

    def _block(self, lines: list[str], *, terminated: bool = True) -> list[bytes]:
        text = self._eol.join(lines) + self._eol + (self._eol if terminated else "")
        return self._chunks(text)

    def _chunks(self, text: str) -> list[bytes]:
        if self._options.has("split-writes"):
            # one chunk per line; with CRLF the CR ends one chunk and the LF opens the next
            cut = "\r" if self._options.has("crlf") else "\n"
            parts = text.split(cut)
            pieces = [part + cut for part in parts[:-1]]
            if parts[-1]:
                pieces.append(parts[-1])
            return [self._encode(piece) for piece in pieces]
        return [self._encode(text)]

    def _encode(self, text: str) -> bytes:
        raw = text.encode()
        if self._gzip is None:
            return raw
        return self._gzip.compress(raw) + self._gzip.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        """Bytes that close the body's encoding (the gzip trailer), if any."""
        return b"" if self._gzip is None else self._gzip.flush(zlib.Z_FINISH)

    # the events ---------------------------------------------------------------------------

    def opening(self) -> list[bytes]:
        """What may precede the first event: a BOM (fault), an empty line, a comment."""
        if self._options.broken("invalid-utf8"):
            return [b": \xff\xfe" + self._eol.encode()]  # not UTF-8: breaks WF-1 only
        text = ""
        if self._options.broken("bom"):
            text += "\ufeff"
        if self._options.has("leading-newline"):
            text += self._eol
        if self._options.has("comments"):
            text += ":ssegate test server" + self._eol
        return self._chunks(text) if text else []

    def data_event(self, event: str, payload: dict[str, Any], *, first: bool) -> list[bytes]:
        options = self._options
        lines = [self._line("event", event)]
        if options.broken("duplicate-event-field"):
            lines.append(self._line("event", event))
        if options.has("comments"):
            lines.append(": snapshot")  # a comment inside an event (WF-15)
        if options.broken("id-with-null"):
            lines.append(self._line("id", self._take_id() + "\x00"))
        elif options.has("ids"):
            lines.append(self._line("id", self._take_id()))
        if first and options.broken("retry-not-digits"):
            lines.append(self._line("retry", "2000ms"))
        elif first and options.has("retry"):
            lines.append(self._line("retry", "2000"))
        if options.broken("unknown-field"):
            lines.append(self._line("x-debug", "1"))
        lines += self._data_lines(self._json(payload))
        return self._block(lines)

    def debug_event(self) -> list[bytes]:
        """Only under the unknown-event fault: an event name the profile does not define."""
        return self._block([self._line("event", "debug"), *self._data_lines('{"note":"debug"}')])

    def heartbeat(self, timestamp: str) -> list[bytes]:
        lines = [] if self._options.broken("unnamed-events") else [self._line("event", "heartbeat")]
        if self._options.broken("heartbeat-with-id"):
            lines.append(self._line("id", self._take_id()))
        if self._options.broken("data-not-json"):
            lines += self._data_lines(timestamp)
        else:
            lines += self._data_lines(self._json({"timestamp": timestamp}))
        return self._block(lines)

    def timeout(self, started_at: str, timestamp: str, timeout_ms: int) -> list[bytes]:
        lines = [self._line("event", "timeout")]
        if self._options.has("ids"):
            lines.append(self._line("id", self._take_id()))
        body = {"startedAt": started_at, "timestamp": timestamp, "timeoutMs": timeout_ms}
        lines += self._data_lines(self._json(body))
        return self._block(lines, terminated=not self._options.broken("unterminated-final-event"))

    def error(self, code: str, message: str) -> list[bytes]:
        lines = [self._line("event", "error")]
        if self._options.has("ids"):
            lines.append(self._line("id", self._take_id()))
        if self._options.has("plain-errors"):
            lines += self._data_lines(message)  # ERR-15
        else:
            lines += self._data_lines(self._json({"code": code, "message": message}))
        return self._block(lines)

    def comment(self, text: str) -> list[bytes]:
        return self._chunks(f": {text}{self._eol}")
