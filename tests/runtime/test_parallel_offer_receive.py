"""An offer inside a `par` branch whose chosen branch loops back (`continue`) to a receive from the
same sender another branch also waits on: a message of the next round, queued behind the label that
decides the offer, waits for it instead of being refused (hunt5's parallel-offer finding)."""

from __future__ import annotations

from aura_choreo.projection.local_types import (
    Branch,
    Continue,
    LocalType,
    Offer,
    Par,
    Rec,
    Recv,
    Send,
)
from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.monitor import Monitor
from aura_choreo.runtime.runner import run_session
from aura_choreo.transports.inmemory import InMemoryTransport

# A's part of `parallel { B -> A: M1; ...; B -> A: M2; | rec R { B -> A: Ping; A -> B: Pong;
# choice B { again: { B -> A: Again; continue R; } done: { B -> A: Done; } } } }`
LOOP = Rec(
    "R",
    (
        Recv("B", "Ping"),
        Send("B", "Pong"),
        Offer("B", (Branch("Again", (Continue("R"),)), Branch("Done", ()))),
    ),
)


def _at_the_offer(compiled: bool) -> Monitor:
    par = Par(((Recv("B", "M1"), Recv("B", "M2")), (LOOP,)))
    monitor = Monitor(LocalType("P", "A", (par,)), compiled=compiled)
    monitor.on_receive("B", "M1")
    monitor.on_receive("B", "Ping")
    monitor.on_send("B", "Pong")
    return monitor


def test_a_message_behind_the_label_that_loops_back_to_it_may_wait() -> None:
    for compiled in (True, False):
        monitor = _at_the_offer(compiled)
        assert not monitor.accepts_receive("B", "Ping")
        # Again is queued before it: the offer takes Again, `continue` comes back to Ping.
        assert monitor.receivable_later("B", "Ping", ahead=("Again",))
        assert monitor.receivable_later("B", "Ping", ahead=("M2", "Again"))


def test_a_message_the_offer_must_be_decided_before_is_still_out_of_order() -> None:
    for compiled in (True, False):
        monitor = _at_the_offer(compiled)
        # FIFO: the next message from B to this branch is Again or Done; Ping before it is refused.
        assert not monitor.receivable_later("B", "Ping")
        assert not monitor.receivable_later("B", "Ping", ahead=("M2",))
        assert not monitor.receivable_later("B", "Pong", ahead=("Again",))  # nothing receives it


def test_a_message_after_a_choice_that_falls_out_of_the_loop_may_wait() -> None:
    # The same, with the loop's continuation decided by A's own choice and announced to C: after
    # `again` the next round receives Ping from B, which may be queued already.
    loop = Rec(
        "R",
        (
            Recv("B", "Ping"),
            Offer("C", (Branch("Again", (Continue("R"),)), Branch("Done", ()))),
        ),
    )
    par = Par(((Recv("B", "M1"), Recv("B", "M2")), (loop,)))
    monitor = Monitor(LocalType("P", "A", (par,)))
    monitor.on_receive("B", "M1")
    monitor.on_receive("B", "Ping")
    assert monitor.receivable_later("B", "Ping")  # C's offer may come back to it (another channel)


INTERLEAVED = choreography(
    """
    protocol Interleaved {
      roles: A, B;
      parallel {
        B -> A: M1;
        B -> A: M2;
      |
        rec R {
          B -> A: Ping;
          A -> B: Pong;
          choice B { again: { B -> A: Again; continue R; } done: { B -> A: Done; } }
        }
      }
    }
    """
)


async def test_the_runner_takes_the_next_round_queued_behind_the_offer() -> None:
    # B sends Again and the next Ping before M2, so A's first branch, waiting for M2, finds them
    # queued ahead of it while its second branch is at the offer.
    async def b(ep: Endpoint) -> None:
        await ep.send("A", "M1")
        await ep.send("A", "Ping")
        await ep.recv("A", "Pong")
        await ep.choose("again")
        await ep.send("A", "Again")
        await ep.send("A", "Ping")
        await ep.recv("A", "Pong")
        await ep.send("A", "M2")
        await ep.choose("done")
        await ep.send("A", "Done")

    session = INTERLEAVED.session()
    await run_session(session, InMemoryTransport(), {"B": b})
    got = [e.label for e in session.trace.of_kind("recv") if e.receiver == "A"]
    assert got == ["M1", "Ping", "Again", "Ping", "M2", "Done"]
