"""A run-time policy: each device's capabilities and budgets, the role -> device map, per-label guards.

`Policy` is the model; `build_chain()` turns it into a `GuardChain`. Policy files (TOML or JSON) are
read by `aura_choreo.guards.policy_file`, which documents the format.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from aura_choreo.errors import AuraChoreoError
from aura_choreo.guards.capabilities import (
    CapabilityLayer,
    CapabilityPolicy,
    ContextCapabilities,
    DeviceCapabilities,
)
from aura_choreo.guards.chain import DeviceGuards, GuardChain
from aura_choreo.guards.flow import DEFAULT_FLOW_LIMIT, FlowLedger
from aura_choreo.guards.leakage import (
    DEFAULT_LEAKAGE_LIMITS,
    DEFAULT_WINDOW_SECONDS,
    Clock,
    LayeredLeakage,
    LeakageLayer,
    LeakageLedger,
    LeakageVector,
)
from aura_choreo.guards.profile import DEFAULT_PROFILE, GuardProfile, GuardProfiles
from aura_choreo.guards.receipts import DeviceKey
from aura_choreo.journal import FactAuthors, Journal, JournalStore
from aura_choreo.journal.store import MEMORY, Synchronous


class PolicyError(AuraChoreoError):
    """A policy file that cannot be read or says something invalid; names the file and the key."""


@dataclass(frozen=True)
class DevicePolicy:
    """What one device holds and may spend."""

    name: str
    capabilities: frozenset[str] = frozenset()
    flow_limit: int = DEFAULT_FLOW_LIMIT
    peer_flow_limits: Mapping[str, int] = field(default_factory=dict, hash=False)
    leakage_limits: LeakageVector = DEFAULT_LEAKAGE_LIMITS
    public_key: bytes | None = None
    """The device's Ed25519 public key (raw 32 bytes) when it signs in another process."""
    address: str | None = None
    """Where the device listens (`tcp://host:port`), for `aura-choreo run` (SPEC §5.6)."""


_UNIT = LeakageVector(1, 1, 1)


@dataclass(frozen=True)
class PrivacyLayerPolicy:
    """A shared privacy layer: its limits, where it charges (`scope`), and its own cost of a send: the
    base cost scaled per observer class by `scale`, or by `context_scale[context]` in those contexts."""

    name: str
    limits: LeakageVector
    scope: str = "context"
    scale: LeakageVector = _UNIT
    context_scale: Mapping[str, LeakageVector] = field(default_factory=dict, hash=False)

    def cost(self, base: LeakageVector, context: str) -> LeakageVector:
        """This layer's cost of a send whose base cost is `base`, in budget context `context`."""
        factors = self.context_scale.get(context, self.scale)
        return base if factors == _UNIT else base.scaled(factors)


