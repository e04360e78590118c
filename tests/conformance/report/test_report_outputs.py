"""The JSON report validates against ssegate.report@1; the console renders it (green and red)."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from rich.console import Console

from conformance.checks import all_checks
from conformance.model import CheckResult, Verdict
from conformance.report.console import render
from conformance.report.json_report import build_report, validate_report
from conformance.runner import RunOutcome, judge_check, parse_profile
from conformance.session import Settings

SETTINGS = Settings("http://127.0.0.1:9", "http://127.0.0.1:9/__ssegate", "s")


def outcome_from(results: list[CheckResult], exchanges: dict[str, Any] | None = None) -> RunOutcome:
    from synthetic_streams import DESCRIBE

    outcome = RunOutcome(SETTINGS, results, [], datetime(2026, 1, 1, tzinfo=UTC), 3.3)
    outcome.describe = DESCRIBE
    outcome.profile = parse_profile(DESCRIBE)
    outcome.features = frozenset(DESCRIBE["features"])
    outcome.exchanges = exchanges or {}
    return outcome


def synthetic_outcome(**overrides: Any) -> RunOutcome:
    from synthetic_streams import conformant_session

    async def judge_all() -> tuple[list[CheckResult], dict[str, Any]]:
        session = conformant_session(**overrides)
        results = [await judge_check(session, check) for check in all_checks()]
        exchanges = {}
        for task in session._observations.values():
            value = await task
            for attribute in (
                "exchange",
                "stream",
                "first",
                "second",
                "other",
                "changed",
                "failing",
                "fallback",
            ):
                found = getattr(value, attribute, None)
                found = getattr(found, "exchange", found)
                if found is not None and hasattr(found, "recording"):
                    exchanges[found.label] = found
            for found in getattr(value, "exchanges", {}).values():
                exchanges[found.label] = found
        return results, exchanges

    results, exchanges = asyncio.run(judge_all())
    return outcome_from(results, exchanges)


def rendered(document: dict[str, Any], **kwargs: Any) -> str:
    buffer = io.StringIO()
    render(document, Console(file=buffer, width=140, highlight=False), **kwargs)
    return buffer.getvalue()


def test_a_green_report_validates_and_lists_every_check() -> None:
    document = build_report(synthetic_outcome())
    assert validate_report(document) == []
    assert document["summary"]["exitCode"] == 0
    assert document["summary"]["conformant"] is True
    assert document["requirements"]["HB-2"]["level"] == "MUST"
    assert document["transcripts"]["idle"]["lines"][0]["kind"] == "headers"
    from conformance.contracts.catalog import get_contract, parse_contract_ref

    assert "billing.invoice-send-progress@1" in document["contracts"]["used"]
    for ref in document["contracts"]["used"]:
        get_contract(*parse_contract_ref(ref))
    text = rendered(json.loads(json.dumps(document)))
    for check in all_checks():
        assert check.id in text
    assert "-> exit 0 (conformant)" in text


def test_a_red_report_shows_evidence_and_folds_passing_families() -> None:
    from synthetic_streams import good_idle_script, idle_with

    outcome = synthetic_outcome(**idle_with(good_idle_script(heartbeats=(1.0, 2.6))))
    document = build_report(outcome)
    assert validate_report(document) == []
    assert document["summary"]["exitCode"] == 1
    text = rendered(document)
    assert "FAIL heartbeat.cadence" in text
    assert "expected: gaps 750..1250 ms" in text
    assert "HB-3 (MUST): Each further heartbeat MUST follow" in text
    assert "transcript idle:" in text
    assert "heartbeat" in text.split("transcript idle:")[1]
    assert "control: " in text  # an all-pass family folded into one line
    assert "transport.status-200" not in text
    assert "transport.status-200" in rendered(document, verbose=True)
    assert len(text.splitlines()) < 60


def test_a_setup_failure_report_validates() -> None:
    results = [CheckResult(check, Verdict.ERROR, reason="unreachable") for check in all_checks()]
    outcome = RunOutcome(SETTINGS, results, [], datetime(2026, 1, 1, tzinfo=UTC), 0.1)
    outcome.setup_error = "control API unreachable"
    document = build_report(outcome)
    assert validate_report(document) == []
    assert document["summary"]["exitCode"] == 3
    assert document["server"]["profile"] is None
    assert "setup failed: control API unreachable" in rendered(document)


@pytest.mark.parametrize("pointer", ["reportVersion", "checks"])
def test_the_schema_rejects_broken_reports(pointer: str) -> None:
    document = build_report(synthetic_outcome())
    if pointer == "checks":
        document["checks"][0]["verdict"] = "MAYBE"
    else:
        document[pointer] = 2
    assert validate_report(document) != []
