"""conformance.contracts.catalog: loading contracts, resolving $ref offline, reporting errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.contracts import catalog


def test_parse_contract_ref() -> None:
    assert catalog.parse_contract_ref("billing.invoice-send-progress@1") == (
        "billing.invoice-send-progress",
        1,
    )
    assert catalog.parse_contract_ref("problem@12") == ("problem", 12)


@pytest.mark.parametrize(
    "ref", ["problem", "problem@", "problem@0", "problem@v1", "Problem@1", "@1", "problem@1@2"]
)
def test_parse_contract_ref_rejects(ref: str) -> None:
    with pytest.raises(catalog.ContractRefError, match="NAME@MAJOR"):
        catalog.parse_contract_ref(ref)


def test_get_contract() -> None:
    contract = catalog.get_contract("sse.heartbeat", 1)
    assert contract.ref == "sse.heartbeat@1"
    assert contract.id == "https://ssegate.dev/contracts/sse.heartbeat/v1.json"
    assert contract.path.name == "v1.json"
    assert contract.validate({"timestamp": "2026-01-01T00:00:00Z"}) == []
    assert catalog.get_contract("sse.heartbeat", 1) is contract


@pytest.mark.parametrize(("name", "major"), [("sse.heartbeat", 2), ("no.such", 1)])
def test_unknown_contract_names_the_known_ones(name: str, major: int) -> None:
    with pytest.raises(catalog.UnknownContractError, match=r"known: .*sse\.heartbeat@1"):
        catalog.get_contract(name, major)


def test_events_map_to_contracts() -> None:
    cat = catalog.load_catalog()
    assert cat.for_event("heartbeat") == "sse.heartbeat"
    assert cat.for_event("billing.invoice-send-progress") == "billing.invoice-send-progress"
    assert cat.for_event("message") is None
    assert cat.latest("problem").ref == "problem@1"
    with pytest.raises(catalog.UnknownContractError):
        cat.latest("no.such")


def test_errors_carry_pointer_message_and_keyword() -> None:
    contract = catalog.get_contract("billing.invoice-send-progress", 1)
    errors = contract.validate(
        {
            "billingRunId": "r",
            "month": "2026-13",
            "progress": None,
            "isComplete": False,
            "generatedAt": "2026-01-01T00:00:00Z",
            "extra": 1,
        }
    )
    assert [(e.pointer, e.rule) for e in errors] == [
        ("", "additionalProperties"),
        ("/month", "pattern"),
    ]
    assert "'extra' was unexpected" in errors[0].message


def test_a_fault_inside_progress_is_reported_where_it_is_not_as_anyof() -> None:
    # progress is anyOf [progress object, null]: the object branch's own error is the useful one.
    contract = catalog.get_contract("billing.invoice-send-progress", 1)
    example = dict(contract.schema["examples"][1])
    example["progress"] = {**example["progress"], "sentCount": -1}
    assert [(e.pointer, e.rule) for e in contract.validate(example)] == [
        ("/progress/sentCount", "minimum")
    ]
    example["progress"] = "none"
    assert [(e.pointer, e.rule) for e in contract.validate(example)] == [("/progress", "anyOf")]


def test_json_pointer_escapes_per_rfc_6901() -> None:
    assert catalog.json_pointer([]) == ""
    assert catalog.json_pointer(["a/b", "m~n", 0]) == "/a~1b/m~0n/0"


def test_refs_between_contracts_resolve_offline(tmp_path: Path) -> None:
    base = catalog.ID_PREFIX
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "v1.json").write_text(
        json.dumps(
            {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": f"{base}a/v1.json",
                "type": "object",
                "properties": {"b": {"$ref": f"{base}b/v1.json"}},
            }
        )
    )
    (tmp_path / "b" / "v1.json").write_text(
        json.dumps(
            {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": f"{base}b/v1.json",
                "type": "integer",
            }
        )
    )
    (tmp_path / "catalog.json").write_text(
        json.dumps({"contracts": {"a": {"1": "a/v1.json"}, "b": {"1": "b/v1.json"}}, "events": {}})
    )
    contract = catalog.load_catalog(tmp_path).get("a", 1)
    assert contract.validate({"b": 1}) == []
    assert [(e.pointer, e.rule) for e in contract.validate({"b": "x"})] == [("/b", "type")]


def test_a_long_instance_is_shortened_in_messages() -> None:
    contract = catalog.get_contract("sse.heartbeat", 1)
    [error] = contract.validate(list(range(1000)))
    assert error.rule == "type"
    assert len(error.message) < 120
    assert error.message.endswith("... is not of type 'object'")


def test_the_registry_also_holds_the_2020_12_meta_schema() -> None:
    # Offline: a schema may $ref the dialect (as a case file's schema could) without a download.
    registry = catalog.load_catalog().registry
    resolved = registry.resolver().lookup("https://json-schema.org/draft/2020-12/schema")
    assert resolved.contents["$id"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize(
    ("catalog_text", "files"),
    [
        ("not json", {}),
        ('{"contracts": {"a": {"1": "a/v1.json"}}, "events": {}}', {}),
        ('{"contracts": {"a": {"one": "a/v1.json"}}, "events": {}}', {}),
        ('{"contracts": {"a": {"1": "a/v1.json"}}, "events": {}}', {"a/v1.json": "[]"}),
        ('{"events": {}}', {}),
    ],
    ids=["not-json", "missing-file", "bad-major", "schema-not-object", "no-contracts"],
)
def test_a_broken_catalog_is_a_catalog_error(
    tmp_path: Path, catalog_text: str, files: dict[str, str]
) -> None:
    (tmp_path / "catalog.json").write_text(catalog_text)
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    with pytest.raises(catalog.CatalogError, match="unusable"):
        catalog.load_catalog(tmp_path)
