"""Pydantic models of the payloads the client receives (contracts billing.invoice-send-progress@1,
sse.heartbeat@1, sse.timeout@1, sse.error@1).

They mirror the contracts' types and formats, not their closed content model: a client is a
tolerant reader (CLI-4), so unknown members are ignored rather than rejected. The reference package
cannot use the harness's contract code and needs no JSON Schema at run time; a test checks these
models against the contracts' example cases (tests/reference/test_client_payloads.py).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
)
from pydantic.alias_generators import to_camel

__all__ = [
    "ErrorPayload",
    "HeartbeatPayload",
    "SendProgress",
    "SendProgressPayload",
    "TimeoutPayload",
]

# The contracts' utcDateTime pattern: RFC 3339, UTC, ending in Z.
_UTC_DATE_TIME = re.compile(
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?Z",
    re.ASCII,
)


def _integer(value: Any) -> Any:
    # JSON Schema 2020-12 counts 2.0 as an integer; a bool is not one (strict mode rejects it).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _utc_date_time(value: Any) -> datetime:
    if not isinstance(value, str) or _UTC_DATE_TIME.fullmatch(value) is None:
        raise ValueError("not an RFC 3339 date-time in UTC ending in Z")
    if value[17:19] == "60":
        # A leap second is valid RFC 3339 but not a Python datetime: read it as the last
        # microsecond before it.
        value = value[:17] + "59.999999Z"
    # Parsed here, since strict mode takes only datetime objects after a before-validator.
    # Python's parser takes at most 6 fraction digits; RFC 3339 allows more.
    head, dot, rest = value[:-1].partition(".")
    return datetime.fromisoformat(f"{head}{dot}{rest[:6]}+00:00")


_Count = Annotated[StrictInt, BeforeValidator(_integer), Field(ge=0)]
_Month = Annotated[StrictStr, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
_UtcDateTime = Annotated[AwareDatetime, BeforeValidator(_utc_date_time)]


class _Payload(BaseModel):
    # camelCase on the wire, snake_case in Python; unknown members ignored (CLI-4).
    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, extra="ignore", frozen=True
    )


class SendProgress(_Payload):
    """The `progress` object of a BillingInvoiceSendProgressEvent (BIL-9 to BIL-14)."""

    expected_invoice_count: _Count
    processed_invoice_count: _Count
    pending_count: _Count
    queued_count: _Count
    sent_count: _Count
    delivered_count: _Count
    delayed_count: _Count
    failed_count: _Count
    bounced_count: _Count
    is_complete: StrictBool
    has_failures: StrictBool


class SendProgressPayload(_Payload):
    """BillingInvoiceSendProgressEvent, the data of a `billing.invoice-send-progress` event."""

    billing_run_id: StrictStr
    month: _Month
    progress: SendProgress | None
    is_complete: StrictBool
    generated_at: _UtcDateTime

    def change_key(self) -> str:
        """The payload without `generatedAt` (BIL-2), as canonical JSON."""
        return self.model_dump_json(by_alias=True, exclude={"generated_at"})


class HeartbeatPayload(_Payload):
    """The data of a `heartbeat` event (HB-1)."""

    timestamp: _UtcDateTime


class TimeoutPayload(_Payload):
    """The data of a `timeout` event (END-1)."""

    started_at: _UtcDateTime
    timestamp: _UtcDateTime
    timeout_ms: Annotated[StrictInt, BeforeValidator(_integer), Field(gt=0)]


class ErrorPayload(_Payload):
    """The JSON form of an `error` event's data (ERR-14); plain text is allowed too (ERR-15)."""

    code: Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    message: StrictStr
