"""The contract catalog: ``contracts/catalog.json`` and the schemas it names (VER-4, VER-5).

Every contract is JSON Schema 2020-12 with ``$id`` ``https://ssegate.dev/contracts/NAME/vMAJOR.json``.
All of them are loaded into one ``referencing`` registry, so a ``$ref`` between contracts
resolves offline, from the files, never from the network.

``format`` stays an annotation (no format checker): 2020-12 says so by default, and the
contracts state every format that matters with a ``pattern`` instead, so every validator in every
language agrees.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from jsonschema_specifications import REGISTRY as SPECIFICATIONS  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conformance import _resources

__all__ = [
    "Catalog",
    "CatalogError",
    "Contract",
    "ContractError",
    "ContractRefError",
    "UnknownContractError",
    "get_contract",
    "load_catalog",
    "parse_contract_ref",
]

ID_PREFIX = "https://ssegate.dev/contracts/"
_REF_RE = re.compile(r"^(?P<name>[a-z][a-z0-9.-]*)@(?P<major>[1-9][0-9]*)$")


class UnknownContractError(LookupError):
    """The catalog has no contract of that name and major version."""


class CatalogError(RuntimeError):
    """catalog.json or a contract it names cannot be read or is not shaped as documented."""


class ContractRefError(ValueError):
    """A contract reference is not of the form ``NAME@MAJOR``."""


@dataclass(frozen=True, slots=True)
class ContractError:
    """One way an instance fails a contract.

    ``pointer`` is the JSON pointer (RFC 6901) of the failing value in the instance ("" is the
    root), ``rule`` the JSON Schema keyword that failed (``required``, ``type``, ...).
    """

    pointer: str
    message: str
    rule: str


def parse_contract_ref(ref: str) -> tuple[str, int]:
    """Split ``NAME@MAJOR`` (``billing.invoice-send-progress@1``) into name and major."""
    match = _REF_RE.match(ref)
    if match is None:
        raise ContractRefError(
            f"{ref!r} is not a contract reference NAME@MAJOR (e.g. billing.invoice-send-progress@1)"
        )
    return match["name"], int(match["major"])


def json_pointer(parts: Iterable[str | int]) -> str:
    """RFC 6901 pointer of a path: ``~`` becomes ``~0`` and ``/`` becomes ``~1``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(frozen=True, eq=False)
class Contract:
    """One version of one contract."""

    name: str
    major: int
    path: Path
    schema: Mapping[str, Any]
    _validator: Draft202012Validator = field(repr=False, compare=False)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.major}"

    @property
    def id(self) -> str:
        return str(self.schema["$id"])

    def validate(self, instance: object) -> list[ContractError]:
        """Every way ``instance`` fails this contract, ordered by pointer; [] when valid."""
        errors = [
            ContractError(json_pointer(e.absolute_path), _message(e), str(e.validator))
            for e in _leaf_errors(self._validator.iter_errors(instance))
        ]
        return sorted(set(errors), key=lambda e: (e.pointer, e.rule, e.message))


_MAX_SHOWN = 80


def _message(error: ValidationError) -> str:
    """jsonschema's message, with a long instance shortened (it is quoted whole, e.g. for type)."""
    shown = repr(error.instance)
    if len(shown) <= _MAX_SHOWN:
        return str(error.message)
    return str(error.message).replace(shown, shown[: _MAX_SHOWN - 5] + "...", 1)


def _leaf_errors(
    errors: Iterator[ValidationError] | list[ValidationError],
) -> Iterator[ValidationError]:
    """Replace an ``anyOf``/``oneOf`` failure by the errors of the one branch that fits the type.

    ``progress`` is ``anyOf: [progress object, null]``; for a progress object with a negative
    count, "is not valid under any of the given schemas" hides the real fault. When exactly one
    branch failed for another reason than the value's type, its errors are the useful ones.
    """
    for error in errors:
        if error.validator in ("anyOf", "oneOf") and error.context:
            branches: dict[Any, list[ValidationError]] = {}
            for sub in error.context:
                branches.setdefault(sub.schema_path[0], []).append(sub)
            plausible = [
                subs
                for subs in branches.values()
                if not any(s.validator == "type" and not s.relative_path for s in subs)
            ]
            if len(plausible) == 1:
                yield from _leaf_errors(plausible[0])
                continue
        yield error


@dataclass(frozen=True, eq=False)
class Catalog:
    """``contracts/catalog.json``: contract files by name and major, contract names by event."""

    root: Path
    files: Mapping[str, Mapping[int, str]]
    events: Mapping[str, str]
    registry: Registry[Any] = field(repr=False)
    _built: dict[tuple[str, int], Contract] = field(default_factory=dict, repr=False)

    def names(self) -> list[str]:
        return sorted(self.files)

    def get(self, name: str, major: int) -> Contract:
        relative = self.files.get(name, {}).get(major)
        if relative is None:
            known = ", ".join(f"{n}@{m}" for n in self.names() for m in sorted(self.files[n]))
            raise UnknownContractError(f"unknown contract {name}@{major}; known: {known}")
        contract = self._built.get((name, major))
        if contract is None:
            path = self.root / relative
            schema = _read_json(path)
            validator = Draft202012Validator(schema, registry=self.registry)
            contract = Contract(name, major, path, schema, validator)
            self._built[(name, major)] = contract
        return contract

    def latest(self, name: str) -> Contract:
        """The highest major version of ``name`` in the catalog (a draft major included)."""
        if name not in self.files:
            raise UnknownContractError(f"unknown contract {name}")
        return self.get(name, max(self.files[name]))

    def for_event(self, event_name: str) -> str | None:
        """The contract name of an SSE event name, or None when the catalog does not map it."""
        return self.events.get(event_name)


def _read_json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return data


def _build_catalog(root: Path) -> Catalog:
    try:
        return _parse_catalog(root)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        # A broken installation, not bad user input: say where, never a bare traceback.
        raise CatalogError(f"the contract catalog in {root} is unusable: {exc!r}") from exc


def _parse_catalog(root: Path) -> Catalog:
    raw = _read_json(root / "catalog.json")
    files = {
        name: {int(major): relative for major, relative in versions.items()}
        for name, versions in raw["contracts"].items()
    }
    resources = []
    for versions in files.values():
        for relative in versions.values():
            schema = _read_json(root / relative)
            resources.append((schema["$id"], Resource.from_contents(schema, DRAFT202012)))
    # On top of the JSON Schema meta-schemas, so a $ref to the 2020-12 dialect resolves offline too.
    registry: Registry[Any] = SPECIFICATIONS.with_resources(resources)
    return Catalog(root=root, files=files, events=dict(raw["events"]), registry=registry)


@functools.cache
def load_catalog(root: Path | None = None) -> Catalog:
    """The catalog of ``root`` (default: the contracts folder of this installation)."""
    return _build_catalog(root if root is not None else _resources.contracts_dir())


def get_contract(name: str, major: int) -> Contract:
    """Contract ``name@major`` from the default catalog; UnknownContractError when absent."""
    return load_catalog().get(name, major)
