"""Execution modes (SPEC §5.5, §5.8): one call builds the handler stack for a protocol, a policy and a
mode, and the protocol's code runs unchanged in all three.

- testing: the in-memory transport (deterministic order), the loop's clock, `random()` seeded per
  (seed, session, role), device keys derived from the seed, storage in memory, the guard chain's
  journals;
- simulation: the same, over the simulated network on the simulator's virtual-time loop (so a
  `sleep(3600)` takes no real time);
- production: a network transport (`deployment`), the real clock, OS randomness, this device's key
  file and the peers' keys pinned by the policy, storage in a SQLite storage coordinator beside the
  policy's journal, and that journal.

    stack = build_stack(protocol, policy, "testing", seed=3)
    results = await stack.run_session({"Owner": owner_code})

`simulate` (`testing.simulation.Simulator`), `run` (`deployment.run`) and the `choreo_sim` pytest
fixture build their sessions' effect stacks and guard chains here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from aura_choreo.effects.device import DeviceResources
from aura_choreo.effects.stack import EffectStack, MiddlewareFactory
from aura_choreo.effects.storage import DeviceStorage, MemoryStorage
from aura_choreo.execution.storage import local_storage
from aura_choreo.guards.extension import GuardExtension, build_guard_extension
from aura_choreo.guards.leakage import Clock
from aura_choreo.guards.policy import Policy
from aura_choreo.guards.receipts import DeviceKey
from aura_choreo.journal.facts import Fact
from aura_choreo.protocol import Protocol
from aura_choreo.runtime.extensions import ExtensionRegistry
from aura_choreo.runtime.runner import RoleCode, run_session
from aura_choreo.runtime.session import Session
from aura_choreo.transports.base import Transport
from aura_choreo.transports.inmemory import InMemoryTransport
from aura_choreo.transports.net.identity import Identity

Mode = Literal["testing", "simulation", "production"]
MODES: tuple[Mode, ...] = get_args(Mode)


def key_seed(seed: int) -> bytes:
    """The guard chain's `key_seed` for a stack seeded with `seed` (testing, simulation)."""
    return f"aura-choreo/{seed}".encode()


def derived_identity(seed: int, device: str) -> Identity:
    """The key of `device` in a stack seeded with `seed` (testing and simulation sign reproducibly).

    It is the key the guard chain signs that device's receipts with (`Policy.build_chain(key_seed=)`,
    `DeviceKey.from_seed`): one device, one key, as in production (SPEC §5.6).
    """
    return Identity(device, DeviceKey.from_seed(device, key_seed(seed) + b"/" + device.encode()).private_key)


class _GuardJournal:
    """A device's journal in a guard chain, read when asked (the chain creates devices on demand)."""

    def __init__(self, guards: GuardExtension, device: str) -> None:
        self.guards = guards
        self.device = device

    def facts(self) -> Iterable[Fact]:
        return self.guards.chain.device(self.device).journal.facts()


@dataclass(frozen=True)
class RunParts:
    """What one session of a stack runs with: its extensions (the guard chain) and its effect stack."""

    extensions: ExtensionRegistry
    effects: EffectStack
    guards: GuardExtension | None


