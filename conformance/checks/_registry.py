"""Declaring checks: the :func:`check` decorator files a judge under its stable ID."""

from __future__ import annotations

from collections.abc import Callable

from conformance.model import Check, Judge, Level

__all__ = ["REGISTRY", "check"]

REGISTRY: dict[str, Check] = {}


def check(
    check_id: str,
    level: Level,
    requirements: tuple[str, ...],
    title: str,
    *,
    expects: str,
    feature: str | None = None,
) -> Callable[[Judge], Judge]:
    """Register the decorated judge as check ``check_id`` (IDs are unique and never reused)."""

    def register(judge: Judge) -> Judge:
        if check_id in REGISTRY:
            raise ValueError(f"check id {check_id} registered twice")
        REGISTRY[check_id] = Check(
            id=check_id,
            level=level,
            requirements=requirements,
            title=title,
            expects=expects,
            judge=judge,
            feature=feature,
        )
        return judge

    return register
