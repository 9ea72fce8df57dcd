"""The small pieces an endpoint's steps are made of: refused sends, drop counters, `timeout`
annotations, the extension attachment calls around a send, and the loop's fast clock and futures.

Kept apart from `endpoint` (the imperative API) and `endpoint_core` (its plumbing) so each stays
one job; `endpoint` re-exports the public names.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from aura_choreo.errors import TransportError
from aura_choreo.runtime.extensions import Extension, StepContext
from aura_choreo.syntax.ast import AnnotationValue

__all__ = [
    "NO_ATTACHMENTS",
    "EndpointStats",
    "SendFailed",
    "SendHooks",
    "after_send",
    "attachments",
    "clock_of",
    "future_factory",
    "new_context",
    "parse_timeout_ms",
    "received_attachments",
    "settle",
]


NO_ATTACHMENTS: Mapping[str, bytes] = MappingProxyType({})
"""What `on_receive` gets for a message without attachments (read-only, shared: none is built)."""

new_context: Callable[[type[StepContext], tuple[object, ...]], StepContext] = tuple.__new__
"""`StepContext` from its fields in order, without the named tuple's `__new__` (a Python frame)."""

SendHooks = tuple[tuple[Extension, ...], tuple[object, ...], str]
"""A send (or receive) step's extensions with send (receive) hooks, its context's fields before the
payload (protocol, session, role, device, peer, label, annotations) and the peer's device: all fixed
per step."""


class SendFailed(TransportError):
    """The transport refused a send the monitor already accepted; `await exc.retry()` sends it again."""

    def __init__(
        self,
        message: str,
        retry: Callable[[], Awaitable[None]],
        *,
        role: str | None = None,
        session: str | None = None,
        step: str | None = None,
    ) -> None:
        self.retry = retry
        super().__init__(message, role=role, session=session, step=step)


@dataclass
class EndpointStats:
    """What the endpoint dropped on purpose."""

    discarded: int = 0
    """Quorum stragglers received after the quorum completed."""
    late: int = 0
    """Messages of a timeout body that arrived after the role left it."""


def parse_timeout_ms(value: AnnotationValue | None) -> int | None:
    """A `timeout` annotation in milliseconds (`5000`, `"5s"`, `"500ms"`), or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        for suffix, scale in (("ms", 1), ("millis", 1), ("seconds", 1000), ("s", 1000), ("m", 60_000)):
            if text.endswith(suffix) and text[: -len(suffix)].isdigit():
                return int(text[: -len(suffix)]) * scale
        if text.isdigit():
            return int(text)
    return None


def clock_of(loop: asyncio.AbstractEventLoop) -> Callable[[], float]:
    """`loop.time`, or `time.monotonic` itself when that is all the loop's `time` does (one call less
    per recorded event); a loop with its own clock (virtual time) keeps its own."""
    if type(loop).time is asyncio.BaseEventLoop.time:
        return time.monotonic
    return loop.time


def future_factory(loop: asyncio.AbstractEventLoop) -> Callable[[], asyncio.Future[Any]]:
    """`loop.create_future`, or the future class bound to the loop when that is all it does (a
    partial is called without a Python frame); a loop with its own futures keeps them."""
    if type(loop).create_future is asyncio.BaseEventLoop.create_future:
        return functools.partial(asyncio.Future, loop=loop)
    return loop.create_future


def attachments(
    extensions: tuple[Extension, ...], ctx: StepContext
) -> tuple[bytes | None, bytes | None, dict[str, bytes] | None]:
    """Run `before_send` of each extension; their attachments as (receipt, journal, other)."""
    attachments: dict[str, bytes] | None = None  # most sends attach nothing: no dict built
    if len(extensions) == 1:  # the common case (e.g. the guard chain alone): no loop, no earlier one
        extra = extensions[0].before_send(ctx)
        if not extra:
            return None, None, None
        attachments = dict(extra)
    else:
        for index, extension in enumerate(extensions):
            try:
                extra = extension.before_send(ctx)
            except BaseException:
                # The earlier extensions prepared this send (reserved fact ids, receipt slots): it
                # will not happen, so they hear that it was refused.
                after_send(extensions[:index], ctx, False)
                raise
            if extra:
                if attachments is None:
                    attachments = {}
                attachments.update(extra)
        if attachments is None:
            return None, None, None
    receipt = attachments.pop("receipt", None)
    journal = attachments.pop("journal", None)
    return receipt, journal, attachments or None


def received_attachments(
    receipt: bytes | None, journal: bytes | None, ext: Mapping[str, bytes] | None
) -> Mapping[str, bytes]:
    """What `on_receive` gets: a received envelope's `ext` map with its receipt and journal delta."""
    if receipt is None and journal is None and not ext:
        return NO_ATTACHMENTS  # most messages carry none: no dict built
    attachments = dict(ext or {})
    if receipt is not None:
        attachments["receipt"] = receipt
    if journal is not None:
        attachments["journal"] = journal
    return attachments


def after_send(
    extensions: tuple[Extension, ...], ctx: StepContext | None, accepted: bool
) -> list[Awaitable[None]] | None:
    """Run `after_send` of each extension; what they returned to wait on (see `Extension.after_send`)."""
    if ctx is None:
        return None
    if len(extensions) == 1:  # the common case: no loop
        wait = extensions[0].after_send(ctx, accepted)
        return None if wait is None else [wait]
    waits: list[Awaitable[None]] | None = None
    for extension in extensions:
        wait = extension.after_send(ctx, accepted)
        if wait is not None:
            waits = [wait] if waits is None else [*waits, wait]
    return waits


async def settle(waits: list[Awaitable[None]]) -> None:
    """Wait for what the extensions' `after_send` returned (e.g. the journal's group commit)."""
    for wait in waits:
        await wait
