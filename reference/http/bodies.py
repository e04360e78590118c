"""Reading a JSON request body: bounded, strict JSON, then a strict model.

Two failures are kept apart because the profile distinguishes them (BIL-7): a body that is not
JSON at all, and JSON that does not fit the contract. Nothing is written before both passed.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from reference.http.limits import MAX_BODY_BYTES
from reference.http.problems import ProblemError

M = TypeVar("M", bound=BaseModel)


class NotJson(Exception):
    pass


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python's json would accept NaN and Infinity


async def read_body(request: Request) -> bytes:
    """The whole body, or 413 as soon as it exceeds the limit (declared length or not)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ProblemError(413, "The request body is too large.")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """RFC 8259 JSON in UTF-8, or :class:`NotJson`."""
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotJson(str(exc)) from None


def validate(model: type[M], document: Any) -> M:
    """The model, or a 422 problem naming the members that are wrong (never their values)."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        places = sorted({".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors()})
        raise ProblemError(
            422, "The body does not match its contract: " + ", ".join(places)
        ) from None


def openapi_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON request body we read ourselves."""
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": model.model_json_schema(by_alias=True)}},
        }
    }
