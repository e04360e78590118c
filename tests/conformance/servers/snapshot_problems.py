"""RFC 9457 problem responses (ERR-1), the only shape of every 4xx and 5xx answer."""

from __future__ import annotations

import json

from snapshot_options import Options
from starlette.responses import Response

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Content",
    503: "Service Unavailable",
}


def problem(
    options: Options,
    status: int,
    detail: str | None = None,
    *,
    title: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A problem+json response; `detail` and `instance` only under the detailed-problems variant."""
    body: dict[str, object] = {"title": title or _TITLES.get(status, "Error"), "status": status}
    if options.has("detailed-problems"):
        body["type"] = "about:blank"
        if detail is not None:
            body["detail"] = detail
        if instance is not None:
            body["instance"] = instance
    return Response(json.dumps(body), status, headers, media_type="application/problem+json")
