"""The billing profile over real HTTP: creation (BIL-6, BIL-7), the stream's response (TR, WF,
SNAP, HB, END) and the simulated sender, plus request limits and problem bodies for every error."""

from __future__ import annotations

import sqlite3
import time

import httpx
import pytest
from conftest import RunningServer, StreamReader, parse_events

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def member(server: RunningServer) -> tuple[str, str]:
    return server.new_workspace()


def run_count(server: RunningServer) -> int:
    with sqlite3.connect(server.db_path) as db:
        count: int = db.execute("SELECT COUNT(*) FROM billing_runs").fetchone()[0]
    return count


def stream_url(run_id: str) -> str:
    return f"/classes/billing/runs/{run_id}/send-progress/stream"


# -- creation -------------------------------------------------------------------------------------


def test_create_run_answers_201_with_an_opaque_id(
    server: RunningServer, member: tuple[str, str]
) -> None:
    """BIL-6, BIL-8."""
    workspace_id, token = member
    with server.client(token, workspace_id) as client:
        response = client.post(
            "/classes/billing/runs", json={"month": "2026-03", "invoiceCount": 4}
        )
        assert response.status_code == 201
        run_id = response.json()["billingRunId"]
        assert set(response.json()) == {"billingRunId"}
        progress = client.get(f"/classes/billing/runs/{run_id}/send-progress").json()
    assert progress["month"] == "2026-03"
    assert progress["progress"] is None  # sendInvoices defaults to false (BIL-16)


