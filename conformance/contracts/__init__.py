"""Contract tools: the catalog of JSON Schema contracts, the cross-field rules and the CLI.

The contracts themselves are language-neutral data in ``contracts/`` (see contracts/README.md);
this package only loads and applies them.
"""
