"""Output formats of ``contracts diff`` and ``contracts check``: text, json, markdown, github.

Every format shows, per finding, the rule ID, the JSON pointer, the level under the mode, the
verdict per direction and the reason in deployment terms; and, per comparison, the two
deployment questions a reviewer asks: can clients deploy first (backward)? can the server
deploy first (forward)? The ``github`` format emits workflow commands
(``::error file=...,title=...::message``) that GitHub Actions turns into annotations.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.contracts.diff.model import DiffResult, Finding, Level, Mode, Policy, Verdict

__all__ = ["FORMATS", "REVIEW_SCHEMA_ID", "Review", "render"]

FORMATS = ("text", "json", "markdown", "github")
# The JSON format's contract (contracts/ssegate.contract-review/v1.json).
REVIEW_SCHEMA_ID = "https://ssegate.dev/contracts/ssegate.contract-review/v1.json"

_MARK = {Verdict.COMPATIBLE: "✓", Verdict.INCOMPATIBLE: "✗", Verdict.CANNOT_PROVE: "?"}
_LEVEL_WORD = {Level.BREAKING: "BREAKING", Level.WARNING: "WARNING", Level.INFO: "info"}
_GITHUB_COMMAND = {Level.BREAKING: "error", Level.WARNING: "warning", Level.INFO: "notice"}


@dataclass(frozen=True, slots=True)
class Review:
    """One reviewed file: the schema diff (if two versions exist) plus version-policy findings.

    ``gating`` tells whether the diff's own findings decide the exit code (an in-place edit,
    or a plain ``contracts diff``) or only inform (a new major version may break by design).
    """

    path: str
    status: str
    diff: DiffResult | None
    checks: tuple[Finding, ...] = ()
    gating: bool = True
    compared_with: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def gating_findings(self) -> list[Finding]:
        found = list(self.checks)
        if self.gating and self.diff is not None:
            found += list(self.diff.findings)
        return found


def _level_word(finding: Finding, mode: Mode, review: Review) -> str:
    """Upper case when the finding can fail the review; lower case in a new major version,
    where breaking changes are expected and only inform."""
    word = _LEVEL_WORD[finding.level(mode)]
    return word if review.gating else word.lower()


def _answer(verdict: Verdict) -> str:
    if verdict is Verdict.COMPATIBLE:
        return "yes"
    if verdict is Verdict.INCOMPATIBLE:
        return "no"
    return "not proven (treated as no)"


def _deployment(diff: DiffResult) -> list[tuple[str, str]]:
    full = diff.verdict(Mode.FULL)
    return [
        ("Can clients deploy first? (backward)", _answer(diff.backward)),
        ("Can the server deploy first? (forward)", _answer(diff.forward)),
        (
            "Must the major version move? (VER-5, FULL under strict)",
            "no" if full is Verdict.COMPATIBLE else "yes",
        ),
    ]


def _sorted(findings: Sequence[Finding], mode: Mode) -> list[Finding]:
    return sorted(findings, key=lambda f: (-f.level(mode).rank, f.pointer, f.rule))


def _finding_json(finding: Finding, mode: Mode) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "pointer": finding.pointer,
        "level": finding.level(mode).value,
        "backward": finding.backward.value,
        "forward": finding.forward.value,
        "message": finding.message,
        "backwardReason": finding.backward_reason,
        "forwardReason": finding.forward_reason,
    }


def _json(reviews: Sequence[Review], mode: Mode, policy: Policy, passed: bool) -> str:
    files = []
    for review in reviews:
        entry: dict[str, Any] = {
            "path": review.path,
            "status": review.status,
            "comparedWith": review.compared_with,
            "gating": review.gating,
            "checks": [_finding_json(f, mode) for f in review.checks],
        }
        if review.diff is not None:
            entry.update(
                {
                    "old": review.diff.old_label,
                    "new": review.diff.new_label,
                    "backward": review.diff.backward.value,
                    "forward": review.diff.forward.value,
                    "compatible": review.diff.compatible(mode),
                    "findings": [_finding_json(f, mode) for f in review.diff.findings],
                }
            )
        files.append(entry)
    document = {
        "$schema": REVIEW_SCHEMA_ID,
        "mode": mode.value,
        "policy": policy.value,
        "passed": passed,
        "files": files,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _text(reviews: Sequence[Review], mode: Mode, policy: Policy, passed: bool) -> str:
    lines: list[str] = []
    for review in reviews:
        head = f"{review.path} ({review.status})"
        if review.compared_with:
            head += f" compared with {review.compared_with}"
        lines.append(head)
        for note in review.notes:
            lines.append(f"  note: {note}")
        for finding in _sorted(review.checks, mode):
            lines.append(
                f"  {_LEVEL_WORD[finding.level(mode)]:<8} {finding.rule}: {finding.message}"
            )
        if review.diff is not None:
            for finding in _sorted(review.diff.findings, mode):
                word = _level_word(finding, mode, review)
                lines.append(
                    f"  {word:<8} {finding.rule} at {finding.pointer or '/'}"
                    f"  [B {_MARK[finding.backward]} F {_MARK[finding.forward]}]"
                )
                lines.append(f"           {finding.message}")
                for reason in (finding.backward_reason, finding.forward_reason):
                    if reason:
                        lines.append(f"           - {reason}")
            if not review.diff.findings:
                lines.append("  no differences")
            for question, answer in _deployment(review.diff):
                lines.append(f"  {question} {answer}")
        lines.append("")
    if not reviews:
        lines.append("no contract changed")
    verdict = "PASS" if passed else "FAIL"
    lines.append(f"{verdict} under --mode {mode.value} --policy {policy.value}")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown(reviews: Sequence[Review], mode: Mode, policy: Policy, passed: bool) -> str:
    verdict = "✅ passes" if passed else "❌ fails"
    lines = [f"### Contract review: {verdict} (`--mode {mode.value} --policy {policy.value}`)", ""]
    for review in reviews:
        title = f"#### `{review.path}` ({review.status})"
        if review.compared_with:
            title += f" vs `{review.compared_with}`"
        lines += [title, ""]
        for note in review.notes:
            lines += [f"> {note}", ""]
        for finding in _sorted(review.checks, mode):
            lines.append(
                f"- **{_LEVEL_WORD[finding.level(mode)]}** `{finding.rule}`: {finding.message}"
            )
        if review.checks:
            lines.append("")
        if review.diff is None:
            continue
        lines += ["| Question | Answer |", "|---|---|"]
        lines += [f"| {q} | {a} |" for q, a in _deployment(review.diff)]
        lines.append("")
        if not review.diff.findings:
            lines += ["No differences.", ""]
            continue
        lines += [
            "| Level | Rule | Pointer | B | F | Change | Why |",
            "|---|---|---|---|---|---|---|",
        ]
        for finding in _sorted(review.diff.findings, mode):
            why = "; ".join(r for r in (finding.backward_reason, finding.forward_reason) if r)
            lines.append(
                f"| {_level_word(finding, mode, review)} | `{finding.rule}` | "
                f"`{finding.pointer or '/'}` "
                f"| {_MARK[finding.backward]} | {_MARK[finding.forward]} | "
                f"{_cell(finding.message)} "
                f"| {_cell(why) or '–'} |"
            )
        lines.append("")
    lines.append(
        "B: clients on the new version read events of a server on the old one (clients deploy "
        "first). F: clients on the old version read events of a server on the new one (the server "
        "deploys first). ✓ compatible, ✗ incompatible, ? not proven (treated as incompatible)."
    )
    return "\n".join(lines) + "\n"


def _escape_github(text: str, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _github(reviews: Sequence[Review], mode: Mode, policy: Policy, passed: bool) -> str:
    lines = []
    for review in reviews:
        findings = list(review.checks)
        if review.diff is not None:
            findings += list(review.diff.findings)
        for finding in _sorted(findings, mode):
            level = finding.level(mode)
            if level is Level.INFO:
                continue
            command = _GITHUB_COMMAND[level]
            if level is Level.BREAKING and not review.gating and finding not in review.checks:
                command = "notice"  # a new major version is allowed to break
            reasons = " ".join(r for r in (finding.backward_reason, finding.forward_reason) if r)
            message = f"{finding.pointer or '/'}: {finding.message}. {reasons}".strip()
            file = _escape_github(review.path, property_value=True)
            title = _escape_github(finding.rule, property_value=True)
            lines.append(f"::{command} file={file},title={title}::{_escape_github(message)}")
    lines.append(f"contract review {'passed' if passed else 'failed'} under --mode {mode.value}")
    return "\n".join(lines) + "\n"


def render(reviews: Sequence[Review], fmt: str, mode: Mode, policy: Policy, passed: bool) -> str:
    """Render ``reviews`` in format ``fmt`` (one of FORMATS)."""
    renderers = {"text": _text, "json": _json, "markdown": _markdown, "github": _github}
    return renderers[fmt](reviews, mode, policy, passed)
