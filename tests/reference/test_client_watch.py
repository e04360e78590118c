"""`ssegate-reference watch` (reference/client/watch.py): the view, and the command as a user runs
it (a subprocess) against the reference server and against a server whose stream is broken."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from conftest import REPO, RunningServer
from rich.console import Console

from reference.cli import main
from reference.client import ProgressSource, ProgressUpdate, SendProgressPayload
from reference.client.watch import WatchView, completion

ENV = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"}


def payload(expected: int, pending: int, queued: int, **counts: int) -> SendProgressPayload:
    processed = expected - pending
    complete = pending == 0 and queued == 0
    progress = {
        "expectedInvoiceCount": expected,
        "processedInvoiceCount": processed,
        "pendingCount": pending,
        "queuedCount": queued,
        "sentCount": counts.get("sent", 0),
        "deliveredCount": counts.get("delivered", 0),
        "delayedCount": 0,
        "failedCount": counts.get("failed", 0),
        "bouncedCount": 0,
        "isComplete": complete,
        "hasFailures": bool(counts.get("failed")),
    }
    return SendProgressPayload.model_validate(
        {
            "billingRunId": "run_1",
            "month": "2026-11",
            "progress": progress,
            "isComplete": complete,
            "generatedAt": "2026-11-03T00:00:00Z",
        }
    )


def render(view: WatchView) -> str:
    console = Console(record=True, width=120, color_system=None)
    console.print(view)
    return console.export_text()


def test_completion_share() -> None:
    assert completion(payload(10, 10, 0)) == 0.0
    assert completion(payload(10, 4, 2, sent=4)) == 0.4
    assert completion(payload(10, 0, 0, delivered=9, failed=1)) == 1.0
    empty = SendProgressPayload.model_validate(
        {
            "billingRunId": "r",
            "month": "2026-11",
            "progress": None,
            "isComplete": True,
            "generatedAt": "2026-11-03T00:00:00Z",
        }
    )
    assert completion(empty) == 1.0


def test_view_shows_counts_source_and_fallback() -> None:
    view = WatchView("run_1")
    assert "connecting" in render(view)
    view.update(ProgressUpdate(payload(10, 4, 2, sent=3, delivered=1), ProgressSource.STREAM))
    text = render(view)
    assert "40.0 %" in text
    assert "delivered" in text
    assert "source: stream" in text
    view.fallback(RuntimeError("HTTP 503"))  # type: ignore[arg-type]
    view.update(ProgressUpdate(payload(10, 0, 0, delivered=10), ProgressSource.POLLING))
    text = render(view)
    assert "100.0 %" in text
    assert "complete" in text
    assert "source: polling" in text
    assert "falling back to polling" in text


def watch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reference", "watch", *args],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_watch_a_run_to_completion(server: RunningServer) -> None:
    workspace, token = server.new_workspace()
    with server.client(token, workspace) as client:  # sent: the simulated sender delivers it
        response = client.post(
            "/classes/billing/runs",
            json={"month": "2026-11", "invoiceCount": 8, "sendInvoices": True},
        )
    run_id = response.raise_for_status().json()["billingRunId"]
    result = watch(
        run_id, "--base-url", server.base_url, "--token", token, "--workspace", workspace
    )
    assert result.returncode == 0, result.stderr
    assert f"run {run_id} is complete: 8 invoices" in result.stdout
    assert "100.0 %" in result.stdout
    assert token not in result.stdout + result.stderr


def test_watch_exit_codes(
    server: RunningServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSEGATE_TOKEN", raising=False)
    workspace, token = server.new_workspace()
    run_id = server.new_run(workspace, 1)
    base = ["--base-url", server.base_url]
    cases = {  # arguments, expected exit code, expected message on stderr
        "bad token": (
            [run_id, *base, "--token", "not-a-token", "--workspace", workspace],
            3,
            "HTTP 401: authentication failed",
        ),
        "foreign workspace": (
            [run_id, *base, "--token", token, "--workspace", server.new_workspace()[0]],
            3,
            "HTTP 403",
        ),
        "unknown run": (
            ["run_nothere", *base, "--token", token, "--workspace", workspace],
            4,
            "no such billing run",
        ),
        "malformed workspace": (
            [run_id, *base, "--token", token, "--workspace", "no spaces!"],
            2,
            "HTTP 400",
        ),
        "no token": ([run_id, *base, "--workspace", workspace], 2, "no token"),
        "bad url": (
            [run_id, "--base-url", "ftp://x", "--token", token, "--workspace", workspace],
            2,
            "--base-url must be an http(s) URL",
        ),
    }
    for case, (args, code, message) in cases.items():
        # In-process through the command line's entry point (a subprocess per case costs seconds
        # of imports; the subprocess path is covered by test_watch_a_run_to_completion).
        assert (case, main(["watch", *args])) == (case, code)
        out, err = capsys.readouterr()
        assert message in err, (case, out, err)
        assert "Traceback" not in err + out, case


@pytest.mark.asyncio
async def test_watch_shows_the_fallback_to_polling() -> None:
    """A server whose stream answers HTML: the command says so, polls, and completes."""
    polls = iter([payload(4, 2, 1), payload(4, 0, 0, delivered=4)])

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        path = head.split(" ")[1]
        if path.endswith("/stream"):
            status, kind, body = 200, "text/html", b"<html>maintenance</html>"
        else:
            status, kind = 200, "application/json"
            body = next(polls).model_dump_json(by_alias=True).encode()
        writer.write(
            f"HTTP/1.1 {status} OK\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    async with listener:
        process = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "reference", "watch", "run_1", "--token", "t"],
            *["--workspace", "w1", "--base-url", f"http://127.0.0.1:{port}"],
            *["--interval-ms", "50"],
            cwd=REPO,
            env=ENV,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    out = stdout.decode()
    assert process.returncode == 0, out + stderr.decode()
    assert "falling back to polling" in out
    assert "expected Content-Type text/event-stream, got text/html" in out
    assert "source: polling" in out
    assert "run run_1 is complete: 4 invoices" in out
