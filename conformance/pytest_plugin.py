"""The pytest plugin: the conformance checks as items of the test suite a team already runs.

Registered through the ``pytest11`` entry point, so pytest loads it wherever ssegate is
installed; it does nothing at all unless one of its target options is given::

    pytest --ssegate-url URL --ssegate-control-secret S [--ssegate-control-url URL]
    pytest --ssegate-serve "myserver --port {port} --control-secret {secret}"
    pytest --ssegate-reference

Each selected check becomes one item ``ssegate::<check ID>`` (so ``-k heartbeat`` and
``--deselect ssegate::end.no-overrun`` work). All checks run once, concurrently as ``ssegate
check`` runs them, when the first item is set up, over exactly the items left after selection (a
narrowed run is labelled partial, as everywhere). Outcomes (docs/ci.md, "pytest"):

- PASS, INFO: passed; WARN: passed, or failed under ``--ssegate-strict``;
- FAIL: failed, with expected, actual, the requirement text and a transcript as the message;
- N/A: skipped with the reason;
- ERROR, HARNESS-ERROR (setup failed, server unreachable, harness fault): an error in setup;
- a check listed in ``--ssegate-expected-failures`` that fails: xfailed; one that passes: failed
  ("stale baseline").

Imports of the harness are deferred so that pytest runs that do not use the plugin (the
project's own test suite among them) pay nothing for it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conformance.baseline import Baseline
    from conformance.model import Check

__all__ = ["SsegateItem", "SsegatePlugin"]

PLUGIN_NAME = "ssegate-gate"
COLLECTOR_NAME = "ssegate"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ssegate", "ssegate conformance gate (docs/ci.md)")
    group.addoption("--ssegate-url", metavar="URL", help="check the server at this base URL")
    group.addoption(
        "--ssegate-control-url", metavar="URL", help="its control API (default URL/__ssegate)"
    )
    group.addoption("--ssegate-control-secret", metavar="S", help="the control API secret")
    group.addoption(
        "--ssegate-serve",
        metavar="CMD",
        help="start CMD (with {port}, optionally {secret}, {workdir}) and check it",
    )
    group.addoption(
        "--ssegate-reference",
        action="store_true",
        default=False,
        help="start the reference server (a separate process) and check it",
    )
    group.addoption(
        "--ssegate-select", action="append", default=[], metavar="ID", help="as ssegate --select"
    )
    group.addoption(
        "--ssegate-exclude", action="append", default=[], metavar="ID", help="as --exclude"
    )
    group.addoption(
        "--ssegate-expected-failures",
        metavar="FILE",
        help="baseline: listed failures are xfailed, listed passes fail as stale",
    )
    group.addoption(
        "--ssegate-strict", action="store_true", default=False, help="a WARN fails its item"
    )
    group.addoption("--ssegate-report-json", metavar="FILE", help="also write the JSON report here")


def pytest_configure(config: pytest.Config) -> None:
    opt = config.option
    targets = [bool(opt.ssegate_url), bool(opt.ssegate_serve), bool(opt.ssegate_reference)]
    if not any(targets):
        return  # not asked for: the plugin stays out of the way entirely
    if sum(targets) > 1:
        raise pytest.UsageError(
            "give one of --ssegate-url, --ssegate-serve and --ssegate-reference"
        )
    if opt.ssegate_url and not opt.ssegate_control_secret:
        raise pytest.UsageError("--ssegate-url needs --ssegate-control-secret")
    config.pluginmanager.register(SsegatePlugin(config), PLUGIN_NAME)


class SsegateFailure(Exception):
    """A check's verdict that fails its item; the message is the evidence."""


class SsegateError(Exception):
    """The check could not be judged (ERROR, HARNESS-ERROR): an error in the item's setup."""


