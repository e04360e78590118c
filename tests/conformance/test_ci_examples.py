"""The CI examples run as written: the GitHub workflow, the composite action, the GitLab snippet.

The `run:` commands of .github/workflows/conformance.yml and of action.yml, and the `script:`
lines of the GitLab snippet in docs/ci.md, are extracted with PyYAML and executed locally with
bash, the way the CI services run them, against the reference server (which the commands start
themselves). Only the install steps are not executed: they install ssegate, which this venv
already has; the tests pin them down to exactly that. `${{ ... }}` expressions are expanded by
a tiny evaluator that knows `inputs.*` and `github.action_path` only (anything else fails).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import xmlschema
import yaml
from gate_runs import ROOT

from conformance.report.markdown import render_markdown

WORKFLOW = ROOT / ".github" / "workflows" / "conformance.yml"
ACTION = ROOT / "action.yml"
DOCS = ROOT / "docs" / "ci.md"
XSD = xmlschema.XMLSchema(Path(__file__).with_name("junit-10.xsd"))
_EXPRESSION = re.compile(r"\$\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")
_INSTALL = re.compile(r"^python -m pip install (--quiet |-c scripts/constraints\.txt )?\S+$")


def _load(path: Path) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def _gitlab_job() -> dict[str, Any]:
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    jobs = [yaml.safe_load(block) for block in blocks]
    found = [job["ssegate"] for job in jobs if isinstance(job, dict) and "ssegate" in job]
    assert len(found) == 1, "docs/ci.md must hold exactly one GitLab job named ssegate"
    job: dict[str, Any] = found[0]
    return job


def _expand(value: str, inputs: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match[1]
        if name.startswith("inputs."):
            return inputs[name.removeprefix("inputs.")]
        if name == "github.action_path":
            return str(ROOT)
        raise AssertionError(f"the test's evaluator does not know the expression {name!r}")

    return _EXPRESSION.sub(one, value)


@dataclass
class Workspace:
    """A runner's work folder and the files the CI service provides."""

    path: Path
    codes: list[tuple[str, int]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)

    @property
    def summary(self) -> Path:
        return self.path / "step-summary.md"

    @property
    def output(self) -> Path:
        return self.path / "github-output"

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SSEGATE_")}
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        env.update(
            CI="true",
            GITHUB_STEP_SUMMARY=str(self.summary),
            GITHUB_OUTPUT=str(self.output),
            GITHUB_WORKSPACE=str(self.path),
        )
        env.update(extra or {})
        return env

    def bash(self, name: str, script: str, extra: dict[str, str] | None = None) -> int:
        # GitHub's `shell: bash` is `bash --noprofile --norc -eo pipefail {0}`.
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=self.path,
            env=self.env(extra),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.codes.append((name, result.returncode))
        self.logs.append(
            f"## {name} -> {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr}"
        )
        return result.returncode


def _run_action(ws: Workspace, given: dict[str, str]) -> None:
    action = _load(ACTION)
    assert set(given) <= set(action["inputs"]), "the workflow passes an input the action lacks"
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    inputs.update(given)
    for step in action["runs"]["steps"]:
        assert step["shell"] == "bash"
        env = {k: _expand(str(v), inputs) for k, v in step.get("env", {}).items()}
        if step["name"] == "Install ssegate":
            assert _INSTALL.match(step["run"].replace('"$ACTION_PATH"', "ACTION_PATH"))
            assert env["ACTION_PATH"] == str(ROOT)
            continue
        ws.bash(f"action: {step['name']}", step["run"], env)


def _run_workflow(ws: Workspace) -> None:
    steps = _load(WORKFLOW)["jobs"]["gate"]["steps"]
    for step in steps:
        name = step.get("name", step.get("uses", "?"))
        if step.get("uses") == "./":
            _run_action(ws, {k: str(v) for k, v in step["with"].items()})
        elif "run" in step:
            if name == "Install ssegate":
                assert _INSTALL.match(step["run"]), step["run"]
                continue
            assert step["run"].lstrip().startswith("ssegate "), "a run step runs ssegate"
            ws.bash(name, step["run"])
        else:
            assert str(step["uses"]).startswith("actions/"), step  # checkout, python, upload


