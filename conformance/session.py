"""One conformance run against one server: what every check can reach.

A :class:`Session` holds the server's declared profile (from ``describe``), the tolerance, the
control client, the HTTP client for streams, the table of recorded exchanges (transcripts) and the
*observation* memo. An observation is a scenario (for example "an idle stream recorded until it
ends") run at most once per session: every check that judges the same observation awaits the same
task, so the heartbeat, timeout and wire-format checks all judge one full-length recording and the
whole suite takes about ``timeoutMs`` of wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from conformance.control import ControlClient
from conformance.errors import HarnessError, SetupError
from conformance.recorder import Recording, StreamRecorder
from conformance.timing import Tolerance

__all__ = ["Exchange", "PlainResponse", "Profile", "Session", "Settings"]

T = TypeVar("T")
Scenario = Callable[["Session"], Coroutine[Any, Any, T]]

# The profile this harness version knows how to drive (spec/13-billing-profile.md).
BILLING_EVENT = "billing.invoice-send-progress"

# Lead observations open their stream before any other observation starts: the longest one
# (the idle stream, about timeoutMs) sets the suite's wall time, so it must not queue behind the
# setup traffic of the short ones on a loaded server.
_LEAD: set[Callable[..., Any]] = set()

# How long any request may take to get its response headers before the scenario gives up on it.
# Not a spec limit (transport.headers-prompt judges TR-11 on the idle stream): on a loaded machine
# a correct server can take a while to answer, and the scenarios' own windows start at the headers.
HEADERS_ALLOWANCE_S = 5.0
# Bounds of an answer read whole (a POST's): enough for any problem body, never a flood.
PLAIN_BODY_LIMIT = 64 * 1024
PLAIN_TIMEOUT_S = 10.0


def lead_observation(scenario: Scenario[T]) -> Scenario[T]:
    """Mark ``scenario`` as a lead: others wait (briefly) until it calls ``lead_opened``."""
    _LEAD.add(scenario)
    return scenario


@dataclass(frozen=True, slots=True)
class Profile:
    """A profile entry of ``describe`` (CTL-3) with its parameters (TERM-1)."""

    name: str
    path: str
    event: str
    contract_name: str
    contract_major: int
    interval_ms: int
    heartbeat_ms: int
    timeout_ms: int

    def stream_path(self, run_id: str) -> str:
        return self.path.replace("{billingRunId}", run_id)

    def fallback_path(self, run_id: str) -> str:
        """BIL-4: the polling fallback is the stream path without its ``/stream`` suffix."""
        stream = self.stream_path(run_id)
        return stream[: -len("/stream")] if stream.endswith("/stream") else stream


@dataclass(frozen=True, slots=True)
class Settings:
    """How a run is configured (CLI options and their ``SSEGATE_*`` variables)."""

    base_url: str
    control_url: str
    control_secret: str
    tolerance: Tolerance = field(default_factory=Tolerance)
    strict: bool = False
    jobs: int = 0  # 0: every selected check at once
    # Issue 5's hook: judge payloads against this contract instead of the declared one.
    contract_override: tuple[str, int] | None = None


@dataclass(slots=True)
class Exchange:
    """One recorded HTTP exchange: the recording plus when its request started (monotonic s)."""

    label: str
    method: str
    recording: Recording
    started_at: float

    def absolute(self, at: float) -> float:
        """A recording time (seconds since request start) on the session clock."""
        started = self.recording.started_at
        return (self.started_at if started is None else started) + at

    def relative(self, clock_reading: float) -> float:
        """A session clock reading as seconds since this exchange's request start."""
        started = self.recording.started_at
        return clock_reading - (self.started_at if started is None else started)


@dataclass(frozen=True, slots=True)
class PlainResponse:
    """A request answered at once (a POST, a control call) and what came back."""

    label: str
    method: str
    path: str
    request_body: str
    status: int
    headers: list[tuple[str, str]]  # lower-cased names, raw order
    body: str

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name.lower():
                return value
        return None


