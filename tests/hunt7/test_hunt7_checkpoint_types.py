"""Checkpoints that are written but cannot be read back, found by hunt7 (fixed in resilience/checkpoint.py).

`Checkpoints.save` pickled any known value, while `restore` admits only data classes
(`_Unpickler.find_class`). So a payload of a user type that is a `typing.NamedTuple` (msgspec decodes
into one), or any known value of a plain class, was checkpointed at every step without complaint and
then refused by `restore` with `CheckpointError`: the failure showed only after the crash, when the
role needed its checkpoint to restart. Named tuples are data and are now admitted; anything `restore`
would refuse is refused by `save`, at the step that produced it.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pytest

from aura_choreo import choreography
from aura_choreo.journal import Journal, JournalStore
from aura_choreo.resilience.checkpoint import CheckpointError, Checkpoints
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.runner import run_session
from aura_choreo.testing.virtual_time import run_virtual
from aura_choreo.transports.inmemory import InMemoryTransport


class Point(typing.NamedTuple):
    x: int
    y: int


class Handle:
    """Not data: a user's object with behaviour (a checkpoint must not name it)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd


PROTOCOL = choreography("choreography Move { roles: A, B\n A -> B: Go(to: Point)\n B -> A: Ack }")


def _run(path: Path, b_after_receive: Any) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def b(ep: Endpoint) -> None:
        checkpoints = Checkpoints(Journal("device-b", JournalStore(path)))
        checkpoints.attach(ep)
        await ep.recv("A")
        b_after_receive(ep, checkpoints, seen)
        await ep.send("A", ep.message("Ack"))

    async def a(ep: Endpoint) -> None:
        await ep.send("B", ep.message("Go", to=Point(3, 4)))
        await ep.recv("B")

    async def scenario() -> None:
        session = PROTOCOL.session(user_types={"Point": Point})
        await run_session(session, InMemoryTransport(), {"A": a, "B": b})

    run_virtual(scenario())
    return seen


def test_a_named_tuple_payload_is_restored_after_a_restart(tmp_path: Path) -> None:
    def restart(ep: Endpoint, _: Checkpoints, seen: dict[str, Any]) -> None:
        again = Checkpoints(Journal("device-b", JournalStore(tmp_path / "j.db")))
        fresh = Endpoint(ep.session, ep.role, ep.node)
        seen["restored"] = again.restore(fresh)
        seen["to"] = fresh.env.get("to")
        seen["expected"] = (fresh.monitor.expected(), ep.monitor.expected())
        again.journal.store.close()

    seen = _run(tmp_path / "j.db", restart)
    assert seen["restored"] is True
    assert seen["to"] == Point(3, 4) and type(seen["to"]) is Point
    assert seen["expected"][0] == seen["expected"][1]


def test_a_value_restore_would_refuse_is_refused_when_saved(tmp_path: Path) -> None:
    def keep_a_handle(ep: Endpoint, checkpoints: Checkpoints, seen: dict[str, Any]) -> None:
        ep.env["handle"] = Handle(3)
        with pytest.raises(CheckpointError, match="Handle"):
            checkpoints.save(ep)
        del ep.env["handle"]
        seen["ok"] = True

    assert _run(tmp_path / "j.db", keep_a_handle) == {"ok": True}
