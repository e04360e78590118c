"""Bounds on what a request may carry, checked before any route runs.

Headers over 8 KiB in total are answered 431 and a declared body over 64 KiB 413, both as problem
bodies. (uvicorn itself refuses a header block over 16 KiB with a bare 400 before the application
sees it.) Routes that read a body stop at the same 64 KiB when no length was declared.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from reference.http.problems import problem_response

MAX_HEADER_BYTES = 8 * 1024
MAX_BODY_BYTES = 64 * 1024


class RequestLimits:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope["headers"]
            if sum(len(name) + len(value) + 4 for name, value in headers) > MAX_HEADER_BYTES:
                response = problem_response(431, "The request headers are too large.")
                await response(scope, receive, send)
                return
            for name, value in headers:
                if name == b"content-length" and _too_long(value):
                    response = problem_response(413, "The request body is too large.")
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _too_long(declared: bytes) -> bool:
    try:
        return int(declared) > MAX_BODY_BYTES
    except ValueError:
        return False  # uvicorn rejects a malformed Content-Length itself
