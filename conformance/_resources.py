"""Where the language-neutral data lives: spec/ and contracts/.

In an installed wheel they are shipped inside the package (``conformance/_spec``,
``conformance/_contracts``, see pyproject.toml);
in a source checkout they are the top-level folders.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT_DIR = _PACKAGE_DIR.parent


def _locate(packaged: str, checkout: str) -> Path:
    inside = _PACKAGE_DIR / packaged
    if inside.is_dir():
        return inside
    return _CHECKOUT_DIR / checkout


def contracts_dir() -> Path:
    """The folder holding the JSON Schema contracts and ``catalog.json``."""
    return _locate("_contracts", "contracts")


def spec_dir() -> Path:
    """The folder holding the normative spec Markdown and ``requirements.json``."""
    return _locate("_spec", "spec")
