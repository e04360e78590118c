"""The runner: blame by exception type, features, the global deadline, describe failures.

The control API is an in-process httpx.MockTransport; the checks are made-up judges.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from conformance.errors import HarnessError, RemoteProtocolError, SetupError
from conformance.model import Check, Finding, Level, NotApplicable, ObservationUnusable, Verdict
from conformance.runner import ConfigurationError, parse_profile, run_checks
from conformance.session import Session, Settings

DESCRIBE: dict[str, Any] = {
    "protocolVersion": "1.0",
    "server": {"name": "mock", "version": "1"},
    "profiles": {
        "billing.invoice-send-progress": {
            "path": "/classes/billing/runs/{billingRunId}/send-progress/stream",
            "event": "billing.invoice-send-progress",
            "contract": "billing.invoice-send-progress@1",
            "intervalMs": 200,
            "heartbeatMs": 1000,
            "timeoutMs": 3000,
        }
    },
    "features": ["snapshot-failure"],
}
SETTINGS = Settings("http://127.0.0.1:9", "http://127.0.0.1:9/__ssegate", "s3cret")


def control_api(describe: dict[str, Any] | None = None, status: int = 200) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("x-ssegate-control-secret") != "s3cret":
            return httpx.Response(401, json={"title": "no", "status": 401})
        return httpx.Response(status, json=describe if describe is not None else DESCRIBE)

    return httpx.MockTransport(handler)


def check(
    check_id: str,
    judge: Callable[[Session], Any],
    *,
    level: Level = Level.MUST,
    feature: str | None = None,
) -> Check:
    return Check(check_id, level, ("HB-2",), "t", expects="x", judge=judge, feature=feature)


async def ok(_: Session) -> Finding:
    return Finding(True, "e", "a", observed={"n": 1}, transcripts=("idle",))


async def bad(_: Session) -> Finding:
    return Finding(False, "e", "a")


def raising(exc: BaseException) -> Callable[[Session], Any]:
    async def judge(_: Session) -> Finding:
        raise exc

    return judge


async def forever(_: Session) -> Finding:
    await asyncio.sleep(3600)
    raise AssertionError("unreachable")


@pytest.mark.asyncio
async def test_verdicts_follow_findings_and_blame_types() -> None:
    checks = [
        check("a.pass", ok),
        check("a.fail", bad),
        check("a.warn", bad, level=Level.SHOULD),
        check("a.info", bad, level=Level.MAY),
        check("a.na", raising(NotApplicable("no feature"))),
        check("a.setup", raising(SetupError("control said 500"))),
        check("a.unusable", raising(ObservationUnusable("stream answered 500"))),
        check("a.remote", raising(RemoteProtocolError("line too long"))),
        check("a.harness", raising(HarnessError("decoder disagrees"))),
        check("a.bug", raising(KeyError("oops"))),
        check("a.feature", ok, feature="stream-statistics"),
        check("a.declared", ok, feature="snapshot-failure"),
    ]
    outcome = await run_checks(SETTINGS, checks, transport=control_api())
    verdicts = {r.check.id: r.verdict for r in outcome.results}
    assert verdicts == {
        "a.pass": Verdict.PASS,
        "a.fail": Verdict.FAIL,
        "a.warn": Verdict.WARN,
        "a.info": Verdict.INFO,
        "a.na": Verdict.NOT_APPLICABLE,
        "a.setup": Verdict.ERROR,
        "a.unusable": Verdict.ERROR,
        "a.remote": Verdict.FAIL,
        "a.harness": Verdict.HARNESS_ERROR,
        "a.bug": Verdict.HARNESS_ERROR,
        "a.feature": Verdict.NOT_APPLICABLE,
        "a.declared": Verdict.PASS,
    }
    by_id = {r.check.id: r for r in outcome.results}
    assert "stream-statistics" in by_id["a.feature"].reason
    assert by_id["a.bug"].reason.startswith("KeyError")
    assert by_id["a.pass"].observed == {"n": 1}
    assert by_id["a.pass"].transcripts == ("idle",)
    assert outcome.exit_code == 1
    assert outcome.profile is not None
    assert outcome.profile.timeout_ms == 3000


@pytest.mark.asyncio
async def test_checks_still_running_at_the_deadline_are_errors() -> None:
    outcome = await run_checks(
        SETTINGS,
        [check("a.slow", forever), check("a.pass", ok)],
        transport=control_api(),
        deadline_s=0.2,
    )
    verdicts = {r.check.id: r.verdict for r in outcome.results}
    assert verdicts == {"a.slow": Verdict.ERROR, "a.pass": Verdict.PASS}
    assert "global deadline" in outcome.results[0].reason
    assert outcome.exit_code == 3


@pytest.mark.asyncio
async def test_jobs_limit_still_runs_everything() -> None:
    settings = Settings(SETTINGS.base_url, SETTINGS.control_url, SETTINGS.control_secret, jobs=1)
    outcome = await run_checks(
        settings, [check(f"a.c{n}", ok) for n in range(5)], transport=control_api()
    )
    assert [r.verdict for r in outcome.results] == [Verdict.PASS] * 5


@pytest.mark.asyncio
async def test_a_wrong_secret_makes_every_check_an_error() -> None:
    settings = Settings(SETTINGS.base_url, SETTINGS.control_url, "wrong")
    outcome = await run_checks(settings, [check("a.pass", ok)], transport=control_api())
    assert outcome.results[0].verdict is Verdict.ERROR
    assert outcome.setup_error is not None
    assert "control secret" in outcome.setup_error
    assert outcome.exit_code == 3


@pytest.mark.asyncio
async def test_an_unreachable_server_makes_every_check_an_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    outcome = await run_checks(
        SETTINGS, [check("a.pass", ok)], transport=httpx.MockTransport(refuse)
    )
    assert outcome.results[0].verdict is Verdict.ERROR
    assert "unreachable" in (outcome.setup_error or "")


@pytest.mark.asyncio
async def test_an_unknown_protocol_major_is_a_configuration_error() -> None:
    """VER-3: refuse a major version the harness does not know."""
    with pytest.raises(ConfigurationError, match="VER-3"):
        await run_checks(
            SETTINGS,
            [check("a.pass", ok)],
            transport=control_api({**DESCRIBE, "protocolVersion": "2.0"}),
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"protocolVersion": 1}, "protocolVersion"),
        ({"profiles": []}, "profiles"),
        (
            {
                "profiles": {
                    "x": {**DESCRIBE["profiles"]["billing.invoice-send-progress"], "contract": "v1"}
                }
            },
            "NAME@MAJOR",
        ),
        (
            {
                "profiles": {
                    "x": {**DESCRIBE["profiles"]["billing.invoice-send-progress"], "timeoutMs": 0}
                }
            },
            "timeoutMs",
        ),
        (
            {
                "profiles": {
                    "x": {**DESCRIBE["profiles"]["billing.invoice-send-progress"], "path": "/x"}
                }
            },
            "billingRunId",
        ),
    ],
)
def test_unusable_describe_answers_are_setup_errors(change: dict[str, Any], message: str) -> None:
    with pytest.raises(SetupError, match=message):
        parse_profile({**DESCRIBE, **change})


def test_a_server_without_the_billing_profile_is_a_configuration_error() -> None:
    other = {
        "jobs.progress": {**DESCRIBE["profiles"]["billing.invoice-send-progress"], "event": "job"}
    }
    with pytest.raises(ConfigurationError, match="no profile"):
        parse_profile({**DESCRIBE, "profiles": other})


def test_the_profile_knows_its_paths() -> None:
    profile = parse_profile(json.loads(json.dumps(DESCRIBE)))
    assert profile.stream_path("r1") == "/classes/billing/runs/r1/send-progress/stream"
    assert profile.fallback_path("r1") == "/classes/billing/runs/r1/send-progress"
