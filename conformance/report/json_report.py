"""The JSON report: the canonical, versioned record of a run (contracts/ssegate.report/v1.json).

Every other rendering (the console, later JUnit or HTML) can be made from this document alone.
It holds the suite and spec versions, the server's declared profile and contract, the settings
(tolerance values, TIME-3), every check's verdict with its evidence and timing, the requirement
texts the checks cite, and the transcripts of every recorded exchange.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from conformance import _resources
from conformance.model import CheckResult, Verdict
from conformance.report.transcript import exchange_transcript, plain_transcript
from conformance.requirements import Requirement, load_requirements, protocol_version
from conformance.runner import RunOutcome

__all__ = ["REPORT_SCHEMA_ID", "build_report", "report_schema", "validate_report", "write_report"]

REPORT_SCHEMA_ID = "https://ssegate.dev/contracts/ssegate.report/v1.json"
REPORT_VERSION = 1
# Contract versions the checks validate against besides the profile's payload contract.
FIXED_CONTRACTS = (
    "sse.heartbeat@1",
    "sse.timeout@1",
    "sse.error@1",
    "problem@1",
    "billing.create-run-response@1",
    "control.describe@1",
)


def suite_version() -> str:
    try:
        return metadata.version("ssegate")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _requirements(results: list[CheckResult]) -> dict[str, dict[str, str]]:
    known: dict[str, Requirement] = {r.id: r for r in load_requirements()}
    cited = sorted({req for result in results for req in result.check.requirements})
    out = {}
    for req in cited:
        found = known.get(req)
        if found is not None:
            out[req] = {"level": str(found.level), "file": found.file, "text": found.text}
    return out


def _check(result: CheckResult) -> dict[str, Any]:
    check = result.check
    return {
        "id": check.id,
        "family": check.family,
        "level": check.level.value,
        "requirements": list(check.requirements),
        "title": check.title,
        "expects": check.expects,
        "feature": check.feature,
        "verdict": result.verdict.value,
        "expected": result.expected,
        "actual": result.actual,
        "reason": result.reason,
        "observed": _jsonable(result.observed),
        "durationMs": round(result.duration_s * 1000.0, 1),
        "transcripts": list(result.transcripts),
    }


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def build_report(outcome: RunOutcome) -> dict[str, Any]:
    """The report document for ``outcome`` (valid against :func:`report_schema`)."""
    settings = outcome.settings
    profile = outcome.profile
    server: dict[str, Any] = {
        "baseUrl": settings.base_url,
        "controlUrl": settings.control_url,
        "describe": _jsonable(dict(outcome.describe)) if outcome.describe is not None else None,
        "profile": None,
        "features": sorted(outcome.features),
    }
    if profile is not None:
        server["profile"] = {
            "name": profile.name,
            "path": profile.path,
            "event": profile.event,
            "contract": f"{profile.contract_name}@{profile.contract_major}",
            "intervalMs": profile.interval_ms,
            "heartbeatMs": profile.heartbeat_ms,
            "timeoutMs": profile.timeout_ms,
        }
    judged = None
    if settings.contract_override is not None:
        judged = f"{settings.contract_override[0]}@{settings.contract_override[1]}"
    elif profile is not None:
        judged = f"{profile.contract_name}@{profile.contract_major}"
    counts = outcome.counts()
    timeout_ms = profile.timeout_ms if profile is not None else None
    transcripts = {label: exchange_transcript(e) for label, e in outcome.exchanges.items()}
    transcripts.update({label: plain_transcript(p) for label, p in outcome.plain.items()})
    return {
        "$schema": REPORT_SCHEMA_ID,
        "reportVersion": REPORT_VERSION,
        "suite": {"name": "ssegate", "version": suite_version()},
        "specVersion": protocol_version(),
        "contracts": {
            "declared": f"{profile.contract_name}@{profile.contract_major}" if profile else None,
            "judgedAgainst": judged,
            "used": sorted({*FIXED_CONTRACTS, *([judged] if judged else [])}),
        },
        "server": server,
        "settings": {
            "toleranceMs": settings.tolerance.floor_ms,
            "toleranceRatio": settings.tolerance.ratio,
            "strict": settings.strict,
            "jobs": settings.jobs,
            "selected": [result.check.id for result in outcome.results],
            "excluded": [check.id for check in outcome.excluded],
            "partial": bool(outcome.excluded),
        },
        "startedAt": outcome.started_at.isoformat().replace("+00:00", "Z"),
        "wallTimeMs": round(outcome.wall_s * 1000.0, 1),
        "timeoutMs": timeout_ms,
        "wallToTimeoutRatio": round(outcome.wall_s * 1000.0 / timeout_ms, 3)
        if timeout_ms
        else None,
        "setupError": outcome.setup_error,
        "summary": {
            "total": len(outcome.results),
            "verdicts": counts,
            "exitCode": outcome.exit_code,
            "conformant": outcome.exit_code == 0 and not outcome.excluded,
        },
        "checks": [_check(result) for result in outcome.results],
        "requirements": _requirements(outcome.results),
        "transcripts": transcripts,
    }


def report_schema() -> dict[str, Any]:
    path = _resources.contracts_dir() / "ssegate.report" / "v1.json"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def validate_report(document: object) -> list[str]:
    """Schema errors of ``document`` against ssegate.report@1 (empty when valid)."""
    validator = Draft202012Validator(report_schema())
    return [
        f"{'/' + '/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def write_report(outcome: RunOutcome, path: Path) -> dict[str, Any]:
    document = build_report(outcome)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return document


VERDICTS = [verdict.value for verdict in Verdict]
