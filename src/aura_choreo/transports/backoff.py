"""Backoff delays: the one rule for how long to wait before retry number n.

Used by the runtime's `RetryMiddleware` (send retries) and `aura_choreo.resilience.RetryPolicy`
(session retries, which the orchestration coordinators use too). It lives in this early stage so that
both can import it: the runtime may not import the resilience package (DESIGN.md's pipeline).

The ceiling grows exponentially, `min(max_delay, base * factor ** (attempt - 1))`; the jitter spreads
retries of many clients so they do not arrive together:

- `"full"`: uniform in `[0, ceiling]` (AWS's "full jitter", the default of `RetryPolicy`);
- `"equal"`: uniform in `[ceiling / 2, ceiling]`;
- `"none"`: exactly the ceiling;
- a float `j` in `[0, 1]`: uniform in `[ceiling * (1 - j), ceiling * (1 + j)]`.

The random source is passed in (seeded by the caller), so the same seed gives the same delays.
"""

from __future__ import annotations

import math
import random
from typing import Literal

JitterMode = Literal["full", "equal", "none"]
Jitter = JitterMode | float
"""A jitter mode, or a proportional spread `j` (the delay is the ceiling times 1 +/- j)."""


def backoff_ceiling(attempt: int, base: float, max_delay: float, factor: float = 2.0) -> float:
    """The largest pause before retry `attempt` (1-based): `min(max_delay, base * factor**(attempt-1))`."""
    if attempt < 1:
        raise ValueError(f"retry numbers start at 1, got {attempt}")
    exponent = attempt - 1
    if base <= 0:
        return 0.0
    # Compare in log space first: `factor**exponent` overflows a float (2.0**1024 does) long before
    # max_delay stops mattering.
    if factor > 1 and exponent * math.log(factor) + math.log(base) >= math.log(max(max_delay, 1e-300)):
        return float(max_delay)
    try:
        return float(min(max_delay, base * factor**exponent))
    except OverflowError:  # a tiny base (5e-324) under a factor**exponent past the float range
        return float(min(max_delay, math.exp(exponent * math.log(factor) + math.log(base))))


def backoff_delay(
    attempt: int,
    base: float,
    max_delay: float,
    jitter: Jitter,
    rng: random.Random,
    factor: float = 2.0,
) -> float:
    """The pause before retry number `attempt` (1-based), drawn from `rng` as `jitter` says."""
    ceiling = backoff_ceiling(attempt, base, max_delay, factor)
    if jitter == "full":
        return rng.uniform(0.0, ceiling)
    if jitter == "equal":
        return ceiling / 2 + rng.uniform(0.0, ceiling / 2)
    if jitter == "none":
        return ceiling
    if isinstance(jitter, int | float) and not isinstance(jitter, bool) and 0.0 <= jitter <= 1.0:
        return max(0.0, ceiling * (1.0 + jitter * (2.0 * rng.random() - 1.0)))
    raise ValueError(f"jitter must be 'full', 'equal', 'none' or a fraction in [0, 1], got {jitter!r}")


def check_jitter(jitter: object) -> None:
    """Raise ValueError unless `jitter` is a valid `Jitter` (for constructors, so bad settings fail early)."""
    if jitter in ("full", "equal", "none"):
        return
    if isinstance(jitter, int | float) and not isinstance(jitter, bool) and 0.0 <= jitter <= 1.0:
        return
    raise ValueError(f"jitter must be 'full', 'equal', 'none' or a fraction in [0, 1], got {jitter!r}")
