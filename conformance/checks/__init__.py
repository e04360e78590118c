"""The conformance checks, one module per spec clause family, and their registry.

Importing this package registers every check; :func:`all_checks` lists them in a stable order
(by family in spec order, then by ID).
"""

from __future__ import annotations

from conformance.checks import (  # noqa: F401 - importing registers the checks
    change,
    contract,
    control,
    end,
    errors,
    heartbeat,
    isolation,
    lifecycle,
    profile,
    snapshot,
    transport,
    wire,
)
from conformance.checks._registry import REGISTRY
from conformance.model import Check

__all__ = ["FAMILIES", "all_checks"]

# Families in the order of the spec's clause files.
FAMILIES = (
    "control",
    "transport",
    "wire",
    "snapshot",
    "change",
    "heartbeat",
    "end",
    "errors",
    "isolation",
    "lifecycle",
    "contract",
    "profile",
)


def all_checks() -> list[Check]:
    """Every registered check, ordered by family (spec order), then by ID."""
    order = {family: index for index, family in enumerate(FAMILIES)}
    return sorted(REGISTRY.values(), key=lambda c: (order.get(c.family, len(order)), c.id))
