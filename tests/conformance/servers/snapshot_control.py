"""The conformance control API (spec/14, CTL-1 to CTL-14), with both optional features."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable

from snapshot_options import Options
from snapshot_problems import problem
from snapshot_store import STATUSES, Run, Store, current_month, secrets_equal
from snapshot_stream import EVENT
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_MAX_COUNT = 10000
Endpoint = Callable[[Request], Awaitable[Response]]


class Control:
    """Routes under the control base URL; mounted only with a secret (CTL-1)."""

    def __init__(self, store: Store, options: Options) -> None:
        self._store = store
        self._options = options
        served = ("snapshot-failure", "stream-statistics")
        self._features: tuple[str, ...] = () if options.has("no-features") else served
        # what describe declares; differs from what is served only under features-undeclared
        self._declared = () if options.broken("features-undeclared") else self._features

    def routes(self) -> list[Route]:
        guard = self._guarded
        return [
            Route("/describe", guard(self.describe), methods=["GET"]),
            Route("/workspaces", guard(self.create_workspace), methods=["POST"]),
            Route("/outsiders", guard(self.create_outsider), methods=["POST"]),
            Route(
                "/workspaces/{workspace_id}/billing-runs", guard(self.create_run), methods=["POST"]
            ),
            Route("/billing-runs/{run_id}/deliveries", guard(self.deliveries), methods=["PUT"]),
            Route("/billing-runs/{run_id}/touch", guard(self.touch), methods=["POST"]),
            Route("/billing-runs/{run_id}/complete", guard(self.complete), methods=["POST"]),
            Route(
                "/billing-runs/{run_id}/fail-next-snapshot",
                guard(self.fail_next),
                methods=["POST"],
            ),
            Route("/billing-runs/{run_id}/statistics", guard(self.statistics), methods=["GET"]),
        ]

    def _guarded(self, endpoint: Endpoint) -> Endpoint:
        """CTL-2: the secret on every request, compared in constant time."""
        secret = self._options.control_secret or ""

        async def guarded(request: Request) -> Response:
            given = request.headers.get("x-ssegate-control-secret")
            if not self._options.broken("control-open") and (
                given is None or not secrets_equal(given, secret)
            ):
                return problem(self._options, 401, "The control secret is missing or wrong")
            return await endpoint(request)

        return guarded

    def _run(self, request: Request) -> Run | None:
        return self._store.runs.get(request.path_params["run_id"])

    async def _json_object(self, request: Request) -> dict[str, object] | Response:
        """The body as a JSON object; an empty body counts as {} (operations with no members)."""
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            return problem(self._options, 400, "The body is not JSON")
        if not isinstance(body, dict):
            return problem(self._options, 422, "The body must be a JSON object")
        return body

    # operations -------------------------------------------------------------------------

    async def describe(self, request: Request) -> Response:
        """CTL-3 / TERM-1 / VER-1 / VER-4."""
        options = self._options
        heartbeat = options.heartbeat_ms * (2 if options.broken("parameters-misdeclared") else 1)
        return JSONResponse(
            {
                "protocolVersion": "1.0",
                "server": {"name": "ssegate-snapshot-test-server", "version": "1.0.0"},
                "profiles": {
                    EVENT: {
                        "path": "/classes/billing/runs/{billingRunId}/send-progress/stream",
                        "event": EVENT,
                        "contract": f"{EVENT}@1",
                        "intervalMs": options.interval_ms,
                        "heartbeatMs": heartbeat,
                        "timeoutMs": options.timeout_ms,
                    }
                },
                "features": list(self._declared),
                **({"extensions": {}} if options.broken("describe-off-contract") else {}),
            }
        )

    async def create_workspace(self, request: Request) -> Response:
        """CTL-5."""
        body = await self._json_object(request)
        if isinstance(body, Response):
            return body
        if body:
            return problem(self._options, 422, "The body must be {}")
        workspace_id, token = self._store.create_workspace()
        return JSONResponse({"workspaceId": workspace_id, "token": token}, 201)

    async def create_outsider(self, request: Request) -> Response:
        """CTL-6."""
        body = await self._json_object(request)
        if isinstance(body, Response):
            return body
        if body:
            return problem(self._options, 422, "The body must be {}")
        principal_id, token = self._store.create_outsider()
        return JSONResponse({"principalId": principal_id, "token": token}, 201)

    async def create_run(self, request: Request) -> Response:
        """CTL-7 / CTL-14."""
        workspace_id = request.path_params["workspace_id"]
        if workspace_id not in self._store.workspaces:
            return problem(self._options, 404, "No such workspace")
        body = await self._json_object(request)
        if isinstance(body, Response):
            return body
        error = _invalid_create_run(body)
        if error is not None:
            return problem(self._options, 422, error)
        month = body.get("month")
        count = body["invoiceCount"]
        assert isinstance(count, int)
        run = self._store.create_run(
            workspace_id,
            month if isinstance(month, str) else current_month(),
            count,
            body.get("sent") is True,
        )
        return JSONResponse({"billingRunId": run.run_id, "month": run.month}, 201)

    async def deliveries(self, request: Request) -> Response:
        """CTL-8."""
        run = self._run(request)
        if run is None:
            return problem(self._options, 404, "No such billing run")
        body = await self._json_object(request)
        if isinstance(body, Response):
            return body
        counts = _status_counts(body)
        if isinstance(counts, str):
            return problem(self._options, 422, counts)
        if not run.sent and not self._options.broken("deliveries-unchecked"):
            return problem(self._options, 409, "The billing run has not been sent")
        self._store.set_deliveries(run, counts)
        return Response(status_code=204)

    async def touch(self, request: Request) -> Response:
        """CTL-9."""
        run = self._run(request)
        if run is None:
            return problem(self._options, 404, "No such billing run")
        self._store.touch(run)
        return Response(status_code=204)

    async def complete(self, request: Request) -> Response:
        """CTL-10."""
        run = self._run(request)
        if run is None:
            return problem(self._options, 404, "No such billing run")
        self._store.complete(run)
        return Response(status_code=204)

    async def fail_next(self, request: Request) -> Response:
        """CTL-11 (feature snapshot-failure; 404 when not declared, CTL-4)."""
        if "snapshot-failure" not in self._features:
            return problem(self._options, 404, "Feature snapshot-failure is not implemented")
        run = self._run(request)
        if run is None:
            return problem(self._options, 404, "No such billing run")
        run.fail_next = True
        return Response(status_code=204)

    async def statistics(self, request: Request) -> Response:
        """CTL-12 (feature stream-statistics)."""
        if "stream-statistics" not in self._features:
            return problem(self._options, 404, "Feature stream-statistics is not implemented")
        run = self._run(request)
        if run is None:
            return problem(self._options, 404, "No such billing run")
        return JSONResponse({"openStreams": run.open_streams, "snapshotFetches": run.fetches})


def _invalid_create_run(body: dict[str, object]) -> str | None:
    """control.create-billing-run@1 by hand."""
    unknown = set(body) - {"month", "invoiceCount", "sent"}
    if unknown:
        return f"Unknown members: {', '.join(sorted(unknown))}"
    count = body.get("invoiceCount")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= _MAX_COUNT:
        return "invoiceCount must be an integer from 0 to 10000"
    month = body.get("month")
    if month is not None and (not isinstance(month, str) or not _MONTH.fullmatch(month)):
        return "month must be YYYY-MM with a month from 01 to 12"
    if "sent" in body and not isinstance(body["sent"], bool):
        return "sent must be a boolean"
    return None


def _status_counts(body: dict[str, object]) -> dict[str, int] | str:
    """control.deliveries@1 by hand: the counts, or why the body is invalid."""
    if set(body) != {"statusCounts"} or not isinstance(body["statusCounts"], dict):
        return 'The body must be {"statusCounts": {...}}'
    counts: dict[str, int] = {}
    for status, count in body["statusCounts"].items():
        if status not in STATUSES:
            return f"Unknown status {status!r}"
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= _MAX_COUNT:
            return f"The count of {status} must be an integer from 0 to {_MAX_COUNT}"
        counts[status] = count
    return counts
