"""JSON value helpers for the diff: JSON Schema equality and short display of values."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from typing import Any

ValueKey = tuple[Any, ...]


def value_key(value: Any) -> ValueKey:
    """A hashable key equal for values JSON Schema calls equal (``1 == 1.0``, ``true != 1``)."""
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return ("number", repr(value))
        return ("number", Fraction(value))
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("array", tuple(value_key(item) for item in value))
    if isinstance(value, dict):
        return ("object", frozenset((k, value_key(v)) for k, v in value.items()))
    return ("other", repr(value))


def show(value: Any, limit: int = 60) -> str:
    """Compact JSON for messages, shortened to ``limit`` characters."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def contains_ref(schema: Any) -> bool:
    """True when ``schema`` holds a reference anywhere (textual equality then proves nothing)."""
    if isinstance(schema, dict):
        if "$ref" in schema or "$dynamicRef" in schema or "$recursiveRef" in schema:
            return True
        return any(contains_ref(v) for v in schema.values())
    if isinstance(schema, list):
        return any(contains_ref(v) for v in schema)
    return False
