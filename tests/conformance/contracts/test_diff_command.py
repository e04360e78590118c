"""``ssegate contracts diff`` and ``check``: exit codes, output formats, the version policy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conformance import _resources
from conformance.cli import main
from conformance.contracts.catalog import get_contract

CONTRACTS = _resources.contracts_dir()
V1 = CONTRACTS / "billing.invoice-send-progress" / "v1.json"
V2 = CONTRACTS / "billing.invoice-send-progress" / "v2.json"


def _write(path: Path, schema: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema, indent=2), encoding="utf-8")
    return path


def test_diff_v1_v2_is_incompatible_in_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contracts", "diff", str(V1), str(V2)]) == 1
    out = capsys.readouterr().out
    assert "BREAKING required-property-added at /required  [B ✗ F ✓]" in out
    assert "Can clients deploy first? (backward) no" in out
    assert "Can the server deploy first? (forward) no" in out
    assert out.rstrip().endswith("FAIL under --mode full --policy strict")


def test_diff_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contracts", "diff", "--format", "json", str(V1), str(V2)]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["passed"] is False
    [entry] = document["files"]
    assert (entry["backward"], entry["forward"]) == ("incompatible", "incompatible")
    rules = {f["rule"] for f in entry["findings"]}
    assert {"required-property-added", "property-added-closed-model"} <= rules
    finding = next(f for f in entry["findings"] if f["rule"] == "required-property-added")
    assert finding["pointer"] == "/required"
    assert finding["level"] == "breaking"
    assert finding["backwardReason"].startswith("clients cannot deploy first")


def _review_contract_errors(text: str) -> list[Any]:
    return get_contract("ssegate.contract-review", 1).validate(json.loads(text))


def test_json_output_follows_its_contract(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contracts", "diff", "--format", "json", str(V1), str(V2)]) == 1
    assert _review_contract_errors(capsys.readouterr().out) == []
    (repo / "contracts/sse.error/v1.json").unlink()
    shutil.copy(V2, repo / "contracts/billing.invoice-send-progress/v2.json")
    _edit(repo / "contracts/catalog.json", lambda c: c["events"].pop("error"))
    assert _check(repo, "--format", "json") == 1
    out = capsys.readouterr().out
    assert {f["status"] for f in json.loads(out)["files"]} == {"added", "removed", "modified"}
    assert _review_contract_errors(out) == []


def test_diff_markdown_and_github_formats(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contracts", "diff", "--format", "markdown", str(V1), str(V2)]) == 1
    markdown = capsys.readouterr().out
    assert "| Can the server deploy first? (forward) | no |" in markdown
    assert "| BREAKING | `required-property-added` | `/required` | ✗ | ✓ |" in markdown
    assert main(["contracts", "diff", "--format", "github", str(V1), str(V2)]) == 1
    github = capsys.readouterr().out.splitlines()
    errors = [line for line in github if line.startswith("::error file=")]
    assert any("title=required-property-added::/required" in line for line in errors)
    assert not any(line.startswith("::notice") for line in github)  # info is not annotated


def test_modes_decide_the_exit_code(tmp_path: Path) -> None:
    # An optional member added to a closed object: clients can deploy first, the server cannot.
    old = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    new = json.loads(json.dumps(old))
    new["properties"]["b"] = {"type": "string"}
    old_path, new_path = _write(tmp_path / "old.json", old), _write(tmp_path / "new.json", new)
    args = ["contracts", "diff", str(old_path), str(new_path), "--format", "json"]
    assert main([*args, "--mode", "backward"]) == 0
    assert main([*args, "--mode", "forward"]) == 1
    assert main([*args, "--mode", "full"]) == 1
    assert main([*args, "--mode", "full"][:4]) == 1  # full is the default


def test_annotation_only_change_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _write(tmp_path / "old.json", {"type": "string", "description": "a"})
    new = _write(tmp_path / "new.json", {"type": "string", "description": "b"})
    assert main(["contracts", "diff", str(old), str(new)]) == 0
    assert "PASS under --mode full" in capsys.readouterr().out


def test_cannot_prove_fails(tmp_path: Path) -> None:
    old = _write(tmp_path / "old.json", {"type": "string", "pattern": "^a"})
    new = _write(tmp_path / "new.json", {"type": "string", "pattern": "^b"})
    for mode in ("backward", "forward", "full"):
        assert main(["contracts", "diff", str(old), str(new), "--mode", mode]) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"properties": {"p": {"$ref": "other.json"}}}, "cannot resolve $ref 'other.json'"),
        ({"type": 3}, "not a valid 2020-12 schema"),
        (None, "no such file"),
    ],
    ids=["unresolvable ref", "invalid schema", "missing file"],
)
def test_usage_errors_exit_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: Any, message: str
) -> None:
    good = _write(tmp_path / "good.json", {"type": "string"})
    bad = tmp_path / "sub" / "bad.json"
    if content is not None:
        _write(bad, content)
    assert main(["contracts", "diff", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_bad_arguments_exit_2() -> None:
    with pytest.raises(SystemExit) as raised:
        main(["contracts", "diff", str(V1), str(V2), "--mode", "sideways"])
    assert raised.value.code == 2


# ---- contracts check ---------------------------------------------------------------------------

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        env={**os.environ, **_GIT_ENV},
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose contracts/ holds billing v1, sse.error v1 and the catalog at HEAD."""
    root = tmp_path / "repo"
    contracts = root / "contracts"
    for name in ("billing.invoice-send-progress", "sse.error"):
        (contracts / name).mkdir(parents=True)
        shutil.copy(CONTRACTS / name / "v1.json", contracts / name / "v1.json")
    catalog = {
        "contracts": {
            "billing.invoice-send-progress": {"1": "billing.invoice-send-progress/v1.json"},
            "sse.error": {"1": "sse.error/v1.json"},
        },
        "events": {
            "billing.invoice-send-progress": "billing.invoice-send-progress",
            "error": "sse.error",
        },
    }
    _write(contracts / "catalog.json", catalog)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "v1")
    return root


