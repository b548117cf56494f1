"""Latency samples and their percentiles."""

import math
import statistics


class Samples:
    """Durations in seconds; percentiles in milliseconds (nearest rank)."""

    def __init__(self, values: list[float] | None = None) -> None:
        self.values: list[float] = list(values or [])

    def add(self, seconds: float) -> None:
        self.values.append(seconds)

    def extend(self, seconds: list[float]) -> None:
        self.values.extend(seconds)

    def __len__(self) -> int:
        return len(self.values)

    def percentile(self, p: float) -> float:
        if not self.values:
            return float("nan")
        ordered = sorted(self.values)
        rank = min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))
        return ordered[rank] * 1000

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    @property
    def max(self) -> float:
        return max(self.values) * 1000 if self.values else float("nan")

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values) * 1000 if self.values else float("nan")
