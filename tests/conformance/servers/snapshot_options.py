"""What a run of the independent test server does: its permitted variants and its one fault.

The test server is a third implementation of spec/ (neither `conformance` nor `reference` is
imported). Variants switch between behaviours the spec permits, so the harness is proven to accept
every one of them; a fault breaks exactly one requirement, so the harness is proven to catch it.
"""

from __future__ import annotations

from dataclasses import dataclass

# Each variant is a behaviour the spec permits (the requirement that permits it in brackets).
VARIANTS: dict[str, str] = {
    "ids": "an id: on every data, timeout and error event, numbered per connection [WF-10]",
    "comments": "comment lines: one opening the body, one inside every data event, "
    "a `: keepalive` on every poll that sends nothing [WF-15]",
    "crlf": "CRLF line endings [WF-3; WARN under WF-4]",
    "multiline": "each JSON document pretty-printed over several data: lines "
    "[WF-7; WARN under WF-8]",
    "error-event": "200 + a single `error` event, then the end, for a missing, foreign or "
    "malformed run, instead of 404 [ERR-10; WARN under ERR-9]",
    "plain-errors": "error events carry plain text, not {code, message} "
    "[ERR-15; WARN under ERR-14]",
    "retry": "a retry: field in the initial snapshot event [WF-13]",
    "nospace": "no space after the colon of a field (`data:{...}`) [WHATWG P7]",
    "split-writes": "every line written as its own body chunk; a CRLF split between two chunks",
    "leading-newline": "the body begins with an empty line, as the origin's NestJS server does",
    "charset": "Content-Type `text/event-stream; charset=UTF-8` (upper case) [TR-6]",
    "detailed-problems": "problem bodies carry type, detail and instance naming the run id "
    "[ERR-1, ISO-3]",
    "shared-poller": "one poller per run shared by all its streams; its fetch counts once [CHG-8]",
    "no-features": "declare no optional control feature; their operations answer 404 [CTL-4]",
}

# Named sets; `--variant NAME` accepts a set name or a single variant, and may be repeated.
VARIANT_SETS: dict[str, tuple[str, ...]] = {
    # A plain 404-style server: no id, no comment, LF, one data: line, JSON errors.
    "minimal": (),
    # A sensible mix of permitted behaviours that still raises no WARN.
    "default": (
        "ids",
        "comments",
        "retry",
        "nospace",
        "charset",
        "detailed-problems",
        "shared-poller",
    ),
    # The origin system's habits: 200 + plain-text error event, leading newline, numbered ids.
    "origin": ("ids", "error-event", "plain-errors", "leading-newline"),
    # Everything a decoder can be tripped by.
    "wire": (
        "crlf",
        "multiline",
        "split-writes",
        "comments",
        "nospace",
        "leading-newline",
        "retry",
    ),
    "all": tuple(name for name in VARIANTS if name != "no-features"),
}