class SsegatePlugin:
    """Collects the checks as items and runs them all once."""

    def __init__(self, config: pytest.Config) -> None:
        from conformance.baseline import BaselineError, load_baseline
        from conformance.check_command import UsageError, select_checks
        from conformance.checks import all_checks
        from conformance.load import LOAD_CHECK_IDS

        self.config = config
        opt = config.option
        self.universe = all_checks()
        try:
            self.chosen, _ = select_checks(
                self.universe, _split(opt.ssegate_select), _split(opt.ssegate_exclude)
            )
        except UsageError as exc:
            raise pytest.UsageError(f"ssegate: {exc}") from exc
        self.baseline: Baseline | None = None
        if opt.ssegate_expected_failures:
            try:
                known = {c.id for c in self.universe} | set(LOAD_CHECK_IDS)
                self.baseline = load_baseline(Path(opt.ssegate_expected_failures), known)
            except BaselineError as exc:
                raise pytest.UsageError(f"ssegate: {exc}") from exc
        self.report: dict[str, Any] | None = None
        self.failure: str | None = None  # why no check could run at all

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        # tryfirst: the items exist before -k/-m/--deselect filter the list.
        collector = SsegateCollector.from_parent(
            session, name=COLLECTOR_NAME, nodeid=COLLECTOR_NAME
        )
        for check in self.chosen:
            items.append(SsegateItem.from_parent(collector, name=check.id, check=check))

    def results(self, session: pytest.Session) -> Mapping[str, Any]:
        """The report (run on first use, over the ssegate items still selected)."""
        if self.report is None and self.failure is None:
            wanted = {item.name for item in session.items if isinstance(item, SsegateItem)}
            chosen = [c for c in self.chosen if c.id in wanted]
            excluded = [c for c in self.universe if c.id not in wanted]
            try:
                self.report = self._run(chosen, excluded)
            except Exception as exc:  # reported on every item, never a pytest internal error
                self.failure = f"{type(exc).__name__}: {exc}"
        if self.report is None:
            raise SsegateError(f"ssegate could not run: {self.failure}")
        return self.report

    def _run(self, chosen: list[Check], excluded: list[Check]) -> dict[str, Any]:
        from conformance.baseline import apply_baseline
        from conformance.check_command import (
            REFERENCE_HEARTBEAT_MS,
            REFERENCE_INTERVAL_MS,
            REFERENCE_TIMEOUT_MS,
        )
        from conformance.report.json_report import build_report
        from conformance.runner import run_checks
        from conformance.server_process import ServerProcess
        from conformance.session import Settings

        opt = self.config.option
        server = None
        try:
            if opt.ssegate_url:
                base = str(opt.ssegate_url).rstrip("/")
                control = opt.ssegate_control_url or base + "/__ssegate"
                secret = str(opt.ssegate_control_secret)
            else:
                server = ServerProcess.prepare(
                    template=opt.ssegate_serve,
                    secret=opt.ssegate_control_secret,
                    interval_ms=REFERENCE_INTERVAL_MS,
                    heartbeat_ms=REFERENCE_HEARTBEAT_MS,
                    timeout_ms=REFERENCE_TIMEOUT_MS,
                )
                server.start()
                base, secret = server.base_url, server.secret
                control = opt.ssegate_control_url or server.control_url
            settings = Settings(base, str(control).rstrip("/"), secret, strict=opt.ssegate_strict)
            outcome = asyncio.run(run_checks(settings, chosen, excluded=excluded))
        finally:
            if server is not None:
                server.stop()
        document = build_report(outcome)
        if self.baseline is not None:
            apply_baseline(document, self.baseline)
        if opt.ssegate_report_json:
            Path(opt.ssegate_report_json).write_text(
                json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        return document

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        from conformance.report.evidence import run_label

        if self.report is not None:
            summary = self.report["summary"]
            terminalreporter.write_line(
                f"ssegate: {run_label(self.report)} (exit code {summary['exitCode']} as "
                f"`ssegate check` would give; {self.report['server']['baseUrl']})"
            )
        elif self.failure is not None:
            terminalreporter.write_line(f"ssegate: could not run: {self.failure}")


def _split(values: list[str]) -> list[str]:
    return [part for value in values for part in value.replace(",", " ").split() if part]


class SsegateCollector(pytest.Collector):
    """The parent of the check items; its items are made by the plugin, not collected."""

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        return []


class SsegateItem(pytest.Item):
    """One conformance check."""

    def __init__(self, *, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.user_properties.append(("requirements", ",".join(check.requirements)))

    def _plugin(self) -> SsegatePlugin:
        plugin = self.config.pluginmanager.get_plugin(PLUGIN_NAME)
        assert isinstance(plugin, SsegatePlugin)
        return plugin

    def _entry(self) -> Mapping[str, Any]:
        report = self._plugin().results(self.session)
        for entry in report["checks"]:
            if entry["id"] == self.check.id:
                return entry  # type: ignore[no-any-return]
        raise SsegateError(f"{self.check.id} is missing from the report")

    def setup(self) -> None:
        entry = self._entry()
        if entry["verdict"] in ("ERROR", "HARNESS-ERROR"):
            from conformance.report.evidence import evidence_text

            raise SsegateError(evidence_text(self._plugin().results(self.session), entry))

    def runtest(self) -> None:
        from conformance.report.evidence import evidence_text

        report = self._plugin().results(self.session)
        entry = self._entry()
        verdict = entry["verdict"]
        self.user_properties.append(("verdict", verdict))
        baseline = entry.get("baseline") or {}
        if baseline.get("status") == "expected-failure":
            pytest.xfail(f"baselined {verdict}: {baseline['reason']}")
        if baseline.get("status") == "stale":
            raise SsegateFailure(
                f"stale baseline: {self.check.id} now {verdict}, but the expected-failures file "
                f"lists it ({baseline['reason']}); remove the entry"
            )
        if verdict == "N/A":
            pytest.skip(entry["reason"] or "not applicable")
        if verdict == "FAIL" or (verdict == "WARN" and report["settings"]["strict"]):
            raise SsegateFailure(evidence_text(report, entry))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, SsegateFailure | SsegateError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"ssegate {self.check.id} [{', '.join(self.check.requirements)}]"
