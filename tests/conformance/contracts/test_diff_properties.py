"""Proof that ``contracts diff`` never says "compatible" wrongly (STYLE.md, property-based tests).

For schema pairs made by mutating the real contracts and hand-written schemas
(schema_mutations.py), in both orders, and for random pairs of the rule catalogue's examples:
whenever the diff says *backward* compatible, every instance hypothesis-jsonschema generates
from OLD is valid under NEW (Draft202012Validator);
whenever it says *forward* compatible, every instance generated from NEW is valid under OLD.
A counterexample fails with the pair, the instance and the rules that fired.

Under ``--policy lenient`` the claims are conditional on the policy's assumptions (producers
never send undeclared members; consumers ignore unknown values of an ``x-extensible-enum``), so
instances come from the closed view of the producing schema and are checked against the
consuming schema with extensible enums relaxed.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample
from hypothesis_jsonschema._canonicalise import FALSEY, canonicalish
from jsonschema import Draft202012Validator
from jsonschema_generation import from_schema
from schema_mutations import EDITS, mutated

from conformance import _resources
from conformance.contracts.diff import (
    Policy,
    Verdict,
    compare_schemas,
    load_documents,
)
from conformance.contracts.diff.resolve import RecursiveSchemaError, inline_refs
from conformance.contracts.diff.rules import RULES

CONTRACT_FILES = sorted(_resources.contracts_dir().glob("*/v*.json"))
# The project's own file formats are large and not payloads; the payload contracts suffice.
REAL = [
    json.loads(p.read_text(encoding="utf-8"))
    for p in CONTRACT_FILES
    if not p.parent.name.startswith("ssegate.")
]
HAND_WRITTEN: list[Any] = [
    {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 5},
            "count": {"type": "integer", "minimum": 0, "maximum": 10},
            "tags": {"type": "array", "items": {"enum": ["A", "B", "C"]}, "maxItems": 3},
        },
        "required": ["name"],
    },
    {
        "type": "object",
        "properties": {
            "kind": {"enum": ["A", "B"]},
            "value": {"anyOf": [{"type": "integer", "multipleOf": 2}, {"type": "null"}]},
        },
        "required": ["kind"],
        "additionalProperties": False,
    },
    {
        "oneOf": [
            {
                "type": "object",
                "properties": {"k": {"const": "a"}, "x": {"type": "integer"}},
                "required": ["k"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {"k": {"const": "b"}, "y": {"type": "string"}},
                "required": ["k"],
                "additionalProperties": False,
            },
        ]
    },
    {
        "$defs": {"item": {"type": "string", "pattern": "^[a-z]+$", "minLength": 1}},
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/item"}}},
        "patternProperties": {"^x-": {"type": "boolean"}},
        "additionalProperties": {"type": "integer"},
    },
    {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 100, "not": {"const": 50}},
    {"allOf": [{"type": "string"}, {"maxLength": 8}], "enum": ["A", "B", "NOT_SENT", "x"]},
]
BASES = REAL + HAND_WRITTEN
INSTANCES_PER_DIRECTION = 3


def _loaded(schema: Any, name: str) -> Any:
    return _loaded_text(json.dumps(schema, sort_keys=True), name)


@functools.lru_cache(maxsize=1024)
def _loaded_text(text: str, name: str) -> Any:
    # Loading checks the schema against the 2020-12 metaschema, the slowest step: once per text.
    uri = f"file:///property/{name}.json"
    return load_documents(uri, {uri: json.loads(text)})


def _closed(schema: Any) -> Any:
    """The policy-lenient producer: objects with declared members send no others."""
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {
        k: _closed(v) if k not in ("enum", "const", "examples", "default") else v
        for k, v in schema.items()
    }
    if "properties" in out and "additionalProperties" not in out and "patternProperties" not in out:
        out["additionalProperties"] = False
    return out


def _relaxed(schema: Any) -> Any:
    """The policy-lenient consumer: ignores unknown values of an x-extensible-enum."""
    if isinstance(schema, list):
        return [_relaxed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {
        k: _relaxed(v) if k not in ("enum", "const", "examples", "default") else v
        for k, v in schema.items()
    }
    if out.get("x-extensible-enum") is True:
        out.pop("enum", None)
    return out


@functools.lru_cache(maxsize=512)
def _strategy(schema_json: str) -> st.SearchStrategy[Any]:
    return from_schema(json.loads(schema_json), allow_x00=False)


@functools.lru_cache(maxsize=512)
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json))


_SKIP = object()
_ANNOTATIONS = frozenset(
    {"title", "description", "examples", "$comment", "deprecated", "default", "format"}
)


def _stripped(schema: Any) -> Any:
    """The schema without annotations (under 2020-12 without a format checker, format too)."""
    if isinstance(schema, list):
        return [_stripped(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    return {
        k: (v if k in ("enum", "const") else _stripped(v))
        for k, v in schema.items()
        if k not in _ANNOTATIONS
    }


@functools.lru_cache(maxsize=512)
def _hunt(source_json: str, target_json: str) -> st.SearchStrategy[Any] | None:
    """Payloads of the producer that the consumer rejects: ``allOf: [source], not: target``.

    If the diff is right this set is empty. hypothesis-jsonschema's canonicaliser often proves
    that (then there is nothing to draw); when it cannot, it filters, and a counterexample is
    found far more often than by drawing from the producer alone (a removed enum value, a
    tightened bound). Half the draws skip, so a set it cannot prove empty costs few rejections.
    """
    hunt = {"allOf": [json.loads(source_json)], "not": json.loads(target_json)}
    try:
        if canonicalish(hunt) == FALSEY:
            return None
    except Exception:  # the canonicaliser gives up on some schemas: hunt by filtering then
        pass
    return st.one_of(st.just(_SKIP), from_schema(hunt, allow_x00=False))


def _inline(schema: Any) -> Any:
    try:
        return _inline_text(json.dumps(schema, sort_keys=True))
    except RecursiveSchemaError:
        assume(False)
        raise


@functools.lru_cache(maxsize=1024)
def _inline_text(text: str) -> Any:
    return inline_refs(_loaded_text(text, "inline"))


def _check_direction(
    data: st.DataObject,
    producer: Any,
    consumer: Any,
    policy: Policy,
    direction: str,
    context: str,
) -> None:
    source = _inline(producer)
    target = _inline(consumer)
    if policy is Policy.LENIENT:
        source, target = _closed(source), _relaxed(target)
    if _stripped(source) == _stripped(target):
        return  # the same assertions: no payload can tell them apart, nothing to generate
    source_json = json.dumps(source, sort_keys=True)
    source_check = _validator(json.dumps(_inline(producer), sort_keys=True))
    target_check = _validator(json.dumps(target, sort_keys=True))
    strategies = [_strategy(source_json)] * INSTANCES_PER_DIRECTION
    hunt = _hunt(source_json, json.dumps(target, sort_keys=True))
    if hunt is not None:
        strategies.append(hunt)
    for strategy in strategies:
        instance = data.draw(strategy, label=f"instance ({direction})")
        if instance is _SKIP:
            continue
        if not source_check.is_valid(instance):
            continue  # the generator speaks draft 7; only 2020-12-valid instances count
        errors = [e.message for e in target_check.iter_errors(instance)]
        assert not errors, (
            f"diff said {direction} compatible, but this payload is valid under the producing "
            f"schema and invalid under the consuming one: {instance!r}: {errors[:2]}\n{context}"
        )


def _run(data: st.DataObject, policy: Policy, kinds: tuple[Any, ...] = EDITS) -> None:
    base = data.draw(st.sampled_from(BASES), label="base")
    changed, edits = data.draw(mutated(base, kinds), label="mutation")
    for old, new in ((base, changed), (changed, base)):
        result = compare_schemas(_loaded(old, "old"), _loaded(new, "new"), policy)
        context = (
            f"edits {edits}; rules fired: "
            f"{[(f.rule, f.pointer, f.backward.value, f.forward.value) for f in result.findings]}"
            f"\nOLD = {json.dumps(old)[:1500]}\nNEW = {json.dumps(new)[:1500]}"
        )
        if result.backward is Verdict.COMPATIBLE:
            _check_direction(data, old, new, policy, "backward", context)
        if result.forward is Verdict.COMPATIBLE:
            _check_direction(data, new, old, policy, "forward", context)


_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)


@_SETTINGS
@given(st.data())
def test_compatible_verdicts_hold_for_generated_payloads_strict(data: st.DataObject) -> None:
    _run(data, Policy.STRICT)


@settings(_SETTINGS, max_examples=25)
@given(st.data())
def test_compatible_verdicts_hold_for_generated_payloads_lenient(data: st.DataObject) -> None:
    _run(data, Policy.LENIENT)


@pytest.mark.parametrize("edit", EDITS, ids=lambda edit: edit.__name__)
@settings(_SETTINGS, max_examples=12)
@given(data=st.data())
def test_compatible_verdicts_hold_for_each_kind_of_edit(data: st.DataObject, edit: Any) -> None:
    # Every kind of edit gets its own examples, so a rare edit is never left untested.
    _run(data, Policy.STRICT, (edit,))


CATALOGUE_SCHEMAS: list[Any] = []
for _rule in RULES.values():
    for _example in _rule.examples:
        for _schema in (_example.before, _example.after):
            if _schema not in CATALOGUE_SCHEMAS and "$dynamicRef" not in json.dumps(_schema):
                CATALOGUE_SCHEMAS.append(_schema)


@settings(_SETTINGS, max_examples=200)
@given(st.data())
def test_compatible_verdicts_hold_across_catalogue_examples(data: st.DataObject) -> None:
    # Any two schemas of the rule catalogue, paired at random: changes no rule was written for.
    old = data.draw(st.sampled_from(CATALOGUE_SCHEMAS), label="old")
    new = data.draw(st.sampled_from(CATALOGUE_SCHEMAS), label="new")
    result = compare_schemas(_loaded(old, "old"), _loaded(new, "new"))
    context = (
        f"rules fired: {[(f.rule, f.backward.value, f.forward.value) for f in result.findings]}"
    )
    if result.backward is Verdict.COMPATIBLE:
        _check_direction(data, old, new, Policy.STRICT, "backward", context)
    if result.forward is Verdict.COMPATIBLE:
        _check_direction(data, new, old, Policy.STRICT, "forward", context)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"enum": ["A", "B"]}, {"enum": ["A"]}),
        ({"type": ["string", "null"]}, {"type": "string"}),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}},
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
        ),
        ({"type": "integer", "minimum": 0, "maximum": 10}, {"type": "integer", "maximum": 5}),
    ],
    ids=["enum value removed", "null removed", "member made required", "maximum lowered"],
)
def test_the_oracle_finds_counterexamples_for_breaking_changes(old: Any, new: Any) -> None:
    # The property test is only as good as its oracle: for changes the diff rightly calls
    # backward incompatible, generation from OLD must find a payload NEW rejects.
    result = compare_schemas(_loaded(old, "old"), _loaded(new, "new"))
    assert result.backward is Verdict.INCOMPATIBLE
    target = Draft202012Validator(new)
    try:
        found = find(
            from_schema(copy.deepcopy(old)),
            lambda x: not target.is_valid(x),
            settings=settings(max_examples=300, database=None, derandomize=True),
        )
    except NoSuchExample:  # pragma: no cover - would mean the oracle is blind
        pytest.fail("the generator never produced a payload the new schema rejects")
    assert not target.is_valid(found)


def test_real_contracts_are_in_the_bases() -> None:
    names = {s.get("$id", "").split("/contracts/")[-1] for s in REAL}
    assert "billing.invoice-send-progress/v1.json" in names
    assert "billing.invoice-send-progress/v2.json" in names
    assert len(REAL) >= 14


def test_a_wrong_engine_would_be_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # Sanity check of the harness itself: pretend the diff said "compatible" for a breaking
    # change; the direction check must then fail with the rule named.
    old = {"type": "object", "properties": {"s": {"enum": ["A", "B"]}}, "required": ["s"]}
    new = copy.deepcopy(old)
    new["properties"]["s"]["enum"] = ["A"]

    @settings(max_examples=60, database=None, deadline=None, derandomize=True)
    @given(st.data())
    def claim(data: st.DataObject) -> None:
        _check_direction(
            data, old, new, Policy.STRICT, "backward", "rules fired: [enum-value-removed]"
        )

    with pytest.raises(AssertionError, match="enum-value-removed"):
        claim()
