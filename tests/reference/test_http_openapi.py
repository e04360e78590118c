"""The OpenAPI document against the running server, with schemathesis: no 5xx, and every answer
(status, content type, headers, body) as documented, for every non-streaming endpoint and the
stream's error paths. Generated run ids never exist, so stream requests end in documented errors
instead of holding a connection open for timeoutMs."""

from __future__ import annotations

import pytest
import schemathesis
from conftest import CONTROL_SECRET, RunningServer
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from reference.app import create_app
from reference.config import ServerConfig

schema = schemathesis.openapi.from_dict(
    create_app(ServerConfig(control_secret=CONTROL_SECRET)).openapi()
)

CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def member(server: RunningServer) -> dict[str, str]:
    workspace_id, token = server.new_workspace()
    return {
        "Authorization": f"Bearer {token}",
        "X-Workspace-Id": workspace_id,
        "X-Ssegate-Control-Secret": CONTROL_SECRET,
    }


def test_every_endpoint_is_documented() -> None:
    document = create_app(ServerConfig(control_secret=CONTROL_SECRET)).openapi()
    stream = document["paths"]["/classes/billing/runs/{billingRunId}/send-progress/stream"]["get"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            errors = [s for s in operation["responses"] if s[0] in "45"]
            assert errors, f"{method} {path} documents no error response"
            for status in errors:
                assert list(operation["responses"][status]["content"]) == [
                    "application/problem+json"
                ]


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api_conforms_to_its_openapi_document(
    case: schemathesis.Case, server: RunningServer, member: dict[str, str]
) -> None:
    case.call_and_validate(base_url=server.base_url, headers=member, timeout=10, checks=CHECKS)
