"""Client of the conformance control API (spec/14-control-api.md, CTL-1 to CTL-14).

Everything the harness does to a server's state goes through here, so it works with any server in
any language. A control call that fails is the setup's failure, never the protocol's: every
unexpected answer raises :class:`~conformance.errors.SetupError` (ERROR, exit 3) with the status
and a body excerpt, so a broken state hook is loud (conformance-suites.md §2.7).

TIME-2: a change is visible when the response of the operation that made it is received; the
mutating calls return that moment, read on the injected monotonic clock the recorder also uses.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from conformance.errors import SetupError

__all__ = [
    "SECRET_HEADER",
    "BillingRun",
    "ControlClient",
    "Outsider",
    "Statistics",
    "Workspace",
]

SECRET_HEADER = "X-Ssegate-Control-Secret"
_EXCERPT = 300


@dataclass(frozen=True, slots=True)
class Workspace:
    """CTL-5: a new workspace and the token of its only member."""

    workspace_id: str
    token: str


@dataclass(frozen=True, slots=True)
class Outsider:
    """CTL-6: a principal that is a member of no workspace."""

    principal_id: str
    token: str


@dataclass(frozen=True, slots=True)
class BillingRun:
    """CTL-7: a billing run created in a workspace."""

    billing_run_id: str
    month: str
    workspace_id: str
    invoice_count: int
    sent: bool


@dataclass(frozen=True, slots=True)
class Statistics:
    """CTL-12: open streams of a run and snapshot fetches made for them."""

    open_streams: int
    snapshot_fetches: int


class ControlClient:
    """Calls the control API at ``base_url`` with the shared secret (CTL-2)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        secret: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self.base_url = base_url.rstrip("/")
        self._secret = secret
        self._clock = clock

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: object = None,
        secret: str | None = None,
        send_secret: bool = True,
    ) -> httpx.Response:
        """One raw control request; transport failures become :class:`SetupError`.

        ``secret``/``send_secret`` exist for the checks of CTL-2 (a wrong or missing secret).
        """
        headers = {"Accept": "application/json"}
        if send_secret:
            headers[SECRET_HEADER] = self._secret if secret is None else secret
        content = None
        if body is not None:
            content = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        url = f"{self.base_url}{path}"
        try:
            return await self._client.request(method, url, headers=headers, content=content)
        except httpx.HTTPError as exc:
            raise SetupError(f"control API {method} {url} unreachable: {_describe(exc)}") from exc

    async def describe(self) -> dict[str, Any]:
        """CTL-3: the server's protocol version, profiles, parameters and features."""
        response = await self.request("GET", "/describe")
        if response.status_code == 401:
            raise SetupError(
                "the control API rejected the control secret (401): check --control-secret"
            )
        return _json_object(self._expect(response, 200, "describe"), "describe")

    async def create_workspace(self) -> Workspace:
        body = _json_object(
            self._expect(
                await self.request("POST", "/workspaces", body={}), 201, "create workspace"
            ),
            "create workspace",
        )
        return Workspace(_string(body, "workspaceId"), _string(body, "token"))

    async def create_outsider(self) -> Outsider:
        response = await self.request("POST", "/outsiders", body={})
        body = _json_object(self._expect(response, 201, "create outsider"), "create outsider")
        return Outsider(_string(body, "principalId"), _string(body, "token"))

    async def create_billing_run(
        self, workspace_id: str, *, invoice_count: int, sent: bool, month: str | None = None
    ) -> BillingRun:
        """CTL-7."""
        request: dict[str, Any] = {"invoiceCount": invoice_count, "sent": sent}
        if month is not None:
            request["month"] = month
        path = f"/workspaces/{quote(workspace_id, safe='')}/billing-runs"
        response = await self.request("POST", path, body=request)
        body = _json_object(self._expect(response, 201, "create billing run"), "create billing run")
        return BillingRun(
            _string(body, "billingRunId"), _string(body, "month"), workspace_id, invoice_count, sent
        )

    async def set_deliveries(self, run_id: str, status_counts: Mapping[str, int]) -> float:
        """CTL-8; returns the moment the change became visible (TIME-2)."""
        path = f"/billing-runs/{quote(run_id, safe='')}/deliveries"
        response = await self.request("PUT", path, body={"statusCounts": dict(status_counts)})
        visible_at = self._clock()
        self._expect(response, 204, "set deliveries")
        return visible_at

    async def touch(self, run_id: str) -> float:
        """CTL-9; returns the moment the touch became visible."""
        return await self._no_content(
            "POST", f"/billing-runs/{quote(run_id, safe='')}/touch", "touch"
        )

    async def complete(self, run_id: str) -> float:
        """CTL-10; returns the moment the completion became visible."""
        path = f"/billing-runs/{quote(run_id, safe='')}/complete"
        return await self._no_content("POST", path, "complete")

    async def fail_next_snapshot(self, run_id: str) -> float:
        """CTL-11 (feature ``snapshot-failure``)."""
        path = f"/billing-runs/{quote(run_id, safe='')}/fail-next-snapshot"
        return await self._no_content("POST", path, "fail next snapshot")

    async def statistics(self, run_id: str) -> Statistics:
        """CTL-12 (feature ``stream-statistics``)."""
        path = f"/billing-runs/{quote(run_id, safe='')}/statistics"
        response = await self.request("GET", path)
        body = _json_object(self._expect(response, 200, "statistics"), "statistics")
        return Statistics(_integer(body, "openStreams"), _integer(body, "snapshotFetches"))

    async def _no_content(self, method: str, path: str, operation: str) -> float:
        response = await self.request(method, path)
        visible_at = self._clock()
        self._expect(response, 204, operation)
        return visible_at

    def _expect(self, response: httpx.Response, status: int, operation: str) -> httpx.Response:
        if response.status_code != status:
            raise SetupError(
                f"control API {operation} answered {response.status_code}, expected {status}: "
                f"{response.text[:_EXCERPT]!r}"
            )
        return response


def _describe(exc: httpx.HTTPError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _json_object(response: httpx.Response, operation: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise SetupError(
            f"control API {operation} did not answer JSON: {response.text[:_EXCERPT]!r}"
        ) from exc
    if not isinstance(body, dict):
        raise SetupError(f"control API {operation} answered {type(body).__name__}, not an object")
    return body


def _string(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise SetupError(f"control API answer lacks a string {key!r}: {body!r}"[:_EXCERPT])
    return value


def _integer(body: Mapping[str, Any], key: str) -> int:
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise SetupError(f"control API answer lacks an integer {key!r}: {body!r}"[:_EXCERPT])
    return value
