"""Known failures: ``--expected-failures FILE`` (docs/ci.md, "Baselines").

A baseline names checks, by their stable ID, that an implementation is known to fail, each with
the reason. The semantics follow the MCP conformance suite
(shared/notes/conformance-suites.md §3.11):

- a baselined check that FAILs (or WARNs) is an *expected failure*: it does not fail the run;
- a baselined check that now PASSes (or reports INFO) is a *stale* entry: the run fails (exit 1)
  and names it, so a baseline only ever shrinks and never hides a fix nobody noticed;
- a baselined check that could not be judged (N/A, ERROR, HARNESS-ERROR) is *unjudged*: its
  verdict counts as it is (an ERROR still gives exit 3), the entry is neither used nor stale;
- a baselined check that did not run (``--select``/``--exclude``) is *not run*.

An ID in the file that names no check is a usage error (exit 2): a typo must not silently
accept nothing. The file format is deliberately tiny (PyYAML is not a runtime dependency):

    # comment lines and blank lines are ignored
    transport.x-accel-buffering: our proxy config sets it, tracked in OPS-12
    heartbeat.cadence: the event loop stalls under GC, see issue 40

one ``CHECK-ID: reason`` per line, the reason required. A JSON object ``{"CHECK-ID": "reason"}``
is accepted too (a file whose first non-blank character is ``{`` or ``[`` is read as JSON).

The baseline is applied to the JSON report document (contracts/ssegate.report/v1.json), so every
rendering (console, JUnit, Markdown, HTML, the pytest plugin) shows the same decision.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.model import CHECK_ID_PATTERN

__all__ = [
    "Baseline",
    "BaselineError",
    "BaselineStatus",
    "apply_baseline",
    "exit_code_of",
    "load_baseline",
    "parse_baseline",
]

_LINE = re.compile(r"^(?P<id>[^\s:#]+)\s*:\s*(?P<reason>.*?)\s*$")


class BaselineError(Exception):
    """The expected-failures file cannot be used (a usage error, exit 2)."""


class BaselineStatus:
    """What became of one baseline entry in a run (the ``status`` member in the report)."""

    EXPECTED_FAILURE = "expected-failure"
    STALE = "stale"
    UNJUDGED = "unjudged"
    NOT_RUN = "not-run"


@dataclass(frozen=True, slots=True)
class Baseline:
    """Check ID -> reason, and where it came from."""

    source: str
    entries: Mapping[str, str]


def parse_baseline(text: str, source: str, known_ids: Collection[str]) -> Baseline:
    """Parse the text or JSON form; every ID must name a known check."""
    stripped = text.lstrip()
    entries = (
        _parse_json(stripped, source)
        if stripped.startswith(("{", "["))
        else _parse_text(text, source)
    )
    unknown = sorted(set(entries) - set(known_ids))
    if unknown:
        raise BaselineError(
            f"{source}: unknown check ID(s) {', '.join(unknown)} (see `ssegate list` for the IDs)"
        )
    return Baseline(source, entries)


def load_baseline(path: Path, known_ids: Collection[str]) -> Baseline:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"cannot read expected-failures file {str(path)!r}: {exc}") from exc
    return parse_baseline(text, str(path), known_ids)


def _parse_json(text: str, source: str) -> dict[str, str]:
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{source}: not valid JSON: {exc}") from exc
    if not isinstance(loaded, dict):
        raise BaselineError(f"{source}: the JSON form is an object of check ID -> reason")
    entries: dict[str, str] = {}
    for key, value in loaded.items():
        if not isinstance(value, str) or not value.strip():
            raise BaselineError(f"{source}: {key}: the reason must be a non-empty string")
        entries[_check_id(key, source, "key")] = value.strip()
    return entries


def _parse_text(text: str, source: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        where = f"line {number}"
        if match is None:
            raise BaselineError(f"{source}:{number}: expected `CHECK-ID: reason`, got {raw!r}")
        check_id = _check_id(match["id"], source, where)
        if not match["reason"]:
            raise BaselineError(f"{source}:{number}: {check_id} has no reason")
        if check_id in entries:
            raise BaselineError(f"{source}:{number}: {check_id} is listed twice")
        entries[check_id] = match["reason"]
    return entries


def _check_id(value: str, source: str, where: str) -> str:
    if not CHECK_ID_PATTERN.match(value):
        raise BaselineError(f"{source} ({where}): {value!r} is not a check ID (family.name)")
    return value


_FAILING = frozenset({"FAIL", "WARN"})
_PASSING = frozenset({"PASS", "INFO"})


def apply_baseline(document: dict[str, Any], baseline: Baseline) -> dict[str, Any]:
    """Mark ``document``'s checks with their baseline entry and recompute its exit code.

    Mutates and returns ``document``. Adds ``checks[].baseline`` ({reason, status}) and
    ``summary.baseline`` (the entry IDs by status); ``summary.exitCode`` and
    ``summary.conformant`` then reflect the baseline. A run with expected failures is never
    conformant: it passes its gate, it does not satisfy the spec.
    """
    by_status: dict[str, list[str]] = {
        BaselineStatus.EXPECTED_FAILURE: [],
        BaselineStatus.STALE: [],
        BaselineStatus.UNJUDGED: [],
        BaselineStatus.NOT_RUN: [],
    }
    seen = set()
    for check in document["checks"]:
        check.pop("baseline", None)  # a report rendered again with another baseline
        reason = baseline.entries.get(check["id"])
        if reason is None:
            continue
        seen.add(check["id"])
        if check["verdict"] in _FAILING:
            status = BaselineStatus.EXPECTED_FAILURE
        elif check["verdict"] in _PASSING:
            status = BaselineStatus.STALE
        else:
            status = BaselineStatus.UNJUDGED
        check["baseline"] = {"reason": reason, "status": status}
        by_status[status].append(check["id"])
    by_status[BaselineStatus.NOT_RUN] = sorted(set(baseline.entries) - seen)
    summary = document["summary"]
    summary["baseline"] = {
        "source": baseline.source,
        "entries": len(baseline.entries),
        "expectedFailures": by_status[BaselineStatus.EXPECTED_FAILURE],
        "stale": by_status[BaselineStatus.STALE],
        "unjudged": by_status[BaselineStatus.UNJUDGED],
        "notRun": by_status[BaselineStatus.NOT_RUN],
    }
    summary["exitCode"] = exit_code_of(document)
    summary["conformant"] = (
        summary["exitCode"] == 0
        and not document["settings"]["partial"]
        and not by_status[BaselineStatus.EXPECTED_FAILURE]
    )
    return document


def exit_code_of(document: Mapping[str, Any]) -> int:
    """The exit code the document's verdicts give, expected failures and stale entries counted.

    The same ranking as :func:`conformance.model.exit_code` (a proven failure outranks a harness
    fault, which outranks an ERROR); a stale baseline entry ranks as a failure.
    """
    strict = bool(document["settings"]["strict"])
    verdicts = set()
    stale = False
    for check in document["checks"]:
        status = (check.get("baseline") or {}).get("status")
        if status == BaselineStatus.EXPECTED_FAILURE:
            continue
        stale = stale or status == BaselineStatus.STALE
        verdicts.add(check["verdict"])
    if "FAIL" in verdicts or stale:
        return 1
    if "HARNESS-ERROR" in verdicts:
        return 4
    if "ERROR" in verdicts:
        return 3
    if strict and "WARN" in verdicts:
        return 1
    return 0
