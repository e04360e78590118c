"""`ApiClient`: the reference client of the ssegate API, with auth headers, a one-time token refresh
on 401, and the billing send-progress flow with its polling fallback (CLI-1, CLI-8, CLI-10).
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from reference.client._backoff import BackoffPolicy
from reference.client._errors import (
    ConnectionFailed,
    HttpStatusError,
    InvalidEvent,
    SseClientError,
)
from reference.client._events import BILLING_SEND_PROGRESS, Snapshot, StreamProfile, TypedEvent
from reference.client._payloads import SendProgressPayload
from reference.client._subscribe import (
    Callback,
    Ending,
    EndReason,
    Subscription,
    _status_error,
    subscribe_sse,
)

__all__ = [
    "ApiClient",
    "AuthenticationFailed",
    "PollingTimedOut",
    "ProgressSource",
    "ProgressUpdate",
    "RunNotFound",
    "StaticToken",
    "TokenProvider",
]

TokenProvider = Callable[[bool], str | Awaitable[str]]
"""Called with refresh=False for the current token, refresh=True after a 401 for a fresh one."""


class StaticToken:
    """A token provider for a token that never changes (a refresh gives the same token)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, refresh: bool) -> str:
        return self._token

    def __repr__(self) -> str:
        return "StaticToken(***)"  # never print a credential


