"""One snapshot stream: initial snapshot, change-only emission, heartbeats, timeout, clean end.

The stream is a raw ASGI response so that every byte and every flush is under our control
(TR-11): each event is one or more `http.response.body` messages, sent as soon as it is framed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from snapshot_framing import Framer
from snapshot_options import Options
from snapshot_store import Run, SnapshotFailed, Store, change_key, utc_now_text

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
EVENT = "billing.invoice-send-progress"


@dataclass(frozen=True, slots=True)
class Fetched:
    """The outcome of one poll: a payload (with the stored revision) or a failure."""

    payload: dict[str, Any] | None
    revision: int


class PollerHub:
    """Pollers feeding stream queues: one per stream, or one per run (shared-poller, CHG-8)."""

    def __init__(self, store: Store, options: Options) -> None:
        self._store = store
        self._options = options
        self._shared: dict[str, set[asyncio.Queue[Fetched]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # every open stream's queue with its run; only the failure-spreads and
        # cross-workspace-leak faults look at other streams' queues
        self._open: dict[asyncio.Queue[Fetched], Run] = {}
        self._last_fetched: dict[str, str] = {}

    def _fetch(self, run: Run) -> Fetched:
        revision = run.revision
        try:
            fetched = Fetched(self._store.fetch(run), revision)
        except SnapshotFailed:
            if self._options.broken("failure-spreads"):
                for queue, other in self._open.items():
                    if other.workspace_id == run.workspace_id and other is not run:
                        queue.put_nowait(Fetched(None, 0))
            return Fetched(None, revision)
        if self._options.broken("cross-workspace-leak"):
            self._leak(run, fetched)
        return fetched

    def _leak(self, run: Run, fetched: Fetched) -> None:
        """The fault, a snapshot cache keyed by progress without the run's identity: when a run
        changes, every open stream of another workspace whose run is in the state this run just
        left receives this run's new snapshot."""
        assert fetched.payload is not None
        key = _progress_key(fetched.payload)
        previous = self._last_fetched.get(run.run_id)
        self._last_fetched[run.run_id] = key
        if previous is None or previous == key:
            return
        for queue, other in self._open.items():
            if other.workspace_id == run.workspace_id:
                continue
            if _progress_key(self._store.payload(other)) == previous:
                queue.put_nowait(fetched)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def subscribe(
        self,
        run: Run,
        queue: asyncio.Queue[Fetched],
        stopped: asyncio.Event,
        sent: dict[str, Any],
    ) -> None:
        """Feed `queue` with the run's polls; `sent` is the snapshot the stream started from."""
        self._open[queue] = run
        if self._options.broken("cross-workspace-leak"):
            self._last_fetched.setdefault(run.run_id, _progress_key(sent))
        if not self._options.has("shared-poller"):
            self._spawn(self._own_poller(run, queue, stopped))
            return
        subscribers = self._shared.setdefault(run.run_id, set())
        subscribers.add(queue)
        if len(subscribers) == 1:
            self._spawn(self._shared_poller(run, subscribers))

    def unsubscribe(self, run: Run, queue: asyncio.Queue[Fetched]) -> None:
        self._open.pop(queue, None)
        subscribers = self._shared.get(run.run_id)
        if subscribers is not None:
            subscribers.discard(queue)

    async def _own_poller(
        self, run: Run, queue: asyncio.Queue[Fetched], stopped: asyncio.Event
    ) -> None:
        """Poll every intervalMs; a tick that is missed is skipped, never queued (CHG-7)."""
        loop = asyncio.get_running_loop()
        interval = self._options.interval_ms / 1000
        started = loop.time()
        due = started + interval
        while True:
            await asyncio.sleep(max(due - loop.time(), 0))
            if stopped.is_set():
                # LIFE-1: a stream that ended stops its poller; the fault keeps fetching for
                # nobody until the stream's timeout would have passed.
                if not self._options.broken("polling-not-stopped"):
                    return
                if loop.time() - started > self._options.timeout_ms / 1000:
                    return
                self._fetch(run)
            else:
                queue.put_nowait(self._fetch(run))
            due += interval
            while due <= loop.time():
                due += interval

    async def _shared_poller(self, run: Run, subscribers: set[asyncio.Queue[Fetched]]) -> None:
        """One fetch per interval for every stream of the run; stops with its last (LIFE-2)."""
        loop = asyncio.get_running_loop()
        interval = self._options.interval_ms / 1000
        due = loop.time() + interval
        while True:
            await asyncio.sleep(max(due - loop.time(), 0))
            if not subscribers:
                self._shared.pop(run.run_id, None)
                return
            fetched = self._fetch(run)
            for queue in list(subscribers):
                queue.put_nowait(fetched)
            due += interval
            while due <= loop.time():
                due += interval


