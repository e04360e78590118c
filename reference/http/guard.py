"""The access check as a FastAPI dependency: ERR-3 to ERR-8 answered before any stream opens.

The ``Authorization`` and ``X-Workspace-Id`` headers are declared so that OpenAPI documents them,
but they are read raw: their validation is the access use case's job, in the order spec/08 fixes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reference.http.problems import ProblemError
from reference.identity.access import AccessDenied, Caller, Denial, authorize
from reference.identity.repository import IdentityRepository

# Documents the bearer scheme in OpenAPI; auto_error=False so our own answers apply.
bearer_scheme = HTTPBearer(auto_error=False, description="An opaque bearer token (TR-1).")

_ANSWERS: dict[Denial, tuple[int, str, dict[str, str]]] = {
    Denial.NO_CREDENTIALS: (
        401,
        "An Authorization: Bearer header is required.",
        {"WWW-Authenticate": 'Bearer realm="ssegate"'},
    ),
    Denial.MALFORMED_CREDENTIALS: (
        401,
        "The Authorization header must be 'Bearer <token>'.",
        {"WWW-Authenticate": 'Bearer realm="ssegate", error="invalid_request"'},
    ),
    Denial.INVALID_TOKEN: (
        401,
        "The bearer token is unknown, revoked or expired.",
        {"WWW-Authenticate": 'Bearer realm="ssegate", error="invalid_token"'},
    ),
    Denial.BAD_WORKSPACE_HEADER: (
        400,
        "An X-Workspace-Id header naming a workspace id is required.",
        {},
    ),
    Denial.NOT_A_MEMBER: (403, "You are not a member of this workspace.", {}),
}

WORKSPACE_HEADER_DESCRIPTION = (
    "The workspace the request acts in, matching ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ (ERR-6)."
)


async def require_caller(
    request: Request,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_workspace_id: Annotated[
        str | None, Header(alias="X-Workspace-Id", description=WORKSPACE_HEADER_DESCRIPTION)
    ] = None,
) -> Caller:
    """The checked caller, or a 401/400/403 problem (ERR-3 to ERR-7, ISO-2)."""
    identities: IdentityRepository = request.app.state.services.identities
    try:
        return await authorize(identities, authorization, x_workspace_id)
    except AccessDenied as denied:
        status, detail, headers = _ANSWERS[denied.denial]
        raise ProblemError(status, detail, headers=headers) from None
