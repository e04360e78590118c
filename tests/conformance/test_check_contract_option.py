"""`ssegate check --contract NAME@MAJOR`: judge live payloads against another contract version.

The worked example of docs/contract-review.md: the reference server speaks
billing.invoice-send-progress@1, so judged against the draft @2 its payloads fail
`contract.payloads-valid` (no `status`), which is how a team learns which running servers
already conform to a proposed version.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("SSEGATE_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("billing.invoice-send-progress", "is not a contract reference NAME@MAJOR"),
        ("billing.invoice-send-progress@9", "unknown contract billing.invoice-send-progress@9"),
        ("no.such@1", "unknown contract no.such@1"),
    ],
)
def test_bad_contract_is_a_usage_error(
    value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--reference", "--contract", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ssegate check: error: --contract:")
    assert message in err
    assert "Traceback" not in err


def test_environment_variable_is_read(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SSEGATE_CONTRACT", "nope")
    assert main(["check", "--reference"]) == 2
    assert "--contract:" in capsys.readouterr().err


@pytest.mark.slow
def test_reference_server_does_not_yet_speak_the_v2_draft(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    argv = [
        "check",
        "--reference",
        "--select",
        "contract.payloads-valid",
        "--contract",
        "billing.invoice-send-progress@2",
        "--report-json",
        str(report),
    ]
    assert main(argv) == 1
    document = json.loads(report.read_text(encoding="utf-8"))
    assert document["contracts"]["judgedAgainst"] == "billing.invoice-send-progress@2"
    [result] = [r for r in document["checks"] if r["id"] == "contract.payloads-valid"]
    assert result["verdict"] == "FAIL"
    assert "'status' is a required property" in result["actual"]
