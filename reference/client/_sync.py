"""The synchronous form of `subscribe_sse`: the subscription runs on its own event loop in a
background thread; callbacks run in that thread, `close()` and `wait()` are safe from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from reference.client._events import TypedEvent
from reference.client._subscribe import Ending, EndReason, Subscription, subscribe_sse

__all__ = ["SyncSubscription", "iter_sse_sync", "subscribe_sse_sync"]

P = TypeVar("P", bound=BaseModel)


class SyncSubscription(Generic[P]):
    """A subscription running in a background thread. Use it as a context manager, or call
    `wait()` and `close()`."""

    def __init__(self, url: str, options: dict[str, Any]) -> None:
        self._url = url
        self._options = options
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._subscription: Subscription[P] | None = None
        self._ending: Ending | None = None
        self._failure: BaseException | None = None
        # Set from any thread through the loop; _main closes the subscription when it is set.
        # (Scheduling close() itself from another thread would race the loop's own end: a
        # coroutine scheduled just as _main returns is never run.)
        self._close_requested = asyncio.Event()
        self._thread = threading.Thread(target=self._run, name="ssegate-subscription", daemon=True)
        self._thread.start()
        self._started.wait()
        self._raise_start_failure()

    def _raise_start_failure(self) -> None:
        if self._failure is not None:
            self._thread.join()
            raise self._failure

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    async def _main(self) -> None:
        try:
            self._subscription = subscribe_sse(self._url, **self._options)
        except BaseException as exc:  # bad options: raised in the calling thread instead
            self._failure = exc
            return
        finally:
            self._started.set()
        ending = asyncio.ensure_future(self._subscription.wait())
        close_requested = asyncio.ensure_future(self._close_requested.wait())
        try:
            await asyncio.wait({ending, close_requested}, return_when=asyncio.FIRST_COMPLETED)
            if not ending.done():
                await self._subscription.close()
            self._ending = await ending
        except BaseException as exc:  # a callback raised: hand it to the waiting thread
            self._failure = exc
        finally:
            close_requested.cancel()
            await asyncio.gather(close_requested, return_exceptions=True)

    def wait(self, timeout: float | None = None) -> Ending | None:
        """Block until the subscription ends (None if `timeout` seconds pass first)."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            return None
        if self._failure is not None:
            raise self._failure
        return self._ending

    def close(self) -> None:
        """Cancel the request and any pending reconnection (CLI-12), then wait for the end."""
        # RuntimeError: the loop closed in the meantime, so the subscription has already ended.
        if self._thread.is_alive():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._close_requested.set)
        self._thread.join()

    def __enter__(self) -> SyncSubscription[P]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def subscribe_sse_sync(url: str, **options: Any) -> SyncSubscription[Any]:
    """Start `subscribe_sse(url, **options)` in a background thread (same keyword options)."""
    return SyncSubscription(url, options)


def iter_sse_sync(url: str, **options: Any) -> Iterator[TypedEvent[Any]]:
    """A blocking iterator over the typed events of a subscription (same keyword options as
    `subscribe_sse`, except on_event and on_close). Leaving the loop early closes the subscription;
    an ending other than COMPLETED or CLOSED raises its error, like the async iterator."""
    items: queue.SimpleQueue[TypedEvent[Any] | Ending] = queue.SimpleQueue()
    subscription: SyncSubscription[Any] = SyncSubscription(
        url, {**options, "on_event": items.put, "on_close": items.put}
    )
    try:
        while True:
            item = items.get()
            if isinstance(item, Ending):
                if item.error is not None and item.reason is not EndReason.CLOSED:
                    raise item.error
                return
            yield item
    finally:
        subscription.close()