@dataclass(frozen=True)
class ExecutionStack:
    """The handler stack of a mode for one protocol and policy (see the module docstring)."""

    mode: Mode
    protocol: Protocol
    policy: Policy | None = None
    seed: int = 0
    identity: Identity | None = None
    """Production: this process's device key (every other device is a peer with a pinned key)."""
    middleware: tuple[MiddlewareFactory, ...] = ()
    storage: Callable[[str], DeviceStorage] | None = field(default=None, compare=False)
    """Device -> its storage (default: in memory; production: SQLite beside the policy's journal)."""

    @property
    def devices(self) -> dict[str, str]:
        """role -> device (the policy's map; without a policy each role is its own device)."""
        roles = self.protocol.roles
        return self.policy.session_devices(roles) if self.policy is not None else {r: r for r in roles}

    def guards(self, clock: Clock | None = None) -> GuardExtension | None:
        """A fresh guard chain for the policy (None without one); `clock` drives its budgets' windows.

        Testing and simulation derive every device's receipt key from the seed (the same seed signs
        the same receipts); production signs with this device's own key and journals to the policy's
        journal, one file per device when its path names `{device}`.
        """
        policy, identity = self.policy, self.identity
        if policy is None:
            return None
        if self.mode != "production" or identity is None:
            return build_guard_extension(policy, clock=clock, key_seed=key_seed(self.seed))
        own = identity.device
        if "{device}" in policy.journal:  # one policy file, one journal per device: ".aura/{device}.db"
            policy = dataclasses.replace(policy, journal=policy.journal.replace("{device}", own))
        # This device signs with its key file's key; every other device is checked against its pinned key.
        chain = policy.build_chain(clock=clock, own_key=DeviceKey(own, identity.private_key))
        # Roles map to devices through the policy only: the runtime's "device" here is an address.
        chosen = policy
        return GuardExtension(
            chain, device_of=lambda role, _d: chosen.device_of(role), context_of=chosen.context_of
        )

    def effects(self, guards: GuardExtension | None = None, *, seed: int | None = None) -> EffectStack:
        """The effect stack of a run: per device keys, storage and journal (`guards`' journals).

        `seed` (default: the stack's) seeds the run's randomness; a device's key is the same in every
        run of the stack, as a device keeps its key from session to session."""
        run_seed = self.seed if seed is None else seed  # randomness; keys stay the device's (`self.seed`)
        storage = self.storage or self._default_storage()
        mine = self.identity
        keys: Mapping[str, bytes]
        if self.mode == "production":
            keys = {**self._pinned_keys(), **({mine.device: mine.public_bytes} if mine else {})}
        else:
            keys = _DerivedKeys(self.seed)

        def resources(device: str) -> DeviceResources:
            if self.mode == "production":
                identity = mine if mine is not None and mine.device == device else None
            else:
                identity = derived_identity(self.seed, device)
            journal = _GuardJournal(guards, device) if guards is not None else _NO_FACTS
            return DeviceResources(device, identity, keys, storage(device), journal)

        return EffectStack(
            seed=None if self.mode == "production" else run_seed,
            middleware=self.middleware,
            new_device=resources,
        )

    def parts(self, clock: Clock | None = None, *, seed: int | None = None) -> RunParts:
        """Extensions and effects for one session (a fresh guard chain, wired to the effects' journal)."""
        guards = self.guards(clock)
        registry = guards.install(ExtensionRegistry()) if guards is not None else ExtensionRegistry()
        return RunParts(registry, self.effects(guards, seed=seed), guards)

    def session(self, parts: RunParts | None = None, **options: Any) -> Session:
        """A session of the protocol with this stack's devices, extensions and effects."""
        parts = parts or self.parts()
        session = self.protocol.session(devices=self.devices, extensions=parts.extensions, **options)
        return dataclasses.replace(session, effects=parts.effects)

    def transport(self) -> Transport:
        """The testing mode's transport (simulation builds its own per run; production: `deployment`)."""
        if self.mode != "testing":
            raise ValueError(f"{self.mode} mode runs over its own transport, not `transport()`")
        return InMemoryTransport()

    async def run_session(
        self, roles: Mapping[str, RoleCode] | None = None, *, parts: RunParts | None = None, **options: Any
    ) -> dict[str, Any]:
        """Testing mode: every role in this process over the in-memory transport."""
        session = self.session(parts, **options)
        return await run_session(session, self.transport(), roles, seed=self.seed)

    def _pinned_keys(self) -> dict[str, bytes]:
        if self.policy is None:
            return {}
        return {d.name: d.public_key for d in self.policy.devices.values() if d.public_key is not None}

    def _default_storage(self) -> Callable[[str], DeviceStorage]:
        if self.mode != "production":
            stores: dict[str, DeviceStorage] = {}
            return lambda device: stores.setdefault(device, MemoryStorage())
        journal = self.policy.journal if self.policy is not None else ":memory:"

        def sqlite(device: str) -> DeviceStorage:
            path = journal.replace("{device}", device)
            return local_storage(device, path if path == ":memory:" else f"{path}.storage")

        return sqlite


class _DerivedKeys(Mapping[str, bytes]):
    """The public key of every device, derived from the seed (testing and simulation: all devices of
    a run live in one process and their keys come from one seed)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __getitem__(self, device: str) -> bytes:
        return derived_identity(self.seed, device).public_bytes

    def __iter__(self) -> Iterator[str]:
        return iter(())  # any device has a key: there is no list of them

    def __len__(self) -> int:
        return 0

    def __contains__(self, device: object) -> bool:
        return isinstance(device, str)


class _NoFacts:
    def facts(self) -> Iterable[Fact]:
        return ()


_NO_FACTS = _NoFacts()


def build_stack(
    protocol: Protocol,
    policy: Policy | None,
    mode: Mode,
    *,
    seed: int = 0,
    identity: Identity | None = None,
    middleware: Iterable[MiddlewareFactory] = (),
    storage: Callable[[str], DeviceStorage] | None = None,
) -> ExecutionStack:
    """The handler stack for `protocol` under `policy` (None: no guard chain) in `mode`.

    `seed` seeds randomness, derived device keys and the default behaviours (testing, simulation);
    `identity` is this process's device key (production); `middleware` wraps every role's effect
    handler (first listed outermost); `storage` overrides where each device stores.
    """
    if mode not in MODES:
        raise ValueError(f"unknown execution mode {mode!r}: expected one of {', '.join(MODES)}")
    if mode == "production" and identity is None:
        raise ValueError("production mode needs this process's device key (`identity`)")
    return ExecutionStack(mode, protocol, policy, seed, identity, tuple(middleware), storage)
