"""The simulated invoice sender: runs created with ``sendInvoices: true`` make visible progress.

Every ``pace`` the sender moves each sending run one step along QUEUED -> SENT -> DELIVERED (or
DELAYED then DELIVERED, or FAILED or BOUNCED with probability ``failure_share``), appending
deliveries as a real sender would, so the newest delivery per invoice counts (BIL-9). A run stops
being simulated once every invoice has a final status. The stream completes earlier, as soon as no
invoice is pending or QUEUED (BIL-13): that is the origin's rule, and the simulation follows it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Mapping

from reference.billing.progress import DeliveryStatus
from reference.billing.repository import BillingRepository

_log = logging.getLogger(__name__)

FINAL = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.BOUNCED})
_DELAY_SHARE = 0.1
# How many never-sent invoices a step queues: a run goes through in about this many steps.
_STEPS_TO_QUEUE_ALL = 6


def next_step(
    expected: int,
    newest: Mapping[int, DeliveryStatus],
    rng: random.Random,
    failure_share: float,
) -> tuple[list[tuple[int, DeliveryStatus]], bool]:
    """The deliveries of one step and whether the run is then finished (pure; tested directly)."""
    moves: list[tuple[int, DeliveryStatus]] = []
    for invoice_no, status in sorted(newest.items()):
        if status is DeliveryStatus.QUEUED:
            moves.append((invoice_no, DeliveryStatus.SENT))
        elif status is DeliveryStatus.SENT:
            moves.append((invoice_no, _outcome(rng, failure_share)))
        elif status is DeliveryStatus.DELAYED:
            moves.append((invoice_no, DeliveryStatus.DELIVERED))
    batch = max(1, math.ceil(expected / _STEPS_TO_QUEUE_ALL))
    never_sent = (n for n in range(1, expected + 1) if n not in newest)
    for invoice_no, _ in zip(never_sent, range(batch), strict=False):
        moves.append((invoice_no, DeliveryStatus.QUEUED))
    after = {**newest, **dict(moves)}
    finished = len(after) >= expected and all(s in FINAL for s in after.values())
    return moves, finished


def _outcome(rng: random.Random, failure_share: float) -> DeliveryStatus:
    draw = rng.random()
    if draw < failure_share:
        return DeliveryStatus.FAILED if rng.random() < 0.5 else DeliveryStatus.BOUNCED
    if draw < failure_share + _DELAY_SHARE:
        return DeliveryStatus.DELAYED
    return DeliveryStatus.DELIVERED


class SimulatedSender:
    """Background task advancing every sending run each ``pace_ms``."""

    def __init__(self, runs: BillingRepository, *, pace_ms: int, failure_share: float) -> None:
        self._runs = runs
        self._pace = pace_ms / 1000
        self._failure_share = failure_share
        self._rngs: dict[str, random.Random] = {}

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._pace)
            try:
                await self.step()
            except Exception:  # a bad step must not end the simulation of every run
                _log.exception("simulated sender step failed")

    async def step(self) -> None:
        for run in await self._runs.sending_runs():
            rng = self._rngs.setdefault(run.billing_run_id, random.Random(run.billing_run_id))
            newest = await self._runs.newest_statuses(run.billing_run_id)
            moves, finished = next_step(
                run.expected_invoice_count, newest, rng, self._failure_share
            )
            await self._runs.add_deliveries(run.billing_run_id, moves, finished=finished)
            if finished:
                self._rngs.pop(run.billing_run_id, None)
