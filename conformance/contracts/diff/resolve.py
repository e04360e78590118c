"""Loading the two schemas of a diff, with every ``$ref`` resolvable offline (rule 47).

A schema is loaded together with the JSON documents next to it (the same folder) and, when that
folder sits in a contracts tree (a parent holding ``catalog.json``), every ``*/v*.json`` of
the tree, so ``{"$ref": "v1.json#/$defs/progress"}`` or ``"../sse.error/v1.json"`` resolve from
the files, never from the network. Each document is registered under its retrieval URI and
under its ``$id``.

Anything that stops a faithful comparison (a missing file, invalid JSON, a document that is
not a 2020-12 schema, a ``$ref`` nothing answers) raises :class:`SchemaLoadError`, which the
command line reports as a usage error (exit 2) with the file and pointer, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing import Registry, Resource
from referencing._core import Resolver
from referencing.exceptions import (
    CannotDetermineSpecification,
    NoSuchResource,
    Unresolvable,
    Unretrievable,
)
from referencing.jsonschema import DRAFT202012

__all__ = [
    "LoadedSchema",
    "SchemaLoadError",
    "inline_refs",
    "load_documents",
    "load_file",
    "lookup",
]


class SchemaLoadError(Exception):
    """A schema of the diff cannot be read or one of its references cannot be resolved."""


@dataclass(frozen=True, slots=True)
class LoadedSchema:
    """A root schema and a resolver positioned at its base URI."""

    label: str
    schema: Any
    resolver: Resolver[Any]


def _parse(text: str, label: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaLoadError(f"{label}: not JSON ({exc.msg} at line {exc.lineno})") from exc


def _check_schema(document: Any, label: str) -> None:
    if not isinstance(document, dict | bool):
        raise SchemaLoadError(f"{label}: a JSON Schema is an object or a boolean")
    try:
        Draft202012Validator.check_schema(document)
    except SchemaError as exc:
        where = "/" + "/".join(str(p) for p in exc.path) if exc.path else "the root"
        raise SchemaLoadError(
            f"{label}: not a valid 2020-12 schema at {where}: {exc.message}"
        ) from exc


def load_documents(
    main_uri: str, documents: Mapping[str, Any], label: str | None = None
) -> LoadedSchema:
    """Build a loaded schema from already-parsed documents keyed by retrieval URI.

    ``documents[main_uri]`` is the schema to compare; the others are only there to answer
    references. A neighbour that is not a schema is skipped (it may be data, not a contract).
    """
    label = label or main_uri
    main = documents[main_uri]
    _check_schema(main, label)
    resources: list[tuple[str, Resource[Any]]] = []
    for uri, document in documents.items():
        if uri != main_uri and not _usable_neighbour(uri, document):
            continue
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        resources.append((uri, resource))
        own_id = document.get("$id") if isinstance(document, dict) else None
        if isinstance(own_id, str) and own_id:
            resources.append((own_id.split("#")[0], resource))
    registry: Registry[Any] = Registry().with_resources(resources).crawl()
    base = main.get("$id", main_uri) if isinstance(main, dict) else main_uri
    if not isinstance(base, str):
        base = main_uri
    resolver = registry.resolver(base_uri=base)
    _check_refs(main, resolver, label, "")
    return LoadedSchema(label=label, schema=main, resolver=resolver)


_DATA_KEYWORDS = frozenset({"enum", "const", "examples", "default"})


def _check_refs(schema: Any, resolver: Resolver[Any], label: str, pointer: str) -> None:
    """Resolve every ``$ref`` of the document up front, so a broken one is an error even where
    the comparison would not need to follow it (rule 47: an unresolvable reference is a tool
    error, never a finding)."""
    if isinstance(schema, list):
        for index, item in enumerate(schema):
            _check_refs(item, resolver, label, f"{pointer}/{index}")
        return
    if not isinstance(schema, dict):
        return
    resolver = enter(resolver, schema)
    ref = schema.get("$ref")
    if isinstance(ref, str):
        lookup(resolver, ref, label, pointer)
    for key, value in schema.items():
        if key not in _DATA_KEYWORDS:
            _check_refs(value, resolver, label, f"{pointer}/{key}")


def _usable_neighbour(uri: str, document: Any) -> bool:
    """A neighbour is only there to answer references; one that is not a well-formed 2020-12
    schema (data files, other dialects, a non-string ``$id``) is left out rather than failing
    the comparison of the file that was asked for."""
    if not isinstance(document, dict):
        return False
    if not isinstance(document.get("$id", ""), str):
        return False
    try:
        # No metaschema check here: it is the slowest step, and a neighbour only matters if a
        # reference reaches it (the comparison then reads it like any subschema).
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        Registry().with_resource(uri, resource).crawl()
    except (CannotDetermineSpecification, AttributeError, TypeError, ValueError, KeyError):
        return False
    return True


def _neighbours(path: Path) -> list[Path]:
    folder = path.parent
    found = {p.resolve() for p in folder.glob("*.json")}
    tree = folder.parent
    if (tree / "catalog.json").is_file():
        found.update(p.resolve() for p in tree.glob("*/v*.json"))
    found.discard(path.resolve())
    return sorted(found)


def load_file(path: Path) -> LoadedSchema:
    """Load the schema at ``path`` with its neighbours (see module docstring)."""
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SchemaLoadError(f"{label}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaLoadError(f"{label}: cannot read ({exc})") from exc
    main_uri = path.resolve().as_uri()
    documents: dict[str, Any] = {main_uri: _parse(text, label)}
    for neighbour in _neighbours(path):
        try:
            documents[neighbour.as_uri()] = json.loads(neighbour.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue  # a neighbour we cannot read only matters if referenced: then lookup fails
    return load_documents(main_uri, documents, label)


def lookup(
    resolver: Resolver[Any], ref: str, label: str, pointer: str
) -> tuple[Any, Resolver[Any]]:
    """Resolve ``ref`` from ``resolver``; SchemaLoadError naming the place when impossible."""
    try:
        resolved = resolver.lookup(ref)
    except (Unresolvable, NoSuchResource, Unretrievable) as exc:
        raise SchemaLoadError(
            f"{label}: cannot resolve $ref {ref!r} at {pointer or '/'} ({type(exc).__name__})"
        ) from exc
    return resolved.contents, resolved.resolver


def enter(resolver: Resolver[Any], schema: Any) -> Resolver[Any]:
    """The resolver for a subschema: a subschema with its own ``$id`` moves the base URI."""
    if isinstance(schema, dict) and isinstance(schema.get("$id"), str):
        return resolver.in_subresource(DRAFT202012.create_resource(schema))
    return resolver


class RecursiveSchemaError(SchemaLoadError):
    """The schema refers to itself, so it has no finite inlined form."""


_SUBSCHEMA_MAPS = (
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
)
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SUBSCHEMA_ONE = (
    "additionalProperties",
    "unevaluatedProperties",
    "items",
    "unevaluatedItems",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
    "contentSchema",
)


def inline_refs(loaded: LoadedSchema) -> Any:
    """The schema with every ``$ref`` replaced by its target (``allOf`` when it has siblings).

    Used where a consumer cannot follow references (instance generators). ``$defs``,
    ``$id`` and ``$schema`` are dropped from the result. RecursiveSchemaError for cycles.
    """

    def walk(schema: Any, resolver: Resolver[Any], active: tuple[int, ...]) -> Any:
        if not isinstance(schema, dict):
            return schema
        resolver = enter(resolver, schema)
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key in ("$defs", "definitions", "$id", "$schema", "$anchor", "$ref"):
                continue
            if key in _SUBSCHEMA_MAPS:
                out[key] = {k: walk(v, resolver, active) for k, v in value.items()}
            elif key in _SUBSCHEMA_LISTS:
                out[key] = [walk(v, resolver, active) for v in value]
            elif key in _SUBSCHEMA_ONE:
                out[key] = walk(value, resolver, active)
            else:
                out[key] = value
        ref = schema.get("$ref")
        if not isinstance(ref, str):
            return out
        target, target_resolver = lookup(resolver, ref, loaded.label, "")
        if id(target) in active:
            raise RecursiveSchemaError(f"{loaded.label}: $ref {ref!r} is recursive")
        inlined = walk(target, target_resolver, (*active, id(target)))
        if not out:
            return inlined
        return {"allOf": [inlined, out]}

    return walk(loaded.schema, loaded.resolver, ())