class SnapshotStream:
    """The ASGI response of one stream request whose checks (auth, run) all passed."""

    def __init__(
        self,
        store: Store,
        hub: PollerHub,
        run: Run,
        options: Options,
        *,
        resumed: bool,
        initial: dict[str, Any],
        initial_revision: int,
    ) -> None:
        self._store = store
        self._hub = hub
        self._run = run
        self._options = options
        self._resumed = resumed
        self._initial = initial
        self._initial_revision = initial_revision
        self._framer = Framer(options)
        self._send: Send | None = None
        self._disconnected = asyncio.Event()
        self._ended = False

    # ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        self._send = send
        watcher = asyncio.ensure_future(self._watch_disconnect(receive))
        self._run.open_streams += 1
        try:
            if self._options.broken("headers-late"):
                await self._sleep_or_disconnect(self._late_by())
            await self._start()
            await self._body()
        finally:
            self._run.open_streams -= 1
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _watch_disconnect(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self._disconnected.set()
                return

    async def _start(self) -> None:
        options = self._options
        if options.broken("wrong-content-type"):
            content_type = "text/plain; charset=utf-8"
        elif options.has("charset"):
            content_type = "text/event-stream; charset=UTF-8"
        else:
            content_type = "text/event-stream"
        headers = [(b"content-type", content_type.encode()), (b"x-accel-buffering", b"no")]
        if not options.broken("no-cache-control"):
            headers.append((b"cache-control", b"no-store, no-transform"))
        if options.broken("gzip-encoded"):
            headers.append((b"content-encoding", b"gzip"))
        if options.broken("content-length"):
            headers.append((b"content-length", b"1000000000"))
        status = 203 if options.broken("stream-status-203") else 200
        assert self._send is not None
        await self._send({"type": "http.response.start", "status": status, "headers": headers})

    def _late_by(self) -> float:
        """How late the late-* faults are: 100 ms beyond intervalMs + tolerance. Load can only
        make them later, so the margin need not be large; a small one keeps every other
        observation of the stream (which waits a little longer than the tolerance) intact."""
        options = self._options
        return (options.interval_ms + options.tolerance_ms(options.interval_ms) + 100) / 1000

    async def _write(self, chunks: list[bytes]) -> None:
        assert self._send is not None
        for chunk in chunks:
            if self._disconnected.is_set() or self._ended:
                return
            await self._send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def _end(self) -> None:
        """END-2/END-7: the final chunk of the chunked body, never a reset."""
        assert self._send is not None
        if self._ended:
            return
        self._ended = True
        if not self._disconnected.is_set():
            tail = self._framer.finish()
            await self._send({"type": "http.response.body", "body": tail, "more_body": False})

    # the stream's timeline -------------------------------------------------------------------

    def _key(self, fetched: Fetched) -> str:
        assert fetched.payload is not None
        key = change_key(fetched.payload)
        if self._options.broken("generatedat-change-emitted"):
            key += f"#{fetched.revision}"
        return key

    async def _heartbeat(self) -> None:
        if self._options.broken("heartbeat-off-contract"):
            stamp = datetime.now().astimezone().isoformat()
        else:
            stamp = utc_now_text()
        await self._write(self._framer.heartbeat(stamp))

    async def _sleep_or_disconnect(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._disconnected.wait(), max(seconds, 0))

    async def _body(self) -> None:
        options = self._options
        loop = asyncio.get_running_loop()
        t0 = loop.time()  # TIME-1: the stream starts when the headers go out
        started_at = utc_now_text()
        hb_period = options.heartbeat_ms / 1000
        if options.broken("heartbeat-slow"):
            hb_period *= 1.6
        elif options.broken("heartbeat-flood"):
            hb_period /= 4
        next_hb = float("inf") if options.broken("no-heartbeat") else t0 + hb_period
        deadline = t0 + options.timeout_ms / 1000 * (1.5 if options.broken("timeout-late") else 1)
        late_by = self._late_by()

        await self._write(self._framer.opening())
        if options.broken("heartbeat-before-snapshot"):
            await self._heartbeat()
        if options.broken("snapshot-late"):
            await self._sleep_or_disconnect(late_by)
            self._initial = self._store.payload(self._run)
        initial = Fetched(self._initial, self._initial_revision)
        last_key = self._key(initial)
        withheld = options.broken("no-initial-snapshot") or (
            self._resumed and options.broken("last-event-id-resumes")
        )
        if not withheld:
            await self._write(self._framer.data_event(EVENT, self._initial, first=True))
            if options.broken("unknown-event") and not self._initial["isComplete"]:
                await self._write(self._framer.debug_event())
            if self._initial["isComplete"] and not options.broken("no-end-after-completion"):
                await self._end()  # SNAP-6
                return

        queue: asyncio.Queue[Fetched] = asyncio.Queue()
        stopped = asyncio.Event()
        self._hub.subscribe(self._run, queue, stopped, self._initial)
        getter: asyncio.Future[Fetched] = asyncio.ensure_future(queue.get())
        gone = asyncio.ensure_future(self._disconnected.wait())
        missed_one = False
        delayed: list[tuple[float, dict[str, Any]]] = []  # change-late fault only
        first_sent = not withheld
        try:
            while True:
                wake = min(next_hb, deadline, *(due for due, _ in delayed))
                await asyncio.wait(
                    {getter, gone},
                    timeout=max(wake - loop.time(), 0),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if gone.done():
                    return
                now = loop.time()
                if now >= deadline:
                    await self._timeout(started_at)
                    return
                if now >= next_hb:
                    await self._heartbeat()
                    # HB-3 measures each heartbeat from the previous one: a heartbeat that the
                    # machine made late does not make the next one early
                    next_hb = loop.time() + hb_period
                for due, payload in [item for item in delayed if item[0] <= now]:
                    delayed.remove((due, payload))
                    await self._write(self._framer.data_event(EVENT, payload, first=False))
                    if payload["isComplete"]:
                        await self._end()
                        return
                if not getter.done():
                    continue
                fetched = getter.result()
                getter = asyncio.ensure_future(queue.get())
                if fetched.payload is None:
                    if options.broken("snapshot-failure-silent"):
                        continue
                    await self._snapshot_failed()
                    return
                key = self._key(fetched)
                if key == last_key:
                    if options.has("comments"):
                        await self._write(self._framer.comment("keepalive"))
                    continue
                previous_key, last_key = last_key, key
                payload = fetched.payload
                complete = bool(payload["isComplete"])
                if options.broken("change-missed") and not missed_one and not complete:
                    missed_one = True
                    continue
                if options.broken("change-late"):
                    # later than the other late faults: the change's visibility is measured
                    # when its control response arrives, which load can delay (TIME-2)
                    delayed.append((now + late_by + 0.5, payload))
                    continue
                if options.broken("unseen-state"):
                    unseen = _one_invoice_short(payload)
                    if unseen is not None and change_key(unseen) != previous_key:
                        await self._write(self._framer.data_event(EVENT, unseen, first=False))
                await self._write(self._framer.data_event(EVENT, payload, first=not first_sent))
                first_sent = True
                if options.broken("duplicate-emission"):
                    await self._write(self._framer.data_event(EVENT, payload, first=False))
                if complete and not options.broken("no-end-after-completion"):
                    await self._end()  # END-5: nothing follows the complete snapshot
                    return
        finally:
            stopped.set()
            self._hub.unsubscribe(self._run, queue)
            getter.cancel()
            gone.cancel()
            await self._end()

    async def _timeout(self, started_at: str) -> None:
        """END-1 to END-3."""
        options = self._options
        if options.broken("no-timeout-event"):
            return
        timeout_ms = options.timeout_ms * (2 if options.broken("timeout-wrong-value") else 1)
        await self._write(self._framer.timeout(started_at, utc_now_text(), timeout_ms))
        if options.broken("events-after-timeout"):
            await self._heartbeat()
        if options.broken("no-end-after-timeout"):
            # Stay open until the client leaves (bounded, so a forgotten test cannot hang).
            await self._sleep_or_disconnect(options.timeout_ms / 1000 * 4)

    async def _snapshot_failed(self) -> None:
        """ERR-13: an error event, then the clean end; ERR-16: no internals in it."""
        if self._options.broken("error-leaks-internals"):
            message = (
                "Traceback (most recent call last):\n"
                '  File "/srv/billing/repository.py", line 88, in fetch_progress\n'
                "sqlite3.OperationalError: database is locked: "
                "SELECT * FROM billing_runs WHERE id = ?"
            )
        else:
            message = "The billing run's progress could not be read"
        await self._write(self._framer.error("snapshot_failed", message))


def _one_invoice_short(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The unseen-state fault's invention: the state with one invoice fewer processed."""
    progress = payload["progress"]
    if progress is None or progress["processedInvoiceCount"] == 0:
        return None
    names = ["queuedCount", "sentCount", "deliveredCount", "delayedCount"]
    names += ["failedCount", "bouncedCount"]
    biggest = max(names, key=lambda name: progress[name])
    short = dict(progress)
    short[biggest] -= 1
    short["processedInvoiceCount"] -= 1
    short["pendingCount"] = max(short["expectedInvoiceCount"] - short["processedInvoiceCount"], 0)
    short["isComplete"] = short["pendingCount"] == 0 and short["queuedCount"] == 0
    short["hasFailures"] = short["failedCount"] + short["bouncedCount"] > 0
    if short["isComplete"]:
        return None
    return {**payload, "progress": short, "isComplete": False}


def _progress_key(payload: dict[str, Any]) -> str:
    """The change key without the run's identity (only the cross-workspace-leak fault)."""
    return change_key({k: v for k, v in payload.items() if k not in {"billingRunId", "month"}})
