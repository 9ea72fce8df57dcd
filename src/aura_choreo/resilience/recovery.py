"""Running a role that may crash and lose its memory, restarting it from its last checkpoint.

`run_recoverable` is what `simulate --crash R@T:wipe` runs for role R: at each crash time the role's
code is cancelled (its behaviour, its driver, the endpoint's position and known values are gone); at
the restart time the endpoint is rebuilt from the journal (`Checkpoints.restore`) and a fresh
behaviour drives it on from there. Only behaviour-driven roles can resume this way: an imperative role
function keeps its position in Python's own stack, which no journal restores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from aura_choreo.resilience.checkpoint import Checkpoints
from aura_choreo.runtime.behaviour import ProtocolHints
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.monitor import Monitor
from aura_choreo.runtime.runner import MiddlewareFactory, RoleCode, run_behaviour


@dataclass(frozen=True)
class Outage:
    """The role's memory is lost at loop time `at` and it restarts from its checkpoint at `restart`."""

    at: float
    restart: float


@dataclass
class RecoveryLog:
    """What happened to one recoverable role (for tests and reports)."""

    crashes: list[float]
    restarts: list[float]
    restored_steps: list[int]
    """The monitor's step count each restart resumed at."""


def _forget(ep: Endpoint) -> None:
    """Drop the endpoint's position and known values (what a crashed process loses)."""
    ep.env = dict(ep.session.params)
    ep.monitor = Monitor(ep.local_type, session=ep.session.id, env=ep.env)
    ep.received = {}
    ep._seq = {}
    ep._timeouts = []


async def run_recoverable(
    ep: Endpoint,
    code: RoleCode,
    *,
    seed: int,
    hints: ProtocolHints,
    outages: Sequence[Outage],
    checkpoints: Checkpoints,
    log: RecoveryLog | None = None,
    middleware: Sequence[MiddlewareFactory] = (),
) -> None:
    """Run behaviour `code` on the entered endpoint `ep` to its end, through `outages` (see the module
    docstring). Each restart's behaviour is seeded afresh (`seed` + the restart number)."""
    loop = asyncio.get_running_loop()
    checkpoints.attach(ep)
    pending = sorted(outages, key=lambda o: o.at)
    restarts = 0
    while True:
        task = asyncio.ensure_future(run_behaviour(ep, code, seed + 1000 * restarts, hints, middleware))
        outage = pending.pop(0) if pending else None
        crashed: list[bool] = []

        def crash(task: asyncio.Future[None] = task, crashed: list[bool] = crashed) -> None:
            if not task.done():
                crashed.append(True)
                task.cancel()

        timer = loop.call_at(outage.at, crash) if outage is not None else None
        try:
            await task
            return
        except asyncio.CancelledError:
            if not crashed:
                raise  # cancelled from outside: not a crash of ours
        finally:
            if timer is not None:
                timer.cancel()
        assert outage is not None
        _forget(ep)
        if log is not None:
            log.crashes.append(loop.time())
        await asyncio.sleep(max(0.0, outage.restart - loop.time()))
        checkpoints.restore(ep)
        restarts += 1
        if log is not None:
            log.restarts.append(loop.time())
            log.restored_steps.append(ep.monitor.step_count)