class Session:
    """Shared state of one run; checks receive it as their only argument."""

    def __init__(
        self,
        settings: Settings,
        *,
        control: ControlClient,
        client: httpx.AsyncClient,
        describe: Mapping[str, Any],
        profile: Profile,
        features: frozenset[str],
        deadline: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.control = control
        self.client = client
        self.describe = describe
        self.profile = profile
        self.features = features
        self.deadline = deadline
        self.clock = clock
        self.exchanges: dict[str, Exchange] = {}
        self.plain: dict[str, PlainResponse] = {}
        self._observations: dict[Callable[..., Any], asyncio.Task[Any]] = {}
        self._lead: asyncio.Event | None = None

    @property
    def tolerance(self) -> Tolerance:
        return self.settings.tolerance

    def url(self, path: str) -> str:
        return self.settings.base_url.rstrip("/") + path

    def remaining(self) -> float:
        """Seconds left until the run's global deadline."""
        return max(0.0, self.deadline - self.clock())

    async def observe(self, scenario: Scenario[T]) -> T:
        """Run ``scenario`` once per session; every caller shares its result (or its error)."""
        task = self._observations.get(scenario)
        if task is None:
            name = getattr(scenario, "__name__", "scenario")
            if scenario in _LEAD:
                if self._lead is None:
                    self._lead = asyncio.Event()
                task = asyncio.create_task(scenario(self), name=name)
            else:
                task = asyncio.create_task(self._after_lead(scenario), name=name)
            self._observations[scenario] = task
        # shield: one check being cancelled must not cancel an observation others await.
        result: T = await asyncio.shield(task)
        return result

    def preset(self, scenario: Scenario[T], result: T) -> None:
        """Provide an observation's result instead of running it (to re-judge a recording)."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        future.set_result(result)
        self._observations[scenario] = future  # type: ignore[assignment]

    def lead_opened(self) -> None:
        """Called by a lead observation once its stream is open (or could not be opened)."""
        if self._lead is not None:
            self._lead.set()

    async def _after_lead(self, scenario: Scenario[T]) -> T:
        if self._lead is not None and not self._lead.is_set():
            # Bounded: a slow lead must not hold the others back for long.
            wait_s = self.tolerance.latest(self.profile.interval_ms) / 1000.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lead.wait(), timeout=wait_s)
        return await scenario(self)

    async def close(self) -> None:
        """Cancel observations still running (only after the global deadline)."""
        for task in self._observations.values():
            task.cancel()
        for task in self._observations.values():
            with suppress(BaseException):
                await task

    def stream_headers(
        self,
        token: str | None,
        workspace_id: str | None,
        *,
        extra: Mapping[str, str] | None = None,
        omit: frozenset[str] = frozenset(),
    ) -> dict[str, str]:
        """Headers of a well-behaved client (TR-1, TR-2); Accept-Encoding: gzip probes TR-10."""
        headers = {
            "Accept": "text/event-stream",
            "Cache-Control": "no-store",
            "Accept-Encoding": "gzip",
        }
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if workspace_id is not None:
            headers["X-Workspace-Id"] = workspace_id
        headers.update(extra or {})
        return {name: value for name, value in headers.items() if name not in omit}

    @asynccontextmanager
    async def record(
        self,
        label: str,
        path: str,
        headers: Mapping[str, str],
        *,
        duration_s: float,
    ) -> AsyncIterator[tuple[StreamRecorder, Exchange]]:
        """Record a GET of ``path``; disconnect on leaving.

        The body yields once the response headers arrived (or :data:`HEADERS_ALLOWANCE_S` passed
        or the exchange ended), and the recording lasts at most ``duration_s`` after that point.
        The recording is filed under ``label`` in the transcript table whatever happens.
        """
        if label in self.exchanges:
            raise HarnessError(f"transcript label {label!r} used twice")
        started_at = self.clock()
        allowance = min(HEADERS_ALLOWANCE_S, self.remaining())
        recorder = StreamRecorder(
            self.client,
            self.url(path),
            headers,
            deadline=min(started_at + allowance + duration_s, self.deadline),
            clock=self.clock,
        )
        async with recorder:
            exchange = Exchange(label, "GET", recorder.recording, started_at)
            self.exchanges[label] = exchange
            try:
                await recorder.wait_for(lambda r: r.headers_at is not None, allowance)
                yield recorder, exchange
            finally:
                if recorder.recording.end is None:
                    await recorder.disconnect()

    async def fetch(
        self, label: str, path: str, headers: Mapping[str, str], *, window_s: float
    ) -> Exchange:
        """A request expected to answer at once (an error, a fallback): recorded to its end.

        A server that wrongly opens a stream is watched for ``window_s`` and then disconnected.
        """
        async with self.record(label, path, headers, duration_s=window_s) as (recorder, exchange):
            await recorder.wait_end(window_s)
        return exchange

    async def send(
        self,
        label: str,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes | None = None,
    ) -> PlainResponse:
        """A non-GET request (POST on a stream path, run creation), its answer kept bounded.

        Only the first :data:`PLAIN_BODY_LIMIT` bytes are read and the whole exchange is bounded
        in time, so a hostile server cannot make the harness hold a huge or endless answer.
        Transport errors are setup errors.
        """
        limit_s = max(0.1, min(PLAIN_TIMEOUT_S, self.remaining()))
        content = b""
        try:
            async with asyncio.timeout(limit_s):
                request = self.client.build_request(
                    method, self.url(path), headers=dict(headers), content=body
                )
                response = await self.client.send(request, stream=True)
                try:
                    async for chunk in response.aiter_raw():
                        content += chunk
                        if len(content) >= PLAIN_BODY_LIMIT:
                            break
                finally:
                    await response.aclose()
        except TimeoutError as exc:
            raise SetupError(f"{method} {path}: no complete answer within {limit_s:.1f} s") from exc
        except httpx.HTTPError as exc:
            raise SetupError(f"{method} {path} failed: {type(exc).__name__}: {exc}") from exc
        plain = PlainResponse(
            label,
            method,
            path,
            (body or b"").decode("utf-8", "replace"),
            response.status_code,
            [(key.lower(), value) for key, value in response.headers.multi_items()],
            content[:PLAIN_BODY_LIMIT].decode("utf-8", "replace"),
        )
        self.plain[label] = plain
        return plain
