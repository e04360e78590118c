"""The object graph of one server: built at start-up, reached by routes through ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass

from reference.billing.progress import SendProgress
from reference.billing.repository import BillingRepository
from reference.billing.use_cases import SendProgressUseCases
from reference.config import ServerConfig
from reference.database import Database
from reference.identity.repository import IdentityRepository
from reference.stream import Clock, StreamHub


@dataclass(frozen=True, slots=True)
class Services:
    config: ServerConfig
    clock: Clock
    database: Database
    identities: IdentityRepository
    runs: BillingRepository
    hub: StreamHub[SendProgress]
    progress: SendProgressUseCases
