"""Opaque bearer tokens: made with ``secrets``, stored only as SHA-256 digests.

A token is shown once, when it is created; the database holds its digest, so a copy of the
database gives nobody a working token. Lookups go by digest, and the digest found is compared
with :func:`hmac.compare_digest`, so no byte-by-byte comparison of secret material leaks timing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

# ERR-4: "Bearer", case-insensitive, exactly one space, then an RFC 6750 b64token.
_BEARER = re.compile(r"([Bb][Ee][Aa][Rr][Ee][Rr]) ([A-Za-z0-9\-._~+/]+=*)")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("ascii"), b.encode("ascii"))


def parse_bearer(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value, or None if it is not one (ERR-4)."""
    match = _BEARER.fullmatch(authorization)
    return None if match is None else match.group(2)
