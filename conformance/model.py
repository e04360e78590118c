"""What a conformance run is made of: checks, their findings, verdicts and results.

Nouns for what flows, enums for states (STYLE.md). A :class:`Check` is a small declarative unit:
a stable semantic ID (``family.name``, never a position), a level, the requirement IDs it covers,
one line of what it does, what it expects, an optional feature it needs, and the coroutine that
judges. The coroutine returns a :class:`Finding`; the runner turns it into a :class:`CheckResult`
with a :class:`Verdict`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.session import Session

__all__ = [
    "CHECK_ID_PATTERN",
    "Check",
    "CheckResult",
    "Finding",
    "Judge",
    "Level",
    "NotApplicable",
    "ObservationUnusable",
    "Verdict",
]

# ``family.name-with-dashes``: the family is the clause family's module (heartbeat, wire, ...).
CHECK_ID_PATTERN = re.compile(r"^[a-z]+\.[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_REQUIREMENT_ID = re.compile(r"^[A-Z]+-[0-9]+$")


class Level(enum.Enum):
    """How strongly the spec asks for what a check observes (spec/README.md, "Conventions")."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    # A MAY check never fails: it reports which permitted behaviour the server chose.
    MAY = "MAY"


class Verdict(enum.Enum):
    """The outcome of one check (shared/notes/conformance-suites.md §3.2)."""

    PASS = "PASS"
    FAIL = "FAIL"  # a MUST broken, or a wire-level protocol violation
    WARN = "WARN"  # a SHOULD broken
    INFO = "INFO"  # a MAY check: which permitted behaviour the server chose
    NOT_APPLICABLE = "N/A"  # an optional feature the server does not declare
    ERROR = "ERROR"  # setup failed or the server unreachable: never a pass
    HARNESS_ERROR = "HARNESS-ERROR"  # a bug in the harness, never blamed on the server

    @property
    def is_problem(self) -> bool:
        """Whether the report shows details (expected, actual, transcript) for this verdict."""
        return self in _PROBLEMS


_PROBLEMS = frozenset({Verdict.FAIL, Verdict.WARN, Verdict.ERROR, Verdict.HARNESS_ERROR})


class NotApplicable(Exception):
    """Raised by a judge when the server legitimately does not offer what the check needs."""


class ObservationUnusable(Exception):
    """Raised when an observation a check needs could not be made (an ERROR, not a FAIL).

    Example: the stream the heartbeat checks judge answered 500; ``transport.status-200`` fails
    for that, and the heartbeat checks report that they could not observe anything.
    """


@dataclass(frozen=True, slots=True)
class Finding:
    """What a judge concluded: whether the expectation held, with the evidence for it.

    ``observed`` holds the figures a timing verdict must record (TIME-5), e.g. gap statistics;
    ``transcripts`` names the recorded exchanges (keys of the run's transcript table) the
    judgement rests on.
    """

    ok: bool
    expected: str
    actual: str
    observed: Mapping[str, Any] = field(default_factory=dict)
    transcripts: tuple[str, ...] = ()


Judge = Callable[["Session"], Awaitable[Finding]]


@dataclass(frozen=True, slots=True)
class Check:
    """One conformance check. ``requirements`` are spec IDs such as ``HB-2``."""

    id: str
    level: Level
    requirements: tuple[str, ...]
    title: str
    expects: str
    judge: Judge
    feature: str | None = None

    def __post_init__(self) -> None:
        if not CHECK_ID_PATTERN.match(self.id):
            raise ValueError(f"check id {self.id!r} is not of the form family.name")
        if not self.requirements:
            raise ValueError(f"check {self.id} covers no requirement")
        bad = [req for req in self.requirements if not _REQUIREMENT_ID.match(req)]
        if bad:
            raise ValueError(f"check {self.id} cites malformed requirement ids {bad}")

    @property
    def family(self) -> str:
        """The clause family, the part of the ID before the dot."""
        return self.id.split(".", 1)[0]

    def verdict_for(self, finding: Finding) -> Verdict:
        """Map a judge's finding to a verdict by the check's level."""
        if self.level is Level.MAY:
            return Verdict.INFO
        if finding.ok:
            return Verdict.PASS
        return Verdict.FAIL if self.level is Level.MUST else Verdict.WARN


@dataclass(frozen=True, slots=True)
class CheckResult:
    """A check's verdict with its evidence, as the reports show it."""

    check: Check
    verdict: Verdict
    expected: str = ""
    actual: str = ""
    reason: str = ""  # why N/A, ERROR or HARNESS-ERROR
    observed: Mapping[str, Any] = field(default_factory=dict)
    transcripts: tuple[str, ...] = ()
    duration_s: float = 0.0


def exit_code(results: Sequence[CheckResult], *, strict: bool) -> int:
    """The documented exit code of ``ssegate check`` for these results (docs/harness.md).

    A proven MUST failure (1) outranks a harness fault (4), which outranks setup errors (3):
    a FAIL is a fact about the server whatever else went wrong; a harness fault makes the rest
    untrustworthy; an ERROR only says something could not be judged. Under ``strict`` a WARN
    counts as a failure when nothing worse happened.
    """
    verdicts = {result.verdict for result in results}
    if Verdict.FAIL in verdicts:
        return 1
    if Verdict.HARNESS_ERROR in verdicts:
        return 4
    if Verdict.ERROR in verdicts:
        return 3
    if strict and Verdict.WARN in verdicts:
        return 1
    return 0
