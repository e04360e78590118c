"""The comparison engine: references, cycles, recursion, policies, pointers and reasons."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance import _resources
from conformance.contracts.diff import (
    Policy,
    SchemaLoadError,
    Verdict,
    compare_schemas,
    load_documents,
    load_file,
)
from conformance.contracts.diff.model import Level, Mode

OK, NO, UNKNOWN = Verdict.COMPATIBLE, Verdict.INCOMPATIBLE, Verdict.CANNOT_PROVE
CONTRACTS = _resources.contracts_dir()
BILLING = CONTRACTS / "billing.invoice-send-progress"


def _diff(before: Any, after: Any, policy: Policy = Policy.STRICT) -> Any:
    old = load_documents("file:///e/old.json", {"file:///e/old.json": before})
    new = load_documents("file:///e/new.json", {"file:///e/new.json": after})
    return compare_schemas(old, new, policy)


def _write(folder: Path, name: str, schema: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(schema), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "path", sorted(CONTRACTS.glob("*/v*.json")), ids=lambda p: p.relative_to(CONTRACTS).as_posix()
)
def test_every_contract_is_identical_to_itself(path: Path) -> None:
    result = compare_schemas(load_file(path), load_file(path))
    assert result.findings == ()
    assert result.compatible(Mode.FULL)


def test_billing_v1_to_v2_draft() -> None:
    result = compare_schemas(load_file(BILLING / "v1.json"), load_file(BILLING / "v2.json"))
    fired = sorted((f.rule, f.pointer) for f in result.findings)
    assert fired == [
        ("annotation-changed", "/description"),
        ("annotation-changed", "/examples"),
        ("id-changed", "/$id"),
        ("property-added-closed-model", "/properties/lastError"),
        ("property-added-closed-model", "/properties/status"),
        ("required-property-added", "/required"),
    ]
    assert (result.backward, result.forward) == (NO, NO)
    required = next(f for f in result.findings if f.rule == "required-property-added")
    assert required.backward_reason == (
        "clients cannot deploy first: clients on v2 reject payloads without `status`, "
        "which a server on v1 still sends"
    )
    added = next(f for f in result.findings if f.pointer == "/properties/lastError")
    assert "the server cannot deploy first: clients on v1 reject" in added.forward_reason


def test_change_behind_a_ref_is_reported_at_the_referring_path() -> None:
    old = json.loads((BILLING / "v1.json").read_text(encoding="utf-8"))
    new = json.loads(json.dumps(old))
    new["$defs"]["progress"]["properties"]["sentCount"]["minimum"] = 1
    result = _diff(old, new)
    [finding] = result.findings
    assert finding.rule == "minimum-tightened"
    assert finding.pointer == "/properties/progress/anyOf/0/properties/sentCount/minimum"
    assert "`progress.sentCount`" in finding.message


def test_unused_defs_are_not_findings() -> None:
    old = {"type": "string"}
    new = {"type": "string", "$defs": {"unused": {"type": "integer"}}}
    assert _diff(old, new).findings == ()
    assert _diff(new, old).findings == ()


def test_refs_are_compared_by_target_not_by_string() -> None:
    old = {"$defs": {"a": {"type": "string"}}, "properties": {"x": {"$ref": "#/$defs/a"}}}
    renamed = {"$defs": {"b": {"type": "string"}}, "properties": {"x": {"$ref": "#/$defs/b"}}}
    assert _diff(old, renamed).findings == ()
    retargeted = {"$defs": {"a": {"type": "integer"}}, "properties": {"x": {"$ref": "#/$defs/a"}}}
    [finding] = _diff(old, retargeted).findings
    assert (finding.rule, finding.pointer) == ("type-changed", "/properties/x/type")


def test_refs_to_files_in_the_same_folder(tmp_path: Path) -> None:
    main = {"type": "object", "properties": {"p": {"$ref": "common.json#/$defs/p"}}}
    old = _write(tmp_path / "old", "main.json", main)
    _write(tmp_path / "old", "common.json", {"$defs": {"p": {"enum": ["A", "B"]}}})
    new = _write(tmp_path / "new", "main.json", main)
    _write(tmp_path / "new", "common.json", {"$defs": {"p": {"enum": ["A"]}}})
    [finding] = compare_schemas(load_file(old), load_file(new)).findings
    assert (finding.rule, finding.pointer) == ("enum-value-removed", "/properties/p/enum")


def test_unresolvable_ref_is_a_load_error_naming_it(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.json", {"properties": {"p": {"$ref": "missing.json#/x"}}})
    with pytest.raises(SchemaLoadError, match=r"missing\.json"):
        compare_schemas(load_file(path), load_file(path))
    dangling = _write(tmp_path, "b.json", {"properties": {"p": {"$ref": "#/$defs/none"}}})
    with pytest.raises(SchemaLoadError, match=r"#/\$defs/none.*/properties/p"):
        compare_schemas(load_file(dangling), load_file(dangling))


def test_unreadable_files_are_load_errors(tmp_path: Path) -> None:
    with pytest.raises(SchemaLoadError, match="no such file"):
        load_file(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{nope", encoding="utf-8")
    with pytest.raises(SchemaLoadError, match="not JSON"):
        load_file(tmp_path / "bad.json")
    _write(tmp_path, "invalid.json", {"type": 5})
    with pytest.raises(SchemaLoadError, match="not a valid 2020-12 schema"):
        load_file(tmp_path / "invalid.json")


TREE = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 10},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
            },
            "additionalProperties": False,
        }
    },
    "$ref": "#/$defs/node",
}


def test_recursive_schemas_terminate() -> None:
    assert _diff(TREE, TREE).findings == ()
    wider = json.loads(json.dumps(TREE))
    wider["$defs"]["node"]["properties"]["name"]["maxLength"] = 20
    result = _diff(TREE, wider)
    assert [(f.rule, f.pointer) for f in result.findings] == [
        ("max-length-relaxed", "/properties/name/maxLength")
    ]
    assert (result.backward, result.forward) == (OK, NO)


def test_additional_properties_schema_is_compared_recursively() -> None:
    # Rule 32.
    old = {"type": "object", "additionalProperties": {"type": "string", "maxLength": 3}}
    new = {"type": "object", "additionalProperties": {"type": "string"}}
    [finding] = _diff(old, new).findings
    assert (finding.rule, finding.pointer) == (
        "max-length-relaxed",
        "/additionalProperties/maxLength",
    )


def test_items_are_compared_recursively() -> None:
    # Rule 37, with prefixItems positions compared one by one.
    old = {"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "integer"}}
    new = {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer", "minimum": 0}]}
    result = _diff(old, new)
    fired = {(f.rule, f.pointer) for f in result.findings}
    assert ("minimum-tightened", "/prefixItems/1/minimum") in fired
    assert ("type-widened", "/items/type") in fired
    assert (result.backward, result.forward) == (NO, NO)


def test_widening_inside_not_narrows_the_schema() -> None:
    result = _diff({"not": {"enum": ["x"]}}, {"not": {"enum": ["x", "y"]}})
    [finding] = result.findings
    assert finding.rule == "enum-value-added"
    assert (finding.backward, finding.forward) == (NO, OK)
    assert "clients cannot deploy first" in finding.backward_reason


def test_finite_values_decide_a_direction_exactly() -> None:
    # A type appears, which alone would look narrowing; but every old value is a string.
    result = _diff({"enum": ["a", "b"]}, {"type": "string"})
    assert result.backward is OK
    assert result.forward is NO


def test_policies_differ_only_on_open_models() -> None:
    old = {"type": "object", "properties": {"a": {"type": "string"}}}
    new = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}
    strict, lenient = _diff(old, new, Policy.STRICT), _diff(old, new, Policy.LENIENT)
    assert (strict.backward, strict.forward) == (NO, OK)
    assert (lenient.backward, lenient.forward) == (OK, OK)
    [warning] = lenient.findings
    assert warning.level(Mode.FULL) is Level.WARNING
    closed_old = {**old, "additionalProperties": False}
    closed_new = {**new, "additionalProperties": False}
    assert (
        _diff(closed_old, closed_new, Policy.STRICT).findings
        == _diff(closed_old, closed_new, Policy.LENIENT).findings
    )


def test_cannot_prove_is_never_compatible_in_any_mode() -> None:
    result = _diff({"type": "string", "pattern": "^a"}, {"type": "string", "pattern": "^b"})
    for mode in Mode:
        assert not result.compatible(mode)
    [finding] = result.findings
    assert finding.level(Mode.FULL) is Level.WARNING
    assert "not proven safe" in finding.backward_reason


def test_levels_follow_the_mode() -> None:
    [finding] = _diff({"enum": ["A"]}, {"enum": ["A", "B"]}).findings
    assert finding.level(Mode.FULL) is Level.BREAKING
    assert finding.level(Mode.FORWARD) is Level.BREAKING
    assert finding.level(Mode.BACKWARD) is Level.INFO


def test_one_of_with_a_discriminator_is_decided() -> None:
    def branch(kind: str) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"kind": {"const": kind}, "v": {"type": "integer"}},
            "required": ["kind"],
            "additionalProperties": False,
        }

    old = {"oneOf": [branch("a"), branch("b")]}
    widened = {"oneOf": [branch("a"), {**branch("b"), "properties": {"kind": {"const": "b"}}}]}
    result = _diff(old, {"oneOf": [branch("a"), branch("b"), branch("c")]})
    assert (result.backward, result.forward) == (OK, NO)
    assert all(f.rule != "one-of-not-disjoint" for f in result.findings)
    narrowed = _diff(old, widened)
    assert narrowed.backward is NO


def test_unusable_neighbours_are_ignored(tmp_path: Path) -> None:
    # Only the compared file must be a schema; data files and other dialects next to it must
    # not break the comparison (they only matter if a reference reaches them).
    path = _write(tmp_path, "a.json", {"type": "string"})
    _write(tmp_path, "list.json", [1, 2])
    _write(tmp_path, "bad-id.json", {"$id": 5})
    _write(tmp_path, "other-dialect.json", {"$schema": "http://example.com/unknown"})
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    assert compare_schemas(load_file(path), load_file(path)).findings == ()


def test_self_referencing_unions_terminate_unproven() -> None:
    # The schema is its own anyOf branch: no reference pair repeats at the first level, so only
    # the cycle check on the same schema objects or the depth limit can stop the comparison.
    looping = {"anyOf": [{"$ref": "#"}, {"type": "string"}]}
    for old, new in ((looping, {"type": "string"}), ({"type": "string"}, looping)):
        result = _diff(old, new)
        assert result.findings  # terminated, with an answer
    nested: dict[str, Any] = {"type": "string"}
    for _ in range(70):
        nested = {"type": "object", "properties": {"a": nested}}
    deeper = json.loads(json.dumps(nested).replace('"string"', '"integer"'))
    result = _diff(nested, deeper)
    assert [f.rule for f in result.findings] == ["comparison-too-deep"]
    assert (result.backward, result.forward) == (UNKNOWN, UNKNOWN)
