"""The FastAPI application: routes, problem handlers, limits, and the start-up and shut-down order.

Start-up opens the database (creating the schema), builds the services and starts the simulated
sender. :func:`begin_shutdown` (called from the signal handler, see reference.serve_command) ends
every open stream at once, before uvicorn starts waiting for connections to close (LIFE-3).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from reference.billing import routes as billing_routes
from reference.billing.progress import SEND_PROGRESS_PROFILE
from reference.billing.repository import BillingRepository
from reference.billing.sender import SimulatedSender
from reference.billing.use_cases import SendProgressUseCases
from reference.config import ServerConfig
from reference.control import routes as control_routes
from reference.control.use_cases import ControlUseCases, server_version
from reference.database import Database
from reference.http import problems
from reference.http.limits import RequestLimits
from reference.identity.repository import IdentityRepository
from reference.services import Services
from reference.stream import Clock, LoopClock, StreamHub

WEB_DIR = Path(__file__).resolve().parent / "web"

_API_DESCRIPTION = (
    "Requests to /classes/... need `Authorization: Bearer <token>` and `X-Workspace-Id`; the "
    "checks run in the order 401 (credentials), 400 (workspace header), 403 (membership), 404 "
    "(run). Every error body is application/problem+json (RFC 9457). The /__ssegate control API "
    "exists only when the server was started with a control secret (spec/14-control-api.md)."
)


def create_app(config: ServerConfig, clock: Clock | None = None) -> FastAPI:
    clock = clock or LoopClock()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = await Database.open(config.db_path)
        runs = BillingRepository(database, clock)
        hub = StreamHub(SEND_PROGRESS_PROFILE, config.timing, clock, coalesce=config.coalesce)
        services = Services(
            config=config,
            clock=clock,
            database=database,
            identities=IdentityRepository(database, clock),
            runs=runs,
            hub=hub,
            progress=SendProgressUseCases(runs, hub),
        )
        app.state.services = services
        app.state.control = ControlUseCases(services)
        sender = SimulatedSender(
            runs, pace_ms=config.send_pace_ms, failure_share=config.failure_share
        )
        sender_task = asyncio.create_task(sender.run(), name="simulated-sender")
        loop = asyncio.get_running_loop()
        # Thread-safe: the signal handler runs outside the loop's callbacks.
        app.state.begin_shutdown = lambda: loop.call_soon_threadsafe(hub.shutdown)
        try:
            yield
        finally:
            hub.shutdown()
            sender_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender_task
            await database.close()

    app = FastAPI(
        title="ssegate reference server",
        version=server_version(),
        summary="Snapshot streams over Server-Sent Events: the billing send-progress profile.",
        lifespan=lifespan,
    )
    app.state.begin_shutdown = lambda: None

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problems.document(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    summary=app.summary,
                    description=_API_DESCRIPTION,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    problems.install(app)
    app.add_middleware(RequestLimits)
    app.include_router(billing_routes.router)
    if config.control_secret is not None:  # CTL-1: absent unless enabled with a secret
        app.state.control_secret_digest = control_routes.secret_digest(config.control_secret)
        app.include_router(control_routes.router)
    if WEB_DIR.is_dir():
        app.mount("/ui", StaticFiles(directory=WEB_DIR, html=True), name="ui")
    return app
