"""Contract versioning reviews: compare two contract versions and say what a change breaks.

``engine.compare_schemas`` decides, per finding, backward and forward compatibility under
value-set inclusion (spec/15-versioning.md, VER-5 and VER-6); ``rules`` is the catalogue of
stable rule IDs; ``review`` checks every contract against a git ref; ``render`` prints results.
"""

from conformance.contracts.diff.engine import compare_schemas
from conformance.contracts.diff.model import DiffResult, Finding, Level, Mode, Policy, Verdict
from conformance.contracts.diff.resolve import SchemaLoadError, load_documents, load_file

__all__ = [
    "DiffResult",
    "Finding",
    "Level",
    "Mode",
    "Policy",
    "SchemaLoadError",
    "Verdict",
    "compare_schemas",
    "load_documents",
    "load_file",
]
