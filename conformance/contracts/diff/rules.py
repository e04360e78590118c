"""The rule catalogue of ``ssegate contracts diff`` and ``check``: one table entry per rule.

Rule IDs are stable: a reviewer, an ignore file or a CI script may name them. ``catalogue``
gives the rule numbers of shared/notes/contract-compatibility.md §4 each entry implements.
Every schema rule carries at least one example pair with the verdicts the engine must give;
tests/conformance/contracts/test_diff_rules.py runs them all, and docs/contract-rules.md is
generated from this table (``python -m conformance.contracts.diff.catalogue_doc``).

Verdict letters: ✓ compatible, ✗ incompatible, ? cannot prove. B is backward (clients on NEW
read events of a server on OLD: clients can deploy first), F is forward (clients on OLD read
events of a server on NEW: the server can deploy first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.contracts.diff.model import Level, Policy, Verdict

__all__ = ["NEUTRAL", "RULES", "Example", "Rule"]

OK = Verdict.COMPATIBLE
NO = Verdict.INCOMPATIBLE
UNKNOWN = Verdict.CANNOT_PROVE


@dataclass(frozen=True, slots=True)
class Example:
    """A before/after schema pair and the verdicts the rule gives it."""

    before: Any
    after: Any
    backward: Verdict
    forward: Verdict
    policy: Policy = Policy.STRICT
    label: str = ""


@dataclass(frozen=True, slots=True)
class Rule:
    """One catalogue entry.

    ``scope`` is ``schema`` for rules ``contracts diff`` reports on a pair of schemas and
    ``check`` for rules only ``contracts check`` reports (about files, versions, event names).
    """

    id: str
    catalogue: tuple[int, ...]
    title: str
    verdicts: str
    why: str
    level: Level = Level.INFO
    examples: tuple[Example, ...] = ()
    scope: str = "schema"
    extra: dict[str, Any] = field(default_factory=dict)


def _ex(before: Any, after: Any, b: Verdict, f: Verdict, **kw: Any) -> Example:
    return Example(before, after, b, f, **kw)


S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741 (a schema, not a loop variable)
CLOSED = {"type": "object", "additionalProperties": False}
OPEN = {"type": "object"}


def _obj(
    props: dict[str, Any], required: list[str] | None = None, closed: bool = True, **kw: Any
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props, **kw}
    if required:
        schema["required"] = required
    if closed:
        schema["additionalProperties"] = False
    return schema


_RULES: list[Rule] = [
    # -- annotations ---------------------------------------------------------------------
    Rule(
        "annotation-changed",
        (1,),
        "title, description, examples, $comment or another annotation changed",
        "B ✓ F ✓",
        "Annotations never change which payloads are valid.",
        examples=(_ex({**S, "description": "a"}, {**S, "description": "b"}, OK, OK),),
    ),
    Rule(
        "default-changed",
        (2,),
        "default added, removed or changed",
        "B ✓ F ✓ (warning)",
        "Validation ignores defaults, but a consumer that fills in missing values now fills in "
        "another one.",
        Level.WARNING,
        examples=(_ex({**S, "default": "a"}, {**S, "default": "b"}, OK, OK),),
    ),
    Rule(
        "deprecated-added",
        (3,),
        "deprecated: true added",
        "B ✓ F ✓",
        "Starts the removal runway (VER-7): the member may go away in the next major version.",
        examples=(_ex(S, {**S, "deprecated": True}, OK, OK),),
    ),
    Rule(
        "deprecated-removed",
        (3,),
        "deprecated: true removed",
        "B ✓ F ✓",
        "The member is no longer scheduled for removal.",
        examples=(_ex({**S, "deprecated": True}, S, OK, OK),),
    ),
    Rule(
        "schema-dialect-changed",
        (5,),
        "$schema dialect changed",
        "B ? F ?",
        "items, dependencies and format mean different things in different drafts; the diff "
        "assumes 2020-12 on both sides and cannot prove the change harmless.",
        examples=(
            _ex(
                {"$schema": "https://json-schema.org/draft/2020-12/schema", **S},
                {"$schema": "https://json-schema.org/draft/2019-09/schema", **S},
                UNKNOWN,
                UNKNOWN,
            ),
        ),
    ),
    Rule(
        "format-added",
        (6,),
        "format added",
        "B ✓ F ✓ (warning)",
        "ssegate validates with format as an annotation (contracts state formats that matter "
        "with pattern); a consumer asserting formats would reject more.",
        Level.WARNING,
        examples=(_ex(S, {**S, "format": "date-time"}, OK, OK),),
    ),
    Rule(
        "format-removed",
        (6,),
        "format removed",
        "B ✓ F ✓ (warning)",
        "As format-added: an annotation under ssegate's validation; consumers asserting formats "
        "accept more.",
        Level.WARNING,
        examples=(_ex({**S, "format": "date-time"}, S, OK, OK),),
    ),
    Rule(
        "format-changed",
        (6,),
        "format changed",
        "B ✓ F ✓ (warning)",
        "As format-added; a consumer asserting formats would disagree with producers on both "
        "sides.",
        Level.WARNING,
        examples=(_ex({**S, "format": "date"}, {**S, "format": "date-time"}, OK, OK),),
    ),
    Rule(
        "id-changed",
        (50,),
        "$id (the dataschema URI) changed",
        "B ✓ F ✓",
        "The URI names the contract version; `contracts check` verifies that its major version "
        "moves with the worst finding (VER-5, VER-6).",
        examples=(
            _ex(
                {"$id": "https://ssegate.dev/contracts/x/v1.json", **S},
                {"$id": "https://ssegate.dev/contracts/x/v2.json", **S},
                OK,
                OK,
            ),
        ),
    ),
    # -- types ------------------------------------------------------------------------------
    Rule(
        "type-widened",
        (7,),
        "type widened",
        "B ✓ F ✗",
        "Clients on NEW accept everything OLD allowed; clients on OLD reject values of the added "
        "type.",
        examples=(
            _ex(I, {"type": ["integer", "string"]}, OK, NO),
            _ex(I, {"type": "number"}, OK, NO),
        ),
    ),
    Rule(
        "type-narrowed",
        (8,),
        "type narrowed",
        "B ✗ F ✓",
        "A server on OLD may still send values of the removed type, which clients on NEW reject.",
        examples=(_ex({"type": ["integer", "string"]}, I, NO, OK), _ex({}, S, NO, OK)),
    ),
    Rule(
        "type-changed",
        (9,),
        "type replaced by a disjoint type",
        "B ✗ F ✗",
        "No value of the old type is valid any more and vice versa: neither side can deploy first.",
        examples=(_ex(I, S, NO, NO),),
    ),
    Rule(
        "type-rewritten",
        (),
        "type spelled differently, same values",
        "B ✓ F ✓",
        'For example ["integer", "number"] is the same set as "number".',
        examples=(_ex({"type": ["integer", "number"]}, {"type": "number"}, OK, OK),),
    ),
    Rule(
        "null-added",
        (10,),
        "null added to the type",
        "B ✓ F ✗",
        "Old clients crash on null: the server cannot send it until they upgrade.",
        examples=(_ex(S, {"type": ["string", "null"]}, OK, NO),),
    ),
    Rule(
        "null-removed",
        (11,),
        "null removed from the type",
        "B ✗ F ✓",
        "A server on OLD still sends null, which clients on NEW reject.",
        examples=(_ex({"type": ["string", "null"]}, S, NO, OK),),
    ),
    # -- enum and const -------------------------------------------------------------------
    Rule(
        "enum-value-added",
        (12,),
        "enum value added",
        "B ✓ F ✗ (F ✓ with x-extensible-enum under --policy lenient)",
        "Clients on OLD reject the new value. Marking the enum `x-extensible-enum: true` "
        "promises consumers ignore unknown values; the lenient policy then trusts that promise, "
        "the strict one does not.",
        examples=(
            _ex({"enum": ["A", "B"]}, {"enum": ["A", "B", "C"]}, OK, NO),
            _ex(
                {"enum": ["A"], "x-extensible-enum": True},
                {"enum": ["A", "B"], "x-extensible-enum": True},
                OK,
                OK,
                policy=Policy.LENIENT,
                label="extensible, lenient",
            ),
        ),
    ),
    Rule(
        "enum-value-removed",
        (13,),
        "enum value removed",
        "B ✗ F ✓",
        "A server on OLD may still send the removed value, which clients on NEW reject.",
        examples=(_ex({"enum": ["A", "B"]}, {"enum": ["A"]}, NO, OK),),
    ),
    Rule(
        "enum-added",
        (14,),
        "enum introduced",
        "B ✗ F ✓",
        "Values outside the new list were valid before and are rejected now.",
        examples=(
            _ex(S, {**S, "enum": ["A"]}, NO, OK),
            _ex({"const": "A"}, {"const": "A", "enum": ["A", "B"]}, OK, OK),
        ),
    ),
    Rule(
        "enum-removed",
        (14,),
        "enum dropped",
        "B ✓ F ✗",
        "Any value of the type is valid now; clients on OLD reject values outside the old list.",
        examples=(_ex({**S, "enum": ["A"]}, S, OK, NO),),
    ),
    Rule(
        "const-added",
        (14,),
        "const introduced",
        "B ✗ F ✓",
        "Every other value was valid before and is rejected now.",
        examples=(_ex(S, {**S, "const": "A"}, NO, OK),),
    ),
    Rule(
        "const-removed",
        (14,),
        "const dropped",
        "B ✓ F ✗",
        "Other values are valid now; clients on OLD reject them.",
        examples=(_ex({**S, "const": "A"}, S, OK, NO),),
    ),
    Rule(
        "const-changed",
        (14,),
        "const changed to another value",
        "B ✗ F ✗",
        "The old and the new value exclude each other.",
        examples=(_ex({"const": "A"}, {"const": "B"}, NO, NO),),
    ),
    # -- numbers ---------------------------------------------------------------------------
    Rule(
        "multiple-of-relaxed",
        (19,),
        "multipleOf changed to a divisor of the old value, or removed",
        "B ✓ F ✗",
        "Every multiple of 4 is a multiple of 2, not the other way round.",
        examples=(
            _ex({"multipleOf": 4}, {"multipleOf": 2}, OK, NO),
            _ex({"multipleOf": 4}, {}, OK, NO),
        ),
    ),
    Rule(
        "multiple-of-tightened",
        (19,),
        "multipleOf changed to a multiple of the old value, or added",
        "B ✗ F ✓",
        "A server on OLD may send 2, which multipleOf 4 rejects.",
        examples=(
            _ex({"multipleOf": 2}, {"multipleOf": 4}, NO, OK),
            _ex({}, {"multipleOf": 2}, NO, OK),
        ),
    ),
    Rule(
        "multiple-of-changed",
        (19,),
        "multipleOf changed to an unrelated value",
        "B ✗ F ✗",
        "2 is not a multiple of 3 and 3 is not a multiple of 2.",
        examples=(_ex({"multipleOf": 2}, {"multipleOf": 3}, NO, NO),),
    ),
    # -- strings ---------------------------------------------------------------------------
    Rule(
        "pattern-added",
        (17,),
        "pattern added",
        "B ✗ F ✓",
        "Strings not matching the new pattern were valid before.",
        examples=(_ex(S, {**S, "pattern": "^[a-z]+$"}, NO, OK),),
    ),
    Rule(
        "pattern-removed",
        (17,),
        "pattern removed",
        "B ✓ F ✗",
        "Clients on OLD reject strings outside the old pattern.",
        examples=(_ex({**S, "pattern": "^[a-z]+$"}, S, OK, NO),),
    ),
    Rule(
        "pattern-changed",
        (17,),
        "pattern changed",
        "B ? F ?",
        "Regular-expression inclusion is not decided; review the two patterns by hand (and bump "
        "the major version unless sure).",
        examples=(
            _ex({**S, "pattern": "^[a-z]+$"}, {**S, "pattern": "^[a-z0-9]+$"}, UNKNOWN, UNKNOWN),
        ),
    ),
    # -- objects -----------------------------------------------------------------------------
    Rule(
        "property-added-closed-model",
        (20,),
        "optional member added to a closed object",
        "B ✓ F ✗",
        "OLD payloads never carry the member; clients on OLD (additionalProperties false) reject "
        "payloads that do.",
        examples=(_ex(_obj({"a": S}), _obj({"a": S, "b": S}), OK, NO),),
    ),
    Rule(
        "property-added-open-model",
        (21,),
        "member added to an open object",
        "B ✗ F ✓ (strict); B ✓ warning (lenient); B ✓ for schema {}",
        "In an open object a server on OLD may already send the member with any value; the new "
        "schema may reject it. The lenient policy assumes producers never send undeclared "
        "members.",
        Level.WARNING,
        examples=(
            _ex(_obj({"a": S}, closed=False), _obj({"a": S, "b": I}, closed=False), NO, OK),
            _ex(
                _obj({"a": S}, closed=False),
                _obj({"a": S, "b": I}, closed=False),
                OK,
                OK,
                policy=Policy.LENIENT,
                label="lenient",
            ),
            _ex(
                _obj({"a": S}, closed=False),
                _obj({"a": S, "b": {}}, closed=False),
                OK,
                OK,
                label="schema {}",
            ),
        ),
    ),
    Rule(
        "property-added-covered",
        (33,),
        "member added where patternProperties or an additionalProperties schema already governed "
        "it",
        "compared against the covering schema",
        "The old payloads could carry the member under the covering schema; the verdict is that "
        "of comparing the covering schema with the new member schema.",
        examples=(
            _ex(
                {"type": "object", "patternProperties": {"^x-": S}, "additionalProperties": False},
                {
                    "type": "object",
                    "properties": {"x-a": S},
                    "patternProperties": {"^x-": S},
                    "additionalProperties": False,
                },
                OK,
                OK,
            ),
            _ex(
                {"type": "object", "additionalProperties": S},
                {
                    "type": "object",
                    "properties": {"a": {"type": "string", "maxLength": 3}},
                    "additionalProperties": S,
                },
                NO,
                OK,
                label="narrower than the covering schema",
            ),
        ),
    ),
    Rule(
        "required-property-added",
        (22,),
        "required member added",
        "B ✗; F ✓ if the old object was open, F ✗ if closed",
        "OLD payloads lack the member. The forward verdict comes from the property-added-* "
        "finding that accompanies it.",
        examples=(
            _ex(_obj({"a": S}, closed=False), _obj({"a": S, "b": S}, ["b"], closed=False), NO, OK),
            _ex(_obj({"a": S}), _obj({"a": S, "b": S}, ["b"]), NO, NO, label="closed"),
        ),
    ),
    Rule(
        "required-property-added-with-default",
        (23,),
        "required member added with a default",
        "as required-property-added",
        "A default does not change validation: OLD payloads still lack the member (Confluent "
        "differs; ssegate follows the validator).",
        examples=(_ex(_obj({"a": S}), _obj({"a": S, "b": {**S, "default": "x"}}, ["b"]), NO, NO),),
    ),
    Rule(
        "required-property-removed",
        (25,),
        "required member removed from the object and from required",
        "B ✓ F ✗ (required part)",
        "Clients on OLD require the member; payloads under NEW may lack it.",
        examples=(
            _ex(
                _obj({"a": S, "b": S}, ["a", "b"], closed=False),
                _obj({"a": S}, ["a"], closed=False),
                OK,
                NO,
            ),
        ),
    ),
    Rule(
        "property-became-required",
        (27,),
        "optional member becomes required",
        "B ✗ F ✓",
        "OLD payloads may lack the member.",
        examples=(_ex(_obj({"a": S}), _obj({"a": S}, ["a"]), NO, OK),),
    ),
    Rule(
        "property-became-optional",
        (28,),
        "required member becomes optional",
        "B ✓ F ✗",
        "Clients on OLD reject payloads without the member.",
        examples=(_ex(_obj({"a": S}, ["a"]), _obj({"a": S}), OK, NO),),
    ),
    Rule(
        "property-removed-open-model",
        (24,),
        "optional member removed from an open object",
        "B ✓ F ✗ (strict); F ✓ warning (lenient)",
        "The member becomes undeclared: a server on NEW may send any value there, which the old "
        "member schema may reject. The lenient policy assumes producers never send undeclared "
        "members.",
        Level.WARNING,
        examples=(
            _ex(_obj({"a": S, "b": I}, closed=False), _obj({"a": S}, closed=False), OK, NO),
            _ex(
                _obj({"a": S, "b": I}, closed=False),
                _obj({"a": S}, closed=False),
                OK,
                OK,
                policy=Policy.LENIENT,
                label="lenient",
            ),
        ),
    ),
    Rule(
        "property-removed-closed-model",
        (25,),
        "member removed from a closed object",
        "B ✗; F ✓ if it was optional, F ✗ if required",
        "A server on OLD still sends the member, which clients on NEW (additionalProperties "
        "false) reject.",
        examples=(
            _ex(_obj({"a": S, "b": S}), _obj({"a": S}), NO, OK),
            _ex(_obj({"a": S, "b": S}, ["b"]), _obj({"a": S}), NO, NO, label="required"),
        ),
    ),
    Rule(
        "property-removed-covered",
        (25, 33),
        "member removed where patternProperties or an additionalProperties schema now governs it",
        "compared against the covering schema",
        "The member stays allowed under the covering schema; the verdict is that of comparing "
        "the old member schema with it.",
        examples=(
            _ex(
                {"type": "object", "properties": {"a": S}, "additionalProperties": S},
                {"type": "object", "additionalProperties": S},
                OK,
                OK,
            ),
        ),
    ),
    Rule(
        "property-renamed-likely",
        (29,),
        "a member removed and another added with the same schema",
        "B ✓ F ✓ (the removal and addition findings carry the verdicts)",
        "Reported as a removal plus an addition; this note helps the reviewer see the rename.",
        examples=(_ex(_obj({"a": S}), _obj({"b": S}), NO, NO),),
    ),
    Rule(
        "additional-properties-opened",
        (30,),
        "object opened (additionalProperties false removed)",
        "B ✓ F ✗",
        "Clients on OLD reject the undeclared members a server on NEW may send.",
        examples=(_ex(CLOSED, OPEN, OK, NO),),
    ),
    Rule(
        "additional-properties-closed",
        (31,),
        "object closed (additionalProperties or unevaluatedProperties false added)",
        "B ✗ F ✓",
        "A server on OLD may send undeclared members, which clients on NEW reject.",
        examples=(
            _ex(OPEN, CLOSED, NO, OK),
            _ex(OPEN, {"type": "object", "unevaluatedProperties": False}, NO, OK),
        ),
    ),
    Rule(
        "pattern-properties-changed",
        (33,),
        "patternProperties pattern added or removed",
        "B ? F ?",
        "Which member names a pattern governs is a regular-expression question the diff does not "
        "decide.",
        examples=(
            _ex(OPEN, {"type": "object", "patternProperties": {"^x-": S}}, UNKNOWN, UNKNOWN),
        ),
    ),
    Rule(
        "property-names-added",
        (34,),
        "propertyNames added",
        "B ✗ F ✓ (from comparing the name schemas)",
        "Member names the new schema rejects were valid before.",
        examples=(_ex(OPEN, {"type": "object", "propertyNames": {"maxLength": 3}}, NO, OK),),
    ),
    Rule(
        "property-names-removed",
        (34,),
        "propertyNames removed",
        "B ✓ F ✗",
        "Clients on OLD reject member names outside the old name schema.",
        examples=(_ex({"type": "object", "propertyNames": {"maxLength": 3}}, OPEN, OK, NO),),
    ),
    Rule(
        "dependent-required-tightened",
        (36,),
        "dependentRequired added or extended",
        "B ✗ F ✓",
        "OLD payloads may carry the trigger member without the newly dependent ones.",
        examples=(_ex(OPEN, {"type": "object", "dependentRequired": {"a": ["b"]}}, NO, OK),),
    ),
    Rule(
        "dependent-required-relaxed",
        (36,),
        "dependentRequired removed or reduced",
        "B ✓ F ✗",
        "Clients on OLD require the dependent members.",
        examples=(_ex({"type": "object", "dependentRequired": {"a": ["b"]}}, OPEN, OK, NO),),
    ),
    Rule(
        "dependent-required-changed",
        (36,),
        "dependentRequired replaced by other members",
        "B ✗ F ✗",
        "Each side requires a member the other does not.",
        examples=(
            _ex({"dependentRequired": {"a": ["b"]}}, {"dependentRequired": {"a": ["c"]}}, NO, NO),
        ),
    ),
    Rule(
        "dependent-schema-added",
        (36,),
        "dependentSchemas entry added",
        "B ✗ F ✓ (from comparing with {})",
        "Payloads with the trigger member must now also satisfy the new schema.",
        examples=(
            _ex(OPEN, {"type": "object", "dependentSchemas": {"a": {"required": ["b"]}}}, NO, OK),
        ),
    ),
    Rule(
        "dependent-schema-removed",
        (36,),
        "dependentSchemas entry removed",
        "B ✓ F ✗",
        "Clients on OLD still apply the removed schema.",
        examples=(
            _ex({"type": "object", "dependentSchemas": {"a": {"required": ["b"]}}}, OPEN, OK, NO),
        ),
    ),
    # -- arrays ----------------------------------------------------------------------------
    Rule(
        "unique-items-added",
        (39,),
        "uniqueItems added",
        "B ✗ F ✓",
        "OLD payloads may repeat items.",
        examples=(_ex({"type": "array"}, {"type": "array", "uniqueItems": True}, NO, OK),),
    ),
    Rule(
        "unique-items-removed",
        (39,),
        "uniqueItems removed",
        "B ✓ F ✗",
        "Clients on OLD reject repeated items.",
        examples=(_ex({"type": "array", "uniqueItems": True}, {"type": "array"}, OK, NO),),
    ),
    Rule(
        "contains-added",
        (38,),
        "contains added",
        "B ✗ F ✓",
        "OLD arrays may have no matching item.",
        examples=(_ex({"type": "array"}, {"type": "array", "contains": S}, NO, OK),),
    ),
    Rule(
        "contains-removed",
        (38,),
        "contains removed",
        "B ✓ F ✗",
        "Clients on OLD require a matching item.",
        examples=(_ex({"type": "array", "contains": S}, {"type": "array"}, OK, NO),),
    ),
    Rule(
        "contains-changed",
        (38,),
        "contains schema changed next to maxContains",
        "B ? F ?",
        "A wider contains schema counts more items, which maxContains may then reject.",
        examples=(
            _ex(
                {"contains": {"const": 1}, "maxContains": 1},
                {"contains": {"enum": [1, 2]}, "maxContains": 1},
                UNKNOWN,
                NO,
            ),
        ),
    ),
    # -- combinators -----------------------------------------------------------------------
    Rule(
        "any-of-branch-added",
        (40,),
        "anyOf branch added",
        "B ✓ F ✗",
        "Clients on OLD reject values only the new branch accepts.",
        examples=(_ex({"anyOf": [S, I]}, {"anyOf": [S, I, {"type": "null"}]}, OK, NO),),
    ),
    Rule(
        "any-of-branch-removed",
        (42,),
        "anyOf branch removed",
        "B ✗ F ✓",
        "A server on OLD may send values only the removed branch accepted.",
        examples=(_ex({"anyOf": [S, I, {"type": "null"}]}, {"anyOf": [S, I]}, NO, OK),),
    ),
    Rule(
        "one-of-branch-added",
        (41,),
        "oneOf branch added",
        "B ✓ F ✗ with a const discriminator; otherwise B ? (see one-of-not-disjoint)",
        "Without a discriminator the new branch may overlap an old one, and a value matching two "
        "branches fails oneOf.",
        examples=(
            _ex(
                {"oneOf": [_obj({"k": {"const": "a"}}, ["k"]), _obj({"k": {"const": "b"}}, ["k"])]},
                {
                    "oneOf": [
                        _obj({"k": {"const": "a"}}, ["k"]),
                        _obj({"k": {"const": "b"}}, ["k"]),
                        _obj({"k": {"const": "c"}}, ["k"]),
                    ]
                },
                OK,
                NO,
            ),
            _ex(
                {"oneOf": [S, I]},
                {"oneOf": [S, I, {"type": "number"}]},
                UNKNOWN,
                NO,
                label="overlapping",
            ),
        ),
    ),
    Rule(
        "one-of-branch-removed",
        (42,),
        "oneOf branch removed",
        "B ✗ F ✓ with a const discriminator; otherwise F ?",
        "A server on OLD may send values only the removed branch accepted.",
        examples=(
            _ex(
                {
                    "oneOf": [
                        _obj({"k": {"const": "a"}}, ["k"]),
                        _obj({"k": {"const": "b"}}, ["k"]),
                        _obj({"k": {"const": "c"}}, ["k"]),
                    ]
                },
                {"oneOf": [_obj({"k": {"const": "a"}}, ["k"]), _obj({"k": {"const": "b"}}, ["k"])]},
                NO,
                OK,
            ),
        ),
    ),
    Rule(
        "one-of-not-disjoint",
        (41,),
        "oneOf changed and its branches are not provably disjoint",
        "B ? F ?",
        "oneOf rejects values matching two branches; without a const discriminator the diff "
        "cannot rule overlaps out (oasdiff's maintainers: a false alarm is better than a missed "
        "break).",
        examples=(_ex({"oneOf": [S, I]}, {"oneOf": [S, {"type": "number"}]}, UNKNOWN, NO),),
    ),
    Rule(
        "wrapped-in-any-of",
        (45,),
        "plain schema wrapped in anyOf with itself as a branch",
        "B ✓ (F from the other branches)",
        "Every old value still matches its own branch.",
        examples=(_ex(S, {"anyOf": [S, I]}, OK, NO),),
    ),
    Rule(
        "wrapped-in-one-of",
        (45,),
        "plain schema wrapped in oneOf with itself as a branch",
        "B ? unless a const discriminator proves the branches disjoint",
        "An old value may also match another branch, and then oneOf fails.",
        examples=(_ex(S, {"oneOf": [S, I]}, UNKNOWN, NO),),
    ),
    Rule(
        "any-of-added",
        (45,),
        "anyOf added and the old schema is none of its branches",
        "B ✗ F ✓",
        "Old values need not match any of the new branches.",
        examples=(_ex(S, {"anyOf": [{"maxLength": 3}, {"pattern": "^a"}]}, NO, NO),),
    ),
    Rule(
        "one-of-added",
        (45,),
        "oneOf added and the old schema is none of its branches",
        "B ✗ F ✓",
        "Old values need not match exactly one new branch.",
        examples=(_ex(S, {"oneOf": [{"maxLength": 3}, {"pattern": "^a"}]}, NO, NO),),
    ),
    Rule(
        "unwrapped-from-any-of",
        (45,),
        "anyOf removed and the new schema is one of its old branches",
        "F ✓ (B from the dropped branches)",
        "Every new value matches the old branch it came from.",
        examples=(_ex({"anyOf": [S, I]}, S, NO, OK),),
    ),
    Rule(
        "unwrapped-from-one-of",
        (45,),
        "oneOf removed and the new schema is one of its old branches",
        "F ? unless the old branches were provably disjoint",
        "A new value may match several old branches, which the old oneOf rejects.",
        examples=(_ex({"oneOf": [S, I]}, S, NO, UNKNOWN),),
    ),
    Rule(
        "any-of-removed",
        (42,),
        "anyOf removed and the new schema is none of its branches",
        "B ✓ F ✗",
        "Clients on OLD still require a value matching one of the old branches.",
        examples=(_ex({"anyOf": [{"maxLength": 3}, {"pattern": "^a"}]}, S, NO, NO),),
    ),
    Rule(
        "one-of-removed",
        (42,),
        "oneOf removed and the new schema is none of its branches",
        "B ✓ F ✗",
        "Clients on OLD still require a value matching exactly one old branch.",
        examples=(_ex({"oneOf": [{"maxLength": 3}, {"pattern": "^a"}]}, S, NO, NO),),
    ),
    Rule(
        "all-of-member-added",
        (43,),
        "allOf member added",
        "B ✗ F ✓ (B ✓ when the old schema already implies it)",
        "Payloads must satisfy one more schema.",
        examples=(_ex({"allOf": [S]}, {"allOf": [S, {"maxLength": 3}]}, NO, OK),),
    ),
    Rule(
        "all-of-member-removed",
        (43,),
        "allOf member removed",
        "B ✓ F ✗",
        "Clients on OLD still apply the removed member.",
        examples=(_ex({"allOf": [S, {"maxLength": 3}]}, {"allOf": [S]}, OK, NO),),
    ),
    Rule(
        "not-added",
        (44,),
        "not added",
        "B ✗ F ✓",
        "Values the not schema matches were valid before.",
        examples=(_ex(S, {**S, "not": {"const": "x"}}, NO, OK),),
    ),
    Rule(
        "not-removed",
        (44,),
        "not removed",
        "B ✓ F ✗",
        "Clients on OLD still exclude the values the not schema matches. (A schema inside not "
        "that widens narrows the outer schema: findings inside not have their directions "
        "exchanged.)",
        examples=(_ex({**S, "not": {"const": "x"}}, S, OK, NO),),
    ),
    Rule(
        "conditional-changed",
        (46,),
        "if/then/else changed",
        "B ? F ?",
        "Which payloads take which branch depends on the if schema; the diff does not decide it.",
        examples=(
            _ex(
                {"if": {"required": ["a"]}, "then": {"required": ["b"]}},
                {"if": {"required": ["a"]}, "then": {"required": ["c"]}},
                UNKNOWN,
                UNKNOWN,
            ),
        ),
    ),
    Rule(
        "dynamic-ref-present",
        (47,),
        "$dynamicRef or $recursiveRef in a changed schema",
        "B ? F ?",
        "Dynamic references resolve along the evaluation path; the diff does not follow them.",
        examples=(
            _ex(
                {"$dynamicRef": "#meta", **S},
                {"$dynamicRef": "#meta", **S, "title": "t"},
                UNKNOWN,
                UNKNOWN,
            ),
        ),
    ),
    Rule(
        "unevaluated-changed",
        (31,),
        "schema with unevaluatedProperties/unevaluatedItems next to in-place applicators changed",
        "B ? F ?",
        "What counts as evaluated depends on every allOf/anyOf/$ref branch; the diff does not "
        "decide it.",
        examples=(
            _ex(
                {"allOf": [{"properties": {"a": S}}], "unevaluatedProperties": False},
                {"allOf": [{"properties": {"a": S, "b": S}}], "unevaluatedProperties": False},
                NO,
                UNKNOWN,
            ),
        ),
    ),
    Rule(
        "false-schema-relaxed",
        (26,),
        "a schema that was false (nothing allowed) now allows values",
        "B ✓ F ✗",
        "Clients on OLD reject every value there.",
        examples=(_ex({"type": "array", "items": False}, {"type": "array", "items": S}, OK, NO),),
    ),
    Rule(
        "false-schema-introduced",
        (26,),
        "a schema became false (nothing allowed)",
        "B ✗ F ✓",
        "Values a server on OLD sends there are rejected.",
        examples=(_ex({"type": "array", "items": S}, {"type": "array", "items": False}, NO, OK),),
    ),
    Rule(
        "comparison-too-deep",
        (47,),
        "the schemas nest deeper than the comparison follows",
        "B ? F ?",
        "Reached only by schemas that recurse through unions or conjunctions without passing a "
        "reference twice in the same pair; never reported compatible.",
    ),
    Rule(
        "keyword-not-understood",
        (),
        "a subschema is neither an object nor a boolean",
        "B ? F ?",
        "Only reachable with a malformed schema that escaped validation; never reported "
        "compatible.",
    ),
    # -- contracts check ---------------------------------------------------------------------
    Rule(
        "major-version-not-bumped",
        (4,),
        "contract changed incompatibly under the mode without a new major version",
        "error (VER-5)",
        "Consumers pinned to NAME@MAJOR would receive payloads they reject; publish the change "
        "as vMAJOR+1.json.",
        Level.BREAKING,
        scope="check",
    ),
    Rule(
        "major-version-bumped-without-break",
        (4,),
        "new major version whose changes are compatible under the mode",
        "warning (VER-6)",
        "A major version costs every consumer a migration; a compatible change keeps the major "
        "version.",
        Level.WARNING,
        scope="check",
    ),
    Rule(
        "id-path-mismatch",
        (4,),
        "$id does not end in the file's NAME/vMAJOR.json",
        "error (VER-5)",
        "The catalog, the harness and consumers find contracts by $id; a mismatch means the "
        "version moved in one place only.",
        Level.BREAKING,
        scope="check",
    ),
    Rule(
        "contract-added",
        (),
        "new contract or new major version file",
        "info",
        "New files are findings too: a new major version is compared with the previous one.",
        scope="check",
    ),
    Rule(
        "contract-removed",
        (),
        "contract file deleted",
        "breaking",
        "Servers and clients that declare NAME@MAJOR lose their contract; keep old majors "
        "through a deprecation period (VER-7).",
        Level.BREAKING,
        scope="check",
    ),
    Rule(
        "event-name-changed",
        (49,),
        "SSE event name removed or mapped to another contract in catalog.json",
        "B ✗ F ✗",
        "Consumers route on the event: name; a renamed or remapped event is invisible to old and "
        "new consumers alike.",
        Level.BREAKING,
        scope="check",
    ),
    Rule(
        "event-name-added",
        (49,),
        "SSE event name added to catalog.json",
        "info",
        "Old clients ignore events they do not listen for (CLI-4).",
        scope="check",
    ),
]


def _bound_rules() -> list[Rule]:
    """Numeric, length and count bounds share one shape (rules 15, 16, 18, 35, 38)."""
    out: list[Rule] = []
    families = (
        ("maximum", (18,), "maximum or exclusiveMaximum", {"maximum": 10}, {"maximum": 20}, True),
        ("minimum", (18,), "minimum or exclusiveMinimum", {"minimum": 10}, {"minimum": 0}, False),
        ("max-length", (15,), "maxLength", {"maxLength": 10}, {"maxLength": 20}, True),
        ("min-length", (16,), "minLength", {"minLength": 10}, {"minLength": 1}, False),
        ("max-items", (38,), "maxItems", {"maxItems": 10}, {"maxItems": 20}, True),
        ("min-items", (38,), "minItems", {"minItems": 10}, {"minItems": 1}, False),
        (
            "max-properties",
            (35,),
            "maxProperties",
            {"maxProperties": 10},
            {"maxProperties": 20},
            True,
        ),
        (
            "min-properties",
            (35,),
            "minProperties",
            {"minProperties": 10},
            {"minProperties": 1},
            False,
        ),
        (
            "max-contains",
            (38,),
            "maxContains",
            {"contains": S, "maxContains": 1},
            {"contains": S, "maxContains": 2},
            True,
        ),
        (
            "min-contains",
            (38,),
            "minContains",
            {"contains": S, "minContains": 2},
            {"contains": S, "minContains": 1},
            False,
        ),
    )
    for slug, numbers, keyword, tight, loose, upper in families:
        raised, lowered = ("raised", "lowered") if upper else ("lowered", "raised")
        out.append(
            Rule(
                f"{slug}-relaxed",
                numbers,
                f"{keyword} {raised} or removed",
                "B ✓ F ✗",
                f"Every value within the old {keyword} is within the new one; clients on OLD "
                "reject values beyond the old bound.",
                examples=(_ex(tight, loose, OK, NO),),
            )
        )
        out.append(
            Rule(
                f"{slug}-tightened",
                numbers,
                f"{keyword} {lowered} or added",
                "B ✗ F ✓",
                f"A server on OLD may send values beyond the new {keyword}.",
                examples=(_ex(loose, tight, NO, OK),),
            )
        )
    return out


RULES: dict[str, Rule] = {rule.id: rule for rule in [*_RULES, *_bound_rules()]}

# Findings of these rules never change which payloads are valid: a subschema whose comparison
# yields only these is equivalent to the other.
NEUTRAL = frozenset(
    {
        "annotation-changed",
        "default-changed",
        "deprecated-added",
        "deprecated-removed",
        "format-added",
        "format-removed",
        "format-changed",
        "id-changed",
        "type-rewritten",
        "property-added-covered",
        "property-removed-covered",
        "property-renamed-likely",
    }
)
