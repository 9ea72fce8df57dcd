"""The message catalog: the message classes of one protocol, shared by every role and, through a
bounded memo, by every session of equal local types (so a new session generates no classes).

The catalog also keeps what endpoints need per step and per local type across sessions: each step's
message spec by identity, whether a local type has timed receives, and the monitors' compiled
transition tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

from aura_choreo.projection.local_types import (
    LocalType,
    Offer,
    Payload,
    Recv,
    Send,
    annotation_value,
    iter_steps,
)
from aura_choreo.runtime.messages import MessageSpec, UserTypes, build_spec
from aura_choreo.runtime.monitor_table import MonitorTables

__all__ = ["CATALOG_MEMO", "STEP_MEMO", "MessageCatalog"]


CATALOG_MEMO = 64
"""How many catalogs `MessageCatalog.for_local_types` keeps for reuse (a bounded memo of a pure
function of frozen local types: it changes what is rebuilt, never a result)."""
STEP_MEMO = 4096
"""How many steps (and local types) a catalog keeps facts about by identity before starting afresh
(equal protocols loaded again and again bring new step objects)."""
_CATALOGS: dict[tuple[LocalType, ...], MessageCatalog] = {}
_BY_IDENTITY: dict[tuple[int, ...], tuple[tuple[LocalType, ...], MessageCatalog]] = {}
"""The same memo by the local types' identities: a session of an already loaded protocol finds its
catalog without hashing the local types (a deep hash of every step, the bulk of a session's set-up)."""


@dataclass
class MessageCatalog:
    """The message classes of one protocol (shared by every role so both sides agree)."""

    user_types: UserTypes | None = None
    _specs: dict[tuple[str, Payload], MessageSpec] = field(default_factory=dict)
    _by_label: dict[str, MessageSpec] = field(default_factory=dict)
    step_specs: dict[int, MessageSpec] = field(default_factory=dict)
    """Spec by step identity (`step_spec` fills it; read it with `.get(id(step))`): endpoints find
    their steps' specs without hashing payloads; the catalog, and so this, is shared by sessions."""
    _steps: list[object] = field(default_factory=list)
    """The steps `step_specs` has seen, kept alive so that no other object takes one's id."""
    _timed: dict[int, tuple[LocalType, bool]] = field(default_factory=dict)
    monitor_tables: MonitorTables = field(default_factory=MonitorTables)
    """The monitors' compiled transition tables, shared by the sessions of this protocol."""

    @classmethod
    def for_local_types(
        cls, local_types: Iterable[LocalType], user_types: UserTypes | None = None
    ) -> MessageCatalog:
        """A catalog holding every message the given local types send or receive. Without user
        types, the catalog of equal local types is built once and reused (the `CATALOG_MEMO` most
        recent): a new session generates no message classes, and its messages have the same classes."""
        key = tuple(local_types)
        if user_types is None:
            ids = tuple(map(id, key))
            hit = _BY_IDENTITY.get(ids)
            if hit is not None and all(a is b for a, b in zip(hit[0], key, strict=True)):
                return hit[1]
        try:
            catalog = None if user_types is not None else _CATALOGS.pop(key, None)
        except TypeError:  # something unhashable in a local type: no reuse
            return cls._build(key, user_types)
        catalog = catalog or cls._build(key, user_types)
        if user_types is None:
            _CATALOGS[key] = catalog  # the most recently used last
            if len(_CATALOGS) > CATALOG_MEMO:
                evicted = _CATALOGS.pop(next(iter(_CATALOGS)))
                for stale in [k for k, (_, c) in _BY_IDENTITY.items() if c is evicted]:
                    del _BY_IDENTITY[stale]  # equal local types must keep finding one catalog
            _BY_IDENTITY[ids] = (key, catalog)  # holds `key`: its ids stay those of these objects
            if len(_BY_IDENTITY) > CATALOG_MEMO:
                del _BY_IDENTITY[next(iter(_BY_IDENTITY))]
        return catalog

    @classmethod
    def _build(cls, local_types: Iterable[LocalType], user_types: UserTypes | None) -> MessageCatalog:
        catalog = cls(user_types)
        for local_type in local_types:
            for step in iter_steps(local_type.steps):
                if isinstance(step, Send | Recv):
                    catalog.spec(step.label, step.payload)
                elif isinstance(step, Offer):
                    for branch in step.branches:
                        catalog.spec(branch.label, branch.payload)
        return catalog

    def spec(self, label: str, payload: Payload) -> MessageSpec:
        """The spec of (label, payload), generated on first use."""
        key = (label, payload)
        found = self._specs.get(key)
        if found is None:
            found = build_spec(label, payload, self.user_types)
            self._specs[key] = found
            self._by_label.setdefault(label, found)
        return found

    def step_spec(self, step: object, label: str, payload: Payload) -> MessageSpec:
        """The spec of the message of `step` (a send, receive or offer branch: `label`, `payload`)."""
        spec = self.step_specs.get(id(step))
        if spec is None:
            if len(self._steps) >= STEP_MEMO:  # protocols loaded again and again: start afresh
                self.step_specs.clear()  # in place: endpoints hold this dict
                self._steps.clear()
            spec = self.step_specs[id(step)] = self.spec(label, payload)
            self._steps.append(step)
        return spec

    def has_timed_receives(self, local_type: LocalType) -> bool:
        """Whether some receive of `local_type` has a `timeout` annotation (worked out once per local
        type: an endpoint without one waits with the session's peer timeout, no step lookup)."""
        hit = self._timed.get(id(local_type))
        if hit is not None and hit[0] is local_type:
            return hit[1]
        timed = any(
            isinstance(step, Recv) and annotation_value(step.annotations, "timeout") is not None
            for step in local_type.iter_steps()
        )
        if len(self._timed) >= STEP_MEMO:
            self._timed.clear()
        self._timed[id(local_type)] = (local_type, timed)
        return timed

    def by_label(self, label: str) -> MessageSpec | None:
        """The first spec generated for `label` (for building messages by name)."""
        return self._by_label.get(label)

    def make(self, label: str, *args: object, **fields: object) -> msgspec.Struct:
        """Build a message by label: `catalog.make("Prepare", transaction_id=1)`."""
        spec = self._by_label.get(label)
        if spec is None:
            raise KeyError(f"no message labelled {label!r} in this protocol")
        return spec.cls(*args, **fields)
