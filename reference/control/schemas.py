"""Control API bodies (contracts control.*@1). Request models are strict and closed (CTL-14)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reference.billing.schemas import Month

Count = Annotated[int, Field(ge=0, le=10000)]


class Empty(BaseModel):
    """The ``{}`` body of create workspace and create outsider."""

    model_config = ConfigDict(extra="forbid", strict=True)


class CreateBillingRun(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    month: Month | None = None  # absent means the current month; null is not allowed
    invoiceCount: int = Field(ge=0, le=10000)
    sent: bool = False

    @field_validator("month", mode="before")
    @classmethod
    def _month_not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("month must be a string when present")
        return value


class StatusCounts(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    QUEUED: Count = 0
    SENT: Count = 0
    DELIVERED: Count = 0
    DELAYED: Count = 0
    FAILED: Count = 0
    BOUNCED: Count = 0


class Deliveries(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    statusCounts: StatusCounts


class Describe(BaseModel):
    protocolVersion: str
    server: dict[str, str]
    profiles: dict[str, dict[str, str | int]]
    features: list[str]


class Workspace(BaseModel):
    workspaceId: str
    token: str


class Outsider(BaseModel):
    principalId: str
    token: str


class BillingRun(BaseModel):
    billingRunId: str
    month: str


class Statistics(BaseModel):
    openStreams: int = Field(ge=0)
    snapshotFetches: int = Field(ge=0)
