"""`ssegate-reference watch RUN_ID`: a live terminal view of a billing run's send progress.

It follows the run with `ApiClient.billing_send_progress` (stream first, polling fallback, CLI-10)
and draws a rich progress bar with the counts. Exit codes (docs/client.md):

| code | meaning                                                                    |
|------|----------------------------------------------------------------------------|
| 0    | the run is complete                                                        |
| 2    | usage: bad arguments, no token, or a request the server calls malformed (400) |
| 3    | authentication or authorization failed (401 after a refresh, 403)          |
| 4    | no such run in this workspace (404)                                        |
| 5    | gave up: the server stayed unreachable or the run did not complete in time |
| 130  | interrupted (Ctrl-C)                                                       |
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from reference.client._api_client import (
    ApiClient,
    AuthenticationFailed,
    PollingTimedOut,
    ProgressSource,
    ProgressUpdate,
    RunNotFound,
)
from reference.client._errors import HttpStatusError, SseClientError
from reference.client._payloads import SendProgressPayload

__all__ = ["EXIT_AUTH", "EXIT_GAVE_UP", "EXIT_NOT_FOUND", "WatchView", "completion", "register"]

EXIT_OK, EXIT_USAGE, EXIT_AUTH, EXIT_NOT_FOUND, EXIT_GAVE_UP, EXIT_INTERRUPTED = 0, 2, 3, 4, 5, 130
TOKEN_ENV = "SSEGATE_TOKEN"


def register(subparsers: Any) -> None:
    watch = subparsers.add_parser(
        "watch",
        help="show a billing run's send progress live in the terminal",
        description=(
            "Follow a billing run's send progress: the stream first, the polling endpoint when "
            "streaming fails. Exit codes: 0 complete, 2 usage, 3 authentication or authorization "
            "failed, 4 no such run, 5 gave up (unreachable or not complete in time)."
        ),
    )
    watch.add_argument("run_id", metavar="RUN_ID", help="the billingRunId")
    watch.add_argument(
        "--base-url", required=True, help="the API's base URL, e.g. http://127.0.0.1:8000"
    )
    watch.add_argument(
        "--token",
        default=None,
        help=f"bearer token (default: the {TOKEN_ENV} environment variable)",
    )
    watch.add_argument("--workspace", required=True, help="the X-Workspace-Id to act in")
    watch.add_argument(
        "--interval-ms", type=int, default=1500, help="polling interval of the fallback (1500)"
    )
    watch.add_argument(
        "--polling-limit-ms", type=int, default=90_000, help="how long to poll at most (90000)"
    )
    watch.add_argument(
        "--heartbeat-ms",
        type=int,
        default=30_000,
        help="the server's heartbeat period; twice this without a byte is a broken stream (30000)",
    )
    watch.set_defaults(handler=run)


def completion(payload: SendProgressPayload) -> float:
    """The share of the run that is done, 0 to 1: invoices neither pending nor queued (BIL-13)."""
    progress = payload.progress
    if progress is None or progress.expected_invoice_count == 0:
        return 1.0 if payload.is_complete else 0.0
    done = progress.expected_invoice_count - progress.pending_count - progress.queued_count
    return max(0.0, min(1.0, done / progress.expected_invoice_count))


class WatchView:
    """What the terminal shows: a bar, the counts, the data source and the last problem."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.payload: SendProgressPayload | None = None
        self.source = ProgressSource.STREAM
        self.status = "connecting"
        self.problem: str | None = None

    def update(self, update: ProgressUpdate) -> None:
        self.payload = update.payload
        self.source = update.source
        self.status = "complete" if update.payload.is_complete else update.source.value
        self.problem = None if update.source is ProgressSource.STREAM else self.problem

    def fallback(self, error: SseClientError) -> None:
        self.source = ProgressSource.POLLING
        self.status = "polling"
        self.problem = f"streaming failed ({error}); falling back to polling"

    def error(self, error: SseClientError) -> None:
        self.problem = str(error)

    def __rich__(self) -> RenderableType:
        payload = self.payload
        share = completion(payload) if payload is not None else 0.0
        title = Text.assemble(("Billing run ", "bold"), (self.run_id, "bold cyan"))
        if payload is not None:
            title.append(f"  {payload.month}")
        bar = Table.grid(padding=(0, 1))
        bar.add_row(
            ProgressBar(total=100, completed=share * 100, width=40),
            Text(f"{share * 100:5.1f} %"),
            Text(self.status, style="green" if self.status == "complete" else "yellow"),
        )
        counts = Table(box=None, padding=(0, 2), show_edge=False)
        names = (
            "expected",
            "pending",
            "queued",
            "sent",
            "delivered",
            "delayed",
            "failed",
            "bounced",
        )
        for name in names:
            counts.add_column(name, justify="right")
        progress = payload.progress if payload is not None else None
        if progress is not None:
            counts.add_row(
                *(
                    str(value)
                    for value in (
                        progress.expected_invoice_count,
                        progress.pending_count,
                        progress.queued_count,
                        progress.sent_count,
                        progress.delivered_count,
                        progress.delayed_count,
                        progress.failed_count,
                        progress.bounced_count,
                    )
                )
            )
        elif payload is not None:
            counts.add_row(*(["-"] * len(names)))
        source = Text(f"source: {self.source.value}", style="dim")
        parts: list[RenderableType] = [title, bar, counts, source]
        if payload is not None and progress is None:
            parts.insert(2, Text("not sent yet", style="dim"))
        if self.problem:
            parts.append(Text(self.problem, style="red"))
        return Group(*parts)


