"""A deployment plan: which device plays which role, where each listens, what the session binds.

The policy file is the deployment file (SPEC §5.6): per device a pinned `public_key` and an
`address`, and `[roles]` mapping roles to devices. `plan_deployment` checks all of it against the
protocol and this process's key before anything touches the network, and raises `DeploymentError`
(a usage error: exit 2) naming the device, the role and the fix.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from aura_choreo.errors import AuraChoreoError
from aura_choreo.guards.policy import Policy
from aura_choreo.projection.local_types import LocalType
from aura_choreo.protocol import Protocol
from aura_choreo.protocol_value import protocol_hash
from aura_choreo.transports.mixed import broker_pair, on_broker
from aura_choreo.transports.net.handshake import SessionBinding
from aura_choreo.transports.net.identity import Identity, format_public_key
from aura_choreo.transports.net.signed import subject_too_long
from aura_choreo.transports.peering import PeerDevice
from aura_choreo.transports.pipes import parse_address


class DeploymentError(AuraChoreoError):
    """A policy, key or flag that cannot run this role (names what to fix)."""


def default_session_id(hash_: str, policy_text: bytes) -> str:
    """The session id when `--session` is not given: one per (protocol, policy) deployment."""
    return hashlib.sha256(hash_.encode("ascii") + b"\0" + policy_text).hexdigest()[:16]


def role_peers(local_type: LocalType, roles: tuple[str, ...]) -> set[str]:
    """Every role `local_type` exchanges messages with (any role named by any of its steps)."""
    known = set(roles) - {local_type.role}
    found: set[str] = set()
    for step in local_type.iter_steps():
        for item in dataclasses.fields(step):
            value = getattr(step, item.name)
            values = value if isinstance(value, tuple) else (value,)
            found.update(v for v in values if isinstance(v, str) and v in known)
    return found


@dataclass(frozen=True)
class Deployment:
    """Everything `run` needs to know before it opens a socket."""

    protocol: Protocol
    policy: Policy
    identity: Identity
    role: str
    session: str
    protocol_hash: str
    devices: Mapping[str, str] = field(hash=False)
    """role -> device, every role."""
    peers: Mapping[str, PeerDevice] = field(hash=False)
    """device -> its key and address, every other device of the session."""
    listen: str | None = None
    exchanges_with: frozenset[str] = frozenset()
    """The devices this role exchanges messages with (connected before the session starts)."""

    @property
    def device(self) -> str:
        return self.identity.device

    def binding(self) -> SessionBinding:
        return SessionBinding(self.protocol_hash, self.session, dict(self.devices))


def plan_deployment(
    protocol: Protocol,
    policy: Policy,
    identity: Identity,
    role: str,
    *,
    session: str | None = None,
    policy_text: bytes = b"",
    listen: str | None = None,
    peer_addresses: Mapping[str, str] | None = None,
) -> Deployment:
    """Check a role's deployment (raises `DeploymentError`); `peer_addresses` maps role -> address."""
    if role not in protocol.roles:
        raise DeploymentError(
            f"{protocol.qualified_name} has no role `{role}` (roles: {', '.join(protocol.roles)})"
        )
    devices = {r: policy.device_of(r) for r in protocol.roles}
    device = devices[role]
    if identity.device != device:
        raise DeploymentError(
            f"role {role} is played by device {device} (policy [roles]), but the key is {identity.device}'s "
            f"(pass --key {device}.key)"
        )
    own = policy.device_policy(device)
    if own.public_key is not None and own.public_key != identity.public_bytes:
        raise DeploymentError(
            f"the key file does not match the public key the policy pins for {device} "
            f"(the file's is {format_public_key(identity.public_bytes)})"
        )
    overrides: dict[str, str] = {}
    for peer_role, address in (peer_addresses or {}).items():
        if peer_role not in devices:
            raise DeploymentError(
                f"--peer names `{peer_role}`, which is not a role of {protocol.qualified_name}"
            )
        overrides[devices[peer_role]] = address
    peers: dict[str, PeerDevice] = {}
    for other in sorted(set(devices.values()) - {device}):
        spec = policy.device_policy(other)
        if spec.public_key is None:
            raise DeploymentError(
                f"device {other} has no public_key in the policy: run `aura-choreo keygen {other} -o DIR` "
                "and paste the key it prints"
            )
        peer_address = overrides.get(other) or spec.address
        _check_address(peer_address, f"device {other}")
        peers[other] = PeerDevice(other, spec.public_key, peer_address)
    listening = listen or own.address
    _check_address(listening, f"device {device}")
    exchanges = {devices[r] for r in role_peers(protocol.local_type(role), protocol.roles)} - {device}
    for other in sorted(exchanges):
        if listening is None and peers[other].address is None:
            raise DeploymentError(
                f"neither {device} nor {other} has an address to connect to: give one of them an "
                "`address` in the policy (or pass --listen / --peer)"
            )
    _check_reachable(listening, {o: peers[o].address for o in sorted(exchanges)}, device)
    hash_ = protocol_hash(protocol)
    session = session or default_session_id(hash_, policy_text)
    if any(on_broker(a) for a in (listening, *(p.address for p in peers.values())) if a is not None):
        too_long = subject_too_long(hash_, session, protocol.roles)
        if too_long is not None:
            raise DeploymentError(too_long)
    return Deployment(
        protocol=protocol,
        policy=policy,
        identity=identity,
        role=role,
        session=session,
        protocol_hash=hash_,
        devices=devices,
        peers=peers,
        listen=listening,
        exchanges_with=frozenset(exchanges),
    )


def _check_address(address: str | None, what: str) -> None:
    if address is None:
        return
    try:
        parse_address(address)
    except ValueError as exc:
        raise DeploymentError(f"{what}: {exc}") from None


def _check_reachable(own: str | None, peers: Mapping[str, str | None], device: str) -> None:
    """Every pair not both on the broker needs a point-to-point address on one side (`transports.mixed`)."""
    brokers = sorted(a for a in peers.values() if a is not None and on_broker(a))
    own = own or (brokers[0] if brokers else None)  # a device without an address joins its peers' broker
    for other, address in peers.items():
        if broker_pair(own, address):
            continue
        if (own is None or on_broker(own)) and (address is None or on_broker(address)):
            raise DeploymentError(
                f"{device} and {other} share no NATS server and neither has a point-to-point address "
                f"({own or 'none'}, {address or 'none'}): give one of them a tcp://, ws:// or quic:// "
                "address, or put both on the same nats:// server"
            )
