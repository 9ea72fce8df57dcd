"""The fact CRDT (SPEC §5.4): a grow-only set of facts merged by union, with version vectors."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

FactValue = str | int | float | bool | None
"""Values a fact's data may hold (they are stored as JSON)."""


@dataclass(frozen=True, order=True)
class FactId:
    """A fact's identity: the device that wrote it and that device's counter (1, 2, ...)."""

    device: str
    counter: int


@dataclass(frozen=True)
class Fact:
    """One journaled fact. Facts with the same id are the same fact.

    `signature` is its author's (`id.device`) Ed25519 signature over `journal.signing.signed_bytes`
    (empty: unsigned). It is not part of the fact's value: a fact equals its signed copy."""

    id: FactId
    name: str
    protocol: str = ""
    session: str = ""
    role: str = ""
    label: str = ""
    lamport: int = 0
    data: Mapping[str, FactValue] = field(default_factory=dict, hash=False)
    signature: bytes = field(default=b"", compare=False, repr=False)

    def to_wire(self) -> dict[str, object]:
        wire: dict[str, object] = {
            "device": self.id.device,
            "counter": self.id.counter,
            "name": self.name,
            "protocol": self.protocol,
            "session": self.session,
            "role": self.role,
            "label": self.label,
            "lamport": self.lamport,
            "data": dict(self.data),
        }
        if self.signature:  # only then: unsigned facts keep the wire form of earlier versions
            wire["signature"] = self.signature.hex()
        return wire

    @classmethod
    def from_wire(cls, raw: Mapping[str, object]) -> Fact:
        """Decode `to_wire` output (raises ValueError/KeyError/TypeError on malformed input)."""
        counter, lamport, data = raw["counter"], raw["lamport"], raw.get("data", {})
        if not isinstance(counter, int) or not isinstance(lamport, int) or not isinstance(data, Mapping):
            raise TypeError("counter and lamport must be integers, data a mapping")
        texts = {k: raw.get(k, "") for k in ("device", "name", "protocol", "session", "role", "label")}
        if not all(isinstance(v, str) for v in texts.values()):
            raise TypeError("fact text fields must be strings")
        if not all(v is None or isinstance(v, str | int | float | bool) for v in data.values()):
            raise TypeError("fact data values must be scalars")
        signature = raw.get("signature", "")
        if not isinstance(signature, str) or len(signature) > 2 * MAX_SIGNATURE:
            raise TypeError(f"a fact's signature is a hex string of at most {MAX_SIGNATURE} bytes")
        return cls(
            id=FactId(str(texts["device"]), counter),
            name=str(texts["name"]),
            protocol=str(texts["protocol"]),
            session=str(texts["session"]),
            role=str(texts["role"]),
            label=str(texts["label"]),
            lamport=lamport,
            data={str(k): v for k, v in data.items()},
            signature=bytes.fromhex(signature),
        )


MAX_SIGNATURE = 64
"""An Ed25519 signature's size: a longer one in input is malformed, not merely wrong."""

_new = object.__new__


def with_signature(fact: Fact, signature: bytes) -> Fact:
    """`fact` with `signature` (the same value; built like `new_fact`, without `dataclasses.replace`)."""
    signed = _new(Fact)
    signed.__dict__.update(fact.__dict__, signature=signature)
    return signed


def new_fact(
    device: str,
    counter: int,
    name: str,
    protocol: str,
    session: str,
    role: str,
    label: str,
    lamport: int,
    data: dict[str, FactValue],
) -> Fact:
    """`Fact(FactId(device, counter), name, ...)`, the same value, for the facts a journal writes itself.

    Built without the frozen dataclasses' `__init__`, which sets each field through
    `object.__setattr__`: that was a tenth of a guarded send. Only for values of the declared types;
    `data` is the fact's own dict (not shared)."""
    fact_id = _new(FactId)
    fact_id.__dict__.update(device=device, counter=counter)
    fact = _new(Fact)
    fact.__dict__.update(
        id=fact_id, name=name, protocol=protocol, session=session, role=role, label=label,
        lamport=lamport, data=data,
    )  # fmt: skip
    return fact


@dataclass(frozen=True)
class VersionVector:
    """Per device, the largest n such that facts 1..n of that device are all known."""

    counters: Mapping[str, int] = field(default_factory=dict, hash=False)

    def __getitem__(self, device: str) -> int:
        return self.counters.get(device, 0)

    def covers(self, fact_id: FactId) -> bool:
        return fact_id.counter <= self[fact_id.device]

    def merge(self, other: VersionVector) -> VersionVector:
        devices = set(self.counters) | set(other.counters)
        return VersionVector({d: max(self[d], other[d]) for d in sorted(devices)})

    def to_wire(self) -> dict[str, int]:
        return dict(self.counters)


@dataclass(frozen=True)
class FactLog:
    """An immutable set of facts keyed by id; `merge` is set union (a join-semilattice)."""

    facts: Mapping[FactId, Fact] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    @classmethod
    def of(cls, facts: Iterable[Fact]) -> FactLog:
        chosen: dict[FactId, Fact] = {}
        for fact in facts:
            chosen[fact.id] = _pick(chosen.get(fact.id), fact)
        return cls(MappingProxyType(chosen))

    def __len__(self) -> int:
        return len(self.facts)

    def __iter__(self) -> Iterator[Fact]:
        return iter(sorted(self.facts.values(), key=lambda f: f.id))

    def __contains__(self, fact_id: object) -> bool:
        return fact_id in self.facts

    def merge(self, other: FactLog) -> FactLog:
        """The union of both logs."""
        merged = dict(self.facts)
        for fid, fact in other.facts.items():
            merged[fid] = _pick(merged.get(fid), fact)
        return FactLog(MappingProxyType(merged))

    def version_vector(self) -> VersionVector:
        by_device: dict[str, set[int]] = {}
        for fid in self.facts:
            by_device.setdefault(fid.device, set()).add(fid.counter)
        counters: dict[str, int] = {}
        for device in sorted(by_device):
            n = 0
            while n + 1 in by_device[device]:
                n += 1
            counters[device] = n
        return VersionVector(counters)

    def delta_since(self, seen: VersionVector) -> FactLog:
        """The facts `seen` does not cover: what a replica at `seen` needs to catch up."""
        return FactLog(MappingProxyType({fid: f for fid, f in self.facts.items() if not seen.covers(fid)}))

    def to_wire(self) -> list[dict[str, object]]:
        return [fact.to_wire() for fact in self]

    @classmethod
    def from_wire(cls, raw: Iterable[Mapping[str, object]]) -> FactLog:
        return cls.of(Fact.from_wire(item) for item in raw)


def _pick(current: Fact | None, incoming: Fact) -> Fact:
    # Ids are unique by construction, so two different facts with one id only come from a broken
    # peer; picking deterministically keeps merge commutative even then. Of two copies of one fact, the
    # signed one is kept (the signature is not part of the value).
    if current is None:
        return incoming
    if current == incoming:
        return current if current.signature and not incoming.signature else incoming
    return max(current, incoming, key=lambda f: repr(f.to_wire()))