@dataclass(frozen=True)
class CapabilityLayerPolicy:
    """A refining capability layer: in each listed context only its capabilities; `enter` moves a
    context into a sub-context the later layers see (SPEC §5.8)."""

    name: str
    contexts: Mapping[str, frozenset[str]] = field(default_factory=dict, hash=False)
    enter: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Policy:
    """A loaded policy; `build_chain()` turns it into a `GuardChain`."""

    devices: Mapping[str, DevicePolicy] = field(default_factory=dict, hash=False)
    roles: Mapping[str, str] = field(default_factory=dict, hash=False)
    default_flow_limit: int = DEFAULT_FLOW_LIMIT
    default_leakage_limits: LeakageVector = DEFAULT_LEAKAGE_LIMITS
    leakage_window_seconds: float = DEFAULT_WINDOW_SECONDS
    epoch_seconds: float | None = None
    context: str = "protocol"
    signing: bool = True
    journal: str = MEMORY
    synchronous: Synchronous = "FULL"
    capability_layers: tuple[CapabilityLayerPolicy, ...] = ()
    privacy_layers: tuple[PrivacyLayerPolicy, ...] = ()
    message_guards: Mapping[str, GuardProfile] = field(default_factory=dict, hash=False)
    default_guard: GuardProfile = DEFAULT_PROFILE
    """The profile of messages with no annotation and no registered profile."""
    source: str = "<policy>"

    def device_of(self, role: str, default: str | None = None) -> str:
        """The device a role runs on: mapped exactly, via its family (`Voter[1]` -> `dev[1]`), else
        `default` (the runtime's device for the role), else the role's own name."""
        if role in self.roles:
            return self.roles[role]
        family = re.fullmatch(r"(.+)\[(\d+)\]", role)
        if family and family.group(1) in self.roles:
            return f"{self.roles[family.group(1)]}[{family.group(2)}]"
        return default or role

    def session_devices(self, roles: Iterable[str]) -> dict[str, str]:
        """role -> device for `roles`: pass it as a session's `devices` so nodes listen where guards look."""
        return {role: self.device_of(role) for role in roles}

    def device_policy(self, device: str) -> DevicePolicy:
        """The device's policy; a family instance `dev[2]` inherits `dev`'s; unknown devices get defaults."""
        if device in self.devices:
            return self.devices[device]
        family = re.fullmatch(r"(.+)\[\d+\]", device)
        if family and family.group(1) in self.devices:
            return self.devices[family.group(1)]
        return DevicePolicy(
            device, flow_limit=self.default_flow_limit, leakage_limits=self.default_leakage_limits
        )

    def context_of(self, protocol: str, session: str) -> str:
        """The budget context of a session under this policy."""
        return session if self.context == "session" else protocol

    def build_chain(
        self,
        *,
        clock: Clock | None = None,
        store: JournalStore | None = None,
        key_seed: bytes | None = None,
        own_key: DeviceKey | None = None,
    ) -> GuardChain:
        """A guard chain enforcing this policy. One journal store (from `journal`, or `store`) is shared
        by the devices' journals; `clock` (seconds) drives leakage windows and epochs (simulation's
        virtual time). Device keys are random unless `key_seed` derives them (reproducible runs).

        Which key a device's receipts verify against (SPEC §5.6) is decided here: a device whose
        private key is in this process is checked against that key; a pinned `public_key` counts only
        for devices whose private key is elsewhere. With `own_key` (`run --key`) the chain is that one
        device's: it signs with `own_key` and every other device is remote, checked against its pinned
        key, and resumes the flow budgets its journal recorded (a restarted process does not spend
        them again); its journal signs its facts and merges only facts signed by their authors' pinned
        keys (`journal.signing`). Without it every device of the chain lives in this process
        (testing, simulation, in-process runs: each chain models devices fresh from their budgets'
        point of view, so runs stay independent), and the pinned keys, whose private keys this process
        does not have, play no part: facts are neither signed nor checked there."""
        import time

        now = clock or time.time
        journal_store = store or JournalStore(self.journal, synchronous=self.synchronous)
        held = _HeldCapabilities(self)
        layers: list[CapabilityLayer] = [held]
        layers += [
            ContextCapabilities(c.contexts, name=c.name, enter=c.enter) for c in self.capability_layers
        ]
        shared_layers = [
            (
                p,
                LeakageLedger(
                    limits=p.limits, window_seconds=self.leakage_window_seconds, clock=now, name=p.name
                ),
            )
            for p in self.privacy_layers
        ]

        def new_device(device: str) -> DeviceGuards:
            spec = self.device_policy(device)
            own = LeakageLayer(
                LeakageLedger(
                    limits=spec.leakage_limits,
                    window_seconds=self.leakage_window_seconds,
                    clock=now,
                    name="leakage",
                )
            )
            extra = [LeakageLayer(ledger, _scope(p.scope), p.cost) for p, ledger in shared_layers]
            key: DeviceKey | None = None  # random (DeviceGuards generates one)
            if own_key is not None and device == own_key.device:
                key = own_key
            elif key_seed is not None:
                key = DeviceKey.from_seed(device, key_seed + b"/" + device.encode())
            # Peer limits may name the peer's role or its device; the ledger is keyed by device.
            flow = FlowLedger(
                default_limit=spec.flow_limit,
                limits={self.device_of(peer): limit for peer, limit in spec.peer_flow_limits.items()},
                epoch_seconds=self.epoch_seconds,
                clock=now,
            )
            authors = None
            if own_key is not None and device == own_key.device:
                # A deployed device resumes what it spent before (an earlier process on its journal):
                # the limit is per device and epoch (SPEC §5.3), not per process.
                for context, peer, epoch, spent in journal_store.load_budgets(device):
                    flow.restore(context, peer, epoch, spent)
                # Its journal signs its facts and merges only facts their authors' pinned keys sign.
                authors = FactAuthors(device, own_key.private_key.sign, self._remote_keys(device))
            return DeviceGuards(
                device,
                key=key,
                flow=flow,
                leakage=LayeredLeakage([own, *extra]),
                journal=Journal(device, journal_store, authors=authors),
            )

        return GuardChain(
            CapabilityPolicy(tuple(layers)),
            profiles=self.guard_profiles(),
            signing=self.signing,
            new_device=new_device,
            store=journal_store,
            public_keys={} if own_key is None else self._remote_keys(own_key.device),
        )

    def guard_profiles(self) -> GuardProfiles:
        """How this policy's chain guards each message: its message guards, else the message's
        annotations, else its default guard (`validate --policy` prices sends by these too)."""
        profiles = GuardProfiles(default=self.default_guard)
        for label, profile in self.message_guards.items():
            profiles.register_message_guard(label, profile)
        return profiles

    def _remote_keys(self, own: str) -> dict[str, bytes]:
        """The pinned public keys of every device but `own` (whose receipts this chain signs)."""
        pinned = self.devices.values()
        return {d.name: d.public_key for d in pinned if d.public_key is not None and d.name != own}


class _HeldCapabilities(DeviceCapabilities):
    """The device layer of a policy: capabilities per device, family instances inheriting."""

    def __init__(self, policy: Policy) -> None:
        super().__init__({name: spec.capabilities for name, spec in policy.devices.items()})
        self._policy = policy

    def held(self, device: str) -> frozenset[str]:
        if device not in self._held:
            self._held[device] = self._policy.device_policy(device).capabilities
        return super().held(device)


def _scope(scope: str) -> Callable[[str], str]:
    if scope == "global":
        return lambda _context: "*"
    return lambda context: context
