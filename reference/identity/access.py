"""The access use case: who is calling, and may they act in the workspace they name?

The checks run in the order spec/08 fixes, and the first failure decides (ERR-3 to ERR-7):
credentials (401), workspace header (400), membership (403). Membership is read from the
database on every request, so a removed membership takes effect at once (ISO-2).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from reference.identity.repository import IdentityRepository
from reference.identity.tokens import digest, parse_bearer, same_digest
from reference.ids import is_valid_id


class Denial(enum.Enum):
    NO_CREDENTIALS = "no_credentials"  # ERR-3
    MALFORMED_CREDENTIALS = "malformed_credentials"  # ERR-4
    INVALID_TOKEN = "invalid_token"  # ERR-5
    BAD_WORKSPACE_HEADER = "bad_workspace_header"  # ERR-6
    NOT_A_MEMBER = "not_a_member"  # ERR-7


@dataclass(frozen=True, slots=True)
class Caller:
    """A principal acting in a workspace it is a member of."""

    principal_id: str
    workspace_id: str


class AccessDenied(Exception):
    def __init__(self, denial: Denial) -> None:
        super().__init__(denial.value)
        self.denial = denial


async def authorize(
    identities: IdentityRepository, authorization: str | None, workspace_header: str | None
) -> Caller:
    """The caller, or :class:`AccessDenied` naming the first check that failed."""
    if authorization is None:
        raise AccessDenied(Denial.NO_CREDENTIALS)
    token = parse_bearer(authorization)
    if token is None:
        raise AccessDenied(Denial.MALFORMED_CREDENTIALS)
    wanted = digest(token)
    workspace_ok = workspace_header is not None and is_valid_id(workspace_header)
    found = await identities.principal_for_digest(
        wanted, workspace_header if workspace_ok else None
    )
    if found is None or not same_digest(found[1], wanted):
        raise AccessDenied(Denial.INVALID_TOKEN)
    principal_id, _, is_member = found
    if workspace_header is None or not workspace_ok:
        raise AccessDenied(Denial.BAD_WORKSPACE_HEADER)
    # ERR-7: a workspace that does not exist is simply one the caller is not a member of.
    # ISO-2: membership comes from the same read as the token, on every request.
    if not is_member:
        raise AccessDenied(Denial.NOT_A_MEMBER)
    return Caller(principal_id, workspace_header)
