"""Bearer parsing (ERR-4) and token digests."""

from __future__ import annotations

import pytest

from reference.identity.tokens import digest, new_token, parse_bearer, same_digest


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("BEARER a.b-c_d~e+f/g==", "a.b-c_d~e+f/g=="),
    ],
)
def test_bearer_accepted(header: str, token: str) -> None:
    assert parse_bearer(header) == token


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Bearer  abc", "Basic abc", "Bearer a b", "Bearer ab=c", "Bearerabc", ""],
)
def test_bearer_rejected(header: str) -> None:
    assert parse_bearer(header) is None


def test_tokens_are_b64token_and_digests_compare() -> None:
    token = new_token()
    assert parse_bearer(f"Bearer {token}") == token
    assert same_digest(digest(token), digest(token))
    assert not same_digest(digest(token), digest(token + "x"))
    assert token not in digest(token)
