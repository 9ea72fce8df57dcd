"""Which modules a protocol's roles become: plain roles one each, a family one for all its instances.

A family's instances are grouped by shape (the local type once peer names are erased); each shape
gets one set of state classes, generated from its first instance, and the peers of each instance are
kept in a table the generated code indexes by slot (`ctx.peers[k]`), so `Ring[i]` talks to
`Ring[i+1]` with the index as a parameter. Instances of different shapes (`Worker[0]` does other
steps than `Worker[1]`) get their own classes in the same module, and `start_<family>` is overloaded
on the literal index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from typing import Any

from aura_choreo.codegen.states import Path
from aura_choreo.projection.local_types import (
    Branch,
    LocalSeq,
    LocalStep,
    LocalType,
    Offer,
    Quorum,
    Recv,
    Send,
    Try,
    child_sequences,
)

_INSTANCE = re.compile(r"^(?P<base>.+)\[(?P<index>\d+)\]$")


@dataclass(frozen=True)
class Shape:
    """Instances of a role that do the same steps: one set of state classes serves them all."""

    local_type: LocalType
    """The first instance's local type (the template)."""
    slots: tuple[tuple[Path, str], ...] = ()
    peers: tuple[tuple[int, tuple[str, ...]], ...] = ()
    """(instance index, the peer name of each slot) for each instance of this shape."""

    @property
    def fixed(self) -> tuple[tuple[Path, str], ...]:
        """The slots whose peer is the same role for every instance of the shape."""
        return tuple(
            (path, peer)
            for k, (path, peer) in enumerate(self.slots)
            if all(peers[k] == peer for _, peers in self.peers)
        )


@dataclass(frozen=True)
class RoleModule:
    """One role module to generate: a plain role (one shape) or a family (one shape per kind of
    instance; usually one, but `Worker[0]` may do other steps than `Worker[1]`)."""

    name: str
    """The role's name, or the family's name."""
    shapes: tuple[Shape, ...]
    family: bool = False


def role_modules(local_types: dict[str, LocalType]) -> list[RoleModule]:
    """The modules of a protocol's roles, in role declaration order."""
    families: dict[str, list[tuple[int, LocalType]]] = {}
    order: list[tuple[str, LocalType | None]] = []
    for role, local_type in local_types.items():
        match = _INSTANCE.match(role)
        if match is None:
            order.append((role, local_type))
            continue
        base = match.group("base")
        if base not in families:
            families[base] = []
            order.append((base, None))
        families[base].append((int(match.group("index")), local_type))
    result: list[RoleModule] = []
    for name, plain in order:
        if plain is not None:
            result.append(RoleModule(name, (Shape(plain),)))
        else:
            result.append(RoleModule(name, _shapes(sorted(families[name], key=lambda p: p[0])), True))
    return result


def _shapes(instances: list[tuple[int, LocalType]]) -> tuple[Shape, ...]:
    groups: list[tuple[tuple[Any, ...], LocalType, list[tuple[int, tuple[str, ...]]]]] = []
    for index, local_type in instances:
        shape = _erase(local_type.steps)
        peers = tuple(peer for _, peer in peer_slots(local_type.steps))
        for key, _, members in groups:
            if key == shape:
                members.append((index, peers))
                break
        else:
            groups.append((shape, local_type, [(index, peers)]))
    return tuple(
        Shape(template, tuple(peer_slots(template.steps)), tuple(members)) for _, template, members in groups
    )


def peer_slots(seq: LocalSeq, prefix: Path = ()) -> list[tuple[Path, str]]:
    """(path, peer) of every communication step that names a peer, depth first."""
    out: list[tuple[Path, str]] = []
    for pos, step in enumerate(seq):
        path = (*prefix, pos)
        if isinstance(step, Send):
            out.append((path, step.to))
        elif isinstance(step, Recv | Offer):
            out.append((path, step.from_))
        elif isinstance(step, Quorum):
            out += [((*path, 0, i), r.from_) for i, r in enumerate(step.body)]
        for child, sub in enumerate(child_sequences(step)):
            if not isinstance(step, Quorum):
                out += peer_slots(sub, (*path, child))
    return out


def _erase(seq: LocalSeq) -> tuple[Any, ...]:
    return tuple(_erase_step(step) for step in seq)


def _erase_step(step: LocalStep) -> Any:
    if isinstance(step, Send):
        return replace(step, to="")
    if isinstance(step, Recv):
        return replace(step, from_="")
    if isinstance(step, Try):
        return (type(step), _erase(step.body), _erase(step.comp))
    if isinstance(step, Quorum):
        return (type(step), step.min, tuple(replace(r, from_="") for r in step.body))
    changes: dict[str, Any] = {}
    for f in fields(step):
        value = getattr(step, f.name)
        if f.name == "from_":
            changes[f.name] = ""
        elif f.name == "body" or (f.name in ("alt", "comp")):
            changes[f.name] = _erase(value)
        elif f.name == "branches":
            changes[f.name] = tuple(
                replace(b, body=_erase(b.body)) if isinstance(b, Branch) else _erase(b) for b in value
            )
    rest = tuple((f.name, getattr(step, f.name)) for f in fields(step) if f.name not in changes)
    return (type(step), tuple(sorted(changes.items())), rest)
