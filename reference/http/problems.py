"""RFC 9457 problem bodies for every error, FastAPI's and Starlette's own included (ERR-1).

Route code raises :class:`ProblemError`; the handlers installed by :func:`install` turn it, and
every HTTPException (404 of an unknown path, 405 with its ``Allow`` header), every request
validation error (422) and any unexpected exception (500, without details) into
``application/problem+json``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

PROBLEM_MEDIA_TYPE = "application/problem+json"

_log = logging.getLogger(__name__)


class Problem(BaseModel):
    """An RFC 9457 problem details object (contract problem@1)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


class ProblemError(Exception):
    """Raised by routes and dependencies; answered as a problem body with ``status``."""

    def __init__(
        self, status: int, detail: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})


def problem_response(
    status: int, detail: str | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    body: dict[str, object] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


# One body for "no such resource", whatever the reason: unknown path, nonexistent run, a run of
# another workspace, a malformed id (ERR-9, ERR-11, ERR-12, ISO-3).
NOT_FOUND_DETAIL = "The requested resource does not exist."


def not_found() -> ProblemError:
    return ProblemError(404, NOT_FOUND_DETAIL)


async def _on_problem(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.status, exc.detail, exc.headers)


async def _on_http_exception(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        detail = NOT_FOUND_DETAIL
    elif exc.status_code == 405:
        detail = "This method is not allowed here; see the Allow header."
    else:
        detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(exc.status_code, detail, exc.headers)


async def _on_validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # Name where the request was wrong, never echo the input (it could hold a credential).
    places = sorted({".".join(str(p) for p in error.get("loc", ())) for error in exc.errors()})
    return problem_response(422, "Invalid request: " + ", ".join(places))


async def _on_unexpected(_: Request, exc: Exception) -> Response:
    _log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
    return problem_response(500, "The server failed to handle the request.")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(Exception, _on_unexpected)


_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem bodies for ``statuses``."""
    return {
        status: {"description": HTTPStatus(status).phrase, "content": _PROBLEM_CONTENT}
        for status in statuses
    }


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Make a generated OpenAPI document say what the server does: every 4xx and 5xx answer is
    a problem body (FastAPI would document its own 422 as application/json)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema()
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                if status[:1] in ("4", "5"):
                    response["content"] = _PROBLEM_CONTENT
    return schema
