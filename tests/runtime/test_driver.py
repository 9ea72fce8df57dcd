"""The behaviour-driven runner follows the monitor: decisions, values and relayed knowledge."""

from __future__ import annotations

import asyncio

import pytest

from aura_choreo.errors import ProtocolViolation
from aura_choreo.protocol import choreography
from aura_choreo.runtime.behaviour import BehaviourAdapter, DefaultBehaviour, ProtocolHints
from aura_choreo.runtime.driver import Driver
from aura_choreo.runtime.interpreter import EndpointHandler, Handler
from aura_choreo.runtime.node import Node
from aura_choreo.runtime.program import Effect
from aura_choreo.runtime.runner import run_session
from aura_choreo.runtime.trace import Trace
from aura_choreo.testing.results import SimulationConfig
from aura_choreo.testing.simulation import simulate
from aura_choreo.transports.inmemory import InMemoryTransport

SHARED_MATCH = choreography(
    """
    choreography SharedMatch {
        roles: A, B;
        A -> B: Pick(kind: Kind);
        match kind { Kind::Fast => { A -> B: Fast; } Kind::Slow => { A -> B: Slow; } }
    }
    """
)

CUSTOM_LOOP = choreography(
    """
    choreography Custom {
        roles: A, B;
        loop (custom: "has_more") { A -> B: Ping; B -> A: Pong; }
    }
    """
)

RETRY = choreography(
    """
    choreography Retry {
        roles: A, B;
        rec R {
            A -> B: Req; B -> A: Resp;
            if retry_requested { A -> B: Again; continue R } else { A -> B: Done }
        }
    }
    """
)


def labels(trace: object, sender: str, label: str) -> int:
    return sum(1 for e in trace.events if e.kind == "send" and e.sender == sender and e.label == label)  # type: ignore[attr-defined]


async def test_a_match_value_matching_no_arm_is_an_error_at_the_deciding_role() -> None:
    class Medium:
        def Pick(self, env: dict[str, object]) -> dict[str, object]:
            return {"kind": "Kind::Medium"}

    with pytest.raises(ProtocolViolation) as caught:
        await run_session(SHARED_MATCH.session(), InMemoryTransport(), {"A": Medium()})
    error = caught.value
    assert error.role == "A"
    assert "Kind::Medium" in str(error) and "Kind::Fast" in str(error) and "Kind::Slow" in str(error)


async def test_a_decided_match_with_a_value_matching_no_arm_is_an_error() -> None:
    protocol = choreography(
        """
        choreography Decided {
            roles: A, B;
            match secret { Mode::On => { A -> B: On; } Mode::Off => { A -> B: Off; } }
        }
        """
    )

    class Odd:
        def value_secret(self, env: dict[str, object]) -> str:
            return "Mode::Sideways"

    with pytest.raises(ProtocolViolation) as caught:
        await run_session(protocol.session(), InMemoryTransport(), {"A": Odd()})
    assert caught.value.role == "A"
    assert "Mode::Sideways" in str(caught.value) and "On, Off" in str(caught.value)


def test_the_default_behaviour_sends_a_bool_for_a_bool_field_matched_on_true_and_false() -> None:
    protocol = choreography(
        """
        choreography Vote {
            roles: A, B;
            A -> B: Vote(ok: bool);
            match ok { true => { B -> A: Yes; } false => { B -> A: No; } }
        }
        """
    )
    report = simulate(protocol, seeds=range(12))
    assert report.ok, report.summary()
    taken = {labels(run.trace, "B", "Yes") for run in report.runs}
    assert taken == {0, 1}  # both arms are drawn


def test_the_default_behaviour_draws_match_values_that_match_an_arm() -> None:
    report = simulate(SHARED_MATCH, seeds=range(12))
    assert report.ok, report.summary()


async def test_a_custom_loop_condition_is_asked_at_every_decision() -> None:
    class ThreeRounds:
        def __init__(self) -> None:
            self.asked = 0

        def value_has_more(self, env: dict[str, object]) -> bool:
            self.asked += 1
            return self.asked <= 3

    session = CUSTOM_LOOP.session()
    behaviour = ThreeRounds()
    await run_session(session, InMemoryTransport(), {"A": behaviour})
    assert behaviour.asked == 4
    assert labels(session.trace, "A", "Ping") == 3


