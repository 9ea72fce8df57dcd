"""Deeply nested frames are refused by an explicit bound, not by whatever recursion limit the
application set: under a limit of 10**6, a 200 KB frame of nested arrays used to overflow the C stack."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys
    import msgspec
    from aura_choreo.runtime.node import Node
    from aura_choreo.runtime.wire import (
        WireError, decode_envelope, decode_payload, decode_value, payload_decoder,
    )
    from aura_choreo.transports.inmemory import InMemoryTransport

    class Item(msgspec.Struct):
        value: object

    deep = b"\\x91" * 200_000 + b"\\x00"
    fields = b"".join(msgspec.msgpack.encode(x) for x in [1, 0, "s", "P", "A", "B", "L", 1])
    frame = b"\\x99" + fields + deep
    sys.setrecursionlimit(10**6)
    refused = 0
    for decode in (
        decode_envelope,
        decode_value,
        lambda data: decode_payload(payload_decoder(Item), Item, b"\\x91" + data, False),
        lambda data: decode_payload(payload_decoder(Item), Item, data, True),
    ):
        try:
            decode(frame if decode is decode_envelope else deep)
        except WireError:
            refused += 1
    node = Node(InMemoryTransport(max_frame=1 << 20), "B")
    node._on_frame("A", frame)
    assert sys.getrecursionlimit() == 10**6  # restored
    print(refused, node.stats.garbage)
    """
)


def test_a_deep_frame_is_refused_whatever_the_recursion_limit() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr  # a stack overflow would be -11 (SIGSEGV)
    assert result.stdout.split() == ["4", "1"]
