"""The billing profile's HTTP controllers (spec/13): thin, no SQL, no domain rules.

Each route checks access (through the ``require_caller`` dependency), calls one use case and
turns its answer into a response. Not found, foreign and malformed run ids all become the same 404
(ERR-9, ERR-12, ISO-3).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from reference.billing.progress import STREAM_PATH, to_payload
from reference.billing.schemas import CreateRunRequest, CreateRunResponse, SendProgressBody
from reference.http import problems
from reference.http.bodies import NotJson, openapi_body, parse_json, read_body, validate
from reference.http.guard import require_caller
from reference.http.problems import ProblemError, not_found
from reference.identity.access import Caller
from reference.services import Services
from reference.stream import SnapshotFetchError
from reference.stream.sse import SnapshotStreamResponse

router = APIRouter(tags=["billing"])

RunId = Annotated[
    str,
    Path(
        alias="billingRunId",
        description="An opaque run id; one that is malformed is answered like a missing run.",
    ),
]
CallerDep = Annotated[Caller, Depends(require_caller)]

_ACCESS_ERRORS = (400, 401, 403)

_STREAM_200: dict[str, Any] = {
    "description": (
        "A snapshot stream (spec/01 to spec/10): the current `billing.invoice-send-progress` "
        "event at once, then one on every change, a `heartbeat` event every heartbeatMs, and a "
        "`timeout` event at timeoutMs; it ends after a complete snapshot, the timeout event or "
        "an `error` event ({code, message})."
    ),
    "content": {
        "text/event-stream": {
            "schema": {"type": "string", "description": "Server-Sent Events, UTF-8, LF lines."}
        }
    },
}


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


@router.post(
    "/classes/billing/runs",
    status_code=201,
    response_model=CreateRunResponse,
    summary="Create a billing run (BIL-6)",
    responses=problems.responses(*_ACCESS_ERRORS, 413, 422),
    openapi_extra=openapi_body(CreateRunRequest),
)
async def create_run(request: Request, caller: CallerDep) -> JSONResponse:
    raw = await read_body(request)
    try:
        document = parse_json(raw)
    except NotJson:
        raise ProblemError(400, "The body is not JSON.") from None
    body = validate(CreateRunRequest, document)
    run_id = await _services(request).progress.create_run(
        caller, body.month, body.invoiceCount, body.sendInvoices
    )
    return JSONResponse({"billingRunId": run_id}, status_code=201)


@router.get(
    "/classes/billing/runs/{billingRunId}/send-progress",
    response_model=SendProgressBody,
    summary="The run's current send progress: the polling fallback (BIL-4)",
    responses=problems.responses(*_ACCESS_ERRORS, 404),
)
async def send_progress(request: Request, run_id: RunId, caller: CallerDep) -> JSONResponse:
    snapshot = await _services(request).progress.current_progress(caller, run_id)
    if snapshot is None:
        raise not_found()
    return JSONResponse(to_payload(snapshot))


@router.get(
    STREAM_PATH,
    response_class=Response,
    summary="The run's send progress as a snapshot stream (BIL-1)",
    responses={200: _STREAM_200, **problems.responses(*_ACCESS_ERRORS, 404, 503)},
)
async def send_progress_stream(request: Request, run_id: RunId, caller: CallerDep) -> Response:
    services = _services(request)
    if services.hub.shutting_down:
        raise ProblemError(503, "The server is shutting down.", headers={"Retry-After": "1"})
    try:
        subscription = await services.progress.open_stream(caller, run_id)
    except SnapshotFetchError:
        # Known before the stream opens, so an HTTP error rather than an error event (spec/08).
        raise ProblemError(
            503, "The current state could not be read.", headers={"Retry-After": "1"}
        ) from None
    if subscription is None:
        raise not_found()
    return SnapshotStreamResponse(subscription, services.config.timing.timeout)
