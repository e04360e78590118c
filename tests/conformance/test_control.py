"""The control API client (spec/14-control-api.md) against an in-process mock server."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from conformance.control import SECRET_HEADER, ControlClient
from conformance.errors import SetupError


class FakeControl:
    """Records requests; answers as a conformant control API would."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self.override: httpx.Response | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, request.url.path, body))
        if request.headers.get(SECRET_HEADER) != "s":
            return httpx.Response(401, json={"title": "Unauthorized", "status": 401})
        if self.override is not None:
            return self.override
        path = request.url.path.removeprefix("/__ssegate")
        if path == "/workspaces":
            return httpx.Response(201, json={"workspaceId": "w1", "token": "t1"})
        if path == "/outsiders":
            return httpx.Response(201, json={"principalId": "p1", "token": "t2"})
        if path == "/workspaces/w1/billing-runs":
            return httpx.Response(
                201, json={"billingRunId": "r1", "month": body.get("month", "2026-01")}
            )
        if path.endswith("/statistics"):
            return httpx.Response(200, json={"openStreams": 1, "snapshotFetches": 4})
        return httpx.Response(204)


def client(fake: FakeControl, secret: str = "s") -> ControlClient:
    ticks = iter(range(100))
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake))
    return ControlClient(
        http, "http://127.0.0.1:9/__ssegate/", secret, clock=lambda: float(next(ticks))
    )


@pytest.mark.asyncio
async def test_operations_use_the_documented_paths_and_bodies() -> None:
    fake = FakeControl()
    control = client(fake)
    workspace = await control.create_workspace()
    outsider = await control.create_outsider()
    run = await control.create_billing_run("w1", invoice_count=3, sent=True)
    visible = await control.set_deliveries("r1", {"QUEUED": 1})
    await control.touch("r1")
    await control.complete("r1")
    await control.fail_next_snapshot("r1")
    stats = await control.statistics("r1")
    assert (workspace.workspace_id, workspace.token) == ("w1", "t1")
    assert (outsider.principal_id, outsider.token) == ("p1", "t2")
    assert (run.billing_run_id, run.month, run.invoice_count, run.sent) == (
        "r1",
        "2026-01",
        3,
        True,
    )
    assert (stats.open_streams, stats.snapshot_fetches) == (1, 4)
    assert isinstance(visible, float)
    assert fake.requests == [
        ("POST", "/__ssegate/workspaces", {}),
        ("POST", "/__ssegate/outsiders", {}),
        ("POST", "/__ssegate/workspaces/w1/billing-runs", {"invoiceCount": 3, "sent": True}),
        ("PUT", "/__ssegate/billing-runs/r1/deliveries", {"statusCounts": {"QUEUED": 1}}),
        ("POST", "/__ssegate/billing-runs/r1/touch", None),
        ("POST", "/__ssegate/billing-runs/r1/complete", None),
        ("POST", "/__ssegate/billing-runs/r1/fail-next-snapshot", None),
        ("GET", "/__ssegate/billing-runs/r1/statistics", None),
    ]
    await control._client.aclose()


@pytest.mark.asyncio
async def test_visibility_is_read_when_the_response_arrives() -> None:
    """TIME-2: the clock is read after the response, once per mutating call."""
    fake = FakeControl()
    control = client(fake)
    first = await control.set_deliveries("r1", {})
    second = await control.touch("r1")
    assert second == first + 1


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(500, text="boom"), "answered 500, expected 201"),
        (httpx.Response(201, text="not json"), "did not answer JSON"),
        (httpx.Response(201, json=[1]), "not an object"),
        (httpx.Response(201, json={"workspaceId": "w1"}), "token"),
    ],
)
async def test_unexpected_answers_are_setup_errors(response: httpx.Response, message: str) -> None:
    fake = FakeControl()
    fake.override = response
    with pytest.raises(SetupError, match=message):
        await client(fake).create_workspace()


@pytest.mark.asyncio
async def test_a_wrong_secret_is_named_and_unreachable_is_setup() -> None:
    with pytest.raises(SetupError, match="control secret"):
        await client(FakeControl(), secret="wrong").describe()

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    with pytest.raises(SetupError, match="unreachable"):
        await ControlClient(http, "http://127.0.0.1:9", "s").describe()
