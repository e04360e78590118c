"""The ``ssegate`` command line: one sub-command family per module.

Each command module exposes ``register(subparsers)``, which adds its sub-parser and sets the
``handler`` default to a function ``(argparse.Namespace) -> int`` returning the exit code.
Exit codes are a documented contract (README, "Exit codes");
argparse itself exits 2 on usage errors.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules that contribute sub-commands, in the order they appear in ``ssegate --help``.
_COMMAND_MODULES: tuple[str, ...] = (
    "conformance.check_command",
    "conformance.contracts.cli",
    "conformance.report_command",
)

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ssegate",
        description="Conformance gate for snapshot streams over Server-Sent Events.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    code: int = handler(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
