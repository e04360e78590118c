"""`ssegate contracts validate FILE... [--contract NAME@MAJOR]`.

Validates payloads against one contract and, for `billing.invoice-send-progress`, against the
cross-field rules BIL-11 to BIL-15. A FILE holds one JSON document or NDJSON (one document per
line); `-` reads standard input. Output: one line per finding,
`FILE:LINE: POINTER: message [rule]` (rule: the JSON Schema keyword, a requirement ID, or
`json`/`utf-8` for input that is not a JSON document), then a summary.

Exit codes: 0 every document valid; 1 any finding, including lines that are not JSON and files
without any document; 2 usage error (unknown contract, bad NAME@MAJOR, unreadable file).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.contracts import catalog, rules
from conformance.contracts.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE

DEFAULT_CONTRACT = "billing.invoice-send-progress@1"
# Contracts with cross-field rules beyond JSON Schema, by contract name.
_CROSS_FIELD: dict[str, Callable[[object], list[rules.RuleViolation]]] = {
    "billing.invoice-send-progress": rules.check_cross_field,
}
_PROG = "ssegate contracts validate"


class UsageError(Exception):
    """Bad arguments or an unreadable input: exit 2."""


@dataclass(frozen=True, slots=True)
class Finding:
    line: int
    pointer: str
    message: str
    rule: str

    def format(self, source: str) -> str:
        return f"{source}:{self.line}: {self.pointer or '(root)'}: {self.message} [{self.rule}]"


@dataclass(frozen=True, slots=True)
class Document:
    """One parsed document, or the reason it is not one (``error`` set, ``value`` None)."""

    line: int
    value: Any = None
    error: Finding | None = None


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "validate",
        help="validate JSON or NDJSON payloads against a contract",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="JSON or NDJSON file, - for stdin")
    parser.add_argument(
        "--contract",
        default=DEFAULT_CONTRACT,
        metavar="NAME@MAJOR",
        help=f"contract to validate against (default: {DEFAULT_CONTRACT})",
    )
    parser.add_argument(
        "--format",
        choices=("auto", "json", "ndjson"),
        default="auto",
        help="auto (default): one JSON document if the whole input parses, else NDJSON",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        name, major = catalog.parse_contract_ref(args.contract)
        contract = catalog.get_contract(name, major)
        inputs = [(_display(f), _read(f)) for f in args.files]
    except (
        catalog.ContractRefError,
        catalog.UnknownContractError,
        catalog.CatalogError,
        UsageError,
    ) as exc:
        message = exc.args[0] if exc.args else str(exc)
        print(f"{_PROG}: error: {message}", file=sys.stderr)
        return EXIT_USAGE

    cross_field = _CROSS_FIELD.get(contract.name)
    documents = invalid = findings = 0
    for source, data in inputs:
        parsed = _split(data, args.format)
        if not parsed:
            print(f"{source}:1: (root): no JSON document in the input [json]")
            invalid += 1
            findings += 1
            continue
        for doc in parsed:
            documents += 1
            found = [doc.error] if doc.error else _judge(doc, contract, cross_field)
            for finding in found:
                print(finding.format(source))
            findings += len(found)
            invalid += bool(found)
    verdict = "all valid" if invalid == 0 else f"{invalid} invalid"
    print(
        f"{documents} document(s) in {len(inputs)} file(s) against {contract.ref}: "
        f"{verdict}, {findings} finding(s)"
    )
    return EXIT_OK if invalid == 0 else EXIT_INVALID


def _judge(
    doc: Document,
    contract: catalog.Contract,
    cross_field: Callable[[object], list[rules.RuleViolation]] | None,
) -> list[Finding]:
    found = [Finding(doc.line, e.pointer, e.message, e.rule) for e in contract.validate(doc.value)]
    if cross_field is not None:
        found += [
            Finding(doc.line, v.pointer, v.message, v.requirement) for v in cross_field(doc.value)
        ]
    return found


def _display(path: str) -> str:
    return "<stdin>" if path == "-" else path


def _read(path: str) -> bytes:
    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is not None:
            data: bytes = stream.read()
            return data
        return sys.stdin.read().encode("utf-8")
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _reject_constant(name: str) -> object:
    # Python's json accepts NaN and Infinity; RFC 8259 JSON does not.
    raise ValueError(f"{name} is not a JSON value")


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_reject_constant)


def _split(data: bytes, mode: str) -> list[Document]:
    """The documents of one input, each with the line it starts on.

    ``auto``: the whole input if it parses as one JSON document; otherwise NDJSON, unless the
    first non-blank line does not parse on its own, which means a multi-line document with a
    syntax error rather than NDJSON (reported once, at the error's line).
    """
    if mode in ("auto", "json"):
        whole = _parse_whole(data)
        if mode == "json" or whole.error is None:
            return [] if whole.error is None and whole.value is _EMPTY else [whole]
        lines = _ndjson(data)
        if lines and lines[0].error is not None:
            return [whole]
        return lines
    return _ndjson(data)


_EMPTY = object()


def _parse_whole(data: bytes) -> Document:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return Document(line, error=Finding(line, "", "input is not UTF-8", "utf-8"))
    start = _first_content_line(text)
    if start == 0:
        return Document(1, value=_EMPTY)
    try:
        return Document(start, value=_loads(text))
    except json.JSONDecodeError as exc:
        message = f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        return Document(start, error=Finding(exc.lineno, "", message, "json"))
    except ValueError as exc:
        return Document(start, error=Finding(start, "", f"not JSON: {exc}", "json"))


def _first_content_line(text: str) -> int:
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            return number
    return 0


def _ndjson(data: bytes) -> list[Document]:
    docs: list[Document] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            docs.append(Document(number, error=Finding(number, "", "line is not UTF-8", "utf-8")))
            continue
        if not line.strip():
            continue  # blank lines (and the final newline) separate nothing in NDJSON
        try:
            docs.append(Document(number, value=_loads(line)))
        except json.JSONDecodeError as exc:
            message = f"not JSON: {exc.msg} at column {exc.colno}"
            docs.append(Document(number, error=Finding(number, "", message, "json")))
        except ValueError as exc:
            docs.append(Document(number, error=Finding(number, "", f"not JSON: {exc}", "json")))
    return docs
