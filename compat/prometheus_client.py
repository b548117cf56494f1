"""prometheus-client's names that its public API does not export, reached from here alone.

A labelled child's values, to add to them as its own methods do without the checks those
make on every call (that the metric has its labels, that the amount is not negative): a
subscription's metrics move once per subscriber and event. tests/test_compat.py checks
that what is exposed is the same either way.
"""

from bisect import bisect_left
from typing import Any, Protocol

from prometheus_client import Counter, Histogram


class _Value(Protocol):
    def inc(self, amount: float) -> None: ...


class CounterChild:
    """`inc(amount)` of a counter's labelled child, its checks made once."""

    __slots__ = ("_value",)

    def __init__(self, child: Counter) -> None:
        child._raise_if_not_observable()
        self._value: _Value = child._value

    def inc(self, amount: int = 1) -> None:
        self._value.inc(amount)


class HistogramChild:
    """`observe(count)` of a histogram's labelled child, for counts (no NaN), its checks
    made once: the sum, then the first bucket whose upper bound is not below the count."""

    __slots__ = ("_bounds", "_buckets", "_sum")

    def __init__(self, child: Histogram) -> None:
        child._raise_if_not_observable()
        self._sum: _Value = child._sum
        self._buckets: list[Any] = child._buckets
        self._bounds: list[float] = child._upper_bounds

    def observe(self, count: int) -> None:
        self._sum.inc(count)
        self._buckets[bisect_left(self._bounds, count)].inc(1)
