"""The server's settings, validated once, before anything starts (TERM-2)."""

from __future__ import annotations

from dataclasses import dataclass

from reference.stream.profile import StreamTiming, timing_problem

DEFAULT_DB_PATH = "ssegate-reference.sqlite3"
# The origin's values, recommended for production (spec/01 "Parameters").
DEFAULT_TIMING = StreamTiming(1500, 15000, 90000)


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything ``ssegate-reference serve`` can set.

    - ``db_path``: the SQLite file (``:memory:`` for a throwaway run).
    - ``timing``: the declared stream parameters (TERM-1), also answered by ``describe``.
    - ``control_secret``: enables the control API at ``/__ssegate`` when set (CTL-1).
    - ``send_pace_ms`` / ``failure_share``: the simulated sender's step and failure probability.
    - ``coalesce``: one poller per resource (True) or per stream (the origin's way).
    """

    db_path: str = DEFAULT_DB_PATH
    timing: StreamTiming = DEFAULT_TIMING
    control_secret: str | None = None
    send_pace_ms: int = 1000
    failure_share: float = 0.05
    coalesce: bool = True


def config_problem(
    interval_ms: int,
    heartbeat_ms: int,
    timeout_ms: int,
    send_pace_ms: int,
    failure_share: float,
    control_secret: str | None,
) -> str | None:
    """Why these settings cannot be used, as one sentence, or None."""
    problem = timing_problem(interval_ms, heartbeat_ms, timeout_ms)
    if problem is not None:
        return problem
    if send_pace_ms <= 0:
        return f"send-pace-ms must be a positive integer, got {send_pace_ms}"
    if not 0.0 <= failure_share <= 1.0:
        return f"failure-share must be between 0 and 1, got {failure_share}"
    if control_secret is not None and (
        len(control_secret) < 8 or not control_secret.isprintable() or not control_secret.isascii()
    ):
        return "control-secret must be at least 8 printable ASCII characters"
    return None
