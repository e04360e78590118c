"""The ssegate reference client: subscribe to snapshot streams the way spec/12-clients.md asks.

Import from here; the `_x` modules are private. See docs/client.md.
"""

from reference.client._api_client import (
    ApiClient,
    AuthenticationFailed,
    PollingTimedOut,
    ProgressSource,
    ProgressUpdate,
    RunNotFound,
    StaticToken,
    TokenProvider,
)
from reference.client._backoff import Backoff, BackoffPolicy
from reference.client._errors import (
    ConnectionFailed,
    HttpStatusError,
    InvalidEvent,
    NotAnEventStream,
    ServerErrorEvent,
    SseClientError,
    StreamInterrupted,
)
from reference.client._events import (
    BILLING_SEND_PROGRESS,
    Heartbeat,
    ServerError,
    Snapshot,
    StreamProfile,
    Timeout,
    TypedEvent,
)
from reference.client._parser import ParsedEvent, ParserLimitExceeded, SseParser
from reference.client._payloads import (
    ErrorPayload,
    HeartbeatPayload,
    SendProgress,
    SendProgressPayload,
    TimeoutPayload,
)
from reference.client._subscribe import (
    Ending,
    EndReason,
    EventStream,
    Opened,
    Subscription,
    aiter_sse,
    subscribe_sse,
)
from reference.client._sync import SyncSubscription, iter_sse_sync, subscribe_sse_sync

__all__ = [
    "BILLING_SEND_PROGRESS",
    "ApiClient",
    "AuthenticationFailed",
    "Backoff",
    "BackoffPolicy",
    "ConnectionFailed",
    "EndReason",
    "Ending",
    "ErrorPayload",
    "EventStream",
    "Heartbeat",
    "HeartbeatPayload",
    "HttpStatusError",
    "InvalidEvent",
    "NotAnEventStream",
    "Opened",
    "ParsedEvent",
    "ParserLimitExceeded",
    "PollingTimedOut",
    "ProgressSource",
    "ProgressUpdate",
    "RunNotFound",
    "SendProgress",
    "SendProgressPayload",
    "ServerError",
    "ServerErrorEvent",
    "Snapshot",
    "SseClientError",
    "SseParser",
    "StaticToken",
    "StreamInterrupted",
    "StreamProfile",
    "Subscription",
    "SyncSubscription",
    "Timeout",
    "TimeoutPayload",
    "TokenProvider",
    "TypedEvent",
    "aiter_sse",
    "iter_sse_sync",
    "subscribe_sse",
    "subscribe_sse_sync",
]
