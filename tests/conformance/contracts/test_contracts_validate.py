"""``ssegate contracts validate``: exit codes, finding lines, bad input never a traceback."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main

VALID: dict[str, Any] = {
    "billingRunId": "run_1",
    "month": "2026-03",
    "progress": {
        "expectedInvoiceCount": 3,
        "processedInvoiceCount": 2,
        "pendingCount": 1,
        "queuedCount": 0,
        "sentCount": 1,
        "deliveredCount": 1,
        "delayedCount": 0,
        "failedCount": 0,
        "bouncedCount": 0,
        "isComplete": False,
        "hasFailures": False,
    },
    "isComplete": False,
    "generatedAt": "2026-03-31T09:00:00Z",
}


def bad_pending() -> dict[str, Any]:
    payload = json.loads(json.dumps(VALID))
    payload["progress"]["pendingCount"] = 0
    payload["progress"]["isComplete"] = True
    payload["isComplete"] = True
    return payload


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return str(path)


def ndjson(*docs: Any) -> str:
    return "".join(json.dumps(d) + "\n" for d in docs)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    code = main(["contracts", "validate", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_one_valid_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "one.json", json.dumps(VALID, indent=2))
    code, out, err = run(capsys, path)
    assert code == 0
    assert out == [
        "1 document(s) in 1 file(s) against billing.invoice-send-progress@1: "
        "all valid, 0 finding(s)"
    ]
    assert err == ""


def test_valid_ndjson(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "s.ndjson", ndjson(VALID, VALID) + "\n" + ndjson(VALID))
    code, out, _ = run(capsys, path)
    assert code == 0
    assert out[-1].startswith("3 document(s) in 1 file(s)")


def test_schema_error_names_line_pointer_and_keyword(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "s.ndjson", ndjson(VALID, {**VALID, "month": "2026-13"}))
    code, out, _ = run(capsys, path)
    assert code == 1
    assert out[0] == (
        f"{path}:2: /month: '2026-13' does not match '^[0-9]{{4}}-(0[1-9]|1[0-2])$' [pattern]"
    )
    assert out[-1].endswith("1 invalid, 1 finding(s)")


def test_cross_field_rules_name_the_requirement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "s.json", json.dumps(bad_pending()))
    code, out, _ = run(capsys, path)
    assert code == 1
    # pendingCount is wrong (BIL-12); isComplete is then consistent with it (BIL-13, BIL-15)
    assert out == [
        f"{path}:1: /progress/pendingCount: pendingCount is 0, but max(expectedInvoiceCount 3 "
        "- processedInvoiceCount 2, 0) is 1 [BIL-12]",
        "1 document(s) in 1 file(s) against billing.invoice-send-progress@1: "
        "1 invalid, 1 finding(s)",
    ]


def test_not_json_lines_are_invalid_with_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "s.ndjson", ndjson(VALID) + "not json\n" + ndjson(VALID) + "{\n")
    code, out, _ = run(capsys, path)
    assert code == 1
    assert out[:2] == [
        f"{path}:2: (root): not JSON: Expecting value at column 1 [json]",
        f"{path}:4: (root): not JSON: Expecting property name enclosed in double quotes "
        "at column 2 [json]",
    ]
    assert out[-1].startswith("4 document(s)")
    assert out[-1].endswith("2 invalid, 2 finding(s)")


def test_a_broken_multiline_document_is_one_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = json.dumps(VALID, indent=2).replace('"month": "2026-03",', '"month": "2026-03"')
    path = write(tmp_path, "s.json", text)
    code, out, _ = run(capsys, path)
    assert code == 1
    assert len(out) == 2
    assert out[0].startswith(f"{path}:4: (root): not JSON: Expecting ',' delimiter at line 4")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no JSON document in the input [json]"),
        ("\n  \n", "no JSON document in the input [json]"),
        ('{"a": NaN}', "not JSON: NaN is not a JSON value [json]"),
        (b'{"month": "\xff"}\n', "input is not UTF-8 [utf-8]"),
    ],
)
def test_bad_input_is_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes, message: str
) -> None:
    path = write(tmp_path, "s.json", content)
    code, out, err = run(capsys, path)
    assert code == 1
    assert out[0] == f"{path}:1: (root): {message}"
    assert err == ""


def test_a_line_that_is_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(
        tmp_path, "s.ndjson", ndjson(VALID).encode() + b'"\xff"\n' + ndjson(VALID).encode()
    )
    code, out, _ = run(capsys, path)
    assert code == 1
    assert out[0] == f"{path}:2: (root): line is not UTF-8 [utf-8]"


def test_wrong_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "s.json", "[1, 2]")
    code, out, _ = run(capsys, path)
    assert code == 1
    assert out[0] == f"{path}:1: (root): [1, 2] is not of type 'object' [type]"


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data = ndjson(VALID, {**VALID, "isComplete": "no"}).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, _ = run(capsys, "-")
    assert code == 1
    assert out[0] == "<stdin>:2: /isComplete: 'no' is not of type 'boolean' [type]"


def test_another_contract_without_cross_field_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "hb.ndjson", ndjson({"timestamp": "2026-03-31T09:00:15Z"}, {}))
    code, out, _ = run(capsys, path, "--contract", "sse.heartbeat@1")
    assert code == 1
    assert out == [
        f"{path}:2: (root): 'timestamp' is a required property [required]",
        "2 document(s) in 1 file(s) against sse.heartbeat@1: 1 invalid, 1 finding(s)",
    ]


def test_several_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, "good.json", json.dumps(VALID))
    bad = write(tmp_path, "bad.json", json.dumps(bad_pending()))
    code, out, _ = run(capsys, good, bad)
    assert code == 1
    assert all(line.startswith(bad) for line in out[:-1])
    assert out[-1].startswith("2 document(s) in 2 file(s)")


def test_format_json_refuses_ndjson(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "s.ndjson", ndjson(VALID, VALID))
    code, out, _ = run(capsys, path, "--format", "json")
    assert code == 1
    assert out[0] == f"{path}:2: (root): not JSON: Extra data at line 2 column 1 [json]"


def test_format_ndjson_reports_every_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "s.ndjson", "{\n" + ndjson(VALID))
    code, out, _ = run(capsys, path, "--format", "ndjson")
    assert code == 1
    assert out[0].startswith(f"{path}:1: (root): not JSON")
    assert out[-1].startswith("2 document(s)")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--contract", "no.such@1"], "unknown contract no.such@1; known: "),
        (["--contract", "billing"], "'billing' is not a contract reference NAME@MAJOR"),
        (["--contract", "sse.heartbeat@2"], "unknown contract sse.heartbeat@2"),
    ],
)
def test_contract_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    path = write(tmp_path, "s.json", json.dumps(VALID))
    code, out, err = run(capsys, path, *args)
    assert code == 2
    assert out == []
    assert err.startswith(f"ssegate contracts validate: error: {message}")


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "nope.json")
    code, out, err = run(capsys, missing)
    assert (code, out) == (2, [])
    assert err == f"ssegate contracts validate: error: {missing}: no such file\n"


def test_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, str(tmp_path))
    assert code == 2
    assert err == f"ssegate contracts validate: error: {tmp_path}: is a directory, not a file\n"


def test_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A path through a regular file fails with ENOTDIR whatever the user's rights (even root).
    path = write(tmp_path, "s.json", "{}") + "/inner.json"
    code, _, err = run(capsys, path)
    assert code == 2
    assert err == f"ssegate contracts validate: error: {path}: cannot read: Not a directory\n"


def test_no_file_is_an_argparse_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["contracts", "validate"])
    assert exit_info.value.code == 2
    assert "the following arguments are required: FILE" in capsys.readouterr().err


def test_console_entry(tmp_path: Path) -> None:
    """The installed ``ssegate`` script, in a process of its own, with stdin."""
    script = Path(sys.executable).parent / "ssegate"
    result = subprocess.run(
        [str(script), "contracts", "validate", "-"],
        input=ndjson(VALID, bad_pending()) + "nope\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "<stdin>:2: /progress/pendingCount:" in result.stdout
    assert "<stdin>:3: (root): not JSON" in result.stdout
    assert "Traceback" not in result.stderr
