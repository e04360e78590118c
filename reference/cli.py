"""The ``ssegate-reference`` command line: one sub-command per module.

Each module in ``_COMMAND_MODULES`` exposes ``register(subparsers)``, which adds its sub-parser and
sets the ``handler`` default to a function ``(argparse.Namespace) -> int`` returning the exit code
(the same convention as the ``ssegate`` command). To add a sub-command, write such a module and add
its name to the tuple. Exit codes: 0 success, 1 failure, 2 usage (bad arguments).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

_COMMAND_MODULES: tuple[str, ...] = (
    "reference.serve_command",
    "reference.token_command",
    "reference.client.watch",
)

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ssegate-reference",
        description="The ssegate reference server (and its tools).",
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
