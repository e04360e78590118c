"""An independent, third implementation of the snapshot stream protocol, for testing the harness.

It imports neither `conformance` nor `reference`: it is written from spec/ alone, with hand-written
SSE framing and in-memory state. With no fault it is conformant under every variant set; each
`--fault` breaks exactly one requirement (tests/conformance/faults.py says which checks must catch
it, docs/faulty-servers.md shows the resulting table).

    python tests/conformance/servers/snapshot_server.py --port 8123 --control-secret s3cret \
        [--interval-ms 200 --heartbeat-ms 800 --timeout-ms 2500] [--variant NAME ...] [--fault NAME]

The control API is mounted at /__ssegate (only when --control-secret is given, CTL-1).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Run as a script: the sibling modules live beside this file.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import uvicorn
from snapshot_control import Control
from snapshot_options import (
    FAULTS,
    VARIANT_SETS,
    VARIANTS,
    Options,
    resolve_variants,
)
from snapshot_problems import problem
from snapshot_profile import Profile
from snapshot_store import Store
from snapshot_stream import PollerHub
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount

CONTROL_PREFIX = "/__ssegate"


def build_app(options: Options) -> Starlette:
    store = Store(options)
    hub = PollerHub(store, options)
    routes: list[BaseRoute] = list(Profile(store, hub, options).routes())
    if options.control_secret:
        routes.append(Mount(CONTROL_PREFIX, routes=Control(store, options).routes()))

    async def http_error(request: Request, exc: Exception) -> Response:
        """Unknown paths and methods answer with a problem body too (ERR-1)."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        return problem(options, status, "No such resource" if status == 404 else None)

    return Starlette(routes=routes, exception_handlers={404: http_error, 405: http_error})


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def parse_options(argv: list[str] | None = None) -> tuple[Options, int, str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--control-secret", default=None)
    parser.add_argument("--interval-ms", type=_positive, default=200)
    parser.add_argument("--heartbeat-ms", type=_positive, default=800)
    parser.add_argument("--timeout-ms", type=_positive, default=2500)
    parser.add_argument(
        "--variant",
        action="append",
        default=None,
        help=f"a variant set ({', '.join(VARIANT_SETS)}) or a single variant; repeatable",
    )
    parser.add_argument("--fault", choices=sorted(FAULTS), default=None)
    parser.add_argument(
        "--tolerance-ms",
        type=_positive,
        default=250,
        help="the checker's TIME-3 floor; the late-* faults are late beyond it",
    )
    parser.add_argument("--list", action="store_true", help="print variants and faults, exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, text in VARIANTS.items():
            print(f"variant {name}: {text}")
        for name, members in VARIANT_SETS.items():
            print(f"set {name}: {' '.join(members) or '(none)'}")
        for name, text in FAULTS.items():
            print(f"fault {name}: {text}")
        raise SystemExit(0)
    if not args.interval_ms < args.heartbeat_ms < args.timeout_ms:
        parser.error("TERM-2 needs --interval-ms < --heartbeat-ms < --timeout-ms")
    try:
        variants = resolve_variants(args.variant or ["default"])
    except ValueError as error:
        parser.error(str(error))
    options = Options(
        interval_ms=args.interval_ms,
        heartbeat_ms=args.heartbeat_ms,
        timeout_ms=args.timeout_ms,
        control_secret=args.control_secret,
        tolerance_floor_ms=args.tolerance_ms,
        variants=variants,
        fault=args.fault,
    )
    return options, args.port, args.host


def main(argv: list[str] | None = None) -> int:
    options, port, host = parse_options(argv)
    if host not in {"127.0.0.1", "localhost", "::1"}:
        print("this test server only listens on loopback", file=sys.stderr)
        return 2
    uvicorn.run(
        build_app(options),
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
