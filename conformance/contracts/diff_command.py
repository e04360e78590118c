"""``ssegate contracts diff`` and ``ssegate contracts check`` (VER-5, VER-6).

``diff OLD NEW`` compares two JSON Schema 2020-12 files; ``check --against GIT_REF`` reviews every
contract file against the same file at a git ref and checks the major versions moved in step.
Exit codes: 0 compatible under the mode (check: every change within the version policy),
1 incompatible or not proven compatible, 2 usage error (bad arguments, unreadable or invalid
schema, unresolvable ``$ref``, unknown git ref). Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from conformance import _resources
from conformance.contracts.catalog import (
    ContractRefError,
    UnknownContractError,
    load_catalog,
    parse_contract_ref,
)
from conformance.contracts.diff.engine import compare_schemas
from conformance.contracts.diff.model import Mode, Policy
from conformance.contracts.diff.render import FORMATS, Review, render
from conformance.contracts.diff.resolve import SchemaLoadError, load_file
from conformance.contracts.diff.review import GitError, passed, review_against

EXIT_OK = 0
EXIT_INCOMPATIBLE = 1
EXIT_USAGE = 2


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mode",
        choices=[m.value for m in Mode],
        default=Mode.FULL.value,
        help="directions that must hold: backward (clients deploy first), forward (server "
        "deploys first) or full (both; default, as VER-5 requires)",
    )
    parser.add_argument(
        "--policy",
        choices=[p.value for p in Policy],
        default=Policy.STRICT.value,
        help="open content models: strict (default) assumes an open object may carry any "
        "undeclared member; lenient assumes producers never send undeclared members",
    )
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format")


def register(subparsers: Any) -> None:
    diff = subparsers.add_parser(
        "diff",
        help="compare two contract versions and say what the change breaks",
        description="Compare two JSON Schema 2020-12 documents. Exit 0: compatible under "
        "--mode; 1: incompatible or not proven compatible; 2: usage error or unresolvable $ref.",
    )
    diff.add_argument(
        "old", metavar="OLD", help="the current schema: a file, or NAME@MAJOR from the catalog"
    )
    diff.add_argument(
        "new", metavar="NEW", help="the proposed schema: a file, or NAME@MAJOR from the catalog"
    )
    _common(diff)
    diff.set_defaults(handler=run_diff)

    check = subparsers.add_parser(
        "check",
        help="review every contract against a git ref and check major versions (VER-5, VER-6)",
        description="Compare every contracts/NAME/vMAJOR.json with the same file at GIT_REF "
        "(new and deleted files included) and check that the major version moved in step with "
        "the worst finding. Exit 0: within the version policy; 1: a breaking change without a "
        "new major version (or another breaking finding); 2: usage error.",
    )
    check.add_argument("--against", required=True, metavar="GIT_REF", help="e.g. origin/main")
    check.add_argument(
        "--contracts-dir",
        type=Path,
        default=None,
        help="the contracts folder (default: the one of this checkout)",
    )
    _common(check)
    check.set_defaults(handler=run_check)


def _fail(message: str) -> int:
    print(f"ssegate contracts: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _schema_path(argument: str) -> Path:
    """A file path, or ``NAME@MAJOR`` looked up in the catalog when no such file exists."""
    path = Path(argument)
    if path.exists() or "@" not in argument:
        return path
    try:
        name, major = parse_contract_ref(argument)
        return load_catalog().get(name, major).path
    except (ContractRefError, UnknownContractError) as exc:
        raise SchemaLoadError(f"{argument}: no such file, and {exc}") from exc


def _display(path: Path) -> str:
    """The path as given, or relative to the working folder for a catalog lookup (GitHub
    annotations need a path in the repository)."""
    if not path.is_absolute():
        return str(path)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def run_diff(args: argparse.Namespace) -> int:
    mode, policy = Mode(args.mode), Policy(args.policy)
    try:
        old_path, new_path = _schema_path(args.old), _schema_path(args.new)
        old = load_file(old_path)
        new = load_file(new_path)
        result = compare_schemas(old, new, policy)
    except SchemaLoadError as exc:
        return _fail(str(exc))
    except RecursionError:
        return _fail("the schemas nest too deeply to compare")
    ok = result.compatible(mode)
    review = Review(
        path=_display(new_path), status="new", diff=result, compared_with=_display(old_path)
    )
    sys.stdout.write(render([review], args.format, mode, policy, ok))
    return EXIT_OK if ok else EXIT_INCOMPATIBLE


def run_check(args: argparse.Namespace) -> int:
    mode, policy = Mode(args.mode), Policy(args.policy)
    contracts: Path = args.contracts_dir or _resources.contracts_dir()
    if not contracts.is_dir():
        return _fail(f"{contracts}: no such folder")
    try:
        reviews = review_against(contracts, args.against, mode, policy)
    except GitError as exc:
        return _fail(f"git: {exc}")
    except SchemaLoadError as exc:
        return _fail(str(exc))
    except RecursionError:
        return _fail("a schema nests too deeply to compare")
    ok = passed(reviews, mode)
    sys.stdout.write(render(reviews, args.format, mode, policy, ok))
    return EXIT_OK if ok else EXIT_INCOMPATIBLE
