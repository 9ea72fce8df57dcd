"""How a protocol grows: counts measured at several sizes, fitted to a complexity class.

Each class f is fitted as y = a + b*f(n) by least squares; the class with the smallest residual wins,
and among classes that fit equally well (within rounding) the slowest-growing one,
so exact linear data is O(n), not O(n log n).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

CLASSES: tuple[tuple[str, Callable[[float], float]], ...] = (
    ("O(1)", lambda n: 0.0),
    ("O(log n)", lambda n: math.log2(n)),
    ("O(n)", lambda n: n),
    ("O(n log n)", lambda n: n * math.log2(n)),
    ("O(n^2)", lambda n: n * n),
    ("O(n^3)", lambda n: n * n * n),
)
DEFAULT_SIZES = (2, 4, 8, 16)


def _residual(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Sum of squared residuals of the least-squares line y = a + b*x (b >= 0: counts never shrink)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = max(0.0, sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx) if sxx else 0.0
    a = my - b * mx
    return sum((y - a - b * x) ** 2 for x, y in zip(xs, ys, strict=True))


def fit_complexity(sizes: Sequence[int], values: Sequence[float]) -> str:
    """The complexity class of `values` measured at `sizes` (at least 3 points, else `unknown`)."""
    if len(sizes) < 3 or len(set(sizes)) < 3:
        return "unknown"
    if max(values) == min(values):
        return "O(1)"
    spread = sum((v - sum(values) / len(values)) ** 2 for v in values)
    scores = [(name, _residual([f(float(n)) for n in sizes], values)) for name, f in CLASSES[1:]]
    best = min(score for _, score in scores)
    for name, score in scores:
        if score <= best + 1e-6 * spread:
            return name
    return scores[-1][0]
