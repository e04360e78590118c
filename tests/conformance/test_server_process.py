"""Starting a server under test as a separate process: command templates, ports, stopping."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conformance.errors import SetupError
from conformance.server_process import ServerProcess, expand_template, free_port, reference_command


def test_templates_fill_port_secret_and_workdir() -> None:
    argv = expand_template(
        "srv --port {port} --secret={secret} --db '{workdir}/x.db'",
        port=8123,
        secret="abc",
        workdir=Path("/tmp/w"),
    )
    assert argv == ["srv", "--port", "8123", "--secret=abc", "--db", "/tmp/w/x.db"]


@pytest.mark.parametrize(
    ("template", "message"), [("", "empty"), ("srv --port 1", "{port}"), ("srv '{port}", "parsed")]
)
def test_bad_templates_are_refused(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        expand_template(template, port=1, secret="s", workdir=Path("/tmp"))


def test_the_reference_command_never_imports_the_reference() -> None:
    argv = reference_command(
        8000, "s", Path("/tmp/db"), interval_ms=200, heartbeat_ms=1000, timeout_ms=3000
    )
    assert argv[:4] == [sys.executable, "-m", "reference", "serve"]
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert argv[argv.index("--timeout-ms") + 1] == "3000"


def test_free_ports_are_loopback_ports() -> None:
    assert 0 < free_port() < 65536


def test_a_generated_secret_never_reads_as_an_option() -> None:
    for _ in range(20):
        server = ServerProcess.prepare(
            template=None, secret=None, interval_ms=1, heartbeat_ms=2, timeout_ms=3
        )
        try:
            assert not server.secret.startswith("-")
            assert server.base_url == f"http://127.0.0.1:{server.port}"
            assert server.control_url.endswith("/__ssegate")
        finally:
            server.stop()


def test_a_process_that_never_gets_ready_is_stopped_and_reported() -> None:
    template = (
        f"{sys.executable} -c \"import time; print('waiting'); time.sleep(60)\" {{port}} {{secret}}"
    )
    server = ServerProcess.prepare(
        template=template, secret=None, interval_ms=1, heartbeat_ms=2, timeout_ms=3
    )
    try:
        with pytest.raises(SetupError, match="not ready within 1 s"):
            server.start(ready_timeout_s=1.0)
    finally:
        code = server.stop(grace_s=2.0)
    assert code is not None  # terminated, not left behind
