"""A generic user of any generated typestate API: it follows whatever methods each state offers.

Payloads are synthesised by the runtime's default behaviour from the declared types of the send the
monitor expects (the driver peeks at its state's endpoint, which user code never needs to), choices are
taken by a seeded random generator, blocks (par, timeout, try) are driven recursively
as callbacks. It lets the tests run every role of every seed through its generated code.
"""

from __future__ import annotations

import inspect
import random
from typing import Any

from aura_choreo.codegen.support import BlockEnd, End, State
from aura_choreo.projection.local_types import Send
from aura_choreo.runtime import DefaultBehaviour, ProtocolHints


def _payload(state: State, label: str, behaviour: DefaultBehaviour) -> dict[str, Any]:
    monitor = state._ctx.endpoint.monitor
    for step in monitor.next_steps():
        if isinstance(step, Send) and step.label == label:
            return behaviour.payload(step.payload, monitor.env)
    raise AssertionError(f"the monitor expects no send of {label}: {monitor.expected()}")


async def drive(state: Any, rng: random.Random, behaviour: DefaultBehaviour | None = None) -> Any:
    """Follow `state` to its end (or its block's end); returns the end state."""
    if behaviour is None:
        local_types = state._ctx.endpoint.session.local_types.values()
        behaviour = DefaultBehaviour(rng.randrange(1000), ProtocolHints.from_local_types(local_types))
    steps = 0
    while not isinstance(state, End | BlockEnd):
        steps += 1
        assert steps < 10_000, "the driver did not reach an end"
        assert isinstance(state, State)
        members = inspect.getmembers(type(state), inspect.iscoroutinefunction)
        methods = sorted(name for name, _ in members if not name.startswith("_"))
        assert methods, f"{type(state).__name__} offers no method"
        name = rng.choice(methods) if all(m.startswith("choose_") for m in methods) else methods[0]
        assert len(methods) == 1 or name.startswith("choose_"), methods
        method = getattr(state, name)
        if name.startswith("send_"):
            label = name[len("send_") :]  # labels are identifiers in every corpus protocol
            state = await method(**_payload(state, label, behaviour))
        elif name.startswith("recv_"):
            _, state = await method()
        elif name == "quorum":
            _, state = await method()
        elif name in ("offer", "branch", "loop"):
            state = (await method()).state
        elif name in ("par", "timeout", "saga"):
            count = len(inspect.signature(method).parameters)

            async def part(first: Any) -> Any:
                return await drive(first, rng, behaviour)

            state = await method(*([part] * count))
        else:  # choose_*, local_*
            state = await method()
    return state
