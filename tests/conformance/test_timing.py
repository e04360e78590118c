"""The timing model (spec/11-timing.md): tolerance, windows, cadence statistics."""

from __future__ import annotations

import pytest

from conformance.timing import CadenceStats, Tolerance, gaps


def test_tolerance_is_the_larger_of_floor_and_ratio() -> None:
    """TIME-3 defaults: A = 250 ms, R = 0.25."""
    tolerance = Tolerance()
    assert tolerance.of(200) == 250
    assert tolerance.of(1000) == 250
    assert tolerance.of(3000) == 750
    assert Tolerance(100, 0.1).of(3000) == 300


def test_within_is_no_later_than_p_plus_tolerance() -> None:
    """TIME-4 "within P"."""
    tolerance = Tolerance()
    assert tolerance.within(450, 200)
    assert not tolerance.within(450.1, 200)
    assert tolerance.within(0, 200)


def test_cadence_is_p_plus_or_minus_tolerance() -> None:
    """TIME-4 "after P"."""
    tolerance = Tolerance()
    assert tolerance.window(1000) == (750, 1250)
    assert tolerance.on_cadence(750, 1000)
    assert tolerance.on_cadence(1250, 1000)
    assert not tolerance.on_cadence(749, 1000)
    assert not tolerance.on_cadence(1251, 1000)


def test_a_server_fifty_percent_off_fails_once_periods_reach_a_second() -> None:
    """spec/11-timing.md: the defaults catch a server that is 50 % off."""
    tolerance = Tolerance()
    for period in (1000, 3000, 15000):
        assert not tolerance.on_cadence(period * 1.5, period)
        assert not tolerance.on_cadence(period * 0.5, period)


@pytest.mark.parametrize(("floor", "ratio"), [(-1, 0.25), (250, -0.1), (250, 1.0)])
def test_bad_tolerances_are_refused(floor: float, ratio: float) -> None:
    with pytest.raises(ValueError, match="tolerance"):
        Tolerance(floor, ratio)


def test_cadence_stats_record_count_min_median_max() -> None:
    """TIME-5."""
    stats = CadenceStats.of(gaps([0, 1000, 1900, 3000]))
    assert stats.as_dict() == {"gaps": 3, "minMs": 900, "medianMs": 1000, "maxMs": 1100}
    assert stats.describe() == "3 gaps: min 900 ms, median 1000 ms, max 1100 ms"
    empty = CadenceStats.of([])
    assert empty.as_dict() == {"gaps": 0, "minMs": None, "medianMs": None, "maxMs": None}
    assert empty.describe() == "no gaps"
