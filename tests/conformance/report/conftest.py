"""The report tests judge the synthetic recordings of tests/conformance/checks/."""

from __future__ import annotations

import sys
from pathlib import Path

_CHECKS = str(Path(__file__).resolve().parents[1] / "checks")
if _CHECKS not in sys.path:
    sys.path.insert(0, _CHECKS)
