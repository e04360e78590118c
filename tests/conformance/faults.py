"""Which checks must catch which fault of the independent test server (data, not logic).

Each entry of FAULTS names one `--fault` of tests/conformance/servers/snapshot_server.py, the
requirement it breaks, the checks that MUST report FAIL for it (`catches`), and the checks that may
also report FAIL or ERROR because the fault necessarily breaks what they observe too (`also`, each
justified in `why`). Every other check must not FAIL or ERROR. test_truthfulness.py enforces this,
and docs/faulty-servers.md is rendered from this table (`python tests/conformance/faults.py`).

VARIANT_RUNS says, for each variant set of the server, which SHOULD checks it is expected to WARN
(the set deliberately uses a permitted behaviour that a SHOULD discourages); a variant run must
raise no FAIL or ERROR at all.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

DOC = Path(__file__).resolve().parents[2] / "docs" / "faulty-servers.md"


@dataclass(frozen=True, slots=True)
class Fault:
    name: str
    breaks: str  # the requirement ID the fault breaks
    catches: frozenset[str]  # checks that must FAIL
    also: frozenset[str] = frozenset()  # checks that may FAIL/ERROR too
    why: str = ""  # why `also` may fail
    variants: tuple[str, ...] = ("minimal",)


def _fault(
    name: str,
    breaks: str,
    catches: str,
    also: str = "",
    why: str = "",
    variants: tuple[str, ...] = ("minimal",),
) -> Fault:
    return Fault(name, breaks, frozenset(catches.split()), frozenset(also.split()), why, variants)


# Checks that judge a stream: a fault that spoils every stream (status, encoding) makes them
# FAIL or report that they could not observe (ERROR).
_EVERY_STREAM_CHECK = (
    "change.* contract.* end.* heartbeat.* snapshot.* wire.* errors.failure-contained "
    "errors.snapshot-failure isolation.cross-workspace-changes profile.fallback-same-state"
)

FAULTS: tuple[Fault, ...] = (
    # transport
    _fault("wrong-content-type", "TR-6", "transport.content-type"),
    _fault("no-cache-control", "TR-7", "transport.cache-control"),
    _fault(
        "gzip-encoded",
        "TR-10",
        "transport.no-content-encoding",
        _EVERY_STREAM_CHECK,
        "the harness judges the bytes on the wire, and gzip bytes are not an event stream",
    ),
    _fault(
        "headers-late",
        "TR-11",
        "transport.headers-prompt",
        "snapshot.fresh-per-request profile.fallback-same-state change.derived-progress",
        "every stream starts late, so observations that wait a fixed window see less",
    ),
    _fault(
        "content-length",
        "TR-13",
        "transport.no-content-length",
        "end.clean-after-timeout end.completion end.planned-end errors.snapshot-failure "
        "snapshot.complete-at-start",
        "uvicorn resets a connection whose body is shorter than its declared Content-Length, "
        "so no stream ends cleanly",
    ),
    _fault(
        "stream-status-203",
        "TR-5",
        "transport.status-200",
        _EVERY_STREAM_CHECK,
        "the harness observes no stream that did not answer 200",
    ),
    # wire format
    _fault("invalid-utf8", "WF-1", "wire.utf8"),
    _fault("bom", "WF-2", "wire.no-bom"),
    _fault(
        "unterminated-final-event",
        "WF-3",
        "wire.terminated-events",
        "end.timeout-on-time end.timeout-payload end.planned-end",
        "the unterminated event is the timeout event, which WHATWG discards as partial",
    ),
    _fault("duplicate-event-field", "WF-5", "wire.event-and-data-fields"),
    _fault("unknown-event", "WF-6", "wire.event-names"),
    _fault(
        "data-not-json",
        "WF-7",
        "wire.json-data heartbeat.payload",
        why="the data that is not JSON is the heartbeat's",
    ),
    _fault("unknown-field", "WF-9", "wire.field-names"),
    _fault("id-with-null", "WF-11", "wire.id-no-null"),
    _fault("retry-not-digits", "WF-14", "wire.retry-digits"),
    # initial snapshot
    _fault(
        "no-initial-snapshot",
        "SNAP-1",
        "snapshot.first-event snapshot.prompt snapshot.complete-at-start",
        "snapshot.current-state snapshot.fresh-per-request end.completion "
        "profile.fallback-same-state change.coalescing change.non-key-silent "
        "isolation.cross-workspace-changes",
        "every observation that starts from the initial snapshot sees none",
    ),
    _fault(
        "snapshot-late",
        "SNAP-3",
        "snapshot.prompt",
        "snapshot.fresh-per-request change.coalescing",
        "observations that wait for the initial snapshot get it late",
    ),
    _fault(
        "heartbeat-before-snapshot",
        "SNAP-2",
        "snapshot.first-event heartbeat.first",
        "heartbeat.cadence snapshot.complete-at-start snapshot.fresh-per-request",
        "the extra heartbeat at the stream start comes first on every stream",
    ),
    _fault("last-event-id-resumes", "SNAP-4", "snapshot.fresh-per-request"),
    # change emission
    _fault(
        "duplicate-emission",
        "CHG-2",
        "change.no-repeat",
        "change.coalescing end.completion",
        "a repeated state is also out of the order in which states became visible, and the "
        "repeated complete snapshot follows the complete snapshot",
    ),
    _fault(
        "change-missed",
        "CHG-1",
        "change.emitted-in-time",
        "change.coalescing change.derived-progress",
        "the missed state is missing from every change observation",
    ),
    _fault(
        "change-late",
        "CHG-4",
        "change.emitted-in-time",
        "change.coalescing change.derived-progress end.completion",
        "every change observation sees the change late",
    ),
    _fault(
        "generatedat-change-emitted",
        "CHG-3",
        "change.non-key-silent",
        "change.no-repeat",
        "the event a touch causes repeats the previous change key",
    ),
    _fault(
        "unseen-state",
        "CHG-6",
        "change.coalescing",
        "change.derived-progress",
        "the invented state does not carry the derived counts either",
    ),
    # heartbeat
    _fault(
        "no-heartbeat",
        "HB-2",
        "heartbeat.first heartbeat.cadence heartbeat.max-silence",
        "errors.failure-contained",
        "with no heartbeat, an idle stream sends nothing that shows it is still alive",
    ),
    _fault(
        "heartbeat-slow",
        "HB-3",
        "heartbeat.first heartbeat.cadence heartbeat.max-silence",
    ),
    _fault("heartbeat-flood", "HB-3", "heartbeat.first heartbeat.cadence"),
    _fault("heartbeat-with-id", "HB-4", "heartbeat.no-id"),
    _fault("heartbeat-off-contract", "HB-1", "heartbeat.payload"),
    _fault("parameters-misdeclared", "TERM-1", "heartbeat.first heartbeat.cadence"),
    # timeout and completion
    _fault(
        "no-timeout-event",
        "END-1",
        "end.timeout-on-time end.planned-end",
    ),
    _fault("timeout-late", "END-1", "end.timeout-on-time end.no-overrun"),
    _fault("timeout-wrong-value", "END-4", "end.timeout-payload"),
    _fault(
        "events-after-timeout",
        "END-3",
        "end.nothing-after-timeout",
        "end.planned-end heartbeat.cadence",
        "the event after the timeout is a heartbeat: the stream then ends after a heartbeat, "
        "100 ms after the previous one",
    ),
    _fault(
        "no-end-after-timeout",
        "END-2",
        "end.clean-after-timeout end.no-overrun",
        "heartbeat.max-silence",
        "the stream that is not ended stays open and silent",
    ),
    _fault(
        "no-end-after-completion",
        "END-5",
        "end.completion snapshot.complete-at-start",
    ),
    # errors
    _fault("no-auth-required", "ERR-3", "errors.missing-credentials"),
    _fault(
        "no-www-authenticate",
        "ERR-3",
        "errors.missing-credentials errors.malformed-credentials errors.invalid-token",
    ),
    _fault("invalid-token-accepted", "ERR-5", "errors.invalid-token"),
    _fault("missing-workspace-default", "ERR-6", "errors.workspace-header"),
    _fault("non-member-allowed", "ERR-7", "errors.non-member"),
    _fault(
        "problem-not-json",
        "ERR-1",
        "errors.problem-bodies",
        "profile.create-run-invalid",
        "the 400 and 422 answers of run creation are problem bodies too (BIL-7)",
    ),
    _fault(
        "missing-run-data-event",
        "ERR-11",
        "errors.missing-run-no-data",
        "isolation.no-foreign-data",
        "the data event for a foreign run names that run",
    ),
    _fault("malformed-id-400", "ERR-12", "errors.malformed-run-id"),
    _fault("snapshot-failure-silent", "ERR-13", "errors.snapshot-failure"),
    _fault("error-leaks-internals", "ERR-16", "errors.no-internal-details"),
    _fault("failure-spreads", "ERR-17", "errors.failure-contained"),
    # isolation
    _fault(
        "foreign-run-visible",
        "ISO-1",
        "isolation.no-foreign-data isolation.foreign-like-missing isolation.fallback",
    ),
    _fault(
        "foreign-distinguishable",
        "ISO-3",
        "isolation.foreign-like-missing isolation.fallback",
    ),
    _fault(
        "cross-workspace-leak",
        "ISO-4",
        "isolation.cross-workspace-changes",
        "contract.run-identity",
        "the leaked snapshot names the other workspace's run",
    ),
    # lifecycle
    _fault("polling-not-stopped", "LIFE-1", "lifecycle.polling-stops"),
    # contract and profile
    _fault("payload-off-contract", "BIL-1", "contract.payloads-valid"),
    _fault(
        "cross-field-rule-broken",
        "BIL-11",
        "contract.cross-field",
        "snapshot.current-state change.derived-progress change.coalescing change.emitted-in-time",
        "the wrong processedInvoiceCount also differs from the derived state, so no event "
        "carries the state a change made",
    ),
    _fault(
        "progress-not-derived",
        "BIL-9",
        "snapshot.current-state change.derived-progress",
        "change.coalescing change.emitted-in-time end.completion",
        "the wrong counts also differ from the derived state of every change, the complete one "
        "included",
    ),
    _fault(
        "wrong-run-identity",
        "BIL-17",
        "contract.run-identity",
        "snapshot.current-state",
        "the run identity is part of the state the initial snapshot must equal",
    ),
    _fault("unsent-progress-shown", "BIL-16", "snapshot.unsent-run"),
    _fault("fallback-stale", "BIL-5", "profile.fallback-same-state"),
    _fault("create-run-broken", "BIL-6", "profile.create-run"),
    _fault("create-run-unvalidated", "BIL-7", "profile.create-run-invalid"),
    # control API
    _fault("describe-off-contract", "CTL-3", "control.describe"),
    _fault("control-open", "CTL-2", "control.secret-required"),
    _fault("features-undeclared", "CTL-4", "control.undeclared-features"),
)

# Faults of the server that no check catches yet (harness gaps). The test demands that they stay
# uncaught, so when a check starts catching one it must move into FAULTS.
GAPS: dict[str, str] = {}

# Variant sets of the server, each run with no fault: the SHOULD checks it is expected to WARN.
VARIANT_RUNS: dict[str, frozenset[str]] = {
    "minimal": frozenset(),
    "default": frozenset(),
    "origin": frozenset({"errors.missing-run-404", "errors.error-payload"}),
    "wire": frozenset({"wire.lf-line-endings", "wire.single-line-json"}),
    "all": frozenset(
        {
            "errors.missing-run-404",
            "errors.error-payload",
            "wire.lf-line-endings",
            "wire.single-line-json",
        }
    ),
    # a single variant: no optional feature declared, so their checks must say N/A, not FAIL
    "no-features": frozenset(),
}

# Checks that misjudge this conformant server at the moment (reported to the harness owner with
# the evidence). They are tolerated in every run; test_truthfulness.py checks with a strict xfail
# that each one still misjudges, so an entry must go as soon as the harness is fixed.
HARNESS_ISSUES: dict[str, str] = {}

# (An event can reach the harness before the response of the control call that caused it, since
# CTL-13 puts the effect first; the checks measure from when the call was sent, so no check is
# tolerated for that race any more.)


def tolerated_harness_issues() -> frozenset[str]:
    return frozenset(HARNESS_ISSUES)


# MUST checks no fault of this server can isolate, with the reason.
EXEMPT: dict[str, str] = {
    "transport.no-connection-header-h2": "HTTP/2 only; the test server speaks HTTP/1.1 "
    "(uvicorn), where the check is N/A",
}


def render(must_checks: list[tuple[str, str]]) -> str:
    """docs/faulty-servers.md: every MUST check (id, requirements) and the faults it catches."""
    by_check: dict[str, list[str]] = {check: [] for check, _ in must_checks}
    for fault in FAULTS:
        for check in sorted(fault.catches):
            by_check.setdefault(check, []).append(fault.name)
    lines = [
        "# Faulty servers: which check catches which fault",
        "",
        "*Generated from tests/conformance/faults.py by `python tests/conformance/faults.py`;",
        "tests/conformance/test_truthfulness.py fails when this file is out of date.*",
        "",
        "The independent test server (tests/conformance/servers/snapshot_server.py) is a third",
        "implementation of spec/, sharing no code with the harness or the reference server.",
        "With no fault it passes every check under every variant set (each uses other permitted",
        "behaviours: ids, comments, CRLF, multi-line JSON, 200 + error event, a shared poller...).",
        "Each `--fault` breaks one requirement; the test runs the harness against it and demands",
        "that the listed checks FAIL and that no other check FAILs or ERRORs, except those the",
        "fault necessarily breaks too (listed under *also* in faults.py, with the reason).",
        "",
        "## MUST checks and the faults they catch",
        "",
        "| Check | Requirements | Caught faults |",
        "|---|---|---|",
    ]
    requirements = dict(must_checks)
    for check, _ in must_checks:
        faults = by_check[check]
        cell = ", ".join(f"`{name}`" for name in faults) if faults else ""
        if not faults and check in EXEMPT:
            cell = f"*exempt: {EXEMPT[check]}*"
        lines.append(f"| `{check}` | {requirements[check]} | {cell} |")
    server = _server_options()
    lines += [
        "",
        "## Faults",
        "",
        "| Fault | What the server does wrong | Must be caught by | May also fail |",
        "|---|---|---|---|",
    ]
    for fault in FAULTS:
        catches = ", ".join(f"`{c}`" for c in sorted(fault.catches))
        also = ", ".join(f"`{c}`" for c in sorted(fault.also))
        text = server.FAULTS[fault.name].replace("|", "\\|")
        lines.append(f"| `{fault.name}` | {text} | {catches} | {also} |")
    lines += [
        "",
        "## Variants (permitted behaviours)",
        "",
        "Run by hand: `python tests/conformance/servers/snapshot_server.py --port 8123",
        "--control-secret s3cret [--variant SET-OR-NAME ...] [--fault NAME]`, then",
        "`ssegate check http://127.0.0.1:8123 --control-secret s3cret`.",
        "",
        "| Variant | Behaviour |",
        "|---|---|",
    ]
    for name, text in server.VARIANTS.items():
        lines.append(f"| `{name}` | {text} |")
    lines += ["", "## Known gaps: faults no check catches yet", ""]
    lines += [f"- `{name}`: {reason}" for name, reason in GAPS.items()] or ["- none"]
    lines += ["", "## Known harness issues: checks that misjudge the conformant server", ""]
    lines += [f"- `{check}`: {reason}" for check, reason in HARNESS_ISSUES.items()] or ["- none"]
    lines += [
        "",
        "## Variant sets (no fault)",
        "",
        "| Set | Variants | SHOULD checks expected to WARN |",
        "|---|---|---|",
    ]
    for name, warns in VARIANT_RUNS.items():
        members = " ".join(server.VARIANT_SETS.get(name, (name,))) or "(none)"
        warned = ", ".join(f"`{c}`" for c in sorted(warns)) or "none"
        lines.append(f"| `{name}` | {members} | {warned} |")
    return "\n".join(lines) + "\n"


def _server_options() -> ModuleType:
    """The server's own list of variants and faults (a standalone module, loaded by path)."""
    path = Path(__file__).resolve().parent / "servers" / "snapshot_options.py"
    spec = importlib.util.spec_from_file_location("ssegate_test_server_options", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def must_checks_from_registry() -> list[tuple[str, str]]:
    """(check id, requirement IDs) of every MUST check, in the registry's order."""
    import importlib
    import pkgutil

    import conformance.checks as package

    for module in pkgutil.iter_modules(package.__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{module.name}")
    from conformance.checks._registry import REGISTRY

    return sorted(
        (check.id, ", ".join(check.requirements))
        for check in REGISTRY.values()
        if check.level.value == "MUST"
    )


if __name__ == "__main__":
    DOC.write_text(render(must_checks_from_registry()), encoding="utf-8")
    print(f"wrote {DOC}", file=sys.stderr)