async def test_async_value_methods_are_awaited_at_every_decision() -> None:
    class RetryTwice:
        def __init__(self) -> None:
            self.asked = 0

        async def value_retry_requested(self, env: dict[str, object]) -> bool:
            await asyncio.sleep(0)
            self.asked += 1
            return self.asked <= 2

    session = RETRY.session()
    await run_session(session, InMemoryTransport(), {"A": RetryTwice()})
    assert labels(session.trace, "A", "Req") == 3
    assert labels(session.trace, "A", "Again") == 2
    assert labels(session.trace, "A", "Done") == 1


@pytest.mark.parametrize("protocol", [CUSTOM_LOOP, RETRY], ids=["custom", "retry"])
def test_the_default_behaviour_ends_loops_decided_by_its_values(protocol: object) -> None:
    # A value asked once and kept would run such a loop zero times or forever.
    report = simulate(protocol, seeds=range(30), config=SimulationConfig(horizon=30.0))
    assert report.ok, report.summary()
    rounds = {labels(run.trace, "A", "Ping" if protocol is CUSTOM_LOOP else "Req") for run in report.runs}
    assert len(rounds) > 2  # different seeds run different numbers of rounds


def test_a_relay_forwards_the_value_it_received() -> None:
    protocol = choreography(
        """
        choreography Relay {
            roles: S, R, C;
            loop {
                S -> R: Chunk(end_stream: bool);
                R -> C: Chunk(end_stream: bool);
                if end_stream { break; }
            }
        }
        """
    )
    report = simulate(protocol, seeds=range(30), config=SimulationConfig(horizon=60.0))
    assert report.ok, report.summary()


LOOPED = choreography(
    """
    choreography Looped {
        roles: A, B;
        loop (count: 5) { A -> B: Ping(n: i64); B -> A: Pong(n: i64); }
    }
    """
)


class PassThrough:
    """A middleware that only counts the effects it passes on."""

    def __init__(self, inner: Handler) -> None:
        self.inner = inner
        self.seen: list[str] = []

    async def handle(self, effect: Effect) -> object:
        self.seen.append(type(effect).__name__)
        return await self.inner.handle(effect)


def _rows(trace: Trace) -> list[tuple[str, str, str, str, int]]:
    return [(e.kind, e.role, e.sender, e.label, e.seq) for e in trace.events]


async def test_middleware_sees_every_send_and_receive_of_straight_line_code() -> None:
    stacks: list[PassThrough] = []

    def factory(inner: Handler) -> Handler:
        stacks.append(PassThrough(inner))
        return stacks[-1]

    plain, wrapped = LOOPED.session(), LOOPED.session()
    await run_session(plain, InMemoryTransport(), {}, seed=3)
    await run_session(wrapped, InMemoryTransport(), {}, seed=3, middleware=[factory])
    assert sorted(len(stack.seen) for stack in stacks) == [10, 10]  # 5 rounds x (a send + a receive)
    assert _rows(plain.trace) == _rows(wrapped.trace)  # the shortcut without middleware does the same


async def test_a_handler_subclass_overriding_handle_is_asked_for_every_effect() -> None:
    seen: list[str] = []

    class Counting(EndpointHandler):
        async def handle(self, effect: Effect) -> object:
            seen.append(type(effect).__name__)
            return await super().handle(effect)

    session = LOOPED.session()
    transport = InMemoryTransport()
    hints = ProtocolHints.from_local_types(session.local_types.values())

    async def role(name: str, node: Node) -> None:
        async with session.endpoint(name, node) as ep:
            await Driver(ep, Counting(ep, BehaviourAdapter(None, DefaultBehaviour(0, hints)))).run()

    async with Node(transport, "A") as a, Node(transport, "B") as b:
        await asyncio.gather(role("A", a), role("B", b))
    assert seen.count("SendEffect") == 10 and seen.count("RecvEffect") == 10
