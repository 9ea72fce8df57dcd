"""The endpoint calls for `timeout` and `try` blocks (SPEC §4.5, §4.6): arming and expiring a timeout
block's deadline, and the try block's token and verdict through the role's `Saga`.

`Endpoint` (the imperative API, `runtime/endpoint.py`) inherits these; `runtime/blocks.py` has the
`async with` wrappers (`TimeoutBlock`, `SagaBlock`) built on them, and the behaviour-driven runner
calls them directly.
"""

from __future__ import annotations

from aura_choreo.projection.local_types import Timeout, Try
from aura_choreo.runtime.blocks import SagaBlock, TimeoutBlock
from aura_choreo.runtime.endpoint_core import EndpointCore
from aura_choreo.runtime.monitor import TimeoutToken, TryToken

__all__ = ["EndpointBlocks"]


class EndpointBlocks(EndpointCore):
    """An endpoint's timeout- and try-block calls, on the state `EndpointCore` holds."""

    __slots__ = ()

    # ------------------------------------------------------------------ timeout blocks (SPEC §4.5)

    def enter_timeout(self, step: Timeout) -> TimeoutToken | None:
        """Arm the deadline of a timeout block this role is entering (None for a non-waiter)."""
        self._timeouts.extend(self.monitor.take_armed())
        for token in self._timeouts:
            if token.step is step and token.active and token.deadline is None:
                token.deadline = self._loop.time() + step.deadline_ms / 1000
                return token
        return None

    def arm_timeouts(self) -> None:
        """Start the deadline of every timeout block the monitor entered since the last call."""
        armed = self.monitor.take_armed()
        if armed:
            now = self._loop.time()
            for token in armed:
                if token.deadline is None:
                    token.deadline = now + token.step.deadline_ms / 1000

    def enter_next_timeout(self) -> TimeoutToken | None:
        """Arm the timeout block this role is entering, whichever it is (None for a non-waiter)."""
        self.monitor.next_steps()  # settle into the block
        self._timeouts.extend(self.monitor.take_armed())
        for token in self._timeouts:
            if token.active and token.deadline is None:
                token.deadline = self._loop.time() + token.step.deadline_ms / 1000
                return token
        return None

    def timeout_block(self) -> TimeoutBlock:
        """`async with ep.timeout_block() as block:` — this role's part of a timeout block (SPEC §4.5)."""
        return TimeoutBlock(self)

    def expire_timeout(self, token: TimeoutToken) -> bool:
        """The deadline passed: the monitor moves to the alt; body messages arriving later are late."""
        if token in self._timeouts:
            self._timeouts.remove(token)
        expired = self.monitor.on_timeout(token)
        if expired:
            self._record("timeout", self.role, self.role, "timeout", 0)
        return expired

    # ------------------------------------------------------------------ try blocks (SPEC §4.6)

    def try_token(self, step: Try) -> TryToken:
        """The token of the try block this role is entering."""
        return self._saga.token(step)

    def enter_next_try(self) -> TryToken:
        """The innermost try block this role has entered and not yet claimed."""
        return self._saga.next_token()

    def saga(self) -> SagaBlock:
        """`async with ep.saga() as saga:` — this role's part of a try block (SPEC §4.6)."""
        return SagaBlock(self)

    async def settle_try(self, token: TryToken, failed: bool) -> bool:
        """Finish a try block: report to / decide as the coordinator; True if it committed."""
        return await self._saga.settle(token, failed)