# Each fault breaks one requirement (named in brackets); tests/conformance/faults.py says which
# checks must catch it.
FAULTS: dict[str, str] = {
    "no-initial-snapshot": "the current state is taken as already sent: no data event until "
    "the first change [SNAP-1]",
    "snapshot-late": "the initial snapshot is sent intervalMs + tolerance + 100 ms after the "
    "headers [SNAP-3]",
    "heartbeat-before-snapshot": "a heartbeat is sent before the initial snapshot [SNAP-2]",
    "duplicate-emission": "every change is sent twice in a row [CHG-2]",
    "change-missed": "the first change after the initial snapshot is recorded but not sent [CHG-1]",
    "generatedat-change-emitted": "the change key includes the stored revision that touch "
    "bumps, so a generatedAt-only change is sent [CHG-3]",
    "change-late": "a detected change is sent intervalMs + tolerance + 600 ms late [CHG-4]",
    "no-heartbeat": "no heartbeat at all [HB-2]",
    "heartbeat-slow": "heartbeats every 1.6 x heartbeatMs [HB-3]",
    "heartbeat-flood": "heartbeats every heartbeatMs / 4 [HB-3]",
    "heartbeat-with-id": "heartbeats carry an id: field [HB-4]",
    "heartbeat-off-contract": "heartbeat timestamps carry a numeric offset, not UTC Z [HB-1]",
    "no-timeout-event": "at timeoutMs the response ends without a timeout event [END-1]",
    "timeout-late": "the timeout event comes at 1.5 x timeoutMs [END-1]",
    "timeout-wrong-value": "the timeout event's timeoutMs is twice the declared value [END-4]",
    "events-after-timeout": "a heartbeat follows the timeout event [END-3]",
    "no-end-after-timeout": "the response stays open after the timeout event [END-2]",
    "no-end-after-completion": "completion is ignored: heartbeats and the timeout follow the "
    "complete snapshot [END-5]",
    "no-auth-required": "a stream request without Authorization is answered 200 [ERR-3]",
    "no-www-authenticate": "401 answers carry no WWW-Authenticate header [ERR-3]",
    "invalid-token-accepted": "an unknown bearer token is accepted as a member [ERR-5]",
    "missing-workspace-default": "a request without X-Workspace-Id falls back to the principal's "
    "first workspace [ERR-6]",
    "non-member-allowed": "membership is not checked: a non-member gets 404/200, not 403 [ERR-7]",
    "foreign-run-visible": "the run lookup is not filtered by workspace [ISO-1]",
    "foreign-distinguishable": "a foreign run is answered with a different problem title [ISO-3]",
    "cross-workspace-leak": "a snapshot cache keyed by progress alone: a run's change reaches "
    "streams of other workspaces whose run was in the same state [ISO-4]",
    "problem-not-json": "error answers are text/plain, not problem+json [ERR-1]",
    "wrong-content-type": "the stream's Content-Type is text/plain [TR-6]",
    "no-cache-control": "the stream has no Cache-Control header [TR-7]",
    "gzip-encoded": "the stream is gzip-encoded with Content-Encoding: gzip [TR-10]",
    "bom": "the body begins with a UTF-8 byte order mark [WF-2]",
    "unknown-event": "an event named `debug` follows the initial snapshot [WF-6]",
    "duplicate-event-field": "data events carry their event: field twice [WF-5]",
    "unknown-field": "data events carry an `x-debug:` field [WF-9]",
    "id-with-null": "data event ids contain U+0000 (with ids on data events) [WF-11]",
    "retry-not-digits": "the retry: field reads `2000ms` [WF-14]",
    "invalid-utf8": "a comment line opening the body holds a byte that is not UTF-8 [WF-1]",
    "unterminated-final-event": "the timeout event lacks its terminating empty line [WF-3]",
    "headers-late": "the response headers are held back intervalMs + tolerance + 100 ms [TR-11]",
    "content-length": "the stream declares a Content-Length [TR-13]",
    "stream-status-203": "a successful stream answers 203, not 200 [TR-5]",
    "unseen-state": "before each change, a state that was never visible (one invoice short) "
    "is sent [CHG-6]",
    "missing-run-data-event": "a missing or foreign run gets 200, an empty-run data event, then "
    "the error event [ERR-11]",
    "malformed-id-400": "a malformed run id is answered 400, a well-formed unknown one 404 "
    "[ERR-12]",
    "failure-spreads": "a failed snapshot fetch ends every stream of the run's workspace with "
    "an error event [ERR-17]",
    "wrong-run-identity": "payloads name the month before the run's month [BIL-17]",
    "describe-off-contract": "describe carries an undocumented member [CTL-3]",
    "features-undeclared": "describe declares no feature, but the optional operations work [CTL-4]",
    "data-not-json": "heartbeat data is a bare timestamp, not JSON [WF-7]",
    "payload-off-contract": "data events carry an undocumented member `workspaceId` [BIL-1]",
    "cross-field-rule-broken": "processedInvoiceCount leaves out queued invoices [BIL-11]",
    "progress-not-derived": "sent invoices are counted as delivered [BIL-9]",
    "unsent-progress-shown": "an unsent run reports a zero progress object, not null [BIL-16]",
    "last-event-id-resumes": "a request carrying Last-Event-ID gets no initial snapshot [SNAP-4]",
    "snapshot-failure-silent": "a failed snapshot fetch is skipped, not reported [ERR-13]",
    "error-leaks-internals": "the snapshot-failure error event carries a traceback, SQL [ERR-16]",
    "fallback-stale": "the polling fallback answers the state of the run's creation [BIL-5]",
    "create-run-broken": "POST /classes/billing/runs answers 200, not 201 [BIL-6]",
    "create-run-unvalidated": "POST /classes/billing/runs accepts any JSON body [BIL-7]",
    "polling-not-stopped": "after a client disconnects its stream's poller keeps fetching [LIFE-1]",
    "parameters-misdeclared": "describe declares heartbeatMs twice the value used [TERM-1]",
    "control-open": "the control API does not check the secret [CTL-2]",
}


@dataclass(frozen=True, slots=True)
class Options:
    """One server's configuration: timing parameters, variants and at most one fault."""

    interval_ms: int = 200
    heartbeat_ms: int = 800
    timeout_ms: int = 2500
    control_secret: str | None = None
    # the checker's TIME-3 floor, only to size the late-* faults beyond it
    tolerance_floor_ms: int = 250
    variants: frozenset[str] = frozenset(VARIANT_SETS["default"])
    fault: str | None = None

    def has(self, variant: str) -> bool:
        return variant in self.variants

    def broken(self, fault: str) -> bool:
        return self.fault == fault

    def tolerance_ms(self, period_ms: int) -> int:
        """TIME-3 with A = the checker's floor and R = 0.25 (used only to size faults)."""
        return max(self.tolerance_floor_ms, period_ms // 4)


def resolve_variants(names: list[str]) -> frozenset[str]:
    """Expand set names and single variants; raise ValueError naming an unknown one."""
    chosen: set[str] = set()
    for name in names:
        if name in VARIANT_SETS:
            chosen.update(VARIANT_SETS[name])
        elif name in VARIANTS:
            chosen.add(name)
        else:
            known = ", ".join([*VARIANT_SETS, *VARIANTS])
            raise ValueError(f"unknown variant {name!r}; known: {known}")
    return frozenset(chosen)