def run(args: argparse.Namespace) -> int:
    err = Console(stderr=True)
    token = args.token or os.environ.get(TOKEN_ENV)
    if not token:
        err.print(f"error: no token: pass --token or set {TOKEN_ENV}")
        return EXIT_USAGE
    parts = urlsplit(args.base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        err.print(f"error: --base-url must be an http(s) URL, got {args.base_url!r}")
        return EXIT_USAGE
    for name in ("interval_ms", "polling_limit_ms", "heartbeat_ms"):
        if getattr(args, name) <= 0:
            err.print(f"error: --{name.replace('_', '-')} must be a positive integer")
            return EXIT_USAGE
    try:
        return asyncio.run(_watch(args, token, Console(), err))
    except KeyboardInterrupt:
        err.print("interrupted")
        return EXIT_INTERRUPTED


async def _watch(args: argparse.Namespace, token: str, out: Console, err: Console) -> int:
    view = WatchView(args.run_id)
    client = ApiClient(
        args.base_url,
        token,
        args.workspace,
        heartbeat_ms=args.heartbeat_ms,
        polling_interval_ms=args.interval_ms,
        polling_limit_ms=args.polling_limit_ms,
    )
    code = EXIT_GAVE_UP
    message: str | None = None
    with Live(view, console=out, refresh_per_second=8) as live:
        try:
            async with client:
                async for update in client.billing_send_progress(
                    args.run_id, on_fallback=view.fallback, on_error=view.error
                ):
                    view.update(update)
                    live.refresh()
            code = EXIT_OK
        except AuthenticationFailed as exc:
            code, message = EXIT_AUTH, f"{exc} (check --token and --workspace)"
        except RunNotFound as exc:
            code, message = EXIT_NOT_FOUND, str(exc)
        except PollingTimedOut as exc:
            code, message = EXIT_GAVE_UP, str(exc)
        except HttpStatusError as exc:
            code = EXIT_USAGE if exc.status == 400 else EXIT_GAVE_UP
            message = f"the server refused the request: {exc}"
        except SseClientError as exc:
            code, message = EXIT_GAVE_UP, str(exc)
    if not out.is_terminal:
        out.line()  # Live leaves its last frame unterminated when it is not drawing on a terminal
    if message is not None:
        err.print(f"error: {message}")
    elif view.payload is not None:
        out.print(_summary(view.payload))
    return code


def _summary(payload: SendProgressPayload) -> str:
    progress = payload.progress
    if progress is None:
        return f"run {payload.billing_run_id} is complete: it has no invoices"
    failed = progress.failed_count + progress.bounced_count
    return (
        f"run {payload.billing_run_id} is complete: {progress.expected_invoice_count} invoices, "
        f"{progress.delivered_count} delivered, {progress.sent_count} sent, {failed} failed"
    )
