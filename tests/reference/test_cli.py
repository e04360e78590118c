"""The ``ssegate-reference`` command line: argument checks (TERM-2, exit 2) and ``token create``."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from reference.cli import main


@pytest.mark.parametrize(
    "args",
    [
        ["--interval-ms", "0"],
        ["--interval-ms", "2000", "--heartbeat-ms", "1000"],
        ["--heartbeat-ms", "5000", "--timeout-ms", "5000"],
        ["--failure-share", "1.5"],
        ["--send-pace-ms", "0"],
        ["--control-secret", "short"],
        ["--port", "70000"],
    ],
)
def test_serve_rejects_bad_settings_with_one_line_and_exit_2(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--db", ":memory:", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_serve_with_an_unusable_database_path_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--db", str(tmp_path)]) == 1  # a directory, not a file
    assert capsys.readouterr().err.startswith("error: cannot open database")


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "serve" in capsys.readouterr().err


def test_token_create_prints_one_json_line_and_stores_only_the_digest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "sub" / "ref.sqlite3"
    assert main(["token", "create", "--db", str(db), "--workspace", "acme"]) == 0
    assert main(["token", "create", "--db", str(db), "--workspace", "acme"]) == 0
    lines = capsys.readouterr().out.splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first["workspaceId"] == second["workspaceId"] == "acme"
    assert first["token"] != second["token"]
    with sqlite3.connect(db) as connection:
        digests = {row[0] for row in connection.execute("SELECT token_sha256 FROM tokens")}
        members = connection.execute(
            "SELECT COUNT(*) FROM memberships WHERE workspace_id = 'acme'"
        ).fetchone()[0]
    assert digests == {hashlib.sha256(t["token"].encode()).hexdigest() for t in (first, second)}
    assert members == 2
    assert first["token"] not in db.read_bytes().decode("latin-1")


@pytest.mark.parametrize(
    ("db", "workspace"), [(":memory:", "acme"), ("x.sqlite3", "-bad"), ("x.sqlite3", "a" * 65)]
)
def test_token_create_rejects_bad_arguments_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], db: str, workspace: str
) -> None:
    path = db if db == ":memory:" else str(tmp_path / db)
    assert main(["token", "create", "--db", path, f"--workspace={workspace}"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
