"""What can go wrong while subscribing, as types (the blame is in the name).

`retryable` says whether the reconnect loop may try again (CLI-5, CLI-8).
"""

from __future__ import annotations

__all__ = [
    "ConnectionFailed",
    "HttpStatusError",
    "InvalidEvent",
    "NotAnEventStream",
    "ServerErrorEvent",
    "SseClientError",
    "StreamInterrupted",
]

# Statuses worth another try: the server or a proxy may recover (CLI-5). Every other 4xx is final:
# 401, 403 and 404 by CLI-8, the rest (400, 405, 410...) because a retry sends the same request.
_RETRYABLE_4XX = frozenset({408, 425, 429})


class SseClientError(Exception):
    """Base of every error the reference client reports."""

    retryable: bool = False


class ConnectionFailed(SseClientError):
    """The request could not be sent or its answer not received (a network failure)."""

    retryable = True


class HttpStatusError(SseClientError):
    """The server answered with a status other than 200; `title` is the problem body's, if any,
    and `retry_after_ms` the `Retry-After` header's delay (seconds form only)."""

    def __init__(
        self, status: int, title: str | None, body: str, retry_after_ms: int | None = None
    ) -> None:
        detail = f": {title}" if title else ""
        super().__init__(f"HTTP {status}{detail}")
        self.status = status
        self.title = title
        self.body = body
        self.retry_after_ms = retry_after_ms
        self.retryable = status >= 500 or status in _RETRYABLE_4XX


class NotAnEventStream(SseClientError):
    """A 200 answer whose Content-Type is not text/event-stream (WHATWG: fail the connection)."""

    def __init__(self, content_type: str | None) -> None:
        super().__init__(f"expected Content-Type text/event-stream, got {content_type or 'none'}")
        self.content_type = content_type


class StreamInterrupted(SseClientError):
    """An open stream broke: a network error, a silence longer than two heartbeats (CLI-11), or an
    end without a timeout event, a complete snapshot or an error event (CLI-5)."""

    retryable = True


class ServerErrorEvent(SseClientError):
    """The server ended the stream with an `error` event (ERR-13 to ERR-15)."""

    def __init__(self, code: str | None, message: str) -> None:
        super().__init__(f"server error event: {code + ': ' if code else ''}{message}")
        self.code = code
        self.message = message


class InvalidEvent(SseClientError):
    """An event whose data is not JSON or not valid against its contract (CLI-3): reported."""

    def __init__(self, name: str, data: str, reason: str) -> None:
        super().__init__(f"invalid {name!r} event: {reason}")
        self.name = name
        self.data = data
        self.reason = reason
