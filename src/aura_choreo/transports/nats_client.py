"""Connecting to a NATS server with nats-py, bounded in time (what `nats_broker` needs of the client)."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from typing import Any

from aura_choreo.errors import PeerTimeout, TransportError


def import_nats() -> Any:
    """The `nats` package; without the `[nats]` extra a one-line `TransportError` naming the install."""
    try:
        return importlib.import_module("nats")
    except ImportError as exc:
        raise TransportError(
            f"`nats://` needs an optional dependency ({exc.name}): pip install 'aura-choreo[nats]'"
        ) from None


async def connect(
    server: str,
    name: str,
    timeout: float,
    reconnect_wait: float,
    callbacks: dict[str, Callable[..., Awaitable[None]]],
    closing: Callable[[], bool],
) -> Any:
    """A client connected to `server` that reconnects forever after, or `PeerTimeout` after `timeout`
    seconds of failed attempts (`callbacks`: nats-py's error_cb, disconnected_cb, reconnected_cb)."""
    nats = import_nats()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = "no attempt"
    while not closing():
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        options = dict(
            servers=[server],
            name=name,
            connect_timeout=max(min(remaining, 2.0), 0.1),
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=reconnect_wait,
            ping_interval=5,
            max_outstanding_pings=2,
            **callbacks,
        )
        try:
            # nats-py retries a first connection forever when reconnection is allowed: bound it.
            return await asyncio.wait_for(nats.connect(**options), remaining)
        except Exception as exc:  # nats-py raises its own errors (NoServersError, ...) and OSError
            last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            await asyncio.sleep(min(reconnect_wait, max(deadline - loop.time(), 0.0)))
    raise PeerTimeout(f"could not reach the NATS server {server} within {timeout:g}s ({last})")


async def confirm_subscriptions(nc: Any, timeout: float) -> None:
    """Return once the server has every subscription made so far on the client `nc` (a PING sent after
    them was answered); nats-py's `FlushTimeoutError` (or another of its errors) after `timeout`.

    `nc.flush()` alone does not promise that: nats-py (2.16) queues a SUB for its flusher task but
    writes flush's PING straight to the socket, so the PING can reach the server first and be answered
    while the SUB still waits in the client. A request made then gets "no responders" (the
    bench's raw baseline crashed so), a frame published then is dropped. Once nats-py holds nothing
    unwritten, a PING follows the SUBs on the connection, and the server answers in order.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await nc.flush(timeout=timeout)  # its PONG is read only after the flusher task has written the SUBs
    while nc.pending_data_size > 0 and loop.time() < deadline:  # unless it was blocked on a full socket
        await asyncio.sleep(0.001)
    await nc.flush(timeout=max(deadline - loop.time(), 0.01))
