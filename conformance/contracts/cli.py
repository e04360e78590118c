"""``ssegate contracts``: the family of contract sub-commands.

Each module in ``_SUBCOMMAND_MODULES`` exposes ``register(subparsers)`` that adds one
sub-command to the ``contracts`` sub-parser and sets ``handler`` (same protocol as
conformance/cli.py). A new sub-command is one new module and one line here.
Exit codes of the family: 0 ok, 1 invalid or incompatible, 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

_SUBCOMMAND_MODULES: tuple[str, ...] = (
    "conformance.contracts.validate",
    "conformance.contracts.diff_command",
)

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "contracts",
        help="validate payloads against contracts and review contract changes",
        description="Work with the JSON Schema contracts in contracts/ (spec/15-versioning.md).",
    )
    children = parser.add_subparsers(dest="contracts_command", metavar="SUBCOMMAND")
    for module_name in _SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(children)

    def missing_subcommand(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    parser.set_defaults(handler=missing_subcommand)