class AuthenticationFailed(SseClientError):
    """401 even after a fresh token, or 403: the principal may not see this workspace."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


class RunNotFound(SseClientError):
    """404: the run does not exist or belongs to another workspace (the server cannot say which)."""


class PollingTimedOut(SseClientError):
    """The polling fallback ran for its whole limit without seeing a complete snapshot (CLI-10)."""


class ProgressSource(enum.Enum):
    STREAM = "stream"
    POLLING = "polling"


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    payload: SendProgressPayload
    source: ProgressSource


class ApiClient:
    """A client of one workspace of an ssegate API at `base_url`.

    Every request carries `Authorization: Bearer <token>` and `X-Workspace-Id` (TR-1, CLI-1). On a
    401 the token provider is asked once for a fresh token and the request repeated (CLI-8).
    `sleep`, `clock` and `rng` are injected for tests.
    """

    def __init__(
        self,
        base_url: str,
        token_provider: TokenProvider | str,
        workspace_id: str,
        *,
        client: httpx.AsyncClient | None = None,
        backoff: BackoffPolicy | None = None,
        heartbeat_ms: int | None = 30_000,
        polling_interval_ms: int = 1500,
        polling_limit_ms: int = 90_000,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token_provider: TokenProvider = (
            StaticToken(token_provider) if isinstance(token_provider, str) else token_provider
        )
        self.workspace_id = workspace_id
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None))
        self._backoff = backoff or BackoffPolicy()
        # CLI-11: a silence of two heartbeats is a broken connection. 30 s is TERM-3's ceiling for
        # heartbeatMs, so the default never trips on a conforming production server.
        self._heartbeat_ms = heartbeat_ms
        self.polling_interval_ms = polling_interval_ms
        self.polling_limit_ms = polling_limit_ms
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._token: str | None = None

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    # -- credentials -------------------------------------------------------------------------

    async def _ask_token(self, refresh: bool) -> str:
        token = self._token_provider(refresh)
        if inspect.isawaitable(token):
            token = await token
        self._token = token
        return token

    async def auth_headers(self) -> dict[str, str]:
        token = self._token if self._token is not None else await self._ask_token(False)
        return {"Authorization": f"Bearer {token}", "X-Workspace-Id": self.workspace_id}

    async def refresh_token(self) -> bool:
        """Ask the provider for a fresh token; True if it gave a different one worth a retry."""
        previous = self._token
        return await self._ask_token(True) != previous

    # -- plain requests ----------------------------------------------------------------------

    async def request(self, method: str, path: str, *, json: Any = None) -> httpx.Response:
        """A request with the auth headers; a 401 is retried once with a fresh token (CLI-8)."""
        url = self.base_url + path
        refreshed = False
        while True:
            try:
                response = await self._client.request(
                    method, url, headers=await self.auth_headers(), json=json
                )
            except httpx.HTTPError as exc:
                raise ConnectionFailed(f"cannot reach {url}: {type(exc).__name__}") from None
            if response.status_code == 401 and not refreshed:
                refreshed = True
                if await self.refresh_token():
                    continue
            return response

    async def create_billing_run(
        self, month: str, invoice_count: int, *, send_invoices: bool = False
    ) -> str:
        """POST /classes/billing/runs (BIL-6); returns the new billingRunId."""
        response = await self.request(
            "POST",
            "/classes/billing/runs",
            json={"month": month, "invoiceCount": invoice_count, "sendInvoices": send_invoices},
        )
        if response.status_code != 201:
            raise _classify(await _status_error(response))
        run_id = response.json().get("billingRunId")
        if not isinstance(run_id, str):
            raise InvalidEvent("create-run-response", response.text, "no billingRunId string")
        return run_id

    async def get_send_progress(self, run_id: str) -> SendProgressPayload:
        """GET the polling fallback endpoint (BIL-4)."""
        response = await self.request("GET", _progress_path(run_id))
        if response.status_code != 200:
            raise _classify(await _status_error(response))
        try:
            return SendProgressPayload.model_validate_json(response.content)
        except ValidationError as exc:
            raise InvalidEvent(BILLING_SEND_PROGRESS.event, response.text, str(exc)) from None

    # -- streams -----------------------------------------------------------------------------

    def subscribe_sse(
        self,
        path: str,
        *,
        profile: StreamProfile[Any] = BILLING_SEND_PROGRESS,
        **options: Any,
    ) -> Subscription[Any]:
        """`subscribe_sse` on `base_url + path` with the auth headers, which are computed again for
        every reconnection, and a one-time token refresh on 401 (CLI-8)."""
        options.setdefault("backoff", self._backoff)
        options.setdefault("heartbeat_ms", self._heartbeat_ms)
        options.setdefault("rng", self._rng)
        options.setdefault("sleep", self._sleep)
        return subscribe_sse(
            self.base_url + path,
            profile=profile,
            headers=self.auth_headers,
            client=self._client,
            on_unauthorized=self.refresh_token,
            **options,
        )

    async def billing_send_progress(
        self,
        run_id: str,
        *,
        on_fallback: Callback[SseClientError] | None = None,
        on_error: Callback[SseClientError] | None = None,
    ) -> AsyncIterator[ProgressUpdate]:
        """The progress of a billing run until it is complete: streamed, then polled (CLI-10).

        Yields each new state once (states with equal change keys, BIL-2, are not repeated). When
        the stream fails and cannot be re-established, `on_fallback(error)` is called and the
        polling endpoint is read every `polling_interval_ms` for at most `polling_limit_ms`.
        Raises `AuthenticationFailed` (401 after a refresh, 403), `RunNotFound` (404),
        `PollingTimedOut`, or `HttpStatusError` for another answer that no retry can change.
        """
        last_key: str | None = None
        items: asyncio.Queue[TypedEvent[SendProgressPayload] | Ending] = asyncio.Queue()
        subscription = self.subscribe_sse(
            _progress_path(run_id) + "/stream",
            on_event=items.put_nowait,
            on_close=items.put_nowait,
            on_error=on_error,
        )
        try:
            while True:
                item = await items.get()
                if isinstance(item, Ending):
                    ending = item
                    break
                if isinstance(item, Snapshot):
                    payload: SendProgressPayload = item.payload
                    if payload.change_key() != last_key:
                        last_key = payload.change_key()
                        yield ProgressUpdate(payload, ProgressSource.STREAM)
                    if item.complete:
                        return
        finally:
            await subscription.close()
        if ending.reason is EndReason.COMPLETED:
            return  # pragma: no cover - the loop returned at the complete snapshot already
        error = ending.error
        if isinstance(error, HttpStatusError):
            final = _classify(error)
            if not isinstance(final, HttpStatusError) or final.status < 500:
                raise final  # the fallback endpoint would answer the same (BIL-4)
        if error is not None and on_fallback is not None:
            result = on_fallback(error)
            if inspect.isawaitable(result):
                await result
        async for update in self._poll(run_id, last_key):
            yield update

    async def _poll(self, run_id: str, last_key: str | None) -> AsyncIterator[ProgressUpdate]:
        started = self._clock()
        while True:
            try:
                payload = await self.get_send_progress(run_id)
            except (AuthenticationFailed, RunNotFound):
                raise
            except HttpStatusError as error:
                if not error.retryable:
                    raise
            except (ConnectionFailed, InvalidEvent):
                pass  # a transient failure: the next poll may succeed
            else:
                if payload.change_key() != last_key:
                    last_key = payload.change_key()
                    yield ProgressUpdate(payload, ProgressSource.POLLING)
                if payload.is_complete:
                    return  # CLI-10: stop polling at completion
            elapsed_ms = (self._clock() - started) * 1000
            if elapsed_ms + self.polling_interval_ms > self.polling_limit_ms:
                raise PollingTimedOut(
                    f"run {run_id} was not complete after polling for {elapsed_ms / 1000:.1f} s"
                )
            await self._sleep(self.polling_interval_ms / 1000)


def _progress_path(run_id: str) -> str:
    return f"/classes/billing/runs/{quote(run_id, safe='')}/send-progress"


def _classify(error: HttpStatusError) -> SseClientError:
    if error.status in (401, 403):
        what = "authentication failed" if error.status == 401 else "not a member of this workspace"
        return AuthenticationFailed(error.status, f"HTTP {error.status}: {what}")
    if error.status == 404:
        return RunNotFound("HTTP 404: no such billing run in this workspace")
    return error
