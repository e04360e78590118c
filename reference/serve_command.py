"""``ssegate-reference serve``: the reference server on uvicorn.

Shutdown (LIFE-3): on SIGTERM or SIGINT the server first ends every open stream with an ``error``
event ``shutting_down`` and a clean end of the body, then lets uvicorn close the listening socket
and the now idle connections. Without that first step uvicorn would wait for streams that never
end by themselves (shared/notes/sse-wire-rules.md §2). The process then exits with status 0.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Callable, Generator
from types import FrameType
from typing import Any

import uvicorn

from reference.app import create_app
from reference.config import DEFAULT_DB_PATH, ServerConfig, config_problem
from reference.database import MEMORY, connect_sync
from reference.stream import StreamTiming

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
SECRET_ENV = "SSEGATE_CONTROL_SECRET"


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the reference server",
        description=(
            "Run the reference server. The control API (/__ssegate) is enabled only with a "
            f"control secret (--control-secret, or the {SECRET_ENV} environment variable)."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    serve.add_argument(
        "--db",
        default=DEFAULT_DB_PATH,
        help=f"SQLite file, created if missing (default ./{DEFAULT_DB_PATH}; ':memory:' for a "
        "throwaway database)",
    )
    serve.add_argument("--interval-ms", type=int, default=1500, help="poll interval (1500)")
    serve.add_argument("--heartbeat-ms", type=int, default=15000, help="heartbeat period (15000)")
    serve.add_argument("--timeout-ms", type=int, default=90000, help="stream timeout (90000)")
    serve.add_argument("--control-secret", default=None, help="enable the control API")
    serve.add_argument(
        "--send-pace-ms", type=int, default=1000, help="simulated sender step period (1000)"
    )
    serve.add_argument(
        "--failure-share",
        type=float,
        default=0.05,
        help="share of simulated deliveries that fail or bounce, 0 to 1 (0.05)",
    )
    serve.add_argument(
        "--no-coalesce",
        dest="coalesce",
        action="store_false",
        help="one poller per stream, as the origin did, instead of one per run",
    )
    serve.add_argument(
        "--no-access-log", dest="access_log", action="store_false", help="no request log lines"
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="log level (info)",
    )
    serve.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    secret = args.control_secret if args.control_secret is not None else os.environ.get(SECRET_ENV)
    problem = config_problem(
        args.interval_ms,
        args.heartbeat_ms,
        args.timeout_ms,
        args.send_pace_ms,
        args.failure_share,
        secret,
    )
    if problem is None and not 0 <= args.port <= 65535:
        problem = f"port must be between 0 and 65535, got {args.port}"
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if args.db != MEMORY:
        try:  # fail here with one line rather than with a traceback from the lifespan
            connect_sync(args.db).close()
        except (sqlite3.Error, OSError) as exc:
            print(f"error: cannot open database {args.db}: {exc}", file=sys.stderr)
            return EXIT_FAILURE
    config = ServerConfig(
        db_path=args.db,
        timing=StreamTiming(args.interval_ms, args.heartbeat_ms, args.timeout_ms),
        control_secret=secret,
        send_pace_ms=args.send_pace_ms,
        failure_share=args.failure_share,
        coalesce=args.coalesce,
    )
    app = create_app(config)
    server = GracefulServer(
        uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            access_log=args.access_log,
            lifespan="on",
            backlog=4096,
            # A backstop only: streams are ended by begin_shutdown well before this.
            timeout_graceful_shutdown=3,
        ),
        on_exit=lambda: app.state.begin_shutdown(),
    )
    logging.getLogger("reference").setLevel(args.log_level.upper())
    # The database threads need the GIL back after every SQLite call; with the default 5 ms
    # switch interval a busy event loop makes each read wait up to 5 ms per hand-over, and at
    # thousands of streams the read thread, not the CPU, limits polls and new streams.
    sys.setswitchinterval(0.0005)
    freeze_after_full_collections()
    server.run()
    return EXIT_OK if server.started else EXIT_FAILURE


def freeze_after_full_collections() -> None:
    """Keep CPython's full garbage collections short while thousands of streams are open.

    Each open stream holds about 130 objects the collector tracks (connection, parser, request,
    task, suspended coroutines). A full collection scans them all and frees none of them: at
    10,000 streams it took 0.85 s, stalling every heartbeat due meanwhile, and they keep coming
    while streams are merely held, because each heartbeat's waiter outlives the young generations.
    Freezing the survivors of each full collection (``gc.freeze``) moves them out of every later
    scan, so a full collection only looks at what was created since: 20 to 80 ms at 10,000
    streams. Frozen objects are still freed by reference counting when a stream ends; what
    is given up is collecting reference cycles among them, which the stream path barely
    creates (a full collection after 10,000 streams closed found about 1,400 such objects).
    """

    def freeze_survivors(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            gc.freeze()

    gc.callbacks.append(freeze_survivors)


class GracefulServer(uvicorn.Server):
    """uvicorn's server, telling the application first when a signal asks it to stop."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_exit()
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # uvicorn's own version re-raises the signal after a graceful shutdown, which would end
        # the process with "killed by SIGTERM" instead of status 0.
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
