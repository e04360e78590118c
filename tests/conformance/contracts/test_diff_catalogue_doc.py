"""docs/contract-rules.md is exactly what the rule table generates."""

from __future__ import annotations

from pathlib import Path

from conformance.contracts.diff.catalogue_doc import render_catalogue
from conformance.contracts.diff.rules import RULES

DOC = Path(__file__).resolve().parents[3] / "docs" / "contract-rules.md"


def test_doc_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render_catalogue(), (
        "regenerate: python -m conformance.contracts.diff.catalogue_doc > docs/contract-rules.md"
    )


def test_every_rule_has_a_section() -> None:
    text = render_catalogue()
    for rule_id in RULES:
        assert f"### `{rule_id}`" in text