@pytest.mark.parametrize(
    "raw", [b"", b"{", b"not json", b'{"month": NaN}', b"\xff\xfe", b"[1,]"], ids=repr
)
def test_create_run_with_a_body_that_is_not_json_is_400_and_writes_nothing(
    server: RunningServer, member: tuple[str, str], raw: bytes
) -> None:
    """BIL-7."""
    workspace_id, token = member
    before = run_count(server)
    with server.client(token, workspace_id) as client:
        response = client.post(
            "/classes/billing/runs", content=raw, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert run_count(server) == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        [],
        "2026-03",
        {"month": "2026-13", "invoiceCount": 1},
        {"month": "2026-00", "invoiceCount": 1},
        {"month": "26-03", "invoiceCount": 1},
        {"month": "2026-03", "invoiceCount": -1},
        {"month": "2026-03", "invoiceCount": 10001},
        {"month": "2026-03", "invoiceCount": "5"},
        {"month": "2026-03", "invoiceCount": True},
        {"month": "2026-03", "invoiceCount": 1.5},
        {"month": "2026-03", "invoiceCount": 1, "sendInvoices": "yes"},
        {"month": "2026-03", "invoiceCount": 1, "extra": 1},
        {"invoiceCount": 1},
    ],
    ids=repr,
)
def test_create_run_with_json_that_breaks_the_contract_is_422_and_writes_nothing(
    server: RunningServer, member: tuple[str, str], body: object
) -> None:
    """BIL-7."""
    workspace_id, token = member
    before = run_count(server)
    with server.client(token, workspace_id) as client:
        response = client.post("/classes/billing/runs", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 422
    assert run_count(server) == before


def test_create_run_checks_access_before_the_body(server: RunningServer) -> None:
    with server.client() as client:
        assert client.post("/classes/billing/runs", content=b"{").status_code == 401


# -- the stream -----------------------------------------------------------------------------------


def test_stream_headers_and_initial_snapshot(
    server: RunningServer, member: tuple[str, str]
) -> None:
    """TR-5 to TR-13, SNAP-1, WF-5 to WF-9, even with Accept-Encoding: gzip and Last-Event-ID."""
    workspace_id, token = member
    run_id = server.new_run(workspace_id, 0, sent=True)  # complete at once: the stream ends
    with (
        server.client(token, workspace_id) as client,
        client.stream(
            "GET",
            stream_url(run_id),
            headers={"Accept-Encoding": "gzip", "Last-Event-ID": "7", "Accept": "*/*"},
        ) as response,
    ):
        body = response.read().decode()
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    cache_control = response.headers["cache-control"]
    assert "no-store" in cache_control
    assert "no-transform" in cache_control
    assert response.headers["x-accel-buffering"] == "no"
    assert "content-encoding" not in response.headers
    assert "content-length" not in response.headers
    assert "connection" not in response.headers
    events = parse_events(body)
    assert [e.name for e in events] == ["billing.invoice-send-progress"]
    assert events[0].json()["isComplete"] is True
    assert body.endswith("\n\n")
    assert "\r" not in body


def test_stream_sends_changes_heartbeats_and_completes(
    server: RunningServer, member: tuple[str, str]
) -> None:
    """CHG-1, HB-1, HB-4, END-5, END-6: progress set through the control API reaches the stream,
    heartbeats carry no id, and after `complete` the stream ends with the complete snapshot."""
    workspace_id, token = member
    run_id = server.new_run(workspace_id, 5, sent=True)
    with (
        server.client(token, workspace_id) as client,
        server.control() as control,
        client.stream("GET", stream_url(run_id)) as response,
    ):
        reader = StreamReader(response)
        reader.until(lambda events: len(events) >= 1)
        control.put(
            f"/billing-runs/{run_id}/deliveries", json={"statusCounts": {"QUEUED": 2}}
        ).raise_for_status()
        reader.until(lambda events: any(e.name == "heartbeat" for e in events))
        control.post(f"/billing-runs/{run_id}/complete").raise_for_status()
        reader.rest()
    events = reader.events
    data = [e.json() for e in events if e.name == "billing.invoice-send-progress"]
    assert data[0]["progress"]["processedInvoiceCount"] == 0
    assert any(d["progress"]["queuedCount"] == 2 for d in data)
    assert data[-1]["isComplete"] is True
    assert data[-1]["progress"]["deliveredCount"] == 5
    assert events[-1].name == "billing.invoice-send-progress"
    heartbeats = [e for e in events if e.name == "heartbeat"]
    assert heartbeats
    assert all(name != "id" for e in heartbeats for name, _ in e.fields)
    assert set(heartbeats[0].json()) == {"timestamp"}
    assert heartbeats[0].json()["timestamp"].endswith("Z")


def test_stream_of_an_idle_run_ends_with_the_timeout_event(
    server: RunningServer, member: tuple[str, str]
) -> None:
    """END-1, END-2, END-3."""
    workspace_id, token = member
    run_id = server.new_run(workspace_id, 3)
    with (
        server.client(token, workspace_id) as client,
        client.stream("GET", stream_url(run_id)) as response,
    ):
        body = response.read().decode()
    events = parse_events(body)
    assert events[-1].name == "timeout"
    timeout = events[-1].json()
    assert timeout["timeoutMs"] == server.timeout_ms
    assert timeout["startedAt"] <= timeout["timestamp"]
    assert body.endswith("}\n\n")


def test_simulated_sender_takes_a_run_to_completion(
    server: RunningServer, member: tuple[str, str]
) -> None:
    """A run created with sendInvoices: true progresses on its own and the stream completes."""
    workspace_id, token = member
    with server.client(token, workspace_id) as client:
        run_id = client.post(
            "/classes/billing/runs",
            json={"month": "2026-04", "invoiceCount": 12, "sendInvoices": True},
        ).json()["billingRunId"]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with client.stream("GET", stream_url(run_id)) as response:
                events = parse_events(response.read().decode())
            data = [e.json() for e in events if e.name == "billing.invoice-send-progress"]
            if data and data[-1]["isComplete"]:
                break
    assert data[-1]["isComplete"] is True
    assert data[-1]["progress"]["expectedInvoiceCount"] == 12
    assert data[-1]["progress"]["pendingCount"] == 0


def test_wrong_method_on_the_stream_is_405_with_allow_get(
    server: RunningServer, member: tuple[str, str]
) -> None:
    """TR-4."""
    workspace_id, token = member
    with server.client(token, workspace_id) as client:
        response = client.post(stream_url("run_x"))
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.headers["content-type"] == PROBLEM


# -- limits and problem bodies everywhere ---------------------------------------------------------


def test_unknown_path_is_a_problem_404(server: RunningServer) -> None:
    with server.client() as client:
        response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


def test_oversized_headers_are_431(server: RunningServer, member: tuple[str, str]) -> None:
    workspace_id, token = member
    with server.client(token, workspace_id) as client:
        response = client.get(stream_url("run_x"), headers={"X-Padding": "a" * 9000})
    assert response.status_code == 431
    assert response.headers["content-type"] == PROBLEM


def test_oversized_bodies_are_413_declared_or_not(
    server: RunningServer, member: tuple[str, str]
) -> None:
    workspace_id, token = member
    big = b'{"month": "2026-03", "invoiceCount": 1, "pad": "' + b"a" * 70_000 + b'"}'
    before = run_count(server)
    with server.client(token, workspace_id) as client:
        declared = client.post("/classes/billing/runs", content=big)

        def chunks() -> httpx.SyncByteStream:
            return iter([big[i : i + 8192] for i in range(0, len(big), 8192)])  # type: ignore[return-value]

        chunked = client.post("/classes/billing/runs", content=chunks())
    assert declared.status_code == 413
    assert chunked.status_code == 413
    assert chunked.headers["content-type"] == PROBLEM
    assert run_count(server) == before