def _check(repo: Path, *extra: str) -> int:
    return main(
        [
            "contracts",
            "check",
            "--against",
            "HEAD",
            "--contracts-dir",
            str(repo / "contracts"),
            *extra,
        ]
    )


def _edit(path: Path, change: Any) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    change(schema)
    _write(path, schema)


def test_check_without_changes_passes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _check(repo) == 0
    assert "no contract changed" in capsys.readouterr().out


def test_check_compatible_edit_in_place_passes(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(repo / "contracts/sse.error/v1.json", lambda s: s.update(description="clearer"))
    assert _check(repo) == 0
    assert "annotation-changed" in capsys.readouterr().out


def test_check_breaking_edit_in_place_needs_a_major_version(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(repo / "contracts/sse.error/v1.json", lambda s: s["required"].remove("message"))
    assert _check(repo, "--format", "json") == 1
    document = json.loads(capsys.readouterr().out)
    [entry] = document["files"]
    assert entry["status"] == "modified"
    assert [c["rule"] for c in entry["checks"]] == ["major-version-not-bumped"]
    assert entry["checks"][0]["level"] == "breaking"
    # Only the forward direction broke: a backward-only policy accepts it.
    assert _check(repo, "--mode", "backward") == 0


def test_check_new_major_version_justified_by_breaking_changes(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = repo / "contracts/billing.invoice-send-progress"
    shutil.copy(V2, folder / "v2.json")
    assert _check(repo, "--format", "markdown") == 0
    out = capsys.readouterr().out
    folder_name = "contracts/billing.invoice-send-progress"
    assert f"`{folder_name}/v2.json` (added) vs `{folder_name}/v1.json`" in out
    assert "`contract-added`" in out
    assert "major-version-bumped-without-break" not in out
    assert "| breaking | `required-property-added`" in out  # expected in a new major


def test_check_needless_major_version_is_a_warning(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = repo / "contracts/sse.error"
    schema = json.loads((folder / "v1.json").read_text(encoding="utf-8"))
    schema["$id"] = schema["$id"].replace("/v1.json", "/v2.json")
    _write(folder / "v2.json", schema)
    assert _check(repo, "--format", "github") == 0
    out = capsys.readouterr().out
    assert (
        "::warning file=contracts/sse.error/v2.json,title=major-version-bumped-without-break::"
        in out
    )


def test_check_deleted_contract_and_event_fail(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "contracts/sse.error/v1.json").unlink()
    _edit(repo / "contracts/catalog.json", lambda c: c["events"].pop("error"))
    assert _check(repo) == 1
    out = capsys.readouterr().out
    assert "contract-removed" in out
    assert "event-name-changed: event `error` removed from catalog.json" in out


def test_check_id_that_does_not_name_the_file_fails(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(
        repo / "contracts/sse.error/v1.json",
        lambda s: s.update({"$id": s["$id"].replace("/v1.json", "/v2.json")}),
    )
    assert _check(repo) == 1
    assert "id-path-mismatch" in capsys.readouterr().out


def test_check_unknown_ref_is_a_usage_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "contracts",
                "check",
                "--against",
                "no-such-ref",
                "--contracts-dir",
                str(repo / "contracts"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("ssegate contracts: error: git:")
    assert "Traceback" not in err


def test_check_outside_a_repository_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    folder = tmp_path / "plain" / "contracts"
    folder.mkdir(parents=True)
    assert main(["contracts", "check", "--against", "HEAD", "--contracts-dir", str(folder)]) == 2
    assert "git:" in capsys.readouterr().err


def test_worked_example_in_the_docs_is_current(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # docs/contract-review.md pastes this output; it must stay what the tool prints.
    root = Path(__file__).resolve().parents[3]
    doc = root / "docs" / "contract-review.md"
    monkeypatch.chdir(root)  # the doc shows paths relative to the checkout
    code = main(
        [
            "contracts",
            "diff",
            "contracts/billing.invoice-send-progress/v1.json",
            "contracts/billing.invoice-send-progress/v2.json",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "required-property-added" in out
    assert out in doc.read_text(encoding="utf-8")


def test_catalog_references_stand_for_files(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(CONTRACTS.parent)
    refs = ["billing.invoice-send-progress@1", "billing.invoice-send-progress@2"]
    assert main(["contracts", "diff", *refs, "--format", "github"]) == 1
    out = capsys.readouterr().out
    assert "::error file=contracts/billing.invoice-send-progress/v2.json," in out
    assert main(["contracts", "diff", refs[0], "no.such@3"]) == 2
    assert "unknown contract no.such@3" in capsys.readouterr().err
