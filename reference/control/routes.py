"""The control API's HTTP controllers under ``/__ssegate`` (CTL-1 to CTL-14).

Included in the application only when a control secret is configured; without it every control
path is an unknown path and answers 404 (CTL-1). The secret is compared by digest with
:func:`hmac.compare_digest`, so the time taken does not depend on its content (CTL-2).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.responses import Response

from reference.control import schemas
from reference.control.use_cases import ControlUseCases, Outcome
from reference.http import problems
from reference.http.bodies import NotJson, openapi_body, parse_json, read_body, validate
from reference.http.problems import ProblemError, not_found

M = TypeVar("M", bound=BaseModel)

CONTROL_PREFIX = "/__ssegate"
SECRET_HEADER = "X-Ssegate-Control-Secret"


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()


async def require_secret(
    request: Request,
    secret: Annotated[
        str | None, Header(alias=SECRET_HEADER, description="The control secret (CTL-2).")
    ] = None,
) -> None:
    expected: bytes = request.app.state.control_secret_digest
    # Digests have one length whatever the secret's, and compare_digest does not stop at the
    # first differing byte: the time taken says nothing about the secret.
    matches = hmac.compare_digest(_digest(secret or ""), expected)
    if secret is None or not matches:
        raise ProblemError(401, f"A valid {SECRET_HEADER} header is required.")


router = APIRouter(
    prefix=CONTROL_PREFIX,
    tags=["control"],
    dependencies=[Depends(require_secret)],
    responses=problems.responses(401),
)

RunId = Annotated[str, Path(alias="billingRunId")]
WorkspaceId = Annotated[str, Path(alias="workspaceId")]


def _control(request: Request) -> ControlUseCases:
    control: ControlUseCases = request.app.state.control
    return control


async def _body(request: Request, model: type[M], *, empty_ok: bool) -> M:
    raw = await read_body(request)
    if empty_ok and not raw.strip():
        return model()
    try:
        document = parse_json(raw)
    except NotJson:
        raise ProblemError(422, "The body is not JSON.") from None  # CTL-14: not its contract
    return validate(model, document)


def _done(outcome: Outcome) -> Response:
    if outcome is Outcome.NOT_FOUND:
        raise not_found()
    if outcome is Outcome.CONFLICT:
        raise ProblemError(409, "The run was not sent; deliveries can only be set on a sent run.")
    return Response(status_code=204)


@router.get("/describe", response_model=schemas.Describe, summary="describe (CTL-3)")
async def describe(request: Request) -> JSONResponse:
    return JSONResponse(_control(request).describe())


@router.post(
    "/workspaces",
    status_code=201,
    response_model=schemas.Workspace,
    summary="create workspace (CTL-5)",
    responses=problems.responses(413, 422),
    openapi_extra=openapi_body(schemas.Empty, required=False),
)
async def create_workspace(request: Request) -> JSONResponse:
    await _body(request, schemas.Empty, empty_ok=True)
    workspace_id, token = await _control(request).create_workspace()
    return JSONResponse({"workspaceId": workspace_id, "token": token}, status_code=201)


@router.post(
    "/outsiders",
    status_code=201,
    response_model=schemas.Outsider,
    summary="create outsider (CTL-6)",
    responses=problems.responses(413, 422),
    openapi_extra=openapi_body(schemas.Empty, required=False),
)
async def create_outsider(request: Request) -> JSONResponse:
    await _body(request, schemas.Empty, empty_ok=True)
    principal_id, token = await _control(request).create_outsider()
    return JSONResponse({"principalId": principal_id, "token": token}, status_code=201)


@router.post(
    "/workspaces/{workspaceId}/billing-runs",
    status_code=201,
    response_model=schemas.BillingRun,
    summary="create billing run (CTL-7)",
    responses=problems.responses(404, 413, 422),
    openapi_extra=openapi_body(schemas.CreateBillingRun),
)
async def create_billing_run(request: Request, workspace_id: WorkspaceId) -> JSONResponse:
    body = await _body(request, schemas.CreateBillingRun, empty_ok=False)
    created = await _control(request).create_billing_run(
        workspace_id, body.month, body.invoiceCount, body.sent
    )
    if created is None:
        raise not_found()
    return JSONResponse({"billingRunId": created[0], "month": created[1]}, status_code=201)


@router.put(
    "/billing-runs/{billingRunId}/deliveries",
    status_code=204,
    response_class=Response,
    summary="set deliveries (CTL-8)",
    responses=problems.responses(404, 409, 413, 422),
    openapi_extra=openapi_body(schemas.Deliveries),
)
async def set_deliveries(request: Request, run_id: RunId) -> Response:
    body = await _body(request, schemas.Deliveries, empty_ok=False)
    counts = body.statusCounts.model_dump()
    return _done(await _control(request).set_deliveries(run_id, counts))


@router.post(
    "/billing-runs/{billingRunId}/touch",
    status_code=204,
    response_class=Response,
    summary="touch (CTL-9)",
    responses=problems.responses(404),
)
async def touch(request: Request, run_id: RunId) -> Response:
    return _done(await _control(request).touch(run_id))


@router.post(
    "/billing-runs/{billingRunId}/complete",
    status_code=204,
    response_class=Response,
    summary="complete (CTL-10)",
    responses=problems.responses(404),
)
async def complete(request: Request, run_id: RunId) -> Response:
    return _done(await _control(request).complete(run_id))


@router.post(
    "/billing-runs/{billingRunId}/fail-next-snapshot",
    status_code=204,
    response_class=Response,
    summary="fail next snapshot (CTL-11, feature snapshot-failure)",
    responses=problems.responses(404),
)
async def fail_next_snapshot(request: Request, run_id: RunId) -> Response:
    return _done(await _control(request).fail_next_snapshot(run_id))


@router.get(
    "/billing-runs/{billingRunId}/statistics",
    response_model=schemas.Statistics,
    summary="statistics (CTL-12, feature stream-statistics)",
    responses=problems.responses(404),
)
async def statistics(request: Request, run_id: RunId) -> JSONResponse:
    stats = await _control(request).statistics(run_id)
    if stats is None:
        raise not_found()
    return JSONResponse({"openStreams": stats[0], "snapshotFetches": stats[1]})


def secret_digest(secret: str) -> bytes:
    return _digest(secret)
