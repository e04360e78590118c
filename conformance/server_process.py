"""Starting a server under test as a separate process (``--reference``, ``--serve CMD``).

The harness never imports the server it checks (STYLE.md, "the one architectural rule"): the
reference server is started exactly like any other command, on a free loopback port, and judged
over HTTP. Readiness is the control API's ``describe`` answering 200. Stopping sends SIGTERM and,
if the process is still there after a grace period, SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from conformance.control import SECRET_HEADER
from conformance.errors import SetupError

__all__ = ["ServerProcess", "free_port", "reference_command"]

LOOPBACK = "127.0.0.1"
CONTROL_PREFIX = "/__ssegate"


def free_port() -> int:
    """A TCP port on the loopback interface that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def reference_command(
    port: int, secret: str, db: Path, *, interval_ms: int, heartbeat_ms: int, timeout_ms: int
) -> list[str]:
    """``python -m reference serve ...`` with short test timings (/tmp/interfaces.md)."""
    return [
        sys.executable,
        "-m",
        "reference",
        "serve",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--db",
        str(db),
        "--interval-ms",
        str(interval_ms),
        "--heartbeat-ms",
        str(heartbeat_ms),
        "--timeout-ms",
        str(timeout_ms),
        "--control-secret",
        secret,
    ]


def expand_template(template: str, *, port: int, secret: str, workdir: Path) -> list[str]:
    """Split ``--serve`` CMD like a shell and fill ``{port}``, ``{secret}`` and ``{workdir}``."""
    try:
        words = shlex.split(template)
    except ValueError as exc:
        raise ValueError(f"--serve command cannot be parsed: {exc}") from exc
    if not words:
        raise ValueError("--serve command is empty")
    if not any("{port}" in word for word in words):
        raise ValueError("--serve command must contain {port}, where the server is to listen")
    values = {"port": str(port), "secret": secret, "workdir": str(workdir)}
    out = []
    for word in words:
        for key, value in values.items():
            word = word.replace("{" + key + "}", value)
        out.append(word)
    return out


@dataclass
class ServerProcess:
    """A server process the harness started, and where to reach it."""

    argv: list[str]
    port: int
    secret: str
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    _tempdir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def control_url(self) -> str:
        return self.base_url + CONTROL_PREFIX

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    @classmethod
    def prepare(
        cls,
        *,
        template: str | None,
        secret: str | None,
        interval_ms: int,
        heartbeat_ms: int,
        timeout_ms: int,
    ) -> ServerProcess:
        """The reference server (``template`` None) or a ``--serve`` command, not yet started."""
        tempdir = tempfile.TemporaryDirectory(prefix="ssegate-check-")
        workdir = Path(tempdir.name)
        port = free_port()
        # Hex: a secret starting with "-" would read as an option to the server.
        secret = secret or secrets.token_hex(20)
        if template is None:
            argv = reference_command(
                port,
                secret,
                workdir / "reference.db",
                interval_ms=interval_ms,
                heartbeat_ms=heartbeat_ms,
                timeout_ms=timeout_ms,
            )
        else:
            try:
                argv = expand_template(template, port=port, secret=secret, workdir=workdir)
            except ValueError:
                tempdir.cleanup()
                raise
        return cls(argv, port, secret, workdir, None, tempdir)

    def start(self, *, ready_timeout_s: float = 30.0) -> None:
        """Start the process and wait until ``describe`` answers 200; SetupError otherwise."""
        log = self.log_path.open("wb")
        try:
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        except OSError as exc:
            raise SetupError(f"cannot start {shlex.join(self.argv[:3])} ...: {exc}") from exc
        finally:
            log.close()
        self._wait_ready(ready_timeout_s)

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        url = self.control_url + "/describe"
        last = "no answer"
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise SetupError(
                        f"the server exited with status {self.process.returncode} before it was "
                        f"ready; its output ends with:\n{self.log_tail()}"
                    )
                try:
                    response = client.get(url, headers={SECRET_HEADER: self.secret})
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                else:
                    if response.status_code == 200:
                        return
                    last = f"status {response.status_code}"
                time.sleep(0.05)
        raise SetupError(
            f"the server was not ready within {timeout_s:.0f} s ({url}: {last}); its output ends "
            f"with:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no output)"
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"

    def stop(self, *, grace_s: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL after ``grace_s``; returns the exit status."""
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(grace_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(grace_s)
        if self._tempdir is not None:
            with contextlib.suppress(OSError):
                self._tempdir.cleanup()
            self._tempdir = None
        return process.returncode if process is not None else None

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def describe_command(argv: Sequence[str]) -> str:
    return shlex.join(argv)
