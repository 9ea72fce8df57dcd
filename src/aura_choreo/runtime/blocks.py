"""`timeout` and `try` blocks for imperative role code (the behaviour-driven runner does the same).

    async with ep.timeout_block() as block:       # SPEC §4.5
        reply = await ep.recv("Server")
    if block.expired:
        ...                                       # this role's part of the alt

    async with ep.saga() as saga:                 # SPEC §4.6
        ...                                       # this role's part of the body
    if not saga.committed:
        ...                                       # this role's part of the compensation
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Protocol

from aura_choreo.errors import ProtocolViolation
from aura_choreo.runtime.monitor import TimeoutToken, TryToken
from aura_choreo.runtime.saga import TryAborted


class BlockHost(Protocol):
    """What a block needs of its endpoint (so this module does not depend on the endpoint's)."""

    def enter_next_timeout(self) -> TimeoutToken | None: ...

    def expire_timeout(self, token: TimeoutToken) -> bool: ...

    def enter_next_try(self) -> TryToken: ...

    async def settle_try(self, token: TryToken, failed: bool) -> bool: ...


class TimeoutBlock:
    """Runs the body under the block's deadline; `expired` tells whether to run the alt.

    For a role that does not wait in the body (a non-waiter), the block arms nothing.
    """

    def __init__(self, endpoint: BlockHost) -> None:
        self.endpoint = endpoint
        self.expired = False
        self.token: TimeoutToken | None = None
        self._scope: asyncio.Timeout | None = None

    async def __aenter__(self) -> TimeoutBlock:
        ep = self.endpoint
        self.token = ep.enter_next_timeout()
        if self.token is not None and self.token.deadline is not None:
            self._scope = asyncio.timeout_at(self.token.deadline)
            await self._scope.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if self._scope is None or self.token is None:
            return False
        try:
            await self._scope.__aexit__(exc_type, exc, tb)
        except TimeoutError:
            if not self.endpoint.expire_timeout(self.token):
                raise
            self.expired = True
            return True
        return False


class SagaBlock:
    """Runs this role's part of a try body; afterwards `committed` says whether to compensate.

    An exception from the body (other than a protocol violation, which is a bug) counts as this
    role's failure: it is reported to the coordinator and suppressed, and the saga compensates.
    """

    def __init__(self, endpoint: BlockHost) -> None:
        self.endpoint = endpoint
        self.committed = False
        self.error: BaseException | None = None
        self.token: TryToken | None = None

    async def __aenter__(self) -> SagaBlock:
        self.token = self.endpoint.enter_next_try()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        token = self.token
        if token is None:
            return False
        if exc is not None:
            if isinstance(exc, ProtocolViolation) or not isinstance(exc, Exception):
                return False
            if isinstance(exc, TryAborted) and exc.token is not token:
                return False
            self.error = exc
        self.committed = await self.endpoint.settle_try(token, exc is not None)
        return exc is not None
