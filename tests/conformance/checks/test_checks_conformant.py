"""Every check passes on the synthetic recordings of a conformant server (no network)."""

from __future__ import annotations

import pytest
from synthetic_streams import conformant_session

from conformance.checks import all_checks
from conformance.model import Verdict
from conformance.runner import judge_check

# The only checks a conformant HTTP/1.1 server declaring every feature does not pass: N/A by design.
EXPECTED_NOT_APPLICABLE = {"transport.no-connection-header-h2", "control.undeclared-features"}


@pytest.mark.asyncio
async def test_conformant_recordings_pass_every_check() -> None:
    session = conformant_session()
    results = [await judge_check(session, check) for check in all_checks()]
    wrong = {
        r.check.id: f"{r.verdict.value}: {r.reason or r.actual}"
        for r in results
        if r.verdict not in (Verdict.PASS, Verdict.INFO)
        and not (r.verdict is Verdict.NOT_APPLICABLE and r.check.id in EXPECTED_NOT_APPLICABLE)
    }
    assert wrong == {}
