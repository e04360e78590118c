"""`ssegate check` and `ssegate list`: options, environment variables, exit codes, no tracebacks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conformance.checks import all_checks
from conformance.cli import main
from conformance.report.json_report import validate_report
from conformance.server_process import free_port


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("SSEGATE_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check"], "give BASE_URL"),
        (["check", "ftp://example"], "not an http(s) URL"),
        (["check", "http://127.0.0.1:1"], "--control-secret"),
        (["check", "--reference", "--select", "nothing.here"], "matches no check"),
        (["check", "--reference", "--exclude", "XX-99"], "matches no check"),
        (["check", "--reference", "--tolerance-ratio", "1.5"], "tolerance"),
        (["check", "--reference", "--jobs", "-1"], "--jobs"),
        (["check", "--reference", "--timeout-ms", "0"], "--timeout-ms"),
        (["check", "--serve", "my-server --port 8000 --secret {secret}"], "{port}"),
        (["check", "--serve", "my-server --port {port}"], "{secret}"),
        (["check", "--reference", "--report-json", "/nonexistent-dir/r.json"], "does not exist"),
    ],
)
def test_usage_errors_exit_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_environment_variables_are_read_and_checked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SSEGATE_REFERENCE", "1")
    monkeypatch.setenv("SSEGATE_TOLERANCE_MS", "soon")
    assert main(["check"]) == 2
    assert "SSEGATE_TOLERANCE_MS='soon'" in capsys.readouterr().err
    monkeypatch.setenv("SSEGATE_TOLERANCE_MS", "300")
    monkeypatch.setenv("SSEGATE_SELECT", "nothing.*")
    assert main(["check"]) == 2
    assert "matches no check" in capsys.readouterr().err
    monkeypatch.setenv("SSEGATE_STRICT", "perhaps")
    assert main(["check"]) == 2
    assert "not a boolean" in capsys.readouterr().err


def test_an_unreachable_server_exits_3_and_still_writes_a_valid_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    port = free_port()  # nothing listens there
    code = main(
        [
            "check",
            f"http://127.0.0.1:{port}",
            "--control-secret",
            "x",
            "--report-json",
            str(report),
            "--select",
            "heartbeat.*",
        ]
    )
    assert code == 3
    out = capsys.readouterr().out
    assert "setup failed" in out
    document = json.loads(report.read_text())
    assert validate_report(document) == []
    assert {c["verdict"] for c in document["checks"]} == {"ERROR"}
    assert document["settings"]["partial"] is True
    assert document["summary"]["conformant"] is False


def test_a_serve_command_that_dies_exits_3_with_its_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    command = (
        f"{sys.executable} -c \"import sys; print('cannot bind'); sys.exit(5)\" {{port}} {{secret}}"
    )
    assert main(["check", "--serve", command]) == 3
    err = capsys.readouterr().err
    assert "exited with status 5" in err
    assert "cannot bind" in err


def test_list_prints_every_check_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [c.id for c in all_checks()]
    assert all(line.split()[1] in ("MUST", "SHOULD", "MAY") for line in lines)


def test_list_selects_by_requirement_family_and_glob(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--select", "HB-2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["id"] for row in rows] == ["heartbeat.first"]
    assert rows[0]["requirements"] == ["HB-2", "HB-6", "WF-16"]
    assert main(["list", "--select", "heartbeat"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 5
    assert main(["list", "--select", "end.timeout-*"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    assert main(["list", "--select", "nope"]) == 2
