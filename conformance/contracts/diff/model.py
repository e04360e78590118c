"""What a contract diff reports: findings with a verdict per direction (VER-5, VER-6).

Compatibility is value-set inclusion (shared/notes/contract-compatibility.md §5.1):

- *backward* (B): every payload valid under OLD is valid under NEW, so consumers (clients)
  on NEW can read events still produced under OLD: clients can deploy first.
- *forward* (F): every payload valid under NEW is valid under OLD, so consumers still on OLD
  can read events produced under NEW: the server can deploy first.

A finding never claims ``COMPATIBLE`` for a direction it cannot prove; an undecidable change is
``CANNOT_PROVE``, which every mode treats like ``INCOMPATIBLE`` for the exit code.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Verdict(enum.Enum):
    """The verdict of one finding in one direction."""

    COMPATIBLE = "compatible"
    CANNOT_PROVE = "cannot-prove"
    INCOMPATIBLE = "incompatible"

    @property
    def rank(self) -> int:
        return _VERDICT_RANK[self]

    def worst(self, other: Verdict) -> Verdict:
        return self if self.rank >= other.rank else other


_VERDICT_RANK = {Verdict.COMPATIBLE: 0, Verdict.CANNOT_PROVE: 1, Verdict.INCOMPATIBLE: 2}


class Level(enum.Enum):
    """How loudly a finding is reported under a mode."""

    INFO = "info"
    WARNING = "warning"
    BREAKING = "breaking"

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]


_LEVEL_RANK = {Level.INFO: 0, Level.WARNING: 1, Level.BREAKING: 2}


class Mode(enum.Enum):
    """Which directions must hold (the Confluent/Apicurio names)."""

    BACKWARD = "backward"
    FORWARD = "forward"
    FULL = "full"

    @property
    def needs_backward(self) -> bool:
        return self is not Mode.FORWARD

    @property
    def needs_forward(self) -> bool:
        return self is not Mode.BACKWARD


class Policy(enum.Enum):
    """How an open content model is read (contract-compatibility.md §1, rules 21 and 24).

    ``STRICT``: an open object may already carry any undeclared member, so typing a new member
    breaks backward compatibility. ``LENIENT``: producers never send undeclared members, so
    adding or removing an optional member of an open object is compatible, with a warning.
    """

    STRICT = "strict"
    LENIENT = "lenient"


@dataclass(frozen=True, slots=True)
class Finding:
    """One difference between OLD and NEW.

    ``pointer`` is the JSON pointer (RFC 6901) of the changed keyword, followed through ``$ref``
    as if the reference were written in place (so ``/properties/progress/anyOf/0/required``).
    ``backward_reason`` and ``forward_reason`` say, in deployment terms, why a direction is
    not compatible ("" when it is). ``note`` is the level the finding has when every direction
    the mode needs is compatible (INFO for annotations, WARNING for e.g. a changed default).
    """

    rule: str
    pointer: str
    message: str
    backward: Verdict
    forward: Verdict
    backward_reason: str = ""
    forward_reason: str = ""
    note: Level = Level.INFO

    def verdict(self, mode: Mode) -> Verdict:
        """The worst verdict among the directions ``mode`` needs."""
        verdict = Verdict.COMPATIBLE
        if mode.needs_backward:
            verdict = verdict.worst(self.backward)
        if mode.needs_forward:
            verdict = verdict.worst(self.forward)
        return verdict

    def level(self, mode: Mode) -> Level:
        """BREAKING when a needed direction is incompatible, WARNING when it cannot be proven."""
        verdict = self.verdict(mode)
        if verdict is Verdict.INCOMPATIBLE:
            return Level.BREAKING
        if verdict is Verdict.CANNOT_PROVE:
            return Level.WARNING
        return self.note

    def swapped(self) -> Finding:
        """The same finding with directions exchanged (inside ``not``, inclusion flips)."""
        return Finding(
            rule=self.rule,
            pointer=self.pointer,
            message=self.message,
            backward=self.forward,
            forward=self.backward,
            backward_reason=self.forward_reason,
            forward_reason=self.backward_reason,
            note=self.note,
        )


@dataclass(frozen=True, slots=True)
class DiffResult:
    """All findings of comparing OLD with NEW, in document order."""

    old_label: str
    new_label: str
    findings: tuple[Finding, ...]

    def direction(self, backward: bool) -> Verdict:
        """The worst verdict over all findings for one direction."""
        verdict = Verdict.COMPATIBLE
        for finding in self.findings:
            verdict = verdict.worst(finding.backward if backward else finding.forward)
        return verdict

    @property
    def backward(self) -> Verdict:
        return self.direction(backward=True)

    @property
    def forward(self) -> Verdict:
        return self.direction(backward=False)

    def verdict(self, mode: Mode) -> Verdict:
        verdict = Verdict.COMPATIBLE
        if mode.needs_backward:
            verdict = verdict.worst(self.backward)
        if mode.needs_forward:
            verdict = verdict.worst(self.forward)
        return verdict

    def compatible(self, mode: Mode) -> bool:
        """True only when every needed direction is proven compatible."""
        return self.verdict(mode) is Verdict.COMPATIBLE


def worst_level(findings: Iterable[Finding], mode: Mode) -> Level | None:
    """The loudest level among ``findings`` under ``mode`` (None when there are none)."""
    levels = [finding.level(mode) for finding in findings]
    return max(levels, key=lambda level: level.rank) if levels else None
