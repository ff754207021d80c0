"""The order-by check's fast path (bisect over sorted key lists) gives exactly the all-pairs reading."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.check.rules.order_by import conflicts, conflicts_fast

KEYS = st.one_of(st.integers(-20, 20).map(str), st.text("abc019-", min_size=1, max_size=3))


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(KEYS, st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=12), st.booleans())
def test_fast_conflicts_equal_the_plain_reading(spans: dict[str, tuple[int, int]], descending: bool) -> None:
    lo = {k: min(a, b) for k, (a, b) in spans.items()}
    hi = {k: max(a, b) for k, (a, b) in spans.items()}
    assert conflicts_fast(lo, hi, descending) == conflicts(lo, hi, descending)
