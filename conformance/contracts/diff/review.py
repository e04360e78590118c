"""``contracts check``: review every contract file against a git ref (VER-5, VER-6, rule 49).

For each ``NAME/vMAJOR.json`` in the contracts folder, at the ref or in the working tree:

- **modified in place**: the schemas are diffed; a change not compatible under the mode (FULL
  by default, as VER-5 requires) without a new major version is ``major-version-not-bumped``;
  an ``$id`` that no longer names the file is ``id-path-mismatch``.
- **added**: a new major version is diffed against the previous major (in the working tree);
  when that diff is compatible under the mode, the bump was unnecessary
  (``major-version-bumped-without-break``, a warning, VER-6). Its breaking findings are
  expected and do not fail the check.
- **removed**: ``contract-removed`` (breaking: consumers pinned to it lose it, VER-7).

``catalog.json``'s event map is compared too: a removed or remapped event name is
``event-name-changed`` (rule 49). "Cannot prove" counts as incompatible: the check never calls
an unproven change safe.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.contracts.diff import rules
from conformance.contracts.diff.engine import compare_schemas
from conformance.contracts.diff.model import Finding, Level, Mode, Policy, Verdict
from conformance.contracts.diff.render import Review
from conformance.contracts.diff.resolve import (
    LoadedSchema,
    SchemaLoadError,
    load_documents,
    load_file,
)

__all__ = ["GitError", "review_against"]

_FILE_RE = re.compile(r"^(?P<name>[^/]+)/v(?P<major>[1-9][0-9]*)\.json$")
_ID_RE = re.compile(r"/(?P<name>[^/]+)/v(?P<major>[1-9][0-9]*)\.json$")


class GitError(Exception):
    """git is missing, the folder is not in a repository, or the ref does not exist."""


@dataclass(frozen=True, slots=True)
class _GitTree:
    root: Path
    prefix: str
    ref: str

    def run(self, *args: str) -> str:
        try:
            done = subprocess.run(
                ["git", "-C", str(self.root), *args],
                capture_output=True,
                text=True,
                check=False,
            )
        except FileNotFoundError as exc:
            raise GitError("git is not installed") from exc
        if done.returncode != 0:
            raise GitError(done.stderr.strip() or f"git {' '.join(args)} failed")
        return done.stdout

    def files(self) -> dict[str, str]:
        """Contract-relative path -> text of every JSON file under the folder at the ref."""
        listing = self.run("ls-tree", "-r", "--name-only", self.ref, "--", self.prefix or ".")
        out = {}
        for line in listing.splitlines():
            relative = line[len(self.prefix) :] if self.prefix else line
            if relative.endswith(".json"):
                out[relative] = self.run("show", f"{self.ref}:{line}")
        return out


def _open_tree(contracts: Path, ref: str) -> _GitTree:
    probe = _GitTree(contracts, "", ref)
    top = Path(probe.run("rev-parse", "--show-toplevel").strip())
    prefix = contracts.resolve().relative_to(top.resolve()).as_posix()
    tree = _GitTree(top, f"{prefix}/" if prefix != "." else "", ref)
    tree.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return tree


def _check(rule_id: str, message: str, verdict: Verdict, note: Level | None = None) -> Finding:
    return Finding(
        rule=rule_id,
        pointer="",
        message=message,
        backward=verdict,
        forward=verdict,
        backward_reason=message if verdict is not Verdict.COMPATIBLE else "",
        forward_reason="",
        note=note if note is not None else rules.RULES[rule_id].level,
    )


def _id_major(schema: Any) -> tuple[str, int] | None:
    if isinstance(schema, dict) and isinstance(schema.get("$id"), str):
        match = _ID_RE.search(schema["$id"])
        if match:
            return match["name"], int(match["major"])
    return None


def _load_at_ref(ref: str, relative: str, texts: dict[str, str]) -> LoadedSchema:
    """The file at the ref, with every other contract file at the ref as a neighbour."""
    base = f"file:///__git__/{re.sub(r'[^A-Za-z0-9._-]', '_', ref)}/contracts/"
    documents: dict[str, Any] = {}
    for path, text in texts.items():
        try:
            documents[base + path] = json.loads(text)
        except json.JSONDecodeError as exc:
            if path == relative:
                raise SchemaLoadError(f"{ref}:{relative}: not JSON ({exc.msg})") from exc
    return load_documents(base + relative, documents, label=f"{ref}:{relative}")


def _working_files(contracts: Path) -> list[str]:
    return sorted(p.relative_to(contracts).as_posix() for p in contracts.glob("*/v*.json"))


def _events(text: str | None) -> dict[str, str]:
    if text is None:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return {}
    events = data.get("events", {}) if isinstance(data, dict) else {}
    return {str(k): str(v) for k, v in events.items()} if isinstance(events, dict) else {}


def _catalog_review(contracts: Path, old_text: str | None) -> Review | None:
    path = contracts / "catalog.json"
    new_text = path.read_text(encoding="utf-8") if path.is_file() else None
    old, new = _events(old_text), _events(new_text)
    checks: list[Finding] = []
    for event in sorted(set(old) | set(new)):
        if event not in new:
            checks.append(
                _check(
                    "event-name-changed",
                    f"event `{event}` removed from catalog.json",
                    Verdict.INCOMPATIBLE,
                )
            )
        elif event not in old:
            checks.append(
                _check(
                    "event-name-added",
                    f"event `{event}` added (contract {new[event]})",
                    Verdict.COMPATIBLE,
                )
            )
        elif old[event] != new[event]:
            checks.append(
                _check(
                    "event-name-changed",
                    f"event `{event}` now maps to {new[event]} (was {old[event]})",
                    Verdict.INCOMPATIBLE,
                )
            )
    if not checks:
        return None
    return Review(path="catalog.json", status="modified", diff=None, checks=tuple(checks))


def review_against(
    contracts: Path, ref: str, mode: Mode = Mode.FULL, policy: Policy = Policy.STRICT
) -> list[Review]:
    """Review every contract file in ``contracts`` against the same folder at git ``ref``."""
    tree = _open_tree(contracts, ref)
    old_texts = tree.files()
    old_files = sorted(p for p in old_texts if _FILE_RE.match(p))
    new_files = _working_files(contracts)
    reviews: list[Review] = []
    for relative in sorted(set(old_files) | set(new_files)):
        match = _FILE_RE.match(relative)
        assert match is not None
        name, major = match["name"], int(match["major"])
        label = f"contracts/{relative}"
        if relative not in new_files:
            reviews.append(
                Review(
                    path=label,
                    status="removed",
                    diff=None,
                    checks=(
                        _check(
                            "contract-removed",
                            f"{name}@{major} was deleted; servers and clients declaring it lose "
                            "their contract",
                            Verdict.INCOMPATIBLE,
                        ),
                    ),
                )
            )
            continue
        new = load_file(contracts / relative)
        checks: list[Finding] = []
        declared = _id_major(new.schema)
        if declared != (name, major):
            checks.append(
                _check(
                    "id-path-mismatch",
                    f"$id {new.schema.get('$id') if isinstance(new.schema, dict) else None!r} "
                    f"does not end in {name}/v{major}.json",
                    Verdict.INCOMPATIBLE,
                )
            )
        if relative in old_files:
            old = _load_at_ref(ref, relative, old_texts)
            diff = compare_schemas(old, new, policy)
            if not diff.findings and not checks:
                continue
            verdict = diff.verdict(mode)
            if verdict is not Verdict.COMPATIBLE and declared == _id_major(old.schema):
                unproven = " (not proven compatible)" if verdict is Verdict.CANNOT_PROVE else ""
                checks.append(
                    _check(
                        "major-version-not-bumped",
                        f"{name}@{major} changed in place and is not "
                        f"{mode.value}-compatible{unproven}; "
                        f"publish the change as {name}/v{major + 1}.json (VER-5)",
                        Verdict.INCOMPATIBLE,
                    )
                )
            reviews.append(
                Review(
                    path=label,
                    status="modified",
                    diff=diff,
                    checks=tuple(checks),
                    compared_with=f"{ref}:contracts/{relative}",
                )
            )
            continue
        previous = f"{name}/v{major - 1}.json"
        if major > 1 and (contracts / previous).is_file():
            diff = compare_schemas(load_file(contracts / previous), new, policy)
            if diff.compatible(mode):
                checks.append(
                    _check(
                        "major-version-bumped-without-break",
                        f"{name}@{major} is {mode.value}-compatible with {name}@{major - 1}: "
                        f"keep the major version and edit v{major - 1}.json in place (VER-6)",
                        Verdict.COMPATIBLE,
                    )
                )
            checks.append(
                _check("contract-added", f"new major version {name}@{major}", Verdict.COMPATIBLE)
            )
            reviews.append(
                Review(
                    path=label,
                    status="added",
                    diff=diff,
                    checks=tuple(checks),
                    gating=False,
                    compared_with=f"contracts/{previous}",
                    notes=(
                        "A new major version may break compatibility by design; its findings "
                        "tell servers and clients how to migrate.",
                    ),
                )
            )
            continue
        checks.append(_check("contract-added", f"new contract {name}@{major}", Verdict.COMPATIBLE))
        reviews.append(Review(path=label, status="added", diff=None, checks=tuple(checks)))
    catalog = _catalog_review(contracts, old_texts.get("catalog.json"))
    if catalog is not None:
        reviews.append(catalog)
    return reviews


def passed(reviews: list[Review], mode: Mode) -> bool:
    """True when no gating finding is breaking or unproven under ``mode``."""
    for review in reviews:
        for finding in review.gating_findings():
            if (
                finding.level(mode) is Level.BREAKING
                or finding.verdict(mode) is not Verdict.COMPATIBLE
            ):
                return False
    return True
