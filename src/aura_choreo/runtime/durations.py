"""Durations in messages: seconds rounded to the millisecond, so float noise never shows."""

from __future__ import annotations


def format_seconds(seconds: float) -> str:
    """`0.0199977` -> `"0.02s"`, `30.0` -> `"30s"`, `1e-05` -> `"0s"` (the runtime's resolution is 1 ms)."""
    rounded = round(seconds, 3)
    return f"{rounded + 0.0:g}s"  # + 0.0 turns -0.0 into 0.0
