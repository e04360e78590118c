"""The example cases in contracts/cases/ hold: every instance is as valid as its case says.

Schema cases are JSON-Schema-Test-Suite shaped (contracts/ssegate.case-file/v1.json), loaded by one
parametrised test whose ids are the case descriptions, so a failure names the JSON case. Rule cases
(contracts/ssegate.rule-case-file/v1.json) list the cross-field requirements a payload violates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from conformance import _resources
from conformance.contracts import catalog, rules

CONTRACTS = _resources.contracts_dir()
CASES = CONTRACTS / "cases"
CATALOG = catalog.load_catalog()
# Contracts that describe the project's own files rather than payloads need no example cases.
TOOLING_PREFIX = "ssegate."


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _schema_case_files() -> list[Path]:
    return sorted(CASES.glob("*.json"))


def _rule_case_files() -> list[Path]:
    return sorted((CASES / "rules").glob("*.json"))


def _schema_cases() -> list[Any]:
    params = []
    for path in _schema_case_files():
        for group in _load(path):
            for test in group["tests"]:
                params.append(
                    pytest.param(
                        path.stem,
                        group["schema"],
                        test["data"],
                        test["valid"],
                        id=f"{path.stem}: {group['description']}: {test['description']}",
                    )
                )
    return params


def _rule_cases() -> list[Any]:
    return [
        pytest.param(
            path.stem, case["data"], case["violations"], id=f"{path.stem}: {case['description']}"
        )
        for path in _rule_case_files()
        for case in _load(path)
    ]


SCHEMA_CASES = _schema_cases()
RULE_CASES = _rule_cases()


@pytest.mark.parametrize(("contract_name", "schema", "data", "valid"), SCHEMA_CASES)
def test_schema_case(contract_name: str, schema: dict[str, Any], data: Any, valid: bool) -> None:
    versions = {
        c.id: c for c in (CATALOG.get(contract_name, m) for m in CATALOG.files[contract_name])
    }
    assert schema["$ref"] in versions, (
        "a case file tests a version of the contract it is named after"
    )
    contract = versions[schema["$ref"]]
    # Run the case as any implementation would (the group's schema, refs resolved by $id), and
    # through the project's own API, which must agree.
    validator = Draft202012Validator(schema, registry=CATALOG.registry)
    assert validator.is_valid(data) is valid
    errors = contract.validate(data)
    assert (not errors) is valid, errors


_CROSS_FIELD = {"billing.invoice-send-progress": rules.check_cross_field}


@pytest.mark.parametrize(("contract_name", "data", "violations"), RULE_CASES)
def test_rule_case(contract_name: str, data: Any, violations: list[str]) -> None:
    found = _CROSS_FIELD[contract_name](data)
    assert sorted(v.requirement for v in found) == sorted(violations), found


def test_there_are_enough_cases() -> None:
    valid = sum(1 for p in SCHEMA_CASES if p.values[3])
    invalid = len(SCHEMA_CASES) - valid
    assert valid >= 20
    assert invalid >= 40
    assert len(RULE_CASES) >= 15


def test_every_payload_contract_has_valid_and_invalid_cases() -> None:
    covered: dict[str, set[bool]] = {}
    for param in SCHEMA_CASES:
        covered.setdefault(param.values[0], set()).add(param.values[3])
    payload_contracts = {n for n in CATALOG.names() if not n.startswith(TOOLING_PREFIX)}
    assert set(covered) == payload_contracts
    assert all(kinds == {True, False} for kinds in covered.values()), covered


def test_every_rule_id_is_exercised() -> None:
    exercised = {rule for param in RULE_CASES for rule in param.values[2]}
    assert exercised == {"BIL-11", "BIL-12", "BIL-13", "BIL-14", "BIL-15"}


@pytest.mark.parametrize("path", _schema_case_files(), ids=lambda p: p.name)
def test_schema_case_file_is_valid(path: Path) -> None:
    assert CATALOG.latest("ssegate.case-file").validate(_load(path)) == []


@pytest.mark.parametrize("path", _rule_case_files(), ids=lambda p: p.name)
def test_rule_case_file_is_valid(path: Path) -> None:
    assert CATALOG.latest("ssegate.rule-case-file").validate(_load(path)) == []
    assert path.stem in CATALOG.files, "a rule case file is named after its contract"


@pytest.mark.parametrize("path", [*_schema_case_files(), *_rule_case_files()], ids=lambda p: p.name)
def test_descriptions_are_unique(path: Path) -> None:
    # Unique ids keep the parametrised test ids unique, so a failure names exactly one case.
    data = _load(path)
    if path.parent.name == "rules":
        descriptions = [case["description"] for case in data]
    else:
        descriptions = [
            f"{group['description']}: {test['description']}"
            for group in data
            for test in group["tests"]
        ]
    assert len(descriptions) == len(set(descriptions))
