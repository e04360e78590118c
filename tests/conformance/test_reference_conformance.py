"""`ssegate check --reference` passes every check, and its report validates (issue 4's proof).

The reference server runs as a separate process started by the harness itself, exactly as
`scripts/demo` does; nothing of `reference` is imported here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.report.json_report import validate_report

# N/A by design against the reference server: HTTP/1.1 only, and every optional feature declared.
NOT_APPLICABLE = {"transport.no-connection-header-h2", "control.undeclared-features"}


@pytest.mark.slow
def test_the_reference_server_passes_every_check(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    completed = subprocess.run(
        [sys.executable, "-m", "conformance", "check", "--reference", "--report-json", str(report)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert report.exists(), completed.stderr
    document = json.loads(report.read_text(encoding="utf-8"))
    problems = {
        c["id"]: f"{c['verdict']}: {c['reason'] or c['actual']}"
        for c in document["checks"]
        if c["verdict"] not in ("PASS", "INFO")
        and not (c["verdict"] == "N/A" and c["id"] in NOT_APPLICABLE)
    }
    assert problems == {}, completed.stdout
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert validate_report(document) == []
    assert document["summary"]["conformant"] is True
    assert document["server"]["profile"]["timeoutMs"] == 3000
    # Evidence is kept for every recorded exchange, credentials redacted.
    idle = document["transcripts"]["idle"]
    assert idle["end"]["kind"] == "clean-eof"
    assert [line["event"] for line in idle["lines"] if line["kind"] == "event"][-1] == "timeout"
    assert idle["requestHeaders"]["authorization"] == "Bearer <redacted>"
    assert "exit 0 (conformant)" in completed.stdout
