"""The independent test server answers as spec/ says (checked here with httpx-sse, a fourth parser,
so the server's correctness does not rest on the harness it is meant to test)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import ServerSentEvent, connect_sse

SERVER = Path(__file__).with_name("snapshot_server.py")
SECRET = "test-secret"
EVENT = "billing.invoice-send-progress"


class Server:
    def __init__(self, *args: str) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER), "--port", str(port), "--control-secret", SECRET, *args]
        )
        self.control = httpx.Client(
            base_url=self.base + "/__ssegate", headers={"X-Ssegate-Control-Secret": SECRET}
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                if self.control.get("/describe").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.control.close()
        self.process.terminate()
        self.process.wait(10)

    def workspace(self) -> tuple[str, str]:
        answer = self.control.post("/workspaces", json={})
        assert answer.status_code == 201
        body = answer.json()
        return body["workspaceId"], body["token"]

    def run(self, workspace: str, invoices: int, *, sent: bool = True) -> str:
        answer = self.control.post(
            f"/workspaces/{workspace}/billing-runs", json={"invoiceCount": invoices, "sent": sent}
        )
        assert answer.status_code == 201
        return str(answer.json()["billingRunId"])

    def stream_url(self, run_id: str) -> str:
        return f"{self.base}/classes/billing/runs/{run_id}/send-progress/stream"


@pytest.fixture(scope="module")
def plain() -> Iterator[Server]:
    server = Server("--variant", "minimal", "--interval-ms", "100", "--heartbeat-ms", "300",
                    "--timeout-ms", "1000")  # fmt: skip
    yield server
    server.stop()


@pytest.fixture(scope="module")
def everything() -> Iterator[Server]:
    server = Server("--variant", "all", "--interval-ms", "100", "--heartbeat-ms", "300",
                    "--timeout-ms", "1000")  # fmt: skip
    yield server
    server.stop()


def _auth(token: str, workspace: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Workspace-Id": workspace}


def _read(server: Server, run_id: str, headers: dict[str, str], **actions: Any) -> list[Any]:
    """Every event of one stream, with `actions[n]` (a callable) run after the n-th event."""
    seen: list[ServerSentEvent] = []
    with (
        httpx.Client(timeout=10) as client,
        connect_sse(client, "GET", server.stream_url(run_id), headers=headers) as source,
    ):
        assert source.response.status_code == 200
        for event in source.iter_sse():
            seen.append(event)
            action = actions.get(f"after_{len(seen)}")
            if action is not None:
                action()
    return [(event.event, event.json() if event.event != "error" else event.data) for event in seen]


def test_control_api_needs_the_secret(plain: Server) -> None:
    answer = httpx.get(plain.base + "/__ssegate/describe")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    wrong = httpx.get(plain.base + "/__ssegate/describe", headers={"X-Ssegate-Control-Secret": "x"})
    assert wrong.status_code == 401


def test_describe_declares_the_profile(plain: Server) -> None:
    body = plain.control.get("/describe").json()
    profile = body["profiles"][EVENT]
    assert body["protocolVersion"] == "1.0"
    assert profile["contract"] == f"{EVENT}@1"
    assert (profile["intervalMs"], profile["heartbeatMs"], profile["timeoutMs"]) == (100, 300, 1000)
    assert body["features"] == ["snapshot-failure", "stream-statistics"]


def test_errors_come_in_the_spec_order(plain: Server) -> None:
    workspace, token = plain.workspace()
    other, _ = plain.workspace()
    _, outsider = plain.workspace()
    run_id = plain.run(workspace, 2)
    foreign = plain.run(other, 2)
    url = plain.stream_url(run_id)
    cases = [
        ({"X-Workspace-Id": workspace}, 401),
        ({"Authorization": "Basic abc", "X-Workspace-Id": workspace}, 401),
        ({"Authorization": "Bearer  two-spaces", "X-Workspace-Id": workspace}, 401),
        (_auth("unknown-token", workspace), 401),
        ({"Authorization": f"Bearer {token}"}, 400),
        (_auth(token, "bad workspace!"), 400),
        (_auth(outsider, workspace), 403),
        (_auth(token, "w-does-not-exist"), 403),
    ]
    for headers, status in cases:
        answer = httpx.get(url, headers=headers)
        assert answer.status_code == status, headers
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == status
        if status == 401:
            assert answer.headers["www-authenticate"].startswith("Bearer")
    missing = httpx.get(plain.stream_url("r-missing"), headers=_auth(token, workspace))
    alien = httpx.get(plain.stream_url(foreign), headers=_auth(token, workspace))
    malformed = httpx.get(plain.stream_url("bad.id"), headers=_auth(token, workspace))
    assert missing.status_code == alien.status_code == malformed.status_code == 404
    assert missing.json() == alien.json() == malformed.json()


def test_progress_is_derived_as_bil_9_to_bil_16_say(plain: Server) -> None:
    workspace, token = plain.workspace()
    run_id = plain.run(workspace, 10)
    fallback = f"{plain.base}/classes/billing/runs/{run_id}/send-progress"

    def progress() -> dict[str, Any]:
        answer = httpx.get(fallback, headers=_auth(token, workspace))
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        return dict(answer.json())

    first = progress()["progress"]
    assert (first["expectedInvoiceCount"], first["pendingCount"], first["isComplete"]) == (
        10,
        10,
        False,
    )
    counts = {"QUEUED": 2, "DELIVERED": 3, "FAILED": 1, "BOUNCED": 1, "SENT": 4, "DELAYED": 1}
    put = plain.control.put(f"/billing-runs/{run_id}/deliveries", json={"statusCounts": counts})
    assert put.status_code == 204
    now = progress()
    assert now["progress"] == {
        "expectedInvoiceCount": 12,
        "processedInvoiceCount": 12,
        "pendingCount": 0,
        "queuedCount": 2,
        "sentCount": 4,
        "deliveredCount": 3,
        "delayedCount": 1,
        "failedCount": 1,
        "bouncedCount": 1,
        "isComplete": False,
        "hasFailures": True,
    }
    assert now["isComplete"] is False
    assert plain.control.post(f"/billing-runs/{run_id}/complete").status_code == 204
    done = progress()
    assert done["progress"]["deliveredCount"] == 5
    assert done["progress"]["queuedCount"] == 0
    assert done["isComplete"] is True
    unsent_empty = plain.run(workspace, 0, sent=False)
    unsent = plain.run(workspace, 5, sent=False)
    for run, complete in ((unsent_empty, True), (unsent, False)):
        url = f"{plain.base}/classes/billing/runs/{run}/send-progress"
        body = httpx.get(url, headers=_auth(token, workspace)).json()
        assert (body["progress"], body["isComplete"]) == (None, complete)
    conflict = plain.control.put(
        f"/billing-runs/{unsent}/deliveries", json={"statusCounts": {"SENT": 1}}
    )
    assert conflict.status_code == 409


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/workspaces", {"extra": 1}),
        ("/workspaces/{w}/billing-runs", {"invoiceCount": -1}),
        ("/workspaces/{w}/billing-runs", {"invoiceCount": 1, "month": "2026-13"}),
        ("/workspaces/{w}/billing-runs", {"invoiceCount": 1, "sent": "yes"}),
    ],
)
def test_invalid_control_bodies_are_422(plain: Server, path: str, body: dict[str, Any]) -> None:
    workspace, _ = plain.workspace()
    assert plain.control.post(path.format(w=workspace), json=body).status_code == 422


def test_a_stream_sends_snapshot_changes_heartbeats_and_timeout(everything: Server) -> None:
    workspace, token = everything.workspace()
    run_id = everything.run(workspace, 4)

    def change() -> None:
        body = {"statusCounts": {"SENT": 2}}
        everything.control.put(f"/billing-runs/{run_id}/deliveries", json=body)
        everything.control.post(f"/billing-runs/{run_id}/touch")

    events = _read(everything, run_id, _auth(token, workspace), after_1=change)
    names = [name for name, _ in events]
    assert names[0] == EVENT
    assert names[-1] == "timeout"
    assert names.count(EVENT) == 2  # the initial snapshot and one change; touch sends nothing
    assert "heartbeat" in names
    changed = [data for name, data in events if name == EVENT][1]
    assert changed["progress"]["sentCount"] == 2
    assert events[-1][1]["timeoutMs"] == 1000


def test_a_complete_snapshot_ends_the_stream(everything: Server) -> None:
    workspace, token = everything.workspace()
    run_id = everything.run(workspace, 3)

    def complete() -> None:
        everything.control.post(f"/billing-runs/{run_id}/complete")

    events = _read(everything, run_id, _auth(token, workspace), after_1=complete)
    assert [name for name, _ in events][-1] == EVENT
    assert events[-1][1]["isComplete"] is True
    assert "timeout" not in [name for name, _ in events]


def test_missing_run_under_error_event_variant_is_200_and_one_error(everything: Server) -> None:
    workspace, token = everything.workspace()
    events = _read(everything, "r-missing", _auth(token, workspace))
    assert events == [("error", "Billing run not found")]


def test_statistics_count_fetches_and_open_streams(plain: Server) -> None:
    workspace, token = plain.workspace()
    run_id = plain.run(workspace, 1)
    stats_url = f"/billing-runs/{run_id}/statistics"
    seen: list[dict[str, int]] = []
    _read(
        plain, run_id, _auth(token, workspace),
        after_1=lambda: seen.append(plain.control.get(stats_url).json()),
    )  # fmt: skip
    assert seen[0]["openStreams"] == 1
    after = plain.control.get(stats_url).json()
    assert after["openStreams"] == 0
    assert after["snapshotFetches"] >= 1


def test_every_fault_and_variant_is_listed() -> None:
    listing = subprocess.run(
        [sys.executable, str(SERVER), "--list"], capture_output=True, text=True, check=True
    ).stdout
    assert "fault polling-not-stopped:" in listing
    assert "set minimal: (none)" in listing
    bad = subprocess.run(
        [sys.executable, str(SERVER), "--variant", "nonsense"], capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert "unknown variant 'nonsense'" in bad.stderr
