"""Checks, verdicts and exit codes (docs/harness.md, "Exit codes")."""

from __future__ import annotations

import pytest

from conformance.checks import all_checks
from conformance.model import (
    CHECK_ID_PATTERN,
    Check,
    CheckResult,
    Finding,
    Level,
    Verdict,
    exit_code,
)
from conformance.requirements import load_requirements


async def _judge(_: object) -> Finding:
    return Finding(True, "", "")


def make(level: Level = Level.MUST, check_id: str = "family.name") -> Check:
    return Check(check_id, level, ("HB-2",), "title", expects="x", judge=_judge)


@pytest.mark.parametrize(
    "bad",
    ["HB-2", "heartbeat.2", "heartbeat", "Heartbeat.first", "heartbeat.first_gap", "heartbeat.-x"],
)
def test_check_ids_are_semantic_family_dot_name(bad: str) -> None:
    with pytest.raises(ValueError, match=r"family\.name"):
        make(check_id=bad)


def test_a_check_must_cite_well_formed_requirements() -> None:
    with pytest.raises(ValueError, match="covers no requirement"):
        Check("a.b", Level.MUST, (), "t", expects="x", judge=_judge)
    with pytest.raises(ValueError, match="malformed"):
        Check("a.b", Level.MUST, ("hb2",), "t", expects="x", judge=_judge)


@pytest.mark.parametrize(
    ("level", "ok", "verdict"),
    [
        (Level.MUST, True, Verdict.PASS),
        (Level.MUST, False, Verdict.FAIL),
        (Level.SHOULD, True, Verdict.PASS),
        (Level.SHOULD, False, Verdict.WARN),
        (Level.MAY, True, Verdict.INFO),
        (Level.MAY, False, Verdict.INFO),
    ],
)
def test_verdict_by_level(level: Level, ok: bool, verdict: Verdict) -> None:
    assert make(level).verdict_for(Finding(ok, "", "")) is verdict


def results(*verdicts: Verdict) -> list[CheckResult]:
    return [CheckResult(make(), verdict) for verdict in verdicts]


@pytest.mark.parametrize(
    ("verdicts", "strict", "code"),
    [
        ((Verdict.PASS, Verdict.INFO, Verdict.NOT_APPLICABLE), False, 0),
        ((Verdict.PASS, Verdict.WARN), False, 0),
        ((Verdict.PASS, Verdict.WARN), True, 1),
        ((Verdict.FAIL,), False, 1),
        ((Verdict.ERROR,), False, 3),
        ((Verdict.ERROR, Verdict.WARN), True, 3),
        ((Verdict.HARNESS_ERROR, Verdict.ERROR), False, 4),
        ((Verdict.FAIL, Verdict.HARNESS_ERROR, Verdict.ERROR), False, 1),
        ((), False, 0),
    ],
)
def test_exit_codes(verdicts: tuple[Verdict, ...], strict: bool, code: int) -> None:
    assert exit_code(results(*verdicts), strict=strict) == code


def test_the_registry_is_stable_and_cites_real_requirements() -> None:
    checks = all_checks()
    ids = [c.id for c in checks]
    assert len(ids) == len(set(ids))
    assert all(CHECK_ID_PATTERN.match(i) for i in ids)
    known = {r.id for r in load_requirements()}
    cited = {req for c in checks for req in c.requirements}
    assert cited <= known, sorted(cited - known)


def test_every_observable_server_requirement_family_has_checks() -> None:
    families = {c.family for c in all_checks()}
    assert {
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
        "control",
    } <= families


def test_every_must_check_is_documented() -> None:
    from conformance import _resources

    doc = (_resources.spec_dir().parent / "docs" / "harness.md").read_text(encoding="utf-8")
    missing = [c.id for c in all_checks() if f"| {c.id} |" not in doc]
    assert missing == []
