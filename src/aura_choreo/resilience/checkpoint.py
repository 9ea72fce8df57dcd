"""Checkpoints: a role's position in its local type and its known values, journaled at each step, so
a role that loses its memory restarts where it was (SPEC §9).

    checkpoints = Checkpoints(Journal("device-a", JournalStore(".aura/journal.db")))
    checkpoints.attach(ep)          # from now on every step of `ep` writes a checkpoint
    ...                             # the process dies; a new one builds `ep` again and:
    checkpoints.restore(ep)         # position, known values and sequence numbers as at the last step

What a checkpoint holds: the monitor's state (its threads, loop counters, open timeout and try
blocks), the role's known values (`env`, `received`) and its per-peer sequence numbers. It is taken
right after each step is complete (a data message sent or received, a local action, an expired
timeout, a settled try block) and written as one journal fact (`checkpoint`) before the role goes on,
so a crash at any await loses at most the step in progress, which the restarted role performs again
(a re-sent message carries its old sequence number, so the peer drops it as a duplicate).

Saga control messages (`Done`, `Commit`, ...) are not checkpoints of their own: a try block is
settled as a whole (`runtime/saga.py` consumes the reports only once the verdict is out), so a role
that crashes while settling settles again after its restart.

What a checkpoint does not hold: the node (the device's session layer: its acknowledged frames not yet
consumed, its channels' sequence state). It models a durable message queue, which survives a crash of
the role code, as a broker's queue survives its consumer.

Encoding: `pickle`, with every node of the local type written as a reference (its index in a walk of
the local type), so a restored monitor points at the session's own steps. Only checkpoints this
device wrote itself are read back (the journal refuses a peer's fact under this device's id:
`ForgedFact`), and reading one loads only data classes (`_Unpickler.find_class`): pickle is not for
untrusted bytes, and a journal file is only as trusted as its directory.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import io
import pickle
import sys
from collections.abc import Iterator
from types import BuiltinFunctionType, FunctionType
from typing import TYPE_CHECKING, Any

from aura_choreo.errors import AuraChoreoError
from aura_choreo.journal import FactValue, Journal
from aura_choreo.projection.local_types import LocalType
from aura_choreo.runtime.monitor import Monitor
from aura_choreo.runtime.saga import Saga

if TYPE_CHECKING:
    from aura_choreo.runtime.endpoint import Endpoint
    from aura_choreo.runtime.monitor import TryToken

CHECKPOINT = "checkpoint"
"""The journal fact name of a checkpoint."""


class CheckpointError(AuraChoreoError):
    """A checkpoint could not be written or read back (the message says which role and why)."""


def _nodes(local_type: LocalType) -> list[object]:
    """Every dataclass node of a local type (steps, branches, payloads, annotations), depth first."""
    seen: dict[int, object] = {}

    def walk(value: object) -> Iterator[object]:
        if isinstance(value, tuple | list):
            for item in value:
                yield from walk(item)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            if id(value) in seen:
                return
            seen[id(value)] = value
            yield value
            for field in dataclasses.fields(value):
                yield from walk(getattr(value, field.name))

    return list(walk(local_type))


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, index: dict[int, int]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._index = index

    def persistent_id(self, obj: Any) -> Any:
        """A local-type node by its index; and every class or function the pickle would name must be
        one `_Unpickler` admits, so that a value which could not be read back after a crash is refused
        now, when it is written, not when the role needs it to restart."""
        node = self._index.get(id(obj))
        if node is None and isinstance(obj, type | FunctionType | BuiltinFunctionType):
            module, name = getattr(obj, "__module__", None) or "", getattr(obj, "__qualname__", "")
            if _admitted(module, name) is not obj:
                raise pickle.PicklingError(f"{module}.{name} is not data a checkpoint can be read back with")
        return node


_PLAIN = {
    "builtins": frozenset(
        "bool bytearray bytes complex dict float frozenset int list object range set slice str tuple".split()
    ),
    "collections": frozenset(("OrderedDict", "defaultdict", "deque", "Counter")),
    "datetime": frozenset(("date", "datetime", "time", "timedelta", "timezone")),
    "decimal": frozenset(("Decimal",)),
    "fractions": frozenset(("Fraction",)),
    "uuid": frozenset(("UUID",)),
    "copyreg": frozenset(("_reconstructor",)),
}
"""Standard-library names a role's known values may need (data types; no function that acts)."""
_MONITOR_STATE = frozenset(("aura_choreo.runtime.monitor_types", "aura_choreo.runtime.monitor_table"))
"""The modules of the monitor's own state classes (slotted classes, not dataclasses)."""


def _is_data_class(value: object) -> bool:
    """A class whose instances are data: a dataclass, an enum, a named tuple, an attrs class or a
    msgspec Struct (built by fields). These are the user types a session takes (`UserTypes.register`;
    a TypedDict's values are plain dicts): an attrs payload used to be refused here, so a role that
    received one could not be checkpointed at all."""
    if not isinstance(value, type):
        return False
    if dataclasses.is_dataclass(value) or issubclass(value, enum.Enum):
        return True
    if issubclass(value, tuple) and isinstance(getattr(value, "_fields", None), tuple):
        return True
    if isinstance(value.__dict__.get("__attrs_attrs__"), tuple):
        return True
    return any(base.__module__ == "msgspec" and base.__name__ == "Struct" for base in value.__mro__)


