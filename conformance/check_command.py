"""``ssegate check`` and ``ssegate list``: the conformance gate's command line.

Every option of ``check`` can also come from an ``SSEGATE_*`` environment variable (for CI); a
command-line option wins over its variable. Exit codes (docs/harness.md): 0 conformant; 1 a MUST
failed (or a SHOULD under --strict); 2 usage or configuration error; 3 server unreachable or setup
failed; 4 harness fault. Bad input gives a one-line message, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console

from conformance.baseline import Baseline, BaselineError, apply_baseline, load_baseline
from conformance.checks import all_checks
from conformance.contracts.catalog import (
    ContractRefError,
    UnknownContractError,
    get_contract,
    parse_contract_ref,
)
from conformance.errors import SetupError
from conformance.load import LOAD_CHECK_IDS, LoadSettings, load_checks
from conformance.model import Check, CheckResult, Verdict
from conformance.report.console import render
from conformance.report.json_report import build_report
from conformance.report_command import write_rendering
from conformance.runner import ConfigurationError, RunOutcome, run_checks
from conformance.server_process import ServerProcess
from conformance.session import Settings
from conformance.timing import Tolerance

__all__ = ["register", "select_checks"]

EXIT_USAGE = 2
EXIT_SETUP = 3
EXIT_HARNESS = 4
_REQUIREMENT_ID = re.compile(r"^[A-Z]+-[0-9]+$")

# Reference run settings: short, so the demo and CI finish in seconds (spec/01-terms.md, TERM-1).
REFERENCE_INTERVAL_MS = 200
REFERENCE_HEARTBEAT_MS = 1000
REFERENCE_TIMEOUT_MS = 3000


class UsageError(Exception):
    """The command line or the environment is wrong (exit 2)."""


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def _env_list(name: str) -> list[str]:
    value = _env(name)
    return [part for part in re.split(r"[,\s]+", value) if part] if value else []


def _env_bool(name: str) -> bool:
    value = (_env(name) or "").lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise UsageError(f"{name}={os.environ[name]!r} is not a boolean (use 1/0, true/false)")


def register(subparsers: Any) -> None:
    check = subparsers.add_parser(
        "check",
        help="judge a server against the snapshot stream spec",
        description=(
            "Judge a running server (BASE_URL), the reference server (--reference) or any server "
            "command (--serve) against spec/. Exit codes: 0 conformant, 1 a MUST failed (or a "
            "SHOULD under --strict), 2 usage/configuration error, 3 server unreachable or setup "
            "failed, 4 harness fault. Every option also reads SSEGATE_<OPTION> (e.g. "
            "SSEGATE_CONTROL_SECRET)."
        ),
    )
    check.add_argument(
        "base_url", nargs="?", metavar="BASE_URL", help="server base URL [SSEGATE_BASE_URL]"
    )
    target = check.add_mutually_exclusive_group()
    target.add_argument(
        "--reference",
        action="store_true",
        default=None,
        help="start the reference server as a separate process on a free loopback port, check "
        "it "
        "[SSEGATE_REFERENCE]",
    )
    target.add_argument(
        "--serve",
        metavar="CMD",
        help="start CMD (with {port}, optionally {secret} and {workdir}) and check it, e.g. "
        '--serve "myserver --port {port} --control-secret {secret}" [SSEGATE_SERVE]',
    )
    check.add_argument(
        "--control-url",
        help="control API base URL (default BASE_URL/__ssegate) [SSEGATE_CONTROL_URL]",
    )
    check.add_argument("--control-secret", help="control API secret [SSEGATE_CONTROL_SECRET]")
    check.add_argument(
        "--select",
        action="append",
        metavar="ID",
        help="run only checks matching: a check ID, a glob (heartbeat.*) or a requirement ID "
        "(HB-2); "
        "repeatable [SSEGATE_SELECT, comma-separated]",
    )
    check.add_argument(
        "--exclude",
        action="append",
        metavar="ID",
        help="skip matching checks; as --select [SSEGATE_EXCLUDE]",
    )
    check.add_argument(
        "--strict",
        action="store_true",
        default=None,
        help="a SHOULD broken (WARN) fails the run [SSEGATE_STRICT]",
    )
    check.add_argument(
        "--contract",
        metavar="NAME@MAJOR",
        help="judge data payloads against this contract version instead of the one the server "
        "declares, e.g. billing.invoice-send-progress@2 (docs/contract-review.md) "
        "[SSEGATE_CONTRACT]",
    )
    check.add_argument(
        "--tolerance-ms",
        type=float,
        help="TIME-3 absolute floor A, default 250 [SSEGATE_TOLERANCE_MS]",
    )
    check.add_argument(
        "--tolerance-ratio",
        type=float,
        help="TIME-3 ratio R, default 0.25 [SSEGATE_TOLERANCE_RATIO]",
    )
    check.add_argument(
        "--report-json",
        metavar="FILE",
        help="write the JSON report (ssegate.report@1) [SSEGATE_REPORT_JSON]",
    )
    for fmt, what in (
        ("junit", "one merged JUnit XML file"),
        ("markdown", "Markdown, e.g. $GITHUB_STEP_SUMMARY"),
        ("html", "one self-contained HTML file with transcripts and timelines"),
    ):
        check.add_argument(f"--{fmt}", metavar="FILE", help=f"write {what} [SSEGATE_{fmt.upper()}]")
    check.add_argument(
        "--expected-failures",
        metavar="FILE",
        help="baseline of known failures, `CHECK-ID: reason` per line (or a JSON object): they "
        "do not fail the run; one that passes now is a stale entry (exit 1) "
        "[SSEGATE_EXPECTED_FAILURES]",
    )
    check.add_argument(
        "--load",
        type=int,
        metavar="N",
        help="load mode: hold N concurrent streams and judge them (the load.* checks; alone "
        "unless --select adds others, so a partial run) [SSEGATE_LOAD]",
    )
    check.add_argument(
        "--load-duration",
        type=float,
        metavar="S",
        help="--load: seconds to hold each stream (default: its whole life) "
        "[SSEGATE_LOAD_DURATION]",
    )
    check.add_argument(
        "--jobs", type=int, help="checks run at once, 0 = all (default) [SSEGATE_JOBS]"
    )
    check.add_argument(
        "--deadline-s",
        type=float,
        help="global deadline in seconds (default from timeoutMs) [SSEGATE_DEADLINE_S]",
    )
    check.add_argument(
        "--interval-ms",
        type=int,
        help=f"--reference: intervalMs (default {REFERENCE_INTERVAL_MS}) [SSEGATE_INTERVAL_MS]",
    )
    check.add_argument(
        "--heartbeat-ms",
        type=int,
        help=f"--reference: heartbeatMs (default {REFERENCE_HEARTBEAT_MS}) [SSEGATE_HEARTBEAT_MS]",
    )
    check.add_argument(
        "--timeout-ms",
        type=int,
        help=f"--reference: timeoutMs (default {REFERENCE_TIMEOUT_MS}) [SSEGATE_TIMEOUT_MS]",
    )
    check.add_argument(
        "-v", "--verbose", action="store_true", help="list every check even in a red run"
    )
    check.set_defaults(handler=run_check_command)

    listing = subparsers.add_parser(
        "list", help="list every check: ID, level, requirements, what it does"
    )
    listing.add_argument("--select", action="append", metavar="ID", help="only matching checks")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(handler=run_list_command)


# -- selection ---------------------------------------------------------------------------------


def _matches(check: Check, pattern: str) -> bool:
    if _REQUIREMENT_ID.match(pattern):
        return pattern in check.requirements
    if "." not in pattern and not any(ch in pattern for ch in "*?["):
        return check.family == pattern
    return fnmatch.fnmatchcase(check.id, pattern)


def select_checks(
    checks: Sequence[Check], select: Sequence[str], exclude: Sequence[str]
) -> tuple[list[Check], list[Check]]:
    """The checks to run and those excluded; a pattern matching nothing is a usage error."""
    for option, patterns in (("--select", select), ("--exclude", exclude)):
        for pattern in patterns:
            if not any(_matches(c, pattern) for c in checks):
                raise UsageError(
                    f"{option} {pattern!r} matches no check (see `ssegate list`; patterns are "
                    "check IDs, globs such as 'heartbeat.*', families such as 'heartbeat', or "
                    "requirement IDs such as HB-2)"
                )
    chosen = [c for c in checks if not select or any(_matches(c, p) for p in select)]
    dropped = [c for c in chosen if any(_matches(c, p) for p in exclude)]
    skipped = [c for c in checks if c not in chosen] + dropped
    return [c for c in chosen if c not in dropped], [c for c in checks if c in skipped]


# -- settings ----------------------------------------------------------------------------------


def _url(value: str, what: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{what} {value!r} is not an http(s) URL with a host")
    try:
        _ = parts.port
    except ValueError as exc:
        raise UsageError(f"{what} {value!r} has an invalid port") from exc
    return value.rstrip("/")


def _number(value: Any, env: str, kind: type, what: str) -> Any:
    if value is not None:
        return value
    raw = _env(env)
    if raw is None:
        return None
    try:
        return kind(raw)
    except ValueError as exc:
        raise UsageError(f"{env}={raw!r} is not a valid {what}") from exc


def _options(args: argparse.Namespace) -> dict[str, Any]:
    reference = args.reference if args.reference is not None else _env_bool("SSEGATE_REFERENCE")
    serve = args.serve or (None if args.reference else _env("SSEGATE_SERVE"))
    if reference and serve:
        raise UsageError("--reference and --serve exclude each other")
    options = {
        "reference": bool(reference),
        "serve": serve,
        "base_url": args.base_url or _env("SSEGATE_BASE_URL"),
        "control_url": args.control_url or _env("SSEGATE_CONTROL_URL"),
        "control_secret": args.control_secret or _env("SSEGATE_CONTROL_SECRET"),
        "select": _split(args.select) or _env_list("SSEGATE_SELECT"),
        "exclude": _split(args.exclude) or _env_list("SSEGATE_EXCLUDE"),
        "strict": args.strict if args.strict is not None else _env_bool("SSEGATE_STRICT"),
        "contract": _contract(getattr(args, "contract", None) or _env("SSEGATE_CONTRACT")),
        "tolerance_ms": _number(args.tolerance_ms, "SSEGATE_TOLERANCE_MS", float, "number of ms"),
        "tolerance_ratio": _number(args.tolerance_ratio, "SSEGATE_TOLERANCE_RATIO", float, "ratio"),
        "report_json": args.report_json or _env("SSEGATE_REPORT_JSON"),
        "junit": args.junit or _env("SSEGATE_JUNIT"),
        "markdown": args.markdown or _env("SSEGATE_MARKDOWN"),
        "html": args.html or _env("SSEGATE_HTML"),
        "expected_failures": args.expected_failures or _env("SSEGATE_EXPECTED_FAILURES"),
        "load": _number(args.load, "SSEGATE_LOAD", int, "count"),
        "load_duration": _number(
            args.load_duration, "SSEGATE_LOAD_DURATION", float, "number of seconds"
        ),
        "jobs": _number(args.jobs, "SSEGATE_JOBS", int, "count"),
        "deadline_s": _number(args.deadline_s, "SSEGATE_DEADLINE_S", float, "number of seconds"),
        "interval_ms": _number(args.interval_ms, "SSEGATE_INTERVAL_MS", int, "number of ms"),
        "heartbeat_ms": _number(args.heartbeat_ms, "SSEGATE_HEARTBEAT_MS", int, "number of ms"),
        "timeout_ms": _number(args.timeout_ms, "SSEGATE_TIMEOUT_MS", int, "number of ms"),
    }
    if (options["reference"] or options["serve"]) and options["base_url"]:
        raise UsageError("give either BASE_URL or --reference/--serve, not both")
    if not (options["reference"] or options["serve"] or options["base_url"]):
        raise UsageError("give BASE_URL (or SSEGATE_BASE_URL), --reference or --serve CMD")
    if options["base_url"]:
        _url(options["base_url"], "BASE_URL")
    if options["control_url"]:
        _url(options["control_url"], "--control-url")
    if options["serve"] and "{secret}" not in options["serve"] and not options["control_secret"]:
        raise UsageError(
            "--serve: put {secret} in the command (the harness picks one) or give the server's "
            "secret with --control-secret"
        )
    if options["base_url"] and not options["control_secret"]:
        raise UsageError("--control-secret (or SSEGATE_CONTROL_SECRET) is required with BASE_URL")
    if options["jobs"] is not None and options["jobs"] < 0:
        raise UsageError("--jobs must be 0 (all at once) or more")
    if options["load"] is not None and options["load"] < 1:
        raise UsageError("--load must be at least 1 stream")
    if options["load_duration"] is not None and options["load_duration"] <= 0:
        raise UsageError("--load-duration must be positive")
    if options["load_duration"] is not None and options["load"] is None:
        raise UsageError("--load-duration needs --load N")
    if options["deadline_s"] is not None and options["deadline_s"] <= 0:
        raise UsageError("--deadline-s must be positive")
    for key in ("interval_ms", "heartbeat_ms", "timeout_ms"):
        if options[key] is not None and options[key] <= 0:
            raise UsageError(f"--{key.replace('_', '-')} must be a positive number of ms")
    return options


def _contract(value: str | None) -> tuple[str, int] | None:
    """--contract NAME@MAJOR: a contract version the catalog knows (contract review, issue 5)."""
    if value is None:
        return None
    try:
        name, major = parse_contract_ref(value)
        get_contract(name, major)
    except (ContractRefError, UnknownContractError) as exc:
        raise UsageError(f"--contract: {exc}") from exc
    return name, major


def _split(values: Sequence[str] | None) -> list[str]:
    return [part for value in values or () for part in re.split(r"[,\s]+", value) if part]


def _tolerance(options: dict[str, Any]) -> Tolerance:
    floor = options["tolerance_ms"] if options["tolerance_ms"] is not None else 250.0
    ratio = options["tolerance_ratio"] if options["tolerance_ratio"] is not None else 0.25
    try:
        return Tolerance(floor, ratio)
    except ValueError as exc:
        raise UsageError(f"tolerance: {exc}") from exc


def _settings(
    options: dict[str, Any], base_url: str, control_url: str | None, secret: str
) -> Settings:
    base = _url(base_url, "BASE_URL")
    control = _url(control_url, "--control-url") if control_url else base + "/__ssegate"
    return Settings(
        base_url=base,
        control_url=control,
        control_secret=secret,
        tolerance=_tolerance(options),
        strict=bool(options["strict"]),
        jobs=options["jobs"] or 0,
        contract_override=options.get("contract"),
    )


# -- running -----------------------------------------------------------------------------------


def _errors_only(checks: Sequence[Check], message: str) -> list[CheckResult]:
    return [CheckResult(c, Verdict.ERROR, reason=message) for c in checks]


class _Stderr:
    """Plain lines on stderr: error messages must not be re-wrapped or styled."""

    def print(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)


def run_check_command(args: argparse.Namespace) -> int:
    err = _Stderr()
    try:
        options = _options(args)
        universe = all_checks()
        if options["load"] is not None:
            universe += load_checks(LoadSettings(options["load"], options["load_duration"]))
            # A load run judges the load checks alone unless --select adds others: the regular
            # suite's timing windows are not meant for a server (and harness) under load.
            options["select"] = options["select"] or ["load.*"]
        elif any(p.startswith("load") for p in options["select"]):
            raise UsageError("the load.* checks run only in load mode: add --load N")
        chosen, excluded = select_checks(universe, options["select"], options["exclude"])
        _tolerance(options)
        report_path = Path(options["report_json"]) if options["report_json"] else None
        if report_path is not None and not report_path.parent.is_dir():
            raise UsageError(f"--report-json: folder {str(report_path.parent)!r} does not exist")
        renderings = _renderings(options)
        baseline = None
        if options["expected_failures"]:
            # Load check IDs are always known: one baseline serves runs with and without --load.
            known = {c.id for c in universe} | set(LOAD_CHECK_IDS)
            baseline = load_baseline(Path(options["expected_failures"]), known)
    except (UsageError, BaselineError) as exc:
        err.print(f"ssegate check: error: {exc}")
        return EXIT_USAGE
    server: ServerProcess | None = None
    try:
        if options["reference"] or options["serve"]:
            server = ServerProcess.prepare(
                template=options["serve"],
                secret=options["control_secret"],
                interval_ms=options["interval_ms"] or REFERENCE_INTERVAL_MS,
                heartbeat_ms=options["heartbeat_ms"] or REFERENCE_HEARTBEAT_MS,
                timeout_ms=options["timeout_ms"] or REFERENCE_TIMEOUT_MS,
            )
            settings = _settings(options, server.base_url, options["control_url"], server.secret)
            err.print(
                f"starting {'the reference server' if options['reference'] else options['serve']} "
                f"on {server.base_url} ..."
            )
            server.start()
        else:
            settings = _settings(
                options, options["base_url"], options["control_url"], options["control_secret"]
            )
        outcome = asyncio.run(
            run_checks(settings, chosen, excluded=excluded, deadline_s=options["deadline_s"])
        )
    except UsageError as exc:
        err.print(f"ssegate check: error: {exc}")
        return EXIT_USAGE
    except ValueError as exc:  # a malformed --serve template
        err.print(f"ssegate check: error: {exc}")
        return EXIT_USAGE
    except ConfigurationError as exc:
        err.print(f"ssegate check: configuration error: {exc}")
        return EXIT_USAGE
    except SetupError as exc:
        err.print(f"ssegate check: setup failed: {exc}")
        return EXIT_SETUP
    except KeyboardInterrupt:
        err.print("ssegate check: interrupted")
        return EXIT_SETUP
    finally:
        if server is not None:
            server.stop()
    return _finish(
        outcome, report_path, verbose=args.verbose, baseline=baseline, renderings=renderings
    )


def _renderings(options: dict[str, Any]) -> dict[str, Path]:
    """--junit/--markdown/--html: format -> path, each in an existing folder."""
    out = {}
    for fmt in ("junit", "markdown", "html"):
        if options[fmt]:
            path = Path(options[fmt])
            if not path.parent.is_dir():
                raise UsageError(f"--{fmt}: folder {str(path.parent)!r} does not exist")
            out[fmt] = path
    return out


def _finish(
    outcome: RunOutcome,
    report_path: Path | None,
    *,
    verbose: bool,
    baseline: Baseline | None = None,
    renderings: dict[str, Path] | None = None,
) -> int:
    try:
        document = build_report(outcome)
        if baseline is not None:
            apply_baseline(document, baseline)
    except Exception as exc:
        Console(stderr=True).print(
            f"ssegate check: harness fault while building the report: {exc!r}"
        )
        return EXIT_HARNESS
    console = Console(highlight=False)
    if not console.is_terminal:
        # CI logs: rich would assume 80 columns and cut every check line short.
        console = Console(highlight=False, width=140)
    render(document, console, verbose=verbose)
    if report_path is not None:
        try:
            report_path.write_text(
                json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        except OSError as exc:
            Console(stderr=True).print(f"ssegate check: cannot write {report_path}: {exc}")
            return EXIT_USAGE
    for fmt, path in (renderings or {}).items():
        try:
            write_rendering(fmt, document, path)
        except OSError as exc:
            print(f"ssegate check: cannot write {path}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    stale = (document["summary"].get("baseline") or {}).get("stale")
    if stale:
        print(
            f"ssegate check: stale baseline: {', '.join(stale)} now pass(es); remove them from "
            f"{baseline.source if baseline else 'the expected-failures file'}",
            file=sys.stderr,
        )
    code: int = document["summary"]["exitCode"]
    return code


def run_list_command(args: argparse.Namespace) -> int:
    try:
        return _list(args)
    except BrokenPipeError:
        # `ssegate list | head`: the reader left; not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _list(args: argparse.Namespace) -> int:
    try:
        chosen, _ = select_checks(all_checks(), _split(args.select), [])
    except UsageError as exc:
        print(f"ssegate list: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        rows = [
            {
                "id": c.id,
                "level": c.level.value,
                "requirements": list(c.requirements),
                "feature": c.feature,
                "title": c.title,
                "expects": c.expects,
            }
            for c in chosen
        ]
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(c.id) for c in chosen)
    for c in chosen:
        feature = f" (feature {c.feature})" if c.feature else ""
        print(
            f"{c.id:<{width}}  {c.level.value:<6}  {','.join(c.requirements):<28}  "
            f"{c.title}{feature}"
        )
    return 0
