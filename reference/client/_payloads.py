"""Pydantic models of the payloads the client receives (contracts billing.invoice-send-progress@1,
sse.heartbeat@1, sse.timeout@1, sse.error@1).

They mirror the contracts' types, not their closed content model: a client is a tolerant reader
(CLI-4), so unknown members are ignored rather than rejected. The reference package cannot use the
harness's contract code, and needs no JSON Schema at run time.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from pydantic.alias_generators import to_camel

__all__ = [
    "ErrorPayload",
    "HeartbeatPayload",
    "SendProgress",
    "SendProgressPayload",
    "TimeoutPayload",
]

_Count = Annotated[StrictInt, Field(ge=0)]
_Month = Annotated[StrictStr, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]


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
    generated_at: AwareDatetime

    def change_key(self) -> str:
        """The payload without `generatedAt` (BIL-2), as canonical JSON."""
        return self.model_dump_json(by_alias=True, exclude={"generated_at"})


class HeartbeatPayload(_Payload):
    """The data of a `heartbeat` event (HB-1)."""

    timestamp: AwareDatetime


class TimeoutPayload(_Payload):
    """The data of a `timeout` event (END-1)."""

    started_at: AwareDatetime
    timestamp: AwareDatetime
    timeout_ms: Annotated[StrictInt, Field(gt=0)]


class ErrorPayload(_Payload):
    """The JSON form of an `error` event's data (ERR-14); plain text is allowed too (ERR-15)."""

    code: StrictStr
    message: StrictStr
