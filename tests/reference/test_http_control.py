"""The control API over real HTTP (CTL-1 to CTL-14)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CONTROL_SECRET, RunningServer, start_server

PROBLEM = "application/problem+json"


def test_describe_declares_profile_parameters_and_features(server: RunningServer) -> None:
    """CTL-3, CTL-4, TERM-1, VER-1, VER-4."""
    with server.control() as control:
        body = control.get("/describe").json()
    assert body["protocolVersion"] == "1.0"
    assert body["server"]["name"] == "ssegate-reference"
    assert body["profiles"] == {
        "billing.invoice-send-progress": {
            "path": "/classes/billing/runs/{billingRunId}/send-progress/stream",
            "event": "billing.invoice-send-progress",
            "contract": "billing.invoice-send-progress@1",
            "intervalMs": server.interval_ms,
            "heartbeatMs": server.heartbeat_ms,
            "timeoutMs": server.timeout_ms,
        }
    }
    assert sorted(body["features"]) == ["snapshot-failure", "stream-statistics"]


@pytest.mark.parametrize("secret", [None, "", "wrong", CONTROL_SECRET + "x", CONTROL_SECRET[:-1]])
def test_missing_or_wrong_secret_is_401(server: RunningServer, secret: str | None) -> None:
    """CTL-2."""
    with server.client() as client:
        headers = {} if secret is None else {"X-Ssegate-Control-Secret": secret}
        response = client.post("/__ssegate/workspaces", json={}, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM


def test_control_api_is_absent_without_a_secret(tmp_path: Path) -> None:
    """CTL-1."""
    running = start_server(tmp_path, control=False)
    try:
        with running.client() as client:
            for method, path in (("GET", "/describe"), ("POST", "/workspaces")):
                response = client.request(
                    method,
                    "/__ssegate" + path,
                    headers={"X-Ssegate-Control-Secret": CONTROL_SECRET},
                )
                assert response.status_code == 404
                assert response.headers["content-type"] == PROBLEM
    finally:
        assert running.stop() == 0


def test_workspace_and_outsider(server: RunningServer) -> None:
    """CTL-5, CTL-6: the workspace token works; the outsider's token is a member of nothing."""
    workspace_id, token = server.new_workspace()
    with server.control() as control:
        outsider = control.post("/outsiders").json()
        assert control.post("/outsiders", json={"x": 1}).status_code == 422
        assert control.post("/workspaces", content=b"{").status_code == 422
    run_id = server.new_run(workspace_id, 1)
    path = f"/classes/billing/runs/{run_id}/send-progress"
    with server.client(token, workspace_id) as client:
        assert client.get(path).status_code == 200
    with server.client(outsider["token"], workspace_id) as client:
        assert client.get(path).status_code == 403


def test_create_billing_run_defaults_and_errors(server: RunningServer) -> None:
    """CTL-7, CTL-13, CTL-14."""
    workspace_id, _ = server.new_workspace()
    with server.control() as control:
        created = control.post(f"/workspaces/{workspace_id}/billing-runs", json={"invoiceCount": 2})
        assert created.status_code == 201
        assert set(created.json()) == {"billingRunId", "month"}
        assert len(created.json()["month"]) == 7
        unknown = control.post("/workspaces/ws_unknown/billing-runs", json={"invoiceCount": 2})
        assert unknown.status_code == 404
        for bad in ({}, {"invoiceCount": -1}, {"invoiceCount": 1, "month": None}, {"x": 1}):
            response = control.post(f"/workspaces/{workspace_id}/billing-runs", json=bad)
            assert response.status_code == 422, bad


def test_set_deliveries_touch_and_complete(server: RunningServer) -> None:
    """CTL-8, CTL-9, CTL-10: the fallback shows exactly the derived counts."""
    workspace_id, token = server.new_workspace()
    unsent = server.new_run(workspace_id, 4)
    run_id = server.new_run(workspace_id, 4, sent=True)
    path = f"/classes/billing/runs/{run_id}/send-progress"
    with server.control() as control, server.client(token, workspace_id) as client:
        counts = {"QUEUED": 1, "SENT": 1, "FAILED": 1}
        assert (
            control.put(
                f"/billing-runs/{unsent}/deliveries", json={"statusCounts": counts}
            ).status_code
            == 409
        )
        assert (
            client.get(f"/classes/billing/runs/{unsent}/send-progress").json()["progress"] is None
        )
        assert (
            control.put(
                f"/billing-runs/{run_id}/deliveries", json={"statusCounts": counts}
            ).status_code
            == 204
        )
        progress = client.get(path).json()["progress"]
        assert progress["processedInvoiceCount"] == 3
        assert progress["pendingCount"] == 1
        assert progress["hasFailures"] is True
        before = client.get(path).json()
        assert control.post(f"/billing-runs/{run_id}/touch").status_code == 204
        after = client.get(path).json()
        assert {k: v for k, v in before.items() if k != "generatedAt"} == {
            k: v for k, v in after.items() if k != "generatedAt"
        }
        assert control.post(f"/billing-runs/{run_id}/complete").status_code == 204
        done = client.get(path).json()
        assert done["isComplete"] is True
        assert done["progress"]["queuedCount"] == 0
        assert done["progress"]["pendingCount"] == 0
        assert done["progress"]["deliveredCount"] == 2  # former queued 1 + former pending 1
        bad = control.put(f"/billing-runs/{run_id}/deliveries", json={"statusCounts": {"LOST": 1}})
        assert bad.status_code == 422
        assert client.get(path).json()["progress"] == done["progress"]  # CTL-14: unchanged


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("POST", "touch"),
        ("POST", "complete"),
        ("POST", "fail-next-snapshot"),
        ("GET", "statistics"),
        ("PUT", "deliveries"),
    ],
)
def test_operations_on_unknown_runs_are_404(
    server: RunningServer, method: str, suffix: str
) -> None:
    """CTL-13."""
    with server.control() as control:
        response = control.request(
            method, f"/billing-runs/run_unknown/{suffix}", json={"statusCounts": {}}
        )
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
