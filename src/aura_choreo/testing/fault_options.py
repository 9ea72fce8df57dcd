"""Parse the command line's fault options (`--delay 5..50`, `--partition A,B@100..900`, `--crash B@40`,
`--exhaust A:B@10`).

Times are milliseconds, or durations with a unit (`500ms`, `2s`, `1m`). Errors are `ValueError`s whose
message says what was expected, for the CLI to print as a usage error.
"""

from __future__ import annotations

import re

from aura_choreo.transports.faults import BudgetExhaustion, Crash, Partition
from aura_choreo.transports.network import FixedLatency, Latency, UniformLatency

_UNITS_MS = {"ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def parse_time_ms(text: str) -> float:
    """`250`, `250ms`, `1.5s`, `2m` -> milliseconds."""
    match = _TIME.match(text)
    if not match:
        raise ValueError(f"expected a time such as 250, 250ms, 1.5s or 2m, got {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2) or "ms"]


def _split_range(text: str, what: str) -> tuple[float, float]:
    low, sep, high = text.partition("..")
    if not sep:
        raise ValueError(f"expected {what} as A..B, got {text!r}")
    start, end = parse_time_ms(low), parse_time_ms(high)
    if end < start:
        raise ValueError(f"{what} {text!r} ends before it starts")
    return start, end


def parse_delay(text: str) -> Latency:
    """`A..B` -> uniform latency in [A, B] ms; a single time -> fixed latency."""
    if ".." in text:
        low, high = _split_range(text, "a delay range")
        return UniformLatency(low, high) if high > low else FixedLatency(low)
    return FixedLatency(parse_time_ms(text))


def _roles(text: str, option: str) -> tuple[str, ...]:
    roles = tuple(r.strip() for r in text.split(",") if r.strip())
    if not roles:
        raise ValueError(f"{option} needs at least one role before `@`")
    return roles


def parse_partition(text: str) -> Partition:
    """`R1,R2@T1..T2` -> isolate R1 and R2 from T1 to T2."""
    roles, sep, window = text.rpartition("@")
    if not sep:
        raise ValueError(f"expected --partition R1,R2@T1..T2, got {text!r}")
    start, end = _split_range(window, "a partition window")
    return Partition(_roles(roles, "--partition"), start, end)


def parse_crash(text: str) -> Crash:
    """`R@T` (crash for good), `R@T..T2` (down until T2, state kept), `R@T..T2:wipe` (down until T2,
    then restarts from its journal having lost its memory), `R@T:wipe` (the same, restarting at once)."""
    role, sep, when = text.rpartition("@")
    if not sep or not role.strip():
        raise ValueError(f"expected --crash R@T, R@T:wipe, R@T..T2 or R@T..T2:wipe, got {text!r}")
    keep_journal = True
    if when.endswith(":wipe"):
        when, keep_journal = when[: -len(":wipe")], False
    if ".." in when:
        at, restart = _split_range(when, "a crash window")
        return Crash(role.strip(), at, restart, keep_journal)
    at = parse_time_ms(when)
    return Crash(role.strip(), at, None if keep_journal else at, keep_journal)


def parse_exhaustion(text: str) -> BudgetExhaustion:
    """`R@T` (R's budget towards everyone is spent from T) or `R:P@T` (towards P only)."""
    who, sep, when = text.rpartition("@")
    role, _, peer = who.partition(":")
    if not sep or not role.strip():
        raise ValueError(f"expected --exhaust R@T or R:PEER@T, got {text!r}")
    return BudgetExhaustion(role.strip(), parse_time_ms(when), peer.strip() or None)



def parse_probability(text: str, option: str) -> float:
    """`0.1` or `10%` -> 0.1."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ValueError(f"{option} expects a probability such as 0.1 or 10%, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{option} must be between 0 and 1, got {text!r}")
    return value
