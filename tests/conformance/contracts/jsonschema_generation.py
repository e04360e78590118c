"""hypothesis-jsonschema, made to work with the installed Hypothesis.

hypothesis-jsonschema 0.23.1 (the newest release) draws object members with the old
``cu.many(...).more()`` loop, which Hypothesis 6.14x replaced by a context-manager iterator, so
every object schema fails with ``AttributeError: 'many' object has no attribute 'more'``. This
module gives hypothesis-jsonschema (and only it: its own ``cu`` name is rebound to a proxy) a
``many`` that also speaks the old protocol on top of the new one. ``from_schema`` is re-exported.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import hypothesis.internal.conjecture.utils as cu
from hypothesis_jsonschema import _from_schema, from_schema

__all__ = ["from_schema"]


class _CompatMany(cu.many):
    """``many`` with the pre-6.14x ``more()`` driving the new iterator protocol."""

    _compat_iter: Iterator[None] | None = None

    def more(self) -> bool:
        if self._compat_iter is None:
            self.__enter__()
            self._compat_iter = iter(self)
        try:
            next(self._compat_iter)
        except StopIteration:
            self.__exit__(None, None, None)
            return False
        return True


def _install() -> None:
    current: Any = _from_schema.cu
    if getattr(current, "many", None) is _CompatMany:
        return
    names = {name: getattr(cu, name) for name in dir(cu) if not name.startswith("__")}
    names["many"] = _CompatMany
    _from_schema.cu = SimpleNamespace(**names)  # type: ignore[assignment]


_install()
