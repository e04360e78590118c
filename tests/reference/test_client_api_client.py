"""ApiClient (reference/client/_api_client.py) against the real reference server.

The server runs as a subprocess on a loopback port with a SQLite file in tmp_path (the `server`
fixture of conftest.py: interval 100 ms, heartbeat 400 ms, timeout 2000 ms, simulated sender
stepping every 50 ms). Tokens and runs come from the control API, as a checker would make them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from conftest import CONTROL_SECRET, RunningServer

from reference.client import (
    ApiClient,
    AuthenticationFailed,
    EndReason,
    Heartbeat,
    ProgressSource,
    ProgressUpdate,
    RunNotFound,
    ServerError,
    Snapshot,
    SseClientError,
    Timeout,
    TypedEvent,
    iter_sse_sync,
)


async def control(server: RunningServer, path: str) -> None:
    async with httpx.AsyncClient(
        base_url=f"{server.base_url}/__ssegate",
        headers={"X-Ssegate-Control-Secret": CONTROL_SECRET},
    ) as client:
        (await client.post(path)).raise_for_status()


async def progress_of(client: ApiClient, run_id: str, **options: Any) -> list[ProgressUpdate]:
    updates = []
    async with client:
        async for update in client.billing_send_progress(run_id, **options):
            updates.append(update)
    return updates


@pytest.mark.asyncio
async def test_streams_a_sent_run_to_completion(server: RunningServer) -> None:
    workspace, token = server.new_workspace()
    client = ApiClient(server.base_url, token, workspace)
    run_id = await client.create_billing_run("2026-11", 12, send_invoices=True)
    updates = await asyncio.wait_for(progress_of(client, run_id), 30)
    assert {update.source for update in updates} == {ProgressSource.STREAM}
    final = updates[-1].payload
    assert final.is_complete
    assert final.billing_run_id == run_id
    assert final.progress is not None
    assert final.progress.pending_count == 0
    processed = [u.payload.progress.processed_invoice_count for u in updates if u.payload.progress]
    assert processed == sorted(processed)
    assert len({update.payload.change_key() for update in updates}) == len(updates)


@pytest.mark.asyncio
async def test_a_401_asks_the_token_provider_once(server: RunningServer) -> None:
    workspace, token = server.new_workspace()
    asked: list[bool] = []

    async def provider(refresh: bool) -> str:
        asked.append(refresh)
        return token if refresh else "expired-token"

    run_id = server.new_run(workspace, 0)  # no invoices: complete at once (BIL-16)
    updates = await progress_of(ApiClient(server.base_url, provider, workspace), run_id)
    assert asked == [False, True]
    assert updates[-1].payload.is_complete


@pytest.mark.asyncio
async def test_auth_and_resource_errors_are_final(server: RunningServer) -> None:
    workspace, token = server.new_workspace()
    other_workspace, _ = server.new_workspace()
    run_id = server.new_run(workspace, 1)
    with pytest.raises(AuthenticationFailed) as unauthenticated:
        await progress_of(ApiClient(server.base_url, "wrong-token", workspace), run_id)
    assert unauthenticated.value.status == 401
    with pytest.raises(AuthenticationFailed) as forbidden:
        await progress_of(ApiClient(server.base_url, token, other_workspace), run_id)
    assert forbidden.value.status == 403
    with pytest.raises(RunNotFound):
        await progress_of(ApiClient(server.base_url, token, workspace), "run_doesnotexist")


@pytest.mark.asyncio
async def test_reconnects_after_the_timeout_event(server: RunningServer) -> None:
    workspace, token = server.new_workspace()
    run_id = server.new_run(workspace, 2)  # not sent: nothing changes until `complete`
    events: list[TypedEvent[Any]] = []
    async with ApiClient(server.base_url, token, workspace) as client:

        async def on_event(event: TypedEvent[Any]) -> None:
            events.append(event)
            if isinstance(event, Snapshot) and any(isinstance(e, Timeout) for e in events):
                await control(server, f"/billing-runs/{run_id}/complete")

        subscription = client.subscribe_sse(
            f"/classes/billing/runs/{run_id}/send-progress/stream", on_event=on_event
        )
        ending = await asyncio.wait_for(subscription.wait(), 30)
    assert ending.reason is EndReason.COMPLETED
    names = [type(event).__name__ for event in events if not isinstance(event, Heartbeat)]
    # CLI-9: after the timeout, a fresh initial snapshot on a new connection, then completion.
    assert names[:3] == ["Snapshot", "Timeout", "Snapshot"]
    assert names[-1] == "Snapshot"
    last = events[-1]
    assert isinstance(last, Snapshot)
    assert last.complete


@pytest.mark.asyncio
async def test_falls_back_to_polling_after_an_error_event(server: RunningServer) -> None:
    workspace, token = server.new_workspace()
    run_id = server.new_run(workspace, 3)
    fallbacks: list[SseClientError] = []

    async def on_fallback(error: SseClientError) -> None:
        fallbacks.append(error)
        await control(server, f"/billing-runs/{run_id}/complete")

    async def follow() -> list[ProgressUpdate]:
        updates = []
        async with ApiClient(server.base_url, token, workspace, polling_interval_ms=100) as client:
            async for update in client.billing_send_progress(run_id, on_fallback=on_fallback):
                updates.append(update)
                if len(updates) == 1:
                    # The stream is open: its next poll fails, so it ends with an error event.
                    await control(server, f"/billing-runs/{run_id}/fail-next-snapshot")
        return updates

    updates = await asyncio.wait_for(follow(), 30)
    assert len(fallbacks) == 1
    assert "snapshot_failed" in str(fallbacks[0])
    assert updates[-1].source is ProgressSource.POLLING
    assert updates[-1].payload.is_complete


def test_sync_iteration_against_the_server(server: RunningServer) -> None:
    workspace, token = server.new_workspace()
    run_id = server.new_run(workspace, 4, sent=True)
    url = f"{server.base_url}/classes/billing/runs/{run_id}/send-progress/stream"
    headers = {"Authorization": f"Bearer {token}", "X-Workspace-Id": workspace}
    with httpx.Client() as control_client:
        control_client.post(
            f"{server.base_url}/__ssegate/billing-runs/{run_id}/complete",
            headers={"X-Ssegate-Control-Secret": CONTROL_SECRET},
        ).raise_for_status()
    events = list(iter_sse_sync(url, headers=headers))
    snapshots = [event for event in events if isinstance(event, Snapshot)]
    assert snapshots[-1].complete
    assert not any(isinstance(event, ServerError) for event in events)
