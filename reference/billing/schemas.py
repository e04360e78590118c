"""The billing profile's JSON bodies as pydantic models: request validation and OpenAPI.

Field names are the wire names (camelCase), as in the contracts billing.create-run-request@1,
billing.create-run-response@1 and billing.invoice-send-progress@1. Request models are strict and
closed: no coercion of "5" to 5, no unknown members (BIL-7).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Month = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", max_length=7)]


class CreateRunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    month: Month
    invoiceCount: int = Field(ge=0, le=10000)
    sendInvoices: bool = False


class CreateRunResponse(BaseModel):
    billingRunId: str


class ProgressBody(BaseModel):
    expectedInvoiceCount: int = Field(ge=0)
    processedInvoiceCount: int = Field(ge=0)
    pendingCount: int = Field(ge=0)
    queuedCount: int = Field(ge=0)
    sentCount: int = Field(ge=0)
    deliveredCount: int = Field(ge=0)
    delayedCount: int = Field(ge=0)
    failedCount: int = Field(ge=0)
    bouncedCount: int = Field(ge=0)
    isComplete: bool
    hasFailures: bool


class SendProgressBody(BaseModel):
    """BillingInvoiceSendProgressEvent: the fallback's body and each data event's data."""

    model_config = ConfigDict(title="BillingInvoiceSendProgressEvent")

    billingRunId: str
    month: Month
    progress: ProgressBody | None
    isComplete: bool
    generatedAt: str
