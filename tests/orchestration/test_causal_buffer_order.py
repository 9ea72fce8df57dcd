"""`CausalBuffer.receive` delivers in the same order as the pass-by-pass algorithm it replaced.

The old `receive` swept the waiting operations again and again, delivering in list order whatever was
ready, until a sweep delivered nothing: quadratic in the early operations. The new one indexes each
operation by a dependency it lacks; `passes` below is the old algorithm, kept as the reference, and
hypothesis checks that both give the same deliveries, pending operations, clocks and drop counts on
random histories: causal chains across replicas, shuffled, duplicated, with operations that reuse an
event with another payload and operations whose causes never come.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aura_choreo.orchestration.crdt import CausalBuffer, Operation, VectorClock

REPLICAS = ["a", "b", "c", "d"]


def passes(buffer: CausalBuffer, ops: list[Operation]) -> tuple[CausalBuffer, list[Operation]]:
    """The old `receive`, minus its warning: sweeps until nothing more is ready."""
    waiting = list(buffer.pending)
    known = set(waiting)
    for op in ops:
        if op.clock[op.origin] > buffer.delivered[op.origin] and op not in known:
            waiting.append(op)
            known.add(op)
    delivered, ready, progress = buffer.delivered, [], True
    while progress:
        progress = False
        for op in list(waiting):
            own = op.clock[op.origin]
            if own <= delivered[op.origin]:
                waiting.remove(op)
            elif own == delivered[op.origin] + 1 and all(
                n <= delivered[r] for r, n in op.clock.counts if r != op.origin
            ):
                ready.append(op)
                waiting.remove(op)
                delivered = delivered.merge(op.clock)
                progress = True
    excess = len(waiting) - buffer.max_pending
    kept = tuple(waiting[: buffer.max_pending])
    dropped = buffer.dropped + max(excess, 0)
    return CausalBuffer(delivered, kept, buffer.max_pending, dropped), ready


@st.composite
def histories(draw: st.DrawFn) -> tuple[int, list[list[Operation]]]:
    """A bound, and batches of operations made by replicas that sync now and then."""
    buffers = {r: CausalBuffer() for r in REPLICAS}
    made: list[Operation] = []
    for _ in range(draw(st.integers(0, 40))):
        origin = draw(st.sampled_from(REPLICAS))
        if made and draw(st.booleans()):  # the origin saw an earlier operation (and its causes)
            seen = draw(st.sampled_from(made))
            clock = buffers[origin].delivered.merge(seen.clock)
            buffers[origin] = CausalBuffer(clock)
        buffers[origin], op = buffers[origin].stamp(origin, draw(st.binary(max_size=2)))
        made.append(op)
    extra: list[Operation] = []
    for op in made:
        if draw(st.integers(0, 5)) == 0:  # the same event with another payload
            extra.append(Operation(op.origin, op.clock, op.payload + b"!"))
        if draw(st.integers(0, 7)) == 0:  # a cause that never comes
            extra.append(Operation(op.origin, op.clock.merge(VectorClock.of({"ghost": 1})), op.payload))
    everything = made + extra + draw(st.lists(st.sampled_from(made), max_size=5) if made else st.just([]))
    order = draw(st.permutations(everything))
    cuts = sorted(draw(st.lists(st.integers(0, len(order)), max_size=4)))
    batches = [list(order[i:j]) for i, j in zip([0, *cuts], [*cuts, len(order)], strict=True)]
    return draw(st.integers(0, 12)), batches


@given(histories())
def test_receive_delivers_like_the_pass_by_pass_algorithm(history: tuple[int, list[list[Operation]]]) -> None:
    bound, batches = history
    new = old = CausalBuffer(max_pending=bound)
    for batch in batches:
        new, got = new.receive(batch)
        old, want = passes(old, batch)
        assert got == want
        assert (new.delivered, new.pending, new.dropped) == (old.delivered, old.pending, old.dropped)


def test_a_long_reversed_chain_is_delivered_in_causal_order_in_one_batch() -> None:
    sender, ops = CausalBuffer(), []
    for n in range(2000):
        sender, op = sender.stamp("a", str(n).encode())
        ops.append(op)
    buffer, ready = CausalBuffer().receive(ops[::-1])
    assert ready == ops and buffer.pending == () and buffer.delivered["a"] == 2000