def _run_gitlab(ws: Workspace) -> None:
    job = _gitlab_job()
    lines = [line for line in job["script"] if not _INSTALL.match(line)]
    assert len(lines) == len(job["script"]) - 1, "exactly one install line"
    ws.bash("gitlab script", "\n".join(lines))


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Workspace]:
    github = Workspace(tmp_path_factory.mktemp("github"))
    gitlab = Workspace(tmp_path_factory.mktemp("gitlab"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = [pool.submit(_run_workflow, github), pool.submit(_run_gitlab, gitlab)]
        for future in done:
            future.result()
    return {"github": github, "gitlab": gitlab}


def _report(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _judged(report: dict[str, Any], code: int, logs: str) -> None:
    """The command's exit code is its report's, and nothing was left unjudged."""
    assert report["summary"]["exitCode"] == code, logs
    unjudged = [c["id"] for c in report["checks"] if c["verdict"] in ("ERROR", "HARNESS-ERROR")]
    assert unjudged == [], logs


def test_the_workflow_commands_gate_the_reference_server(ran: dict[str, Workspace]) -> None:
    ws = ran["github"]
    logs = "\n".join(ws.logs)
    codes = dict(ws.codes)
    report = _report(ws.path / "ssegate-report.json")
    _judged(report, codes["Conformance gate against the reference server"], logs)
    assert report["settings"]["partial"] is False
    XSD.validate(str(ws.path / "ssegate-junit.xml"))
    assert (ws.path / "ssegate-report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE")
    assert codes["Render the report for a pull-request comment"] == 0, logs
    comment = (ws.path / "ssegate-comment.md").read_text(encoding="utf-8")
    assert comment == render_markdown(report)
    # The step summary: the check's own Markdown, then what the action appended.
    assert ws.summary.read_text(encoding="utf-8").startswith(comment.splitlines()[0])


def test_the_composite_action_runs_load_mode_and_reports_its_exit_code(
    ran: dict[str, Workspace],
) -> None:
    ws = ran["github"]
    logs = "\n".join(ws.logs)
    folder = ws.path / "ssegate-load"
    assert sorted(p.name for p in folder.iterdir()) == [
        "junit.xml",
        "report.html",
        "report.json",
        "summary.md",
    ]
    report = _report(folder / "report.json")
    code = dict(ws.codes)["action: Check"]
    _judged(report, code, logs)
    assert [c["id"] for c in report["checks"]] == [
        "load.snapshots",
        "load.heartbeat-lateness",
        "load.no-drop",
    ]
    assert report["checks"][0]["observed"]["streams"] == 50
    assert f"exit-code={code}\n" in ws.output.read_text(encoding="utf-8")
    summary = (folder / "summary.md").read_text(encoding="utf-8")
    assert summary in ws.summary.read_text(encoding="utf-8")
    assert "partial run" in summary.splitlines()[0]


def test_the_gitlab_snippet_runs_as_documented(ran: dict[str, Workspace]) -> None:
    ws = ran["gitlab"]
    logs = "\n".join(ws.logs)
    job = _gitlab_job()
    report = _report(ws.path / "ssegate-report.json")
    _judged(report, dict(ws.codes)["gitlab script"], logs)
    for name in job["artifacts"]["paths"]:
        assert (ws.path / name).is_file(), name
    XSD.validate(str(ws.path / job["artifacts"]["reports"]["junit"]))


def test_the_action_maps_every_input_to_the_command() -> None:
    action = _load(ACTION)
    check = next(s for s in action["runs"]["steps"] if s.get("id") == "check")
    expressions = set(check["env"].values())
    for name in action["inputs"]:
        assert "${{ inputs." + name + " }}" in expressions, f"input {name} is not used"
