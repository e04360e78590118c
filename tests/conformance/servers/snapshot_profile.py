"""The billing profile's public endpoints (BIL-1 to BIL-8) and their authentication (ERR-3 to
ERR-12), in the spec's order: credentials (401), workspace header (400), membership (403),
resource (404).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from snapshot_framing import Framer
from snapshot_options import Options
from snapshot_problems import problem
from snapshot_store import Principal, Run, SnapshotFailed, Store, current_month, utc_now_text
from snapshot_stream import EVENT, PollerHub, SnapshotStream
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_BEARER = re.compile(r"(?i:bearer) ([A-Za-z0-9\-._~+/]+=*)")
_WORKSPACE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_NOT_FOUND_TITLE = "Billing run not found"


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal | None  # None only under the no-auth-required fault
    workspace_id: str


class Profile:
    """Routes of the billing invoice send-progress profile."""

    def __init__(self, store: Store, hub: PollerHub, options: Options) -> None:
        self._store = store
        self._hub = hub
        self._options = options

    def routes(self) -> list[Route]:
        base = "/classes/billing/runs"
        methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        return [
            Route(base, self.create_run, methods=methods),
            Route(base + "/{run_id:path}/send-progress/stream", self.stream, methods=methods),
            Route(base + "/{run_id:path}/send-progress", self.fallback, methods=methods),
        ]

    # shared checks ------------------------------------------------------------------------

    def _problem(self, status: int, detail: str | None = None, **kwargs: Any) -> Response:
        if self._options.broken("problem-not-json"):
            return Response(kwargs.get("title") or "error", status, kwargs.get("headers"))
        return problem(self._options, status, detail, **kwargs)

    def _method_not_allowed(self, allowed: str) -> Response:
        """TR-4."""
        return self._problem(405, f"Use {allowed}", headers={"Allow": allowed})

    def _unauthorized(self, challenge: str) -> Response:
        headers = (
            {} if self._options.broken("no-www-authenticate") else {"WWW-Authenticate": challenge}
        )
        return self._problem(401, "A valid bearer token is required", headers=headers)

    def _authenticate(self, request: Request) -> Caller | Response:
        options = self._options
        header = request.headers.get("authorization")
        principal: Principal | None = None
        if header is None:
            if not options.broken("no-auth-required"):
                return self._unauthorized('Bearer realm="ssegate"')  # ERR-3
        else:
            match = _BEARER.fullmatch(header)
            if match is None:
                return self._unauthorized('Bearer realm="ssegate", error="invalid_request"')
            principal = self._store.principal_for(match.group(1))
            if principal is None and not options.broken("invalid-token-accepted"):
                return self._unauthorized('Bearer realm="ssegate", error="invalid_token"')
        workspace_id = request.headers.get("x-workspace-id")
        if workspace_id is None and principal is not None and principal.workspaces:  # noqa: SIM102
            if options.broken("missing-workspace-default"):
                workspace_id = principal.workspaces[0]
        if workspace_id is None or not _WORKSPACE_ID.fullmatch(workspace_id):
            return self._problem(400, "X-Workspace-Id must name a workspace")  # ERR-6
        if principal is not None and not self._store.is_member(principal, workspace_id):  # noqa: SIM102
            if not options.broken("non-member-allowed"):
                return self._problem(403, "Not a member of this workspace")  # ERR-7
        return Caller(principal, workspace_id)

    def _malformed(self, run_id: str) -> Response | None:
        """Only the malformed-id-400 fault answers a malformed id differently (ERR-12)."""
        if self._options.broken("malformed-id-400") and not _RUN_ID.fullmatch(run_id):
            return self._problem(400, "Malformed billing run id")
        return None

    def _find(self, caller: Caller, run_id: str) -> Run | None:
        if not _RUN_ID.fullmatch(run_id):
            return None  # ERR-12: malformed is answered as nonexistent
        return self._store.find_run(run_id, caller.workspace_id)

    def _run_not_found(self, run_id: str, request: Request) -> Response:
        """ERR-9 / ISO-3: the same answer for nonexistent, foreign and malformed runs."""
        run = self._store.runs.get(run_id)
        title = _NOT_FOUND_TITLE
        if self._options.broken("foreign-distinguishable") and run is not None:
            title = "Billing run belongs to another workspace"
        return self._problem(
            404, f"No billing run {run_id}", title=title, instance=request.url.path
        )

    # endpoints ----------------------------------------------------------------------------

    async def stream(self, request: Request) -> Response | SnapshotStream:
        if request.method != "GET":
            return self._method_not_allowed("GET")
        caller = self._authenticate(request)
        if isinstance(caller, Response):
            return caller
        run_id = request.path_params["run_id"]
        malformed = self._malformed(run_id)
        if malformed is not None:
            return malformed
        run = self._find(caller, run_id)
        if run is None:
            options = self._options
            if options.has("error-event") or options.broken("missing-run-data-event"):
                return _ErrorOnlyStream(options, run_id, self._store.runs.get(run_id) is not None)
            return self._run_not_found(run_id, request)
        revision = run.revision
        try:
            initial = self._store.fetch(run)
        except SnapshotFailed:
            return self._problem(503, "The billing run's progress could not be read")
        return SnapshotStream(
            self._store,
            self._hub,
            run,
            self._options,
            resumed="last-event-id" in request.headers,
            initial=initial,
            initial_revision=revision,
        )

    async def fallback(self, request: Request) -> Response:
        """BIL-4 / BIL-5: the current payload, same rules; 404 even under error-event."""
        if request.method != "GET":
            return self._method_not_allowed("GET")
        caller = self._authenticate(request)
        if isinstance(caller, Response):
            return caller
        run_id = request.path_params["run_id"]
        malformed = self._malformed(run_id)
        if malformed is not None:
            return malformed
        run = self._find(caller, run_id)
        if run is None:
            return self._run_not_found(run_id, request)
        payload = self._store.payload(run)
        if self._options.broken("fallback-stale") and run.first_payload is not None:
            payload = {**run.first_payload, "generatedAt": payload["generatedAt"]}
        return JSONResponse(payload)

    async def create_run(self, request: Request) -> Response:
        """BIL-6 / BIL-7."""
        if request.method != "POST":
            return self._method_not_allowed("POST")
        caller = self._authenticate(request)
        if isinstance(caller, Response):
            return caller
        try:
            body = json.loads(await request.body())
        except ValueError:
            return self._problem(400, "The body is not JSON")
        error = None if self._options.broken("create-run-unvalidated") else _invalid_create(body)
        if error is not None:
            return self._problem(422, error)
        fields = body if isinstance(body, dict) else {}
        month = fields.get("month")
        count = fields.get("invoiceCount")
        run = self._store.create_run(
            caller.workspace_id,
            month if isinstance(month, str) else "2026-01",
            count if isinstance(count, int) else 0,
            fields.get("sendInvoices") is True,
        )
        status = 200 if self._options.broken("create-run-broken") else 201
        return JSONResponse({"billingRunId": run.run_id}, status)


def _invalid_create(body: object) -> str | None:
    """billing.create-run-request@1, by hand: the reason it is invalid, or None."""
    if not isinstance(body, dict):
        return "The body must be a JSON object"
    unknown = set(body) - {"month", "invoiceCount", "sendInvoices"}
    if unknown:
        return f"Unknown members: {', '.join(sorted(unknown))}"
    month = body.get("month")
    if not isinstance(month, str) or not _MONTH.fullmatch(month):
        return "month must be YYYY-MM with a month from 01 to 12"
    count = body.get("invoiceCount")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 10000:
        return "invoiceCount must be an integer from 0 to 10000"
    if "sendInvoices" in body and not isinstance(body["sendInvoices"], bool):
        return "sendInvoices must be a boolean"
    return None


class _ErrorOnlyStream:
    """ERR-10: 200, a single error event, the end; the same for nonexistent and foreign."""

    def __init__(self, options: Options, run_id: str, foreign: bool) -> None:
        self._options = options
        self._run_id = run_id
        self._foreign = foreign

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        options = self._options
        content_type = (
            "text/event-stream; charset=UTF-8" if options.has("charset") else ("text/event-stream")
        )
        headers = [
            (b"content-type", content_type.encode()),
            (b"cache-control", b"no-store, no-transform"),
            (b"x-accel-buffering", b"no"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        framer = Framer(options)
        message = _NOT_FOUND_TITLE
        if options.broken("foreign-distinguishable") and self._foreign:
            message = "Billing run belongs to another workspace"
        chunks = framer.opening()
        if options.broken("missing-run-data-event"):
            empty = {
                "billingRunId": self._run_id,
                "month": current_month(),
                "progress": None,
                "isComplete": False,
                "generatedAt": utc_now_text(),
            }
            chunks += framer.data_event(EVENT, empty, first=True)
        for chunk in [*chunks, *framer.error("not_found", message)]:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": framer.finish(), "more_body": False})
