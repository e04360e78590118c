"""Opaque identifiers: unguessable, and of the one shape ids have in the protocol (BIL-8, ERR-6)."""

from __future__ import annotations

import re
import secrets

# ERR-6 (workspace ids) and BIL-8 (run ids) share this shape.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_ID = re.compile(ID_PATTERN.removeprefix("^").removesuffix("$"))


def new_id(prefix: str) -> str:
    """``prefix`` plus 128 random bits; a prefix starting with a letter keeps the id valid."""
    return f"{prefix}_{secrets.token_urlsafe(16)}"


def is_valid_id(value: str) -> bool:
    # fullmatch, because "$" alone would accept a trailing newline.
    return _ID.fullmatch(value) is not None