def _admitted(module: str, name: str) -> object | None:
    """The class `module.name` if a checkpoint may name it, else None. Only data: the standard types
    above, the monitor's state classes, and data classes of modules already loaded (the runtime's and
    the role's message types; never a module imported because a checkpoint names it, and never a
    function, which is how a pickle runs code)."""
    loaded = sys.modules.get(module)
    found = getattr(loaded, name, None) if loaded is not None and "." not in name else None
    if name in _PLAIN.get(module, ()):
        return found
    state = module in _MONITOR_STATE and isinstance(found, type)
    return found if found is not None and (state or _is_data_class(found)) else None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, nodes: list[object]) -> None:
        super().__init__(file)
        self._nodes = nodes

    def find_class(self, module: str, name: str) -> Any:
        found = _admitted(module, name)
        if found is None:
            raise pickle.UnpicklingError(f"a checkpoint holds data only, not {module}.{name}")
        return found

    def persistent_load(self, pid: Any) -> Any:
        if not isinstance(pid, int) or not 0 <= pid < len(self._nodes):
            raise pickle.UnpicklingError(f"no local-type node {pid!r}")
        return self._nodes[pid]


_MONITOR_LINKS = ("local_type", "resolve_if")
"""Monitor attributes that are not state: the session's local type and a replay hook."""


class Checkpoints:
    """Writes and reads the checkpoints of the endpoints of one device, in its journal."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.written = 0
        self._nodes: dict[int, tuple[list[object], dict[int, int]]] = {}

    def _index(self, local_type: LocalType) -> tuple[list[object], dict[int, int]]:
        found = self._nodes.get(id(local_type))
        if found is None:
            nodes = _nodes(local_type)
            found = self._nodes[id(local_type)] = (nodes, {id(n): i for i, n in enumerate(nodes)})
        return found

    def encode(self, ep: Endpoint) -> bytes:
        """The endpoint's position and known values as bytes."""
        monitor = ep.monitor
        state = {
            "monitor": {k: v for k, v in vars(monitor).items() if k not in _MONITOR_LINKS},
            "received": ep.received,
            "seq": ep._seq,
            "timeouts": ep._timeouts,
        }
        buffer = io.BytesIO()
        try:
            _Pickler(buffer, self._index(ep.local_type)[1]).dump(state)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            what = f"cannot checkpoint role {ep.role}: a known value is not storable: {exc}"
            raise CheckpointError(what) from exc
        return buffer.getvalue()

    def save(self, ep: Endpoint) -> None:
        """Journal a checkpoint of `ep` now (one fact, one transaction)."""
        data: dict[str, FactValue] = {
            "state": base64.b64encode(self.encode(ep)).decode("ascii"),
            "step": ep.monitor.step_count,
        }
        session = ep.session
        pending = self.journal.reserve(
            [CHECKPOINT], protocol=session.protocol, session=session.id, role=ep.role, label="", data=data
        )
        self.journal.commit(pending)
        self.written += 1

    def latest(self, session: str, role: str) -> bytes | None:
        """The last checkpoint this device wrote for (session, role), or None."""
        own = self.journal.device
        for fact in reversed(self.journal.facts()):
            mine = fact.id.device == own and fact.session == session and fact.role == role
            if mine and fact.name == CHECKPOINT:
                state = fact.data.get("state")
                if not isinstance(state, str):
                    raise CheckpointError(f"checkpoint {fact.id} of role {role} has no state")
                return base64.b64decode(state)
        return None

    def restore(self, ep: Endpoint) -> bool:
        """Put `ep` back at its last checkpoint (False, and nothing changed, if it has none)."""
        raw = self.latest(ep.session.id, ep.role)
        if raw is None:
            return False
        try:
            state = _Unpickler(io.BytesIO(raw), self._index(ep.local_type)[0]).load()
        except (pickle.UnpicklingError, EOFError, AttributeError, ValueError) as exc:
            raise CheckpointError(f"cannot read the checkpoint of role {ep.role}: {exc}") from exc
        monitor = Monitor.__new__(Monitor)
        vars(monitor).update(state["monitor"])
        monitor.local_type = ep.local_type
        monitor.resolve_if = None
        ep.monitor = monitor
        ep.env = monitor.env
        ep.received = state["received"]
        ep._seq = state["seq"]
        ep._timeouts = state["timeouts"]
        return True

    def attach(self, ep: Endpoint) -> None:
        """Checkpoint `ep` after each of its steps from now on (and once now, at its current position)."""
        record_event = ep._record_event

        def record_and_checkpoint(event: Any) -> None:
            record_event(event)
            self.save(ep)

        ep._record_event = record_and_checkpoint
        ep._trace = _CheckpointingTrace(ep._trace, lambda: self.save(ep))  # type: ignore[assignment]
        ep._saga = _CheckpointingSaga(ep, lambda: self.save(ep))
        self.save(ep)


class _CheckpointingTrace:
    """The session trace, seen by one endpoint: a local action or an expired timeout also checkpoints."""

    def __init__(self, trace: Any, checkpoint: Any) -> None:
        self._trace = trace
        self._checkpoint = checkpoint

    def record_fields(self, *fields: Any) -> None:
        self._trace.record_fields(*fields)
        self._checkpoint()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._trace, name)


class _CheckpointingSaga(Saga):
    """The endpoint's saga control; a settled try block is a step, so it checkpoints."""

    def __init__(self, endpoint: Endpoint, checkpoint: Any) -> None:
        super().__init__(endpoint)
        self._checkpoint = checkpoint

    async def settle(self, token: TryToken, failed: bool) -> bool:
        committed = await super().settle(token, failed)
        self._checkpoint()
        return committed
