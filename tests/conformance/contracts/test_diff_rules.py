"""Every catalogue rule has example pairs, and the engine gives each pair the documented verdicts.

The examples live next to the rules (conformance/contracts/diff/rules.py) so that
docs/contract-rules.md, generated from the same table, shows exactly what is tested here.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.contracts.diff import compare_schemas, load_documents
from conformance.contracts.diff.model import Policy, Verdict
from conformance.contracts.diff.rules import NEUTRAL, RULES, Example

SCHEMA_RULES = [rule for rule in RULES.values() if rule.scope == "schema"]
# keyword-not-understood is only reachable with a malformed subschema, which loading rejects
# first; comparison-too-deep needs a schema too large for a table cell, so
# test_diff_engine.py tests it.
UNREACHABLE = {"keyword-not-understood", "comparison-too-deep"}


def _examples() -> list[Any]:
    return [
        pytest.param(rule.id, example, id=f"{rule.id}: {example.label or index}")
        for rule in SCHEMA_RULES
        for index, example in enumerate(rule.examples)
    ]


def _diff(before: Any, after: Any, policy: Policy = Policy.STRICT) -> Any:
    old = load_documents("file:///rules/old.json", {"file:///rules/old.json": before})
    new = load_documents("file:///rules/new.json", {"file:///rules/new.json": after})
    return compare_schemas(old, new, policy)


@pytest.mark.parametrize(("rule_id", "example"), _examples())
def test_example_gets_its_verdicts(rule_id: str, example: Example) -> None:
    result = _diff(example.before, example.after, example.policy)
    fired = [f.rule for f in result.findings]
    assert rule_id in fired, fired
    assert (result.backward, result.forward) == (example.backward, example.forward), [
        (f.rule, f.backward.value, f.forward.value) for f in result.findings
    ]


@pytest.mark.parametrize(("rule_id", "example"), _examples())
def test_reversed_example_never_claims_more_than_it_can(rule_id: str, example: Example) -> None:
    # Swapping OLD and NEW swaps the directions: what was backward is now forward. A definite
    # verdict must survive the swap (cannot-prove may stay cannot-prove either way).
    result = _diff(example.after, example.before, example.policy)
    for mine, theirs in ((result.backward, example.forward), (result.forward, example.backward)):
        if theirs is Verdict.INCOMPATIBLE:
            assert mine is not Verdict.COMPATIBLE
        if theirs is Verdict.COMPATIBLE and example.policy is Policy.STRICT:
            assert mine is not Verdict.INCOMPATIBLE or rule_id in _ASYMMETRIC_PROOF


# Rules whose compatible direction rests on information only one order exposes (a covering
# schema, a finite value set, a discriminator), so the reversed pair may be judged more coarsely.
_ASYMMETRIC_PROOF = {
    "property-added-covered",
    "property-removed-covered",
    "enum-added",
    "wrapped-in-any-of",
    "unwrapped-from-any-of",
    "one-of-branch-added",
    "one-of-branch-removed",
    "all-of-member-added",
}


@pytest.mark.parametrize(
    "rule", [r for r in SCHEMA_RULES if r.id not in UNREACHABLE], ids=lambda r: r.id
)
def test_every_schema_rule_has_an_example(rule: Any) -> None:
    assert rule.examples


def test_rule_ids_are_stable_kebab_case() -> None:
    for rule_id, rule in RULES.items():
        assert rule_id == rule.id
        assert rule_id == rule_id.lower()
        assert " " not in rule_id
        assert rule.title
        assert rule.why


def test_catalogue_numbers_cover_the_note() -> None:
    # shared/notes/contract-compatibility.md §4 lists 50 rules. Three have no rule ID of their
    # own, by design, and are tested in test_diff_engine.py: 32 and 37 (additionalProperties and
    # items schemas compared recursively: the findings are those of the inner change) and 48
    # (an unused $defs entry yields no finding). 47 is dynamic-ref-present plus a usage error
    # for an unresolvable $ref.
    covered = {n for rule in RULES.values() for n in rule.catalogue}
    assert set(range(1, 51)) - covered == {32, 37, 48}


def test_neutral_rules_never_change_validity() -> None:
    for rule_id in NEUTRAL:
        for example in RULES[rule_id].examples:
            if rule_id in ("property-renamed-likely", "property-added-covered"):
                continue  # the note itself is neutral; the findings next to it are not
            assert (example.backward, example.forward) == (Verdict.COMPATIBLE, Verdict.COMPATIBLE)
