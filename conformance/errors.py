"""Who is to blame: the error types that decide a verdict.

As in h11 (``LocalProtocolError`` / ``RemoteProtocolError``), blame is a type, not a string.
The runner maps each type to a verdict and an exit code (README, "Exit codes"):

- :class:`RemoteProtocolError`: the server under test broke the protocol -> FAIL (exit 1).
- :class:`SetupError`: the control API or the server could not be reached or refused to set up
  a check -> ERROR (exit 3). Never counted as a pass, never blamed on the protocol.
- :class:`HarnessError` (and its subclass :class:`LocalProtocolError`): the harness itself went
  wrong -> harness fault (exit 4). Never blamed on the server.
"""

from __future__ import annotations

__all__ = [
    "HarnessError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "SetupError",
    "SsegateError",
]


class SsegateError(Exception):
    """Base of every error the harness raises on purpose."""


class RemoteProtocolError(SsegateError):
    """The server under test sent something the protocol forbids (its fault: FAIL).

    Example: a body line longer than the decoder's bound
    (``conformance.wire.WireLimitExceeded``).
    """


class SetupError(SsegateError):
    """Setting up a check failed: server unreachable, control API refused or broken (ERROR).

    Raised when the harness cannot get as far as observing the behaviour under test, so no verdict
    about the protocol can be given.
    """


class HarnessError(SsegateError):
    """The harness itself went wrong (harness fault, exit 4): our bug or misconfiguration."""


class LocalProtocolError(HarnessError):
    """The harness misused its own protocol machinery, e.g. fed a decoder after closing it."""
