"""Every contract is valid JSON Schema 2020-12 and the catalog agrees with the files."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from conformance import _resources
from conformance.contracts import catalog, rules

CONTRACTS = _resources.contracts_dir()
CATALOG_JSON = json.loads((CONTRACTS / "catalog.json").read_text(encoding="utf-8"))
SCHEMA_FILES = sorted(CONTRACTS.glob("*/v*.json"))
# problem@1 is the one open content model (RFC 9457 allows extension members).
OPEN_MODELS = {"problem"}


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _relative(path: Path) -> str:
    return path.relative_to(CONTRACTS).as_posix()


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=_relative)
def test_schema_is_valid_2020_12(path: Path) -> None:
    schema = _load(path)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=_relative)
def test_id_matches_path(path: Path) -> None:
    name, version = path.parent.name, path.stem
    assert re.fullmatch(r"v[1-9][0-9]*", version), f"{version} is not vMAJOR"
    assert _load(path)["$id"] == f"{catalog.ID_PREFIX}{name}/{version}.json"


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=_relative)
def test_schema_documents_itself(path: Path) -> None:
    schema = _load(path)
    assert schema.get("title")
    assert schema.get("description")


def _objects(node: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema that describes an object, with its pointer in the document."""
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            yield pointer, node
        for key, value in node.items():
            if key not in ("examples", "default", "const", "enum"):
                yield from _objects(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _objects(value, f"{pointer}/{index}")


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=_relative)
def test_content_model_is_explicit(path: Path) -> None:
    # The contract diff needs an explicit content model on every object (contract-compatibility
    # lesson 2); ours is closed everywhere except problem@1.
    expected = path.parent.name not in OPEN_MODELS
    for pointer, node in _objects(_load(path)):
        assert "additionalProperties" in node, f"{pointer or '/'} has no additionalProperties"
        closed = node["additionalProperties"] is False
        if isinstance(node["additionalProperties"], dict):
            continue  # a map (describe's profiles): member names are data, values are closed
        assert closed is expected, (
            f"{pointer or '/'}: additionalProperties should be {not expected}"
        )


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=_relative)
def test_examples_are_valid(path: Path) -> None:
    schema = _load(path)
    validator = Draft202012Validator(schema, registry=catalog.load_catalog().registry)
    for example in schema.get("examples", []):
        assert list(validator.iter_errors(example)) == []
        if path.parent.name == "billing.invoice-send-progress":
            assert rules.check_cross_field(example) == []


def test_every_file_is_in_the_catalog_and_back() -> None:
    listed = {
        relative
        for versions in CATALOG_JSON["contracts"].values()
        for relative in versions.values()
    }
    assert listed == {_relative(p) for p in SCHEMA_FILES}
    for name, versions in CATALOG_JSON["contracts"].items():
        for major, relative in versions.items():
            assert relative == f"{name}/v{major}.json"


def test_every_event_maps_to_a_contract() -> None:
    events = CATALOG_JSON["events"]
    assert set(events) == {"billing.invoice-send-progress", "heartbeat", "timeout", "error"}
    assert all(name in CATALOG_JSON["contracts"] for name in events.values())


def test_catalog_is_valid_json_with_only_known_members() -> None:
    assert set(CATALOG_JSON) <= {"$comment", "contracts", "events"}


def test_every_contract_the_spec_names_exists() -> None:
    spec = _resources.spec_dir()
    named = {
        (match[0], match[1])
        for path in sorted(spec.glob("*.md"))
        for match in re.findall(r"`([a-z][a-z0-9.-]*)@([1-9][0-9]*)`", path.read_text("utf-8"))
    }
    assert named, "the spec names contracts as `NAME@MAJOR`"
    missing = sorted(
        f"{name}@{major}"
        for name, major in named
        if major not in CATALOG_JSON["contracts"].get(name, {})
    )
    assert not missing
