"""The client's payload models (reference/client/_payloads.py) against the contracts' example cases.

The reference package cannot use the harness's contract code, so its pydantic models restate the
contracts. This test reads the language-neutral case files in contracts/cases/ and proves that the
models accept every payload the contract accepts, and reject every payload it rejects, except for
undocumented members, which a tolerant reader ignores (CLI-4).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from reference.client import ErrorPayload, HeartbeatPayload, SendProgressPayload, TimeoutPayload

CASES = Path(__file__).resolve().parents[2] / "contracts" / "cases"
MODELS: dict[str, type[BaseModel]] = {
    "billing.invoice-send-progress": SendProgressPayload,
    "sse.heartbeat": HeartbeatPayload,
    "sse.timeout": TimeoutPayload,
    "sse.error": ErrorPayload,
}


def _cases() -> list[Any]:
    params = []
    for name, model in MODELS.items():
        for group in json.loads((CASES / f"{name}.json").read_text()):
            # The models implement major version 1 of each contract (drafts of later majors
            # share the case file).
            if not group["schema"]["$ref"].endswith("/v1.json"):
                continue
            for case in group["tests"]:
                params.append(
                    pytest.param(
                        model,
                        case["data"],
                        case["valid"],
                        id=f"{name}: {group['description']}: {case['description']}",
                    )
                )
    return params


def _has_unknown_members(model: type[BaseModel], data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    for key, value in data.items():
        if key not in fields:
            return True
        annotation = fields[key].annotation
        nested = [
            candidate
            for candidate in getattr(annotation, "__args__", (annotation,))
            if isinstance(candidate, type) and issubclass(candidate, BaseModel)
        ]
        if any(_has_unknown_members(candidate, value) for candidate in nested):
            return True
    return False


@pytest.mark.parametrize(("model", "data", "valid"), _cases())
def test_models_agree_with_the_contract_cases(
    model: type[BaseModel], data: Any, valid: bool
) -> None:
    try:
        model.model_validate_json(json.dumps(data), strict=True)
        accepted = True
    except ValidationError:
        accepted = False
    # The case files hold one fault per invalid case, so an undocumented member is the only one.
    expected = valid or _has_unknown_members(model, data)
    assert accepted == expected


def test_a_leap_second_is_accepted() -> None:
    payload = HeartbeatPayload.model_validate_json('{"timestamp": "2016-12-31T23:59:60Z"}')
    assert payload.timestamp.second == 59


def test_change_key_ignores_generated_at() -> None:
    base = {"billingRunId": "r", "month": "2026-03", "progress": None, "isComplete": False}
    one = SendProgressPayload.model_validate({**base, "generatedAt": "2026-03-31T09:00:00Z"})
    two = SendProgressPayload.model_validate({**base, "generatedAt": "2026-03-31T09:00:01Z"})
    three = SendProgressPayload.model_validate(
        {**base, "isComplete": True, "generatedAt": "2026-03-31T09:00:01Z"}
    )
    assert one.change_key() == two.change_key() != three.change_key()  # BIL-2
