"""Conflict-free replicated data types (SPEC §8.1): immutable values with a join, delta operations,
`delta_since`, a versioned byte format (`codec`) and causal delivery for operation-based use."""

from aura_choreo.orchestration.crdt.base import Crdt, Dot, VectorClock, entry_id, entry_map
from aura_choreo.orchestration.crdt.causal import CausalBuffer, Operation, PendingLimitReached
from aura_choreo.orchestration.crdt.codec import (
    CrdtDecodeError,
    CrdtMergeError,
    CrdtSizeError,
    CrdtValueError,
    Element,
    Value,
)
from aura_choreo.orchestration.crdt.counters import GCounter, PNCounter
from aura_choreo.orchestration.crdt.maps import KINDS, ORMap, decode
from aura_choreo.orchestration.crdt.registers import LWWRegister, MVRegister, Sibling
from aura_choreo.orchestration.crdt.sets import ORSet, Tombstone, stable_version

__all__ = [
    "KINDS",
    "CausalBuffer",
    "Crdt",
    "CrdtDecodeError",
    "CrdtMergeError",
    "CrdtSizeError",
    "CrdtValueError",
    "Dot",
    "Element",
    "GCounter",
    "LWWRegister",
    "MVRegister",
    "ORMap",
    "ORSet",
    "Operation",
    "PNCounter",
    "PendingLimitReached",
    "Sibling",
    "Tombstone",
    "Value",
    "VectorClock",
    "decode",
    "entry_id",
    "entry_map",
    "stable_version",
]
