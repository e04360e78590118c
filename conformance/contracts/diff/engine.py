"""The recursive comparison of two JSON Schema 2020-12 documents (VER-5, VER-6).

The comparison walks OLD and NEW side by side. A schema is a conjunction of keyword groups
(``type``; ``enum``/``const``; the bounds; ``properties`` + ``patternProperties`` +
``additionalProperties``; ``items`` + ``prefixItems``; ``contains`` + its bounds; ``anyOf``; ...).
For *backward* compatibility (L(OLD) ⊆ L(NEW)) it suffices that every group of NEW is implied
by the same group of OLD, so each group is judged on its own and a group absent on one side is
the always-true schema. *Forward* is the same question with the roles exchanged. Where a group
cannot be judged on its own (``oneOf`` without a discriminator, ``if``/``then``/``else``,
``unevaluated*`` next to in-place applicators, a changed ``pattern``) the verdict is
``CANNOT_PROVE``: the engine may report a false alarm, never a false "compatible".

Every finding carries a stable rule ID from rules.py. ``$ref`` is followed, never compared as a
string (rule 47); unused ``$defs`` are never visited (rule 48); a cycle of references is
assumed compatible on its second visit (a JSON instance is finite, so the induction ends).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from jsonschema import Draft202012Validator
from referencing._core import Resolver

from conformance.contracts.diff import rules
from conformance.contracts.diff._values import contains_ref, show, value_key
from conformance.contracts.diff.model import DiffResult, Finding, Level, Policy, Verdict
from conformance.contracts.diff.resolve import LoadedSchema, enter, lookup

__all__ = ["compare_schemas"]

OK = Verdict.COMPATIBLE
NO = Verdict.INCOMPATIBLE
UNKNOWN = Verdict.CANNOT_PROVE

_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "examples",
        "$comment",
        "readOnly",
        "writeOnly",
        "contentEncoding",
        "contentMediaType",
        "contentSchema",
    }
)
# Keywords that locate or name resources; differences there change no instance's validity.
_STRUCTURAL = frozenset(
    {"$defs", "definitions", "$anchor", "$dynamicAnchor", "$vocabulary", "$ref", "$id", "$schema"}
)
_VALIDATION = frozenset(
    {
        "type",
        "enum",
        "const",
        "multipleOf",
        "maximum",
        "exclusiveMaximum",
        "minimum",
        "exclusiveMinimum",
        "maxLength",
        "minLength",
        "pattern",
        "items",
        "prefixItems",
        "maxItems",
        "minItems",
        "uniqueItems",
        "contains",
        "maxContains",
        "minContains",
        "unevaluatedItems",
        "properties",
        "patternProperties",
        "additionalProperties",
        "unevaluatedProperties",
        "required",
        "maxProperties",
        "minProperties",
        "propertyNames",
        "dependentRequired",
        "dependentSchemas",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "if",
        "then",
        "else",
        "$dynamicRef",
        "$recursiveRef",
        "default",
        "format",
        "deprecated",
    }
)
_REFS = frozenset({"$ref", "$dynamicRef", "$recursiveRef"})
_IN_PLACE = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas", "$ref")
# Nesting of compare() calls, far beyond any real contract; it stops schemas that recurse through
# unions without a reference cycle the pair check can see, before Python's stack does.
_MAX_DEPTH = 60
_BASIC_TYPES = ("null", "boolean", "object", "array", "number", "string")
_LENGTH_BOUNDS = (
    ("maxLength", "max-length", True, "characters"),
    ("minLength", "min-length", False, "characters"),
    ("maxItems", "max-items", True, "items"),
    ("minItems", "min-items", False, "items"),
    ("maxProperties", "max-properties", True, "members"),
    ("minProperties", "min-properties", False, "members"),
)


@dataclass(frozen=True, slots=True)
class _Located:
    """A subschema that must be read with its own resolver (a ``$ref`` target in a conjunction)."""

    schema: Any
    resolver: Resolver[Any]


@dataclass(frozen=True, slots=True)
class _Node:
    schema: Any
    resolver: Resolver[Any]


def _is_trivially_true(schema: Any) -> bool:
    if schema is True:
        return True
    if isinstance(schema, dict):
        return all(
            k in ("default", "format", "deprecated") or (k not in _VALIDATION and k not in _REFS)
            for k in schema
        )
    return False


def _is_false(schema: Any) -> bool:
    if schema is False:
        return True
    return isinstance(schema, dict) and (schema.get("not") is True or schema.get("not") == {})


def _where(where: str) -> str:
    return f"`{where}`" if where else "the payload"


def _valued(where: str, values: str) -> str:
    return f"payloads whose `{where}` is {values}" if where else f"payload values {values}"


def _child(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _types(schema: dict[str, Any]) -> set[str] | None:
    declared = schema.get("type")
    if declared is None:
        return None
    return {declared} if isinstance(declared, str) else set(declared)


def _covered(kind: str, types: set[str] | None) -> bool:
    if types is None:
        return True
    return kind in types or (kind == "integer" and "number" in types)


def _finite(schema: dict[str, Any]) -> list[Any] | None:
    """The values ``enum`` and ``const`` leave, or None when unbounded."""
    values: list[Any] | None = None
    if "enum" in schema and isinstance(schema["enum"], list):
        values = list(schema["enum"])
    if "const" in schema:
        const = schema["const"]
        if values is None:
            values = [const]
        else:
            values = [v for v in values if value_key(v) == value_key(const)]
    return values


def _bounds(schema: dict[str, Any], inclusive: str, exclusive: str) -> list[tuple[Fraction, bool]]:
    """The numeric bounds a schema states, as (value, is_exclusive)."""
    out = []
    for key, is_exclusive in ((inclusive, False), (exclusive, True)):
        value = schema.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out.append((Fraction(value), is_exclusive))
    return out


def _upper(schema: dict[str, Any], inclusive: str, exclusive: str) -> tuple[Fraction, bool] | None:
    """The tighter upper bound: the smaller value, exclusive before inclusive at a tie."""
    bounds = _bounds(schema, inclusive, exclusive)
    return min(bounds, key=lambda b: (b[0], not b[1])) if bounds else None


def _lower(schema: dict[str, Any], inclusive: str, exclusive: str) -> tuple[Fraction, bool] | None:
    """The tighter lower bound: the larger value, exclusive before inclusive at a tie."""
    bounds = _bounds(schema, inclusive, exclusive)
    return max(bounds, key=lambda b: (b[0], b[1])) if bounds else None


def _upper_within(inner: tuple[Fraction, bool] | None, outer: tuple[Fraction, bool] | None) -> bool:
    """Every number under the ``inner`` upper bound is under ``outer`` too."""
    if outer is None:
        return True
    if inner is None:
        return False
    return inner[0] < outer[0] or (inner[0] == outer[0] and (inner[1] or not outer[1]))


def _lower_within(inner: tuple[Fraction, bool] | None, outer: tuple[Fraction, bool] | None) -> bool:
    if outer is None:
        return True
    if inner is None:
        return False
    return inner[0] > outer[0] or (inner[0] == outer[0] and (inner[1] or not outer[1]))


def _show_bound(bound: tuple[Fraction, bool] | None, upper: bool) -> str:
    if bound is None:
        return "no bound"
    value = bound[0]
    number = str(value.numerator) if value.denominator == 1 else str(float(value))
    sign = ("<" if bound[1] else "≤") if upper else (">" if bound[1] else "≥")
    return f"{sign} {number}"


def _discriminator(branches: list[Any]) -> str | None:
    """A required member whose ``const`` differs in every branch of an object-only union."""
    if len(branches) < 2 or not all(isinstance(b, dict) for b in branches):
        return None
    if not all(_types(b) == {"object"} for b in branches):
        return None
    candidates: set[str] | None = None
    for branch in branches:
        props = branch.get("properties", {})
        names = {
            name
            for name in branch.get("required", [])
            if isinstance(props.get(name), dict) and "const" in props[name]
        }
        candidates = names if candidates is None else candidates & names
    for name in sorted(candidates or ()):
        keys = [value_key(b["properties"][name]["const"]) for b in branches]
        if len(set(keys)) == len(keys):
            return name
    return None


def _matching(patterns: dict[str, Any], name: str) -> list[str]:
    found = []
    for pattern in patterns:
        try:
            if re.search(pattern, name):
                found.append(pattern)
        except re.error:
            continue
    return found


class _Engine:
    def __init__(self, old_label: str, new_label: str, policy: Policy) -> None:
        self.old = old_label
        self.new = new_label
        self.policy = policy
        self._active: set[tuple[int, int]] = set()
        self._depth = 0

    # ---- findings -------------------------------------------------------------------------

    def finding(
        self,
        rule_id: str,
        pointer: str,
        message: str,
        backward: Verdict,
        forward: Verdict,
        backward_clause: str = "",
        forward_clause: str = "",
        note: Level | None = None,
    ) -> Finding:
        rule = rules.RULES[rule_id]
        return Finding(
            rule=rule_id,
            pointer=pointer,
            message=message,
            backward=backward,
            forward=forward,
            backward_reason=self._reason(True, backward, backward_clause),
            forward_reason=self._reason(False, forward, forward_clause),
            note=note if note is not None else rule.level,
        )

    def _reason(self, backward: bool, verdict: Verdict, clause: str) -> str:
        if verdict is OK:
            return ""
        clause = clause or "some payloads"
        if backward:
            if verdict is NO:
                return (
                    f"clients cannot deploy first: clients on {self.new} reject {clause}, "
                    f"which a server on {self.old} still sends"
                )
            return f"clients deploying first is not proven safe: {clause}"
        if verdict is NO:
            return (
                f"the server cannot deploy first: clients on {self.old} reject {clause}, "
                f"which a server on {self.new} sends"
            )
        return f"the server deploying first is not proven safe: {clause}"

    # ---- entry ----------------------------------------------------------------------------

    def compare(self, old: _Node, new: _Node, ptr: str, where: str) -> list[Finding]:
        if self._depth >= _MAX_DEPTH:
            clause = f"the comparison nests deeper than {_MAX_DEPTH} levels here"
            return [
                self.finding("comparison-too-deep", ptr, clause, UNKNOWN, UNKNOWN, clause, clause)
            ]
        self._depth += 1
        try:
            return self._compare(old, new, ptr, where)
        finally:
            self._depth -= 1

    def _compare(self, old: _Node, new: _Node, ptr: str, where: str) -> list[Finding]:
        o, po = self._unwrap(old)
        n, pn = self._unwrap(new)
        if o is True:
            o = {}
        if n is True:
            n = {}
        if o is False or n is False:
            return self._false(o, n, ptr, where)
        if not isinstance(o, dict) or not isinstance(n, dict):
            return [
                self.finding(
                    "keyword-not-understood",
                    ptr,
                    "a subschema is neither an object nor a boolean",
                    UNKNOWN,
                    UNKNOWN,
                    "the schema is malformed here",
                    "the schema is malformed here",
                )
            ]
        po = enter(po, o)
        pn = enter(pn, n)
        if not contains_ref(o) and not contains_ref(n) and value_key(o) == value_key(n):
            return []
        findings: list[Finding] = []
        o_ref, n_ref = self._ref_only(o), self._ref_only(n)
        if o_ref or n_ref:
            findings += self._annotations(o, n, ptr, where)
            o_target, o_res = self._follow(o, po, ptr, old=True) if o_ref else (o, po)
            n_target, n_res = self._follow(n, pn, ptr, old=False) if n_ref else (n, pn)
            pair = (id(o_target), id(n_target))
            if pair in self._active:
                return findings
            self._active.add(pair)
            try:
                findings += self.compare(_Node(o_target, o_res), _Node(n_target, n_res), ptr, where)
            finally:
                self._active.discard(pair)
            return findings
        o = self._ref_as_conjunction(o, po, ptr, old=True)
        n = self._ref_as_conjunction(n, pn, ptr, old=False)
        return self._compare_objects(o, n, po, pn, ptr, where)

    def _unwrap(self, node: _Node) -> tuple[Any, Resolver[Any]]:
        schema, resolver = node.schema, node.resolver
        while isinstance(schema, _Located):
            schema, resolver = schema.schema, schema.resolver
        return schema, resolver

    @staticmethod
    def _ref_only(schema: dict[str, Any]) -> bool:
        return "$ref" in schema and all(k == "$ref" or k not in _VALIDATION for k in schema)

    def _follow(
        self, schema: dict[str, Any], resolver: Resolver[Any], ptr: str, *, old: bool
    ) -> tuple[Any, Resolver[Any]]:
        label = self.old if old else self.new
        return lookup(resolver, schema["$ref"], label, ptr)

    def _ref_as_conjunction(
        self, schema: dict[str, Any], resolver: Resolver[Any], ptr: str, *, old: bool
    ) -> dict[str, Any]:
        """``{"$ref": R, ...more}`` is ``allOf: [target of R, ...more]`` (2020-12 semantics)."""
        if "$ref" not in schema:
            return schema
        target, target_resolver = self._follow(schema, resolver, ptr, old=old)
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        members: list[Any] = [_Located(target, target_resolver)]
        if "allOf" in rest:
            members += list(rest.pop("allOf"))
        rest_validation = {k: v for k, v in rest.items() if k in _VALIDATION}
        annotations = {k: v for k, v in rest.items() if k not in _VALIDATION}
        if rest_validation:
            members.append(rest_validation)
        return {**annotations, "allOf": members}

    def _false(self, o: Any, n: Any, ptr: str, where: str) -> list[Finding]:
        if o is False and (n is False or _is_false(n)):
            return []
        if o is False:
            return [
                self.finding(
                    "false-schema-relaxed",
                    ptr,
                    f"{_where(where)} was forbidden (schema false) and is now allowed",
                    OK,
                    NO,
                    forward_clause=f"payloads with {_where(where)}",
                )
            ]
        if _is_false(o):
            return []
        return [
            self.finding(
                "false-schema-introduced",
                ptr,
                f"{_where(where)} is now forbidden (schema false)",
                NO,
                OK,
                backward_clause=f"payloads with {_where(where)}",
            )
        ]

    # ---- one object schema against another ------------------------------------------------

    def _compare_objects(
        self,
        o: dict[str, Any],
        n: dict[str, Any],
        po: Resolver[Any],
        pn: Resolver[Any],
        ptr: str,
        where: str,
    ) -> list[Finding]:
        findings: list[Finding] = []
        findings += self._annotations(o, n, ptr, where)
        findings += self._type(o, n, ptr, where)
        findings += self._enum_const(o, n, ptr, where)
        findings += self._numbers(o, n, ptr, where)
        findings += self._lengths(o, n, ptr, where)
        findings += self._pattern(o, n, ptr, where)
        findings += self._unique(o, n, ptr, where)
        findings += self._required(o, n, ptr, where)
        findings += self._object_members(o, n, po, pn, ptr, where)
        findings += self._property_names(o, n, po, pn, ptr, where)
        findings += self._dependents(o, n, po, pn, ptr, where)
        findings += self._array_items(o, n, po, pn, ptr, where)
        findings += self._contains(o, n, po, pn, ptr, where)
        findings += self._any_of(o, n, po, pn, ptr, where)
        findings += self._one_of(o, n, po, pn, ptr, where)
        findings += self._all_of(o, n, po, pn, ptr, where)
        findings += self._not(o, n, po, pn, ptr, where)
        findings += self._conditional(o, n, po, pn, ptr, where)
        findings += self._dynamic(o, n, ptr, where)
        findings += self._unevaluated(o, n, findings, ptr, where)
        return self._finite_override(o, n, findings)

    # ---- annotations (rules 1-3, 5, 6, 50) -----------------------------------------------

    def _annotations(
        self, o: dict[str, Any], n: dict[str, Any], ptr: str, where: str
    ) -> list[Finding]:
        out: list[Finding] = []
        keys = sorted(set(o) | set(n))
        for key in keys:
            if key in _VALIDATION and key not in ("default", "format", "deprecated"):
                continue
            if key in ("$defs", "definitions", "$anchor", "$dynamicAnchor", "$vocabulary", "$ref"):
                continue
            in_o, in_n = key in o, key in n
            if in_o and in_n and value_key(o[key]) == value_key(n[key]):
                continue
            at = f"{ptr}/{_escape(key)}"
            if key == "default":
                out.append(
                    self.finding(
                        "default-changed",
                        at,
                        f"default of {_where(where)} {self._change(o, n, key)}",
                        OK,
                        OK,
                    )
                )
            elif key == "format":
                rule_id = (
                    "format-added"
                    if not in_o
                    else "format-removed"
                    if not in_n
                    else "format-changed"
                )
                out.append(
                    self.finding(
                        rule_id, at, f"format of {_where(where)} {self._change(o, n, key)}", OK, OK
                    )
                )
            elif key == "deprecated":
                now = bool(n.get("deprecated", False))
                if now == bool(o.get("deprecated", False)):
                    continue
                rule_id = "deprecated-added" if now else "deprecated-removed"
                verb = "is now marked deprecated" if now else "is no longer marked deprecated"
                out.append(self.finding(rule_id, at, f"{_where(where)} {verb}", OK, OK))
            elif key == "$schema":
                clause = f"the dialect moved from {show(o.get(key))} to {show(n.get(key))}"
                out.append(
                    self.finding(
                        "schema-dialect-changed", at, clause, UNKNOWN, UNKNOWN, clause, clause
                    )
                )
            elif key == "$id":
                before, after = o.get(key, "(none)"), n.get(key, "(none)")
                out.append(
                    self.finding("id-changed", at, f"$id changed from {before} to {after}", OK, OK)
                )
            else:
                verb = "added" if not in_o else "removed" if not in_n else "changed"
                out.append(
                    self.finding(
                        "annotation-changed",
                        at,
                        f"{key} of {_where(where)} {verb}",
                        OK,
                        OK,
                    )
                )
        return out

    @staticmethod
    def _change(o: dict[str, Any], n: dict[str, Any], key: str) -> str:
        if key not in o:
            return f"added: {show(n[key])}"
        if key not in n:
            return f"removed (was {show(o[key])})"
        return f"changed from {show(o[key])} to {show(n[key])}"

    # ---- type (rules 7-11) ----------------------------------------------------------------

    def _type(self, o: dict[str, Any], n: dict[str, Any], ptr: str, where: str) -> list[Finding]:
        ot, nt = _types(o), _types(n)
        if ot == nt:
            return []
        old_kinds = ot if ot is not None else set(_BASIC_TYPES)
        new_kinds = nt if nt is not None else set(_BASIC_TYPES)
        removed = sorted(k for k in old_kinds if not _covered(k, nt))
        added = sorted(k for k in new_kinds if not _covered(k, ot))
        backward = OK if not removed else NO
        forward = OK if not added else NO
        if not removed and not added:
            rule_id = "type-rewritten"
        elif not removed and added == ["null"]:
            rule_id = "null-added"
        elif not added and removed == ["null"]:
            rule_id = "null-removed"
        elif not removed:
            rule_id = "type-widened"
        elif not added:
            rule_id = "type-narrowed"
        else:
            rule_id = "type-changed"
        before = "any type" if ot is None else " or ".join(sorted(ot))
        after = "any type" if nt is None else " or ".join(sorted(nt))
        return [
            self.finding(
                rule_id,
                f"{ptr}/type",
                f"type of {_where(where)} changed from {before} to {after}",
                backward,
                forward,
                backward_clause=f"{_where(where)} of type {' or '.join(removed)}",
                forward_clause=f"{_where(where)} of type {' or '.join(added)}",
            )
        ]

    # ---- enum and const (rules 12-14) -----------------------------------------------------

    def _enum_const(
        self, o: dict[str, Any], n: dict[str, Any], ptr: str, where: str
    ) -> list[Finding]:
        out: list[Finding] = []
        old_values, new_values = _finite(o), _finite(n)
        old_keys = None if old_values is None else {value_key(v) for v in old_values}
        new_keys = None if new_values is None else {value_key(v) for v in new_values}
        if "const" in o or "const" in n:
            same = "const" in o and "const" in n and value_key(o["const"]) == value_key(n["const"])
            if not same:
                new_const = {value_key(n["const"])} if "const" in n else None
                old_const = {value_key(o["const"])} if "const" in o else None
                backward = (
                    OK
                    if new_const is None or (old_keys is not None and old_keys <= new_const)
                    else NO
                )
                forward = (
                    OK
                    if old_const is None or (new_keys is not None and new_keys <= old_const)
                    else NO
                )
                rule_id = (
                    "const-added"
                    if "const" not in o
                    else "const-removed"
                    if "const" not in n
                    else "const-changed"
                )
                out.append(
                    self.finding(
                        rule_id,
                        f"{ptr}/const",
                        f"const of {_where(where)} {self._change(o, n, 'const')}",
                        backward,
                        forward,
                        backward_clause=f"{_where(where)} other than {show(n.get('const'))}",
                        forward_clause=f"{_where(where)} other than {show(o.get('const'))}",
                    )
                )
        if "enum" not in o and "enum" not in n:
            return out
        o_enum = o.get("enum") if isinstance(o.get("enum"), list) else None
        n_enum = n.get("enum") if isinstance(n.get("enum"), list) else None
        at = f"{ptr}/enum"
        if o_enum is None and n_enum is not None:
            enum_keys = {value_key(v) for v in n_enum}
            backward = OK if old_keys is not None and old_keys <= enum_keys else NO
            out.append(
                self.finding(
                    "enum-added",
                    at,
                    f"{_where(where)} is now limited to {show(n_enum)}",
                    backward,
                    OK,
                    backward_clause=f"{_where(where)} outside {show(n_enum)}",
                )
            )
            return out
        if n_enum is None and o_enum is not None:
            enum_keys = {value_key(v) for v in o_enum}
            forward = OK if new_keys is not None and new_keys <= enum_keys else NO
            out.append(
                self.finding(
                    "enum-removed",
                    at,
                    f"{_where(where)} is no longer limited to {show(o_enum)}",
                    OK,
                    forward,
                    forward_clause=f"{_where(where)} outside {show(o_enum)}",
                )
            )
            return out
        assert o_enum is not None
        assert n_enum is not None
        o_set = {value_key(v): v for v in o_enum}
        n_set = {value_key(v): v for v in n_enum}
        added = [v for k, v in n_set.items() if k not in o_set]
        removed = [v for k, v in o_set.items() if k not in n_set]
        if added:
            live = [v for v in added if new_keys is None or value_key(v) in new_keys]
            forward = NO if live else OK
            extensible = bool(n.get("x-extensible-enum") or o.get("x-extensible-enum"))
            note = None
            if extensible and self.policy is Policy.LENIENT:
                forward, note = OK, Level.INFO
            out.append(
                self.finding(
                    "enum-value-added",
                    at,
                    f"{_where(where)} gains enum value(s) {show(added)}"
                    + (" (x-extensible-enum)" if extensible else ""),
                    OK,
                    forward,
                    forward_clause=_valued(where, show(added)),
                    note=note,
                )
            )
        if removed:
            live = [v for v in removed if old_keys is None or value_key(v) in old_keys]
            out.append(
                self.finding(
                    "enum-value-removed",
                    at,
                    f"{_where(where)} loses enum value(s) {show(removed)}",
                    NO if live else OK,
                    OK,
                    backward_clause=_valued(where, show(removed)),
                )
            )
        return out

    # ---- numbers (rules 18, 19) -----------------------------------------------------------

    def _numbers(self, o: dict[str, Any], n: dict[str, Any], ptr: str, where: str) -> list[Finding]:
        out: list[Finding] = []
        for slug, upper, inclusive, exclusive in (
            ("maximum", True, "maximum", "exclusiveMaximum"),
            ("minimum", False, "minimum", "exclusiveMinimum"),
        ):
            bound = _upper if upper else _lower
            within = _upper_within if upper else _lower_within
            ob, nb = bound(o, inclusive, exclusive), bound(n, inclusive, exclusive)
            if ob == nb:
                continue
            backward = OK if within(ob, nb) else NO
            forward = OK if within(nb, ob) else NO
            if backward is OK and forward is OK:
                continue
            key = inclusive if (inclusive in n or inclusive in o) else exclusive
            if exclusive in n and inclusive not in n:
                key = exclusive
            rule_id = f"{slug}-relaxed" if backward is OK else f"{slug}-tightened"
            old_text, new_text = _show_bound(ob, upper), _show_bound(nb, upper)
            text = f"{old_text} → {new_text}"
            out.append(
                self.finding(
                    rule_id,
                    f"{ptr}/{key}",
                    f"{slug} of {_where(where)}: {text}",
                    backward,
                    forward,
                    backward_clause=f"{_where(where)} values {old_text} but not {new_text}",
                    forward_clause=f"{_where(where)} values {new_text} but not {old_text}",
                )
            )
        om, nm = o.get("multipleOf"), n.get("multipleOf")
        if value_key(om) != value_key(nm) and (om is not None or nm is not None):

            def divides(a: Any, b: Any) -> bool:  # b is a multiple of a
                return (Fraction(b) / Fraction(a)).denominator == 1

            backward = OK if nm is None or (om is not None and divides(nm, om)) else NO
            forward = OK if om is None or (nm is not None and divides(om, nm)) else NO
            if backward is OK and forward is NO:
                rule_id = "multiple-of-relaxed"
            elif backward is NO and forward is OK:
                rule_id = "multiple-of-tightened"
            else:
                rule_id = "multiple-of-changed"
            out.append(
                self.finding(
                    rule_id,
                    f"{ptr}/multipleOf",
                    f"multipleOf of {_where(where)}: {show(om)} → {show(nm)}",
                    backward,
                    forward,
                    backward_clause=f"{_where(where)} multiples of {om} but not of {nm}",
                    forward_clause=f"{_where(where)} multiples of {nm} but not of {om}",
                )
            )
        return out

    # ---- lengths and counts (rules 15, 16, 35, 38) ---------------------------------------

    def _lengths(self, o: dict[str, Any], n: dict[str, Any], ptr: str, where: str) -> list[Finding]:
        out: list[Finding] = []
        for key, slug, upper, unit in _LENGTH_BOUNDS:
            ov, nv = o.get(key), n.get(key)
            if value_key(ov) == value_key(nv):
                continue
            if upper:
                backward = OK if nv is None or (ov is not None and ov <= nv) else NO
                forward = OK if ov is None or (nv is not None and nv <= ov) else NO
            else:
                backward = OK if nv is None or (ov is not None and ov >= nv) else NO
                forward = OK if ov is None or (nv is not None and nv >= ov) else NO
            if backward is OK and forward is OK:
                continue
            rule_id = f"{slug}-relaxed" if backward is OK else f"{slug}-tightened"
            word = "at most" if upper else "at least"

            def limit(v: Any, word: str = word, unit: str = unit) -> str:
                return f"{word} {v} {unit}" if v is not None else "no limit"

            out.append(
                self.finding(
                    rule_id,
                    f"{ptr}/{key}",
                    f"{key} of {_where(where)}: {show(ov)} → {show(nv)}",
                    backward,
                    forward,
                    backward_clause=f"{_where(where)} with {limit(ov)} but not {limit(nv)}",
                    forward_clause=f"{_where(where)} with {limit(nv)} but not {limit(ov)}",
                )
            )
        return out

    # ---- pattern (rule 17) ----------------------------------------------------------------

    def _pattern(self, o: dict[str, Any], n: dict[str, Any], ptr: str, where: str) -> list[Finding]:
        op, np_ = o.get("pattern"), n.get("pattern")
        if op == np_:
            return []
        at = f"{ptr}/pattern"
        if op is None:
            return [
                self.finding(
                    "pattern-added",
                    at,
                    f"{_where(where)} must now match {show(np_)}",
                    NO,
                    OK,
                    backward_clause=f"{_where(where)} strings not matching {show(np_)}",
                )
            ]
        if np_ is None:
            return [
                self.finding(
                    "pattern-removed",
                    at,
                    f"{_where(where)} no longer has to match {show(op)}",
                    OK,
                    NO,
                    forward_clause=f"{_where(where)} strings not matching {show(op)}",
                )
            ]
        clause = f"whether {show(op)} and {show(np_)} accept the same strings is not decided"
        return [
            self.finding(
                "pattern-changed",
                at,
                f"pattern of {_where(where)}: {show(op)} → {show(np_)}",
                UNKNOWN,
                UNKNOWN,
                clause,
                clause,
            )
        ]

    def _unique(self, o: dict[str, Any], n: dict[str, Any], ptr: str, where: str) -> list[Finding]:
        ou, nu = bool(o.get("uniqueItems", False)), bool(n.get("uniqueItems", False))
        if ou == nu:
            return []
        at = f"{ptr}/uniqueItems"
        if nu:
            return [
                self.finding(
                    "unique-items-added",
                    at,
                    f"items of {_where(where)} must now be unique",
                    NO,
                    OK,
                    backward_clause=f"{_where(where)} arrays with repeated items",
                )
            ]
        return [
            self.finding(
                "unique-items-removed",
                at,
                f"items of {_where(where)} no longer have to be unique",
                OK,
                NO,
                forward_clause=f"{_where(where)} arrays with repeated items",
            )
        ]

    # ---- objects (rules 20-34) ------------------------------------------------------------

    def _required(
        self, o: dict[str, Any], n: dict[str, Any], ptr: str, where: str
    ) -> list[Finding]:
        o_req = [r for r in o.get("required", []) if isinstance(r, str)]
        n_req = [r for r in n.get("required", []) if isinstance(r, str)]
        o_props = o.get("properties", {}) if isinstance(o.get("properties"), dict) else {}
        n_props = n.get("properties", {}) if isinstance(n.get("properties"), dict) else {}
        out: list[Finding] = []
        at = f"{ptr}/required"
        for name in n_req:
            if name in o_req:
                continue
            member = _child(where, name)
            if name in o_props:
                rule_id, text = "property-became-required", f"`{member}` is now required"
            else:
                with_default = isinstance(n_props.get(name), dict) and "default" in n_props[name]
                rule_id = (
                    "required-property-added-with-default"
                    if with_default
                    else "required-property-added"
                )
                text = f"new required member `{member}`" + (
                    " (its default does not change validation)" if with_default else ""
                )
            out.append(
                self.finding(
                    rule_id, at, text, NO, OK, backward_clause=f"payloads without `{member}`"
                )
            )
        for name in o_req:
            if name in n_req:
                continue
            member = _child(where, name)
            rule_id = "property-became-optional" if name in n_props else "required-property-removed"
            text = (
                f"`{member}` is no longer required"
                if name in n_props
                else f"required member `{member}` is removed from required"
            )
            out.append(
                self.finding(
                    rule_id, at, text, OK, NO, forward_clause=f"payloads without `{member}`"
                )
            )
        return out

    @staticmethod
    def _additional(schema: dict[str, Any]) -> Any:
        if "additionalProperties" in schema:
            return schema["additionalProperties"]
        if "unevaluatedProperties" in schema and not any(k in schema for k in _IN_PLACE):
            return schema["unevaluatedProperties"]
        return True

    def _object_members(
        self,
        o: dict[str, Any],
        n: dict[str, Any],
        po: Resolver[Any],
        pn: Resolver[Any],
        ptr: str,
        where: str,
    ) -> list[Finding]:
        keys = ("properties", "patternProperties", "additionalProperties", "unevaluatedProperties")
        if not any(k in o or k in n for k in keys):
            return []
        out: list[Finding] = []
        o_props: dict[str, Any] = o.get("properties", {})
        n_props: dict[str, Any] = n.get("properties", {})
        o_pats: dict[str, Any] = o.get("patternProperties", {})
        n_pats: dict[str, Any] = n.get("patternProperties", {})
        o_add, n_add = self._additional(o), self._additional(n)

        if set(o_pats) != set(n_pats):
            changed = sorted(set(o_pats) ^ set(n_pats))
            clause = (
                f"which member names patternProperties {show(changed)} now govern is not decided"
            )
            out.append(
                self.finding(
                    "pattern-properties-changed",
                    f"{ptr}/patternProperties",
                    f"patternProperties of {_where(where)} added or removed: {show(changed)}",
                    UNKNOWN,
                    UNKNOWN,
                    clause,
                    clause,
                )
            )
        for pattern in sorted(set(o_pats) & set(n_pats)):
            out += self.compare(
                _Node(o_pats[pattern], po),
                _Node(n_pats[pattern], pn),
                f"{ptr}/patternProperties/{_escape(pattern)}",
                _child(where, f"/{pattern}/"),
            )

        def rest(props_side: str, name: str) -> tuple[Any, str]:
            pats, add = (o_pats, o_add) if props_side == "old" else (n_pats, n_add)
            matched = _matching(pats, name)
            if len(matched) == 1:
                return pats[matched[0]], "covered"
            if matched:
                return True, "open"
            if _is_false(add):
                return False, "closed"
            if _is_trivially_true(add):
                return add, "open"
            return add, "covered"

        added_names, removed_names = [], []
        for name in list(o_props) + [p for p in n_props if p not in o_props]:
            at = f"{ptr}/properties/{_escape(name)}"
            member = _child(where, name)
            if name in o_props and name in n_props:
                out += self.compare(_Node(o_props[name], po), _Node(n_props[name], pn), at, member)
            elif name in n_props:
                added_names.append(name)
                out += self._member_added(
                    name, member, n_props[name], rest("old", name), po, pn, at
                )
            else:
                removed_names.append(name)
                out += self._member_removed(
                    name, member, o_props[name], rest("new", name), po, pn, at
                )
        if len(added_names) == 1 and len(removed_names) == 1:
            old_name, new_name = removed_names[0], added_names[0]
            if self._equivalent(_Node(o_props[old_name], po), _Node(n_props[new_name], pn)):
                out.append(
                    self.finding(
                        "property-renamed-likely",
                        f"{ptr}/properties/{_escape(new_name)}",
                        f"`{_child(where, old_name)}` looks renamed to `{_child(where, new_name)}` "
                        "(same schema); reported as a removal plus an addition",
                        OK,
                        OK,
                    )
                )
        out += self._additional_properties(o_add, n_add, po, pn, ptr, where, o, n)
        return out

    def _member_added(
        self,
        name: str,
        member: str,
        schema: Any,
        old_rest: tuple[Any, str],
        po: Resolver[Any],
        pn: Resolver[Any],
        at: str,
    ) -> list[Finding]:
        rest_schema, kind = old_rest
        if kind == "closed":
            forward = OK if _is_false(schema) else NO
            return [
                self.finding(
                    "property-added-closed-model",
                    at,
                    f"new member `{member}` in a closed object (additionalProperties false in the "
                    "old version)",
                    OK,
                    forward,
                    forward_clause=f"payloads carrying the new member `{member}`",
                )
            ]
        if kind == "open":
            if _is_trivially_true(schema):
                return [
                    self.finding(
                        "property-added-open-model",
                        at,
                        f"new member `{member}` with an empty schema in an open object",
                        OK,
                        OK,
                    )
                ]
            lenient = self.policy is Policy.LENIENT
            return [
                self.finding(
                    "property-added-open-model",
                    at,
                    f"new typed member `{member}` in an open object"
                    + (" (lenient: old producers are assumed never to send it)" if lenient else ""),
                    OK if lenient else NO,
                    OK,
                    backward_clause=f"payloads whose undeclared `{member}` misfits its new schema",
                    note=Level.WARNING,
                )
            ]
        return [
            self.finding(
                "property-added-covered",
                at,
                f"new member `{member}` was already governed by patternProperties or "
                "additionalProperties; compared against that schema",
                OK,
                OK,
            ),
            *self.compare(_Node(rest_schema, po), _Node(schema, pn), at, member),
        ]

    def _member_removed(
        self,
        name: str,
        member: str,
        schema: Any,
        new_rest: tuple[Any, str],
        po: Resolver[Any],
        pn: Resolver[Any],
        at: str,
    ) -> list[Finding]:
        rest_schema, kind = new_rest
        if kind == "closed":
            backward = OK if _is_false(schema) else NO
            return [
                self.finding(
                    "property-removed-closed-model",
                    at,
                    f"member `{member}` removed from a closed object (additionalProperties false "
                    "in the new version)",
                    backward,
                    OK,
                    backward_clause=f"payloads carrying `{member}`",
                )
            ]
        if kind == "open":
            if _is_trivially_true(schema):
                return [
                    self.finding(
                        "property-removed-open-model",
                        at,
                        f"member `{member}` with an empty schema removed from an open object",
                        OK,
                        OK,
                    )
                ]
            lenient = self.policy is Policy.LENIENT
            return [
                self.finding(
                    "property-removed-open-model",
                    at,
                    f"typed member `{member}` removed from an open object"
                    + (" (lenient: new producers are assumed never to send it)" if lenient else ""),
                    OK,
                    OK if lenient else NO,
                    forward_clause=f"payloads whose undeclared `{member}` misfits its old schema",
                    note=Level.WARNING,
                )
            ]
        return [
            self.finding(
                "property-removed-covered",
                at,
                f"member `{member}` removed; patternProperties or additionalProperties govern it "
                "now",
                OK,
                OK,
            ),
            *self.compare(_Node(schema, po), _Node(rest_schema, pn), at, member),
        ]

    def _additional_properties(
        self,
        o_add: Any,
        n_add: Any,
        po: Resolver[Any],
        pn: Resolver[Any],
        ptr: str,
        where: str,
        o: dict[str, Any],
        n: dict[str, Any],
    ) -> list[Finding]:
        key = "additionalProperties"
        if (
            key not in n
            and key not in o
            and ("unevaluatedProperties" in n or "unevaluatedProperties" in o)
        ):
            key = "unevaluatedProperties"
        at = f"{ptr}/{key}"
        o_closed, n_closed = _is_false(o_add), _is_false(n_add)
        o_open, n_open = _is_trivially_true(o_add), _is_trivially_true(n_add)
        if (o_closed and n_closed) or (o_open and n_open):
            return []
        if o_closed and n_open:
            return [
                self.finding(
                    "additional-properties-opened",
                    at,
                    f"{_where(where)} now accepts undeclared members (was closed)",
                    OK,
                    NO,
                    forward_clause=f"{_where(where)} with undeclared members",
                )
            ]
        if o_open and n_closed:
            return [
                self.finding(
                    "additional-properties-closed",
                    at,
                    f"{_where(where)} no longer accepts undeclared members",
                    NO,
                    OK,
                    backward_clause=f"{_where(where)} with undeclared members",
                )
            ]
        return self.compare(_Node(o_add, po), _Node(n_add, pn), at, _child(where, "*"))

    def _property_names(
        self,
        o: dict[str, Any],
        n: dict[str, Any],
        po: Resolver[Any],
        pn: Resolver[Any],
        ptr: str,
        where: str,
    ) -> list[Finding]:
        if "propertyNames" not in o and "propertyNames" not in n:
            return []
        at = f"{ptr}/propertyNames"
        inner = self.compare(
            _Node(o.get("propertyNames", True), po),
            _Node(n.get("propertyNames", True), pn),
            at,
            f"member names of {_where(where)}",
        )
        if "propertyNames" in o and "propertyNames" in n:
            return inner
        rule_id = "property-names-added" if "propertyNames" in n else "property-names-removed"
        return [
            self._summary(
                rule_id,
                at,
                f"propertyNames of {_where(where)} "
                f"{'added' if 'propertyNames' in n else 'removed'}",
                inner,
            )
        ]

    def _summary(self, rule_id: str, at: str, message: str, inner: list[Finding]) -> Finding:
        """One finding standing for a whole subschema appearing or vanishing."""
        backward, forward = OK, OK
        b_reasons, f_reasons = [], []
        for f in inner:
            backward = backward.worst(f.backward)
            forward = forward.worst(f.forward)
            if f.backward is not OK:
                b_reasons.append(f.message)
            if f.forward is not OK:
                f_reasons.append(f.message)
        return self.finding(
            rule_id,
            at,
            message,
            backward,
            forward,
            backward_clause="payloads the new subschema rejects (" + "; ".join(b_reasons[:3]) + ")",
            forward_clause="payloads the old subschema rejects (" + "; ".join(f_reasons[:3]) + ")",
        )

    def _dependents(
        self,
        o: dict[str, Any],
        n: dict[str, Any],
        po: Resolver[Any],
        pn: Resolver[Any],
        ptr: str,
        where: str,
    ) -> list[Finding]:
        out: list[Finding] = []
        o_dep: dict[str, list[str]] = o.get("dependentRequired", {})
        n_dep: dict[str, list[str]] = n.get("dependentRequired", {})
        for key in sorted(set(o_dep) | set(n_dep)):
            old_set, new_set = set(o_dep.get(key, [])), set(n_dep.get(key, []))
            if old_set == new_set:
                continue
            backward = OK if new_set <= old_set else NO
            forward = OK if old_set <= new_set else NO
            rule_id = (
                "dependent-required-relaxed"
                if backward is OK and forward is NO
                else (
                    "dependent-required-tightened"
                    if backward is NO and forward is OK
                    else "dependent-required-changed"
                )
            )
            member = _child(where, key)
            gained, lost = new_set - old_set, old_set - new_set
            out.append(
                self.finding(
                    rule_id,
                    f"{ptr}/dependentRequired/{_escape(key)}",
                    f"when `{member}` is present, required: {show(sorted(old_set))} → "
                    f"{show(sorted(new_set))}",
                    backward,
                    forward,
                    backward_clause=f"payloads with `{member}` but without {show(sorted(gained))}",
                    forward_clause=f"payloads with `{member}` but without {show(sorted(lost))}",
                )
            )
        o_ds: dict[str, Any] = o.get("dependentSchemas", {})
        n_ds: dict[str, Any] = n.get("dependentSchemas", {})
        for key in sorted(set(o_ds) | set(n_ds)):
            at = f"{ptr}/dependentSchemas/{_escape(key)}"
            inner = self.compare(
                _Node(o_ds.get(key, True), po), _Node(n_ds.get(key, True), pn), at, where
            )
            if key in o_ds and key in n_ds:
                out += inner
            elif inner:
                rule_id = "dependent-schema-added" if key in n_ds else "dependent-schema-removed"
                out.append(
                    self._summary(
                        rule_id,
                        at,
                        f"dependentSchemas for `{_child(where, key)}` "
                        f"{'added' if key in n_ds else 'removed'}",
                        inner,
                    )
                )
        return out

    # ---- arrays (rules 37-39) -------------------------------------------------------------

    def _array_items(
        self,
        o: dict[str, Any],
        n: dict[str, Any],
        po: Resolver[Any],
        pn: Resolver[Any],
        ptr: str,
        where: str,
    ) -> list[Finding]:
        if not any(k in o or k in n for k in ("items", "prefixItems")):
            return []
        o_prefix: list[Any] = o.get("prefixItems", [])
        n_prefix: list[Any] = n.get("prefixItems", [])
        o_items, n_items = o.get("items", True), n.get("items", True)
        out: list[Finding] = []
        for index in range(max(len(o_prefix), len(n_prefix))):
            o_item = o_prefix[index] if index < len(o_prefix) else o_items
            n_item = n_prefix[index] if index < len(n_prefix) else n_items
            at = f"{ptr}/prefixItems/{index}" if index < len(n_prefix) else f"{ptr}/items"
            out += self.compare(_Node(o_item, po), _Node(n_item, pn), at, f"{where}[{index}]")
        out += self.compare(_Node(o_items, po), _Node(n_items, pn), f"{ptr}/items", f"{where}[]")
        return out

    def _contains(
        self,
        o: dict[str, Any],
        n: dict[str, Any],
        po: Resolver[Any],
        pn: Resolver[Any],
        ptr: str,
        where: str,
    ) -> list[Finding]:
        if "contains" not in o and "contains" not in n:
            return []
        at = f"{ptr}/contains"
        if "contains" not in o or "contains" not in n:
            added = "contains" in n
            return [
                self.finding(
                    "contains-added" if added else "contains-removed",
                    at,
                    f"{_where(where)} "
                    f"{'must now contain' if added else 'no longer has to contain'} a matching "
                    "item",
                    NO if added else OK,
                    OK if added else NO,
                    backward_clause=f"{_where(where)} arrays without a matching item",
                    forward_clause=f"{_where(where)} arrays without a matching item",
                )
            ]
        out = self.compare(_Node(o["contains"], po), _Node(n["contains"], pn), at, f"{where}[]")
        if any(f.rule not in rules.NEUTRAL for f in out) and (
            "maxContains" in o or "maxContains" in n
        ):
            clause = "a wider or narrower contains schema changes how many items maxContains counts"
            out.append(
                self.finding(
                    "contains-changed",
                    at,
                    f"contains of {_where(where)} changed next to maxContains",
                    UNKNOWN,
                    UNKNOWN,
                    clause,
                    clause,
                )
            )
        for key, slug, upper, default in (
            ("minContains", "min-contains", False, 1),
            ("maxContains", "max-contains", True, None),
        ):
            ov, nv = o.get(key, default), n.get(key, default)
            if ov == nv:
                continue
            if upper:
                backward = OK if nv is None or (ov is not None and ov <= nv) else NO
                forward = OK if ov is None or (nv is not None and nv <= ov) else NO
            else:
                backward = OK if (nv or 0) <= (ov or 0) else NO
                forward = OK if (ov or 0) <= (nv or 0) else NO
            rule_id = f"{slug}-relaxed" if backward is OK else f"{slug}-tightened"
            out.append(
                self.finding(
                    rule_id,
                    f"{ptr}/{key}",
                    f"{key} of {_where(where)}: {show(ov)} → {show(nv)}",
                    backward,
                    forward,
                    backward_clause=f"{_where(where)} arrays whose match count {key} {nv} rejects",
                    forward_clause=f"{_where(where)} arrays whose match count {key} {ov} rejects",
                )
            )
        return out

    # ---- combinators (rules 40-46) --------------------------------------------------------

    def _equivalent(self, old: _Node, new: _Node) -> bool:
        return all(f.rule in rules.NEUTRAL for f in self.compare(old, new, "", ""))

    def _includes(self, old: _Node, new: _Node) -> tuple[bool, bool]:
        """(old ⊆ new proven, new ⊆ old proven) for two subschemas."""
        found = self.compare(old, new, "", "")
        return all(f.backward is OK for f in found), all(f.forward is OK for f in found)

    def _branches(
        self,
        keyword: str,
        o_list: list[Any],
        n_list: list[Any],
        po: Resolver[Any],
        pn: Resolver[Any],
        ptr: str,
        where: str,
    ) -> list[Finding]:
        """Union semantics: each old branch must fit some new branch (B), and vice versa (F)."""
        slug = "any-of" if keyword == "anyOf" else "one-of"
        out: list[Finding] = []
        o_left = list(range(len(o_list)))
        n_left = list(range(len(n_list)))
        for i in list(o_left):
            for j in n_left:
                if self._equivalent(_Node(o_list[i], po), _Node(n_list[j], pn)):
                    out += self.compare(
                        _Node(o_list[i], po), _Node(n_list[j], pn), f"{ptr}/{keyword}/{j}", where
                    )
                    o_left.remove(i)
                    n_left.remove(j)
                    break
        if len(o_left) == len(n_left):
            for i, j in zip(o_left, n_left, strict=True):
                out += self.compare(
                    _Node(o_list[i], po), _Node(n_list[j], pn), f"{ptr}/{keyword}/{j}", where
                )
            return out
        for j in n_left:
            covered = any(self._includes(_Node(o, po), _Node(n_list[j], pn))[1] for o in o_list)
            out.append(
                self.finding(
                    f"{slug}-branch-added",
                    f"{ptr}/{keyword}/{j}",
                    f"{_where(where)} gains {keyword} branch {j}",
                    OK,
                    OK if covered else NO,
                    forward_clause=f"{_where(where)} values only new {keyword} branch {j} accepts",
                )
            )
        for i in o_left:
            covered = any(self._includes(_Node(o_list[i], po), _Node(n, pn))[0] for n in n_list)
            out.append(
                self.finding(
                    f"{slug}-branch-removed",
                    f"{ptr}/{keyword}/{i}",
                    f"{_where(where)} loses {keyword} branch {i}",
                    OK if covered else NO,
                    OK,
                    backward_clause=f"{_where(where)} values only old {keyword} branch {i} took",
                )
            )
        return out

    def _wrapped(
        self,
        keyword: str,
        plain: dict[str, Any],
        plain_resolver: Resolver[Any],
        branches: list[Any],
        branch_resolver: Resolver[Any],
        *,
        wrapped_in_new: bool,
    ) -> bool:
        """A plain schema (one without ``keyword``) that fits one branch of the union on the
        other side. The schema object itself is compared, not a copy, so a reference cycle
        through the union meets the same pair again and stops."""
        whole = plain
        for branch in branches:
            if wrapped_in_new:
                fits = self._includes(_Node(whole, plain_resolver), _Node(branch, branch_resolver))[
                    0
                ]
            else:
                fits = self._includes(_Node(branch, branch_resolver), _Node(whole, plain_resolver))[
                    1
                ]
            if fits:
                return True
        return False

    def _any_of(
        self,
        o: dict[str, Any],
        n: dict[str, Any],
        po: Resolver[Any],
        pn: Resolver[Any],
        ptr: str,
        where: str,
    ) -> list[Finding]:
        return self._union("anyOf", o, n, po, pn, ptr, where)

    def _one_of(
        self,
        o: dict[str, Any],
        n: dict[str, Any],
        po: Resolver[Any],
        pn: Resolver[Any],
        ptr: str,
        where: str,
    ) -> list[Finding]:
        return self._union("oneOf", o, n, po, pn, ptr, where)

    def _resolved_branches(
        self, branches: list[Any], resolver: Resolver[Any], label: str
    ) -> list[Any]:
        out = []
        for branch in branches:
            while isinstance(branch, dict) and self._ref_only(branch):
                branch, resolver = lookup(resolver, branch["$ref"], label, "")
            out.append(branch)
        return out

    def _union(
        self,
        keyword: str,
        o: dict[str, Any],
        n: dict[str, Any],
        po: Resolver[Any],
        pn: Resolver[Any],
        ptr: str,
        where: str,
    ) -> list[Finding]:
        if keyword not in o and keyword not in n:
            return []
        slug = "any-of" if keyword == "anyOf" else "one-of"
        at = f"{ptr}/{keyword}"
        one_of = keyword == "oneOf"
        if keyword in o and keyword in n:
            found = self._branches(keyword, o[keyword], n[keyword], po, pn, ptr, where)
            if not one_of or all(f.rule in rules.NEUTRAL for f in found):
                return found
            o_disc = _discriminator(self._resolved_branches(o[keyword], po, self.old))
            n_disc = _discriminator(self._resolved_branches(n[keyword], pn, self.new))
            if o_disc is not None and n_disc is not None:
                return found
            clause = (
                "oneOf branches without a const discriminator may overlap, and an overlap rejects"
            )
            found.append(
                self.finding(
                    "one-of-not-disjoint",
                    at,
                    f"oneOf of {_where(where)} changed and its branches are not provably disjoint",
                    UNKNOWN,
                    UNKNOWN,
                    clause,
                    clause,
                )
            )
            return found
        if keyword in n:
            disjoint = (
                not one_of
                or _discriminator(self._resolved_branches(n[keyword], pn, self.new)) is not None
            )
            fits = self._wrapped(keyword, o, po, n[keyword], pn, wrapped_in_new=True)
            backward = OK if fits and disjoint else (UNKNOWN if fits else NO)
            return [
                self.finding(
                    f"wrapped-in-{slug}" if fits else f"{slug}-added",
                    at,
                    f"{_where(where)} is now constrained by {keyword}"
                    + (" (the old schema is one of its branches)" if fits else ""),
                    backward,
                    OK,
                    backward_clause=f"{_where(where)} values none of the {keyword} branches accept"
                    + ("" if disjoint else ", or that several overlapping oneOf branches accept"),
                )
            ]
        disjoint = (
            not one_of
            or _discriminator(self._resolved_branches(o[keyword], po, self.old)) is not None
        )
        fits = self._wrapped(keyword, n, pn, o[keyword], po, wrapped_in_new=False)
        forward = OK if fits and disjoint else (UNKNOWN if fits else NO)
        return [
            self.finding(
                f"unwrapped-from-{slug}" if fits else f"{slug}-removed",
                at,
                f"{_where(where)} is no longer constrained by {keyword}",
                OK,
                forward,
                forward_clause=f"{_where(where)} values none of the old {keyword} branches accept",
            )
        ]

    def _all_of(
        self,
        o: dict[str, Any],
        n: dict[str, Any],
        po: Resolver[Any],
        pn: Resolver[Any],
        ptr: str,
        where: str,
    ) -> list[Finding]:
        if "allOf" not in o and "allOf" not in n:
            return []
        o_list: list[Any] = o.get("allOf", [])
        n_list: list[Any] = n.get("allOf", [])
        out: list[Finding] = []
        o_left = list(range(len(o_list)))
        n_left = list(range(len(n_list)))
        for i in list(o_left):
            for j in n_left:
                if self._equivalent(_Node(o_list[i], po), _Node(n_list[j], pn)):
                    out += self.compare(
                        _Node(o_list[i], po), _Node(n_list[j], pn), f"{ptr}/allOf/{j}", where
                    )
                    o_left.remove(i)
                    n_left.remove(j)
                    break
        paired = min(len(o_left), len(n_left))
        for i, j in zip(o_left[:paired], n_left[:paired], strict=True):
            out += self.compare(
                _Node(o_list[i], po), _Node(n_list[j], pn), f"{ptr}/allOf/{j}", where
            )
        for j in n_left[paired:]:
            # Implied by OLD when the whole old schema already fits the new member.
            implied = self._includes(_Node(o, po), _Node(n_list[j], pn))[0]
            out.append(
                self.finding(
                    "all-of-member-added",
                    f"{ptr}/allOf/{j}",
                    f"{_where(where)} must also satisfy a new allOf member {j}",
                    OK if implied else NO,
                    OK,
                    backward_clause=f"{_where(where)} values the new allOf member {j} rejects",
                )
            )
        for i in o_left[paired:]:
            implied = self._includes(_Node(o_list[i], po), _Node(n, pn))[1]
            out.append(
                self.finding(
                    "all-of-member-removed",
                    f"{ptr}/allOf/{i}",
                    f"{_where(where)} no longer has to satisfy allOf member {i}",
                    OK,
                    OK if implied else NO,
                    forward_clause=f"{_where(where)} values the removed allOf member {i} rejected",
                )
            )
        return out

    def _not(
        self,
        o: dict[str, Any],
        n: dict[str, Any],
        po: Resolver[Any],
        pn: Resolver[Any],
        ptr: str,
        where: str,
    ) -> list[Finding]:
        if "not" not in o and "not" not in n:
            return []
        at = f"{ptr}/not"
        if "not" in o and "not" in n:
            # not S accepts the complement of S: widening S narrows the outer schema.
            inner = self.compare(_Node(o["not"], po), _Node(n["not"], pn), at, where)
            return [self._negated(f) for f in inner]
        added = "not" in n
        body = n["not"] if added else o["not"]
        empty = _is_false(body)
        return [
            self.finding(
                "not-added" if added else "not-removed",
                at,
                f"{_where(where)} {'must now fail' if added else 'no longer has to fail'} the "
                "schema under not",
                OK if (not added or empty) else NO,
                OK if (added or empty) else NO,
                backward_clause=f"{_where(where)} values the new not schema excludes",
                forward_clause=f"{_where(where)} values the old not schema excluded",
            )
        ]

    def _negated(self, finding: Finding) -> Finding:
        """A finding inside ``not``: directions exchange, and so do the reasons."""
        swapped = finding.swapped()
        clause = f"values the schema under `not` now treats differently ({finding.message})"
        return Finding(
            rule=swapped.rule,
            pointer=swapped.pointer,
            message=f"inside not: {finding.message}",
            backward=swapped.backward,
            forward=swapped.forward,
            backward_reason=self._reason(True, swapped.backward, clause),
            forward_reason=self._reason(False, swapped.forward, clause),
            note=swapped.note,
        )

    def _conditional(
        self,
        o: dict[str, Any],
        n: dict[str, Any],
        po: Resolver[Any],
        pn: Resolver[Any],
        ptr: str,
        where: str,
    ) -> list[Finding]:
        keys = ("if", "then", "else")
        if not any(k in o or k in n for k in keys):
            return []
        same = all(
            (k not in o and k not in n)
            or (k in o and k in n and self._equivalent(_Node(o[k], po), _Node(n[k], pn)))
            for k in keys
        )
        if same:
            return []
        clause = "which payloads take the then or else branch is not decided"
        return [
            self.finding(
                "conditional-changed",
                f"{ptr}/if" if ("if" in o or "if" in n) else f"{ptr}/then",
                f"if/then/else of {_where(where)} changed",
                UNKNOWN,
                UNKNOWN,
                clause,
                clause,
            )
        ]

    def _dynamic(self, o: dict[str, Any], n: dict[str, Any], ptr: str, where: str) -> list[Finding]:
        keys = ("$dynamicRef", "$recursiveRef")
        if not any(k in o or k in n for k in keys):
            return []
        clause = "dynamic references depend on the evaluation path and are not followed"
        return [
            self.finding(
                "dynamic-ref-present",
                f"{ptr}/$dynamicRef",
                f"{_where(where)} uses a dynamic reference",
                UNKNOWN,
                UNKNOWN,
                clause,
                clause,
            )
        ]

    def _unevaluated(
        self, o: dict[str, Any], n: dict[str, Any], found: list[Finding], ptr: str, where: str
    ) -> list[Finding]:
        """unevaluated* next to in-place applicators depends on every branch: not decided."""

        def opaque(schema: dict[str, Any]) -> bool:
            if "unevaluatedItems" in schema:
                return True
            return "unevaluatedProperties" in schema and (
                "additionalProperties" not in schema and any(k in schema for k in _IN_PLACE)
            )

        if not (opaque(o) or opaque(n)):
            return []
        same = value_key(o.get("unevaluatedProperties")) == value_key(
            n.get("unevaluatedProperties")
        ) and value_key(o.get("unevaluatedItems")) == value_key(n.get("unevaluatedItems"))
        if same and all(f.rule in rules.NEUTRAL for f in found):
            return []
        clause = "unevaluatedProperties/unevaluatedItems depend on what the other keywords evaluate"
        return [
            self.finding(
                "unevaluated-changed",
                f"{ptr}/unevaluatedProperties",
                f"{_where(where)} changed under unevaluated*",
                UNKNOWN,
                UNKNOWN,
                clause,
                clause,
            )
        ]

    def _finite_override(
        self, o: dict[str, Any], n: dict[str, Any], found: list[Finding]
    ) -> list[Finding]:
        """With an ``enum``/``const`` on a side, decide that direction exactly by validating values.

        When OLD admits only finitely many values, backward compatibility is exactly "each of
        them that OLD accepts, NEW accepts". Only done without references (a bare validator
        cannot follow them); the result replaces the per-keyword verdicts in that direction.
        """
        if not found or contains_ref(o) or contains_ref(n):
            return found
        if any(isinstance(v, _Located) for v in o.get("allOf", []) + n.get("allOf", [])):
            return found

        def exact(src: dict[str, Any], dst: dict[str, Any]) -> bool | None:
            values = _finite(src)
            if values is None or len(values) > 256:
                return None
            src_validator, dst_validator = Draft202012Validator(src), Draft202012Validator(dst)
            return all(dst_validator.is_valid(v) for v in values if src_validator.is_valid(v))

        backward, forward = exact(o, n), exact(n, o)
        if not backward and not forward:
            return found
        out = []
        for f in found:
            b = OK if backward else f.backward
            fw = OK if forward else f.forward
            if (b, fw) != (f.backward, f.forward):
                f = Finding(
                    rule=f.rule,
                    pointer=f.pointer,
                    message=f.message + " (decided by checking every enum/const value)",
                    backward=b,
                    forward=fw,
                    backward_reason=f.backward_reason if b is not OK else "",
                    forward_reason=f.forward_reason if fw is not OK else "",
                    note=f.note,
                )
            out.append(f)
        return out


def _version_label(schema: Any, fallback: str) -> str:
    if isinstance(schema, dict) and isinstance(schema.get("$id"), str):
        match = re.search(r"/v(\d+)\.json$", schema["$id"])
        if match:
            return f"v{match[1]}"
    return fallback


def compare_schemas(
    old: LoadedSchema, new: LoadedSchema, policy: Policy = Policy.STRICT
) -> DiffResult:
    """Compare two loaded schemas; SchemaLoadError when a reference cannot be resolved."""
    old_name = _version_label(old.schema, "OLD")
    new_name = _version_label(new.schema, "NEW")
    if old_name == new_name:
        old_name, new_name = f"the old {old_name}", f"the new {new_name}"
        if old_name == "the old OLD":
            old_name, new_name = "OLD", "NEW"
    engine = _Engine(old_name, new_name, policy)
    findings = engine.compare(
        _Node(old.schema, old.resolver), _Node(new.schema, new.resolver), "", ""
    )
    return DiffResult(old_label=old.label, new_label=new.label, findings=tuple(_dedupe(findings)))


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    seen: set[Finding] = set()
    out = []
    for f in findings:
        if f not in seen:
            seen.add(f)
            out.append(f)
    return out
