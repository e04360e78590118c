"""A Hypothesis strategy that mutates a JSON Schema the way contract authors change contracts.

``mutated(schema)`` draws one to three edits at random subschemas (``$defs`` included, so a
mutation behind a ``$ref`` reaches every place that refers to it) and returns the new document
with a description of the edits. The edits are the catalogue's: members added, removed and
made (not) required; enum values and const added, removed, changed; types widened, narrowed,
replaced; null added and removed; numeric, length and count bounds moved, added, removed;
patterns added, removed, changed; additionalProperties opened, closed and typed; anyOf/allOf
members added and removed; not added; uniqueItems toggled; descriptions edited.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from hypothesis import strategies as st

Path = tuple[str | int, ...]
Draw = Callable[[st.SearchStrategy[Any]], Any]

_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_ONE = ("items", "additionalProperties", "not", "contains", "propertyNames")

MEMBER_SCHEMAS: tuple[Any, ...] = (
    {"type": "string"},
    {"type": "integer", "minimum": 0},
    {"type": "boolean"},
    {},
    {"enum": ["A", "B"]},
    {"type": ["string", "null"]},
    {"type": "object", "properties": {"k": {"type": "string"}}, "additionalProperties": False},
)
PATTERNS = ("^[a-z]+$", "^[A-Z]", "^[0-9]{4}-(0[1-9]|1[0-2])$", "^.{0,3}$")
VALUES = ("A", "B", "C", "NOT_SENT", "x", 0, 1, True, None)
TYPES = ("string", "integer", "number", "boolean", "null", "object", "array")
BOUNDS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
)


def locations(schema: Any, path: Path = ()) -> Iterator[Path]:
    """Paths of every object subschema (annotation values such as examples excluded)."""
    if not isinstance(schema, dict):
        return
    yield path
    for key in _SUBSCHEMA_MAPS:
        if isinstance(schema.get(key), dict):
            for name, sub in schema[key].items():
                yield from locations(sub, (*path, key, name))
    for key in _SUBSCHEMA_LISTS:
        if isinstance(schema.get(key), list):
            for index, sub in enumerate(schema[key]):
                yield from locations(sub, (*path, key, index))
    for key in _SUBSCHEMA_ONE:
        yield from locations(schema.get(key), (*path, key))


def at(schema: Any, path: Path) -> Any:
    for step in path:
        schema = schema[step]
    return schema


def _types(node: dict[str, Any]) -> list[str]:
    declared = node.get("type")
    if declared is None:
        return []
    return [declared] if isinstance(declared, str) else list(declared)


def _set_types(node: dict[str, Any], types: list[str]) -> None:
    if not types:
        node.pop("type", None)
    else:
        node["type"] = types[0] if len(types) == 1 else types


# Each edit changes ``node`` in place and returns a description, or None when it does not apply.


def add_member(node: dict[str, Any], draw: Draw) -> str | None:
    if "properties" not in node and node.get("type") != "object":
        return None
    name = draw(st.sampled_from(("extra", "status", "lastError", "k")))
    props = node.setdefault("properties", {})
    if name in props:
        return None
    props[name] = copy.deepcopy(draw(st.sampled_from(MEMBER_SCHEMAS)))
    if draw(st.booleans()):
        node.setdefault("required", []).append(name)
        return f"add required member {name}"
    return f"add optional member {name}"


def remove_member(node: dict[str, Any], draw: Draw) -> str | None:
    props = node.get("properties")
    if not props:
        return None
    name = draw(st.sampled_from(sorted(props)))
    del props[name]
    if name in node.get("required", []):
        node["required"] = [r for r in node["required"] if r != name]
    return f"remove member {name}"


def toggle_required(node: dict[str, Any], draw: Draw) -> str | None:
    props = node.get("properties")
    if not props:
        return None
    name = draw(st.sampled_from(sorted(props)))
    required = list(node.get("required", []))
    if name in required:
        node["required"] = [r for r in required if r != name]
        return f"make {name} optional"
    node["required"] = [*required, name]
    return f"make {name} required"


def edit_enum(node: dict[str, Any], draw: Draw) -> str | None:
    if "enum" in node:
        values = list(node["enum"])
        if draw(st.booleans()) and len(values) > 1:
            drop = draw(st.sampled_from(values))
            node["enum"] = [v for v in values if v != drop]
            return f"remove enum value {drop!r}"
        if draw(st.booleans()):
            del node["enum"]
            return "drop enum"
        value = draw(st.sampled_from(VALUES))
        if value in values:
            return None
        node["enum"] = [*values, value]
        return f"add enum value {value!r}"
    if "string" not in _types(node):
        return None
    node["enum"] = ["A", "NOT_SENT"]
    return "introduce enum"


def edit_const(node: dict[str, Any], draw: Draw) -> str | None:
    if "const" in node:
        if draw(st.booleans()):
            del node["const"]
            return "drop const"
        node["const"] = draw(st.sampled_from(VALUES))
        return f"change const to {node['const']!r}"
    if "properties" in node:
        return None
    node["const"] = draw(st.sampled_from(VALUES))
    return f"introduce const {node['const']!r}"


def edit_type(node: dict[str, Any], draw: Draw) -> str | None:
    types = _types(node)
    choice = draw(st.sampled_from(("widen", "narrow", "replace", "null")))
    if choice == "widen":
        extra = draw(st.sampled_from(TYPES))
        if not types or extra in types:
            return None
        _set_types(node, [*types, extra])
        return f"widen type with {extra}"
    if choice == "narrow":
        if len(types) < 2 and types:
            return None
        keep = draw(st.sampled_from(types or list(TYPES)))
        _set_types(node, [keep])
        return f"narrow type to {keep}"
    if choice == "replace":
        other = draw(st.sampled_from(TYPES))
        if types == [other]:
            return None
        _set_types(node, [other])
        return f"replace type by {other}"
    if not types:
        return None
    if "null" in types:
        _set_types(node, [t for t in types if t != "null"] or ["string"])
        return "remove null"
    _set_types(node, [*types, "null"])
    return "add null"


_BOUNDS_BY_TYPE = {
    "string": ("minLength", "maxLength"),
    "integer": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"),
    "number": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"),
    "array": ("minItems", "maxItems"),
    "object": ("minProperties", "maxProperties"),
}


def edit_bound(node: dict[str, Any], draw: Draw) -> str | None:
    # A bound that applies to the node's type, so the edit changes which payloads are valid.
    fitting = [k for t in _types(node) for k in _BOUNDS_BY_TYPE.get(t, ())] or list(BOUNDS)
    present = [k for k in fitting if k in node]
    # Moving a bound the schema already has is the common real change; prefer it.
    key = draw(st.sampled_from(present if present and draw(st.booleans()) else fitting))
    if key in node:
        action = draw(st.sampled_from(("remove", "raise", "lower")))
        if action == "remove":
            del node[key]
            return f"remove {key}"
        delta = draw(st.integers(1, 3))
        value = node[key] + (delta if action == "raise" else -delta)
        if value < 0 and any(part in key for part in ("Length", "Items", "Properties")):
            value = 0
        node[key] = value
        return f"{action} {key} to {value}"
    node[key] = draw(st.integers(0, 8))
    return f"add {key} {node[key]}"


def edit_multiple_of(node: dict[str, Any], draw: Draw) -> str | None:
    value = draw(st.sampled_from((2, 3, 4, 0.5)))
    if node.get("multipleOf") == value:
        del node["multipleOf"]
        return "remove multipleOf"
    node["multipleOf"] = value
    return f"set multipleOf {value}"


def edit_pattern(node: dict[str, Any], draw: Draw) -> str | None:
    if "pattern" in node and draw(st.booleans()):
        del node["pattern"]
        return "remove pattern"
    pattern = draw(st.sampled_from(PATTERNS))
    if node.get("pattern") == pattern:
        return None
    node["pattern"] = pattern
    return f"set pattern {pattern}"


def edit_additional(node: dict[str, Any], draw: Draw) -> str | None:
    if "properties" not in node and node.get("type") != "object":
        return None
    choice = draw(st.sampled_from((False, True, {"type": "string"}, "absent")))
    if choice == "absent":
        if "additionalProperties" not in node:
            return None
        del node["additionalProperties"]
        return "drop additionalProperties"
    if node.get("additionalProperties", "absent") == choice:
        return None
    node["additionalProperties"] = choice
    return f"set additionalProperties {choice!r}"


def edit_union(node: dict[str, Any], draw: Draw) -> str | None:
    if "anyOf" in node:
        branches = list(node["anyOf"])
        if len(branches) > 1 and draw(st.booleans()):
            index = draw(st.integers(0, len(branches) - 1))
            del branches[index]
            node["anyOf"] = branches
            return f"remove anyOf branch {index}"
        node["anyOf"] = [*branches, copy.deepcopy(draw(st.sampled_from(MEMBER_SCHEMAS)))]
        return "add anyOf branch"
    if "oneOf" in node:
        branches = list(node["oneOf"])
        if len(branches) > 1 and draw(st.booleans()):
            index = draw(st.integers(0, len(branches) - 1))
            del branches[index]
            node["oneOf"] = branches
            return f"remove oneOf branch {index}"
        extra = copy.deepcopy(draw(st.sampled_from(MEMBER_SCHEMAS)))
        if draw(st.booleans()) and isinstance(branches[0], dict) and "properties" in branches[0]:
            extra = copy.deepcopy(branches[0])
            extra["properties"]["k"] = {"const": draw(st.sampled_from(("c", "a")))}
        node["oneOf"] = [*branches, extra]
        return "add oneOf branch"
    if "allOf" in node:
        if len(node["allOf"]) > 1:
            node["allOf"] = node["allOf"][:-1]
        else:
            del node["allOf"]
        return "remove allOf member"
    if draw(st.booleans()):
        node["allOf"] = [copy.deepcopy(draw(st.sampled_from(MEMBER_SCHEMAS)))]
        return "add allOf member"
    inner = {k: v for k, v in node.items() if k not in ("$defs", "$id", "$schema")}
    for key in inner:
        del node[key]
    node["anyOf"] = [inner, {"type": "null"}]
    return "wrap in anyOf with null"


def edit_pattern_properties(node: dict[str, Any], draw: Draw) -> str | None:
    if "properties" not in node and node.get("type") != "object":
        return None
    patterns = dict(node.get("patternProperties", {}))
    if patterns and draw(st.booleans()):
        drop = draw(st.sampled_from(sorted(patterns)))
        del patterns[drop]
        node["patternProperties"] = patterns
        return f"remove patternProperties {drop}"
    pattern = draw(st.sampled_from(("^x-", "^[a-z]+$", "Count$")))
    patterns[pattern] = copy.deepcopy(draw(st.sampled_from(MEMBER_SCHEMAS)))
    node["patternProperties"] = patterns
    return f"set patternProperties {pattern}"


def edit_not(node: dict[str, Any], draw: Draw) -> str | None:
    if "not" in node:
        del node["not"]
        return "remove not"
    node["not"] = {"const": draw(st.sampled_from(VALUES))}
    return "add not const"


def edit_unique(node: dict[str, Any], draw: Draw) -> str | None:
    if node.get("type") != "array":
        return None
    node["uniqueItems"] = not node.get("uniqueItems", False)
    return f"uniqueItems {node['uniqueItems']}"


def edit_description(node: dict[str, Any], draw: Draw) -> str | None:
    node["description"] = draw(st.sampled_from(("changed", "edited again")))
    node["deprecated"] = draw(st.booleans())
    return "edit description and deprecated"


EDITS: tuple[Callable[[dict[str, Any], Draw], str | None], ...] = (
    add_member,
    remove_member,
    toggle_required,
    edit_enum,
    edit_const,
    edit_type,
    edit_bound,
    edit_multiple_of,
    edit_pattern,
    edit_additional,
    edit_union,
    edit_pattern_properties,
    edit_not,
    edit_unique,
    edit_description,
)


@st.composite
def mutated(
    draw: Draw,
    schema: Any,
    edits: tuple[Callable[[dict[str, Any], Draw], str | None], ...] = EDITS,
    max_edits: int = 2,
) -> tuple[Any, list[str]]:
    """``schema`` with one to ``max_edits`` edits drawn from ``edits``, and what was done.

    Each edit is tried at up to eight random subschemas until one applies, so a test that asks
    for one kind of edit gets that edit, not a no-op.
    """
    doc = copy.deepcopy(schema)
    done: list[str] = []
    for _ in range(draw(st.integers(1, max_edits))):
        edit = draw(st.sampled_from(edits))
        paths = draw(st.permutations(list(locations(doc))))
        for path in paths[:8]:
            node = at(doc, path)
            trial = copy.deepcopy(node)
            described = edit(trial, draw)
            if described is not None:
                node.clear()
                node.update(trial)
                done.append(f"{'/'.join(map(str, path)) or '(root)'}: {described}")
                break
    if not done:
        doc.setdefault("properties", {})["fallback"] = {"type": "string"}
        done.append("(root): add optional member fallback")
    return doc, done
