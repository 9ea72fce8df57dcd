"""Facts reserved for a send (`PendingFacts`): their ids are taken, their values built when read."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import NamedTuple, overload

from aura_choreo.journal.facts import Fact, FactValue, new_fact


class FactTemplate(NamedTuple):
    """What the facts of one kind of send share: their names, where they are written, their data.

    Made once per kind of send (the guard chain keeps one per route); `data` is never changed after
    (each fact built from the template gets its own copy)."""

    names: tuple[str, ...]
    protocol: str
    role: str
    label: str
    data: Mapping[str, FactValue]

    @classmethod
    def of(
        cls,
        names: tuple[str, ...],
        protocol: str,
        role: str,
        label: str,
        data: Mapping[str, FactValue] | None = None,
    ) -> FactTemplate:
        return cls(names, protocol, role, label, dict(data) if data else {})


class PendingFacts(Sequence[Fact]):
    """Facts prepared for a send, with ids reserved; committed iff the transport accepts the send.

    A reservation holds its device, first counter and Lamport time, session and `FactTemplate`, and
    builds the `Fact` values the first time they are read (`facts`, or as a sequence): a guarded send
    reserves and commits facts at every send, and a committed fact nothing reads back is never built.
    Fact i has counter `first + i`, Lamport time `lamport + i` and name `names[i % len(names)]`: a
    journal may grow its last commit into a run of several sends' facts (`Journal.append_next`), until
    their facts are first built (`built`).
    """

    __slots__ = ("built", "device", "first", "lamport", "session", "size", "template")

    def __init__(self, device: str, first: int, lamport: int, session: str, template: FactTemplate) -> None:
        self.device = device
        self.size = len(template.names)
        self.first = first
        self.lamport = lamport
        self.session = session
        self.template = template
        self.built: tuple[Fact, ...] | None = None
        """The facts, once first read (built then, and kept: read-only from then on)."""

    @property
    def facts(self) -> tuple[Fact, ...]:
        built = self.built
        if built is None:
            device, first, lamport, session = self.device, self.first, self.lamport, self.session
            names, protocol, role, label, data = self.template
            width = len(names)
            built = self.built = tuple(
                new_fact(device, first + i, names[i % width], protocol, session, role, label, lamport + i,
                         dict(data))
                for i in range(self.size)
            )  # fmt: skip
        return built

    def sign(self, signed: Callable[[Fact], Fact]) -> tuple[Fact, ...]:
        """The facts as `signed` returns them (their signed copies), kept: these are what `commit`
        then stores (a keyed journal signs its pending facts when they first ride on a delta)."""
        built = self.built = tuple(map(signed, self.facts))
        return built

    @property
    def last(self) -> int:
        """The counter of the last fact (`first - 1` when there is none)."""
        return self.first + self.size - 1

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[Fact]:
        return iter(self.facts)

    @overload
    def __getitem__(self, index: int) -> Fact: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Fact, ...]: ...
    def __getitem__(self, index: int | slice) -> Fact | tuple[Fact, ...]:
        return self.facts[index]

    def __repr__(self) -> str:
        return f"PendingFacts({self.device}, {self.first}..{self.last}, {list(self.template.names)})"
