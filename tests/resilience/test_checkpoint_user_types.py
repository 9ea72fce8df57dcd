"""Checkpoints of every kind of user type a session takes as a payload (`UserTypes.register`:
dataclasses, msgspec Structs, enums, named tuples, TypedDicts and attrs classes) are read back.

Was: the checkpoint reader admitted dataclasses, enums, named tuples and msgspec Structs, not attrs
classes, so a role that received an attrs payload failed `save` with `CheckpointError` at its next step
and could never be checkpointed. (A pydantic model is refused earlier, by `UserTypes.register`: msgspec
cannot carry it on the wire.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest

from aura_choreo import choreography
from aura_choreo.journal import Journal, JournalStore
from aura_choreo.resilience.checkpoint import CheckpointError, Checkpoints
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.runner import run_session
from aura_choreo.testing.virtual_time import run_virtual
from aura_choreo.transports.inmemory import InMemoryTransport


@attrs.frozen
class Point:
    x: int
    y: int


@attrs.define
class Route:
    name: str
    stops: list[int]


class Tagged(Point):
    """An undecorated subclass of an attrs class: not an attrs class itself (its own state is not
    declared), so not data a checkpoint names."""


PROTOCOL = choreography(
    "choreography Move { roles: A, B\n A -> B: Go(to: Point, route: Route)\n B -> A: Ack }"
)


def _restored(tmp_path: Path, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """B receives the payload, checkpoints, and a fresh endpoint restores from the journal."""
    seen: dict[str, Any] = {}

    async def b(ep: Endpoint) -> None:
        checkpoints = Checkpoints(Journal("device-b", JournalStore(tmp_path / "j.db")))
        checkpoints.attach(ep)
        await ep.recv("A")
        ep.env.update(extra or {})
        checkpoints.save(ep)
        fresh = Endpoint(ep.session, ep.role, ep.node)
        seen["restored"] = checkpoints.restore(fresh)
        seen["to"], seen["route"] = fresh.env.get("to"), fresh.env.get("route")
        seen["expected"] = (fresh.monitor.expected(), ep.monitor.expected())
        await ep.send("A", ep.message("Ack"))

    async def a(ep: Endpoint) -> None:
        await ep.send("B", ep.message("Go", to=Point(3, 4), route=Route("r", [1, 2])))
        await ep.recv("B")

    async def scenario() -> None:
        session = PROTOCOL.session(user_types={"Point": Point, "Route": Route})
        await run_session(session, InMemoryTransport(), {"A": a, "B": b})

    run_virtual(scenario())
    return seen


def test_attrs_payloads_are_restored_after_a_restart(tmp_path: Path) -> None:
    seen = _restored(tmp_path)
    assert seen["restored"] is True
    assert seen["to"] == Point(3, 4) and type(seen["to"]) is Point
    assert seen["route"] == Route("r", [1, 2]) and type(seen["route"]) is Route
    assert seen["expected"][0] == seen["expected"][1]


def test_an_undecorated_subclass_of_an_attrs_class_is_refused_when_saved(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="Tagged"):
        _restored(tmp_path, {"tag": Tagged(1, 2)})
