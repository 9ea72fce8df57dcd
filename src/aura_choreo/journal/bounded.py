"""JSON from the network, decoded within bounds (size and nesting depth) before `json.loads` sees it.

`json.loads` recurses once per nesting level, so a few kilobytes of `[[[[...` raise `RecursionError`
instead of a decoding error. Receipts and journal deltas are flat (a journal delta is a list of facts
whose data are scalars, depth 3), so a small depth limit costs nothing legitimate.
"""

from __future__ import annotations

import json
import re

MAX_ATTACHMENT_BYTES = 1 << 20
"""The largest JSON attachment (receipt, journal delta) accepted."""
MAX_DEPTH = 16
"""The deepest nesting of arrays and objects accepted."""

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def loads_bounded(
    data: bytes, *, max_bytes: int = MAX_ATTACHMENT_BYTES, max_depth: int = MAX_DEPTH
) -> object:
    """`json.loads(data)`, refusing (`ValueError`) input over `max_bytes` or nested beyond `max_depth`."""
    if len(data) > max_bytes:
        raise ValueError(f"{len(data)} bytes, over the {max_bytes}-byte limit")
    # Only input with more brackets than the limit can be too deep: skip the scan for the rest.
    if data.count(b"[") + data.count(b"{") > max_depth:
        depth = 0
        for bracket in _BRACKET.findall(_STRING.sub(b'""', data)):
            depth += 1 if bracket in (b"[", b"{") else -1
            if depth > max_depth:
                raise ValueError(f"nested deeper than {max_depth} levels")
    return json.loads(data)
