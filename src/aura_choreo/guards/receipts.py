"""Receipts (SPEC §5.3 step 5): Ed25519-signed, hash-chained proofs of each guarded send.

A receipt names (context, sender, receiver, epoch, cost, nonce, hash of the previous receipt) and is
signed with the sender device's key. The receiver verifies the signature against the sender's public
key, checks that it extends the chain it has seen from that sender, and rejects replays.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from aura_choreo.errors import ReceiptError

GENESIS_HASH = "0" * 64
"""The `prev_hash` of the first receipt of a chain."""


@dataclass(frozen=True)
class DeviceKey:
    """A device's Ed25519 signing key."""

    device: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, device: str) -> DeviceKey:
        return cls(device, Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, device: str, seed: bytes) -> DeviceKey:
        """A deterministic key from a 32-byte seed (tests, simulation)."""
        return cls(device, Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed).digest()))

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def public_bytes(self) -> bytes:
        return self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


LayerCharge = tuple[str, tuple[int, int, int]]
"""(privacy layer name, [external, neighbor, group]) it charged."""


@dataclass(frozen=True)
class Receipt:
    """One signed receipt. `signature` is over `signed_bytes()`."""

    context: str
    sender: str
    receiver: str
    epoch: int
    cost: int
    nonce: int
    prev_hash: str
    signature: bytes = b""
    layers: tuple[LayerCharge, ...] = ()
    """What each privacy layer charged for the send, in layer order (SPEC §5.8; empty: nothing)."""

    def signed_bytes(self) -> bytes:
        """The canonical bytes the signature covers (every field but the signature); built once per
        receipt (signing, digesting and verifying all read them)."""
        return self._signed

    @cached_property
    def _signed(self) -> bytes:
        body: list[object] = [
            self.context, self.sender, self.receiver, self.epoch, self.cost, self.nonce, self.prev_hash
        ]  # fmt: skip
        if self.layers:  # only then: receipts of sends no privacy layer charged keep their bytes
            body.append([[name, list(amount)] for name, amount in self.layers])
        return json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode()

    def digest(self) -> str:
        """The hash the next receipt of the chain names as `prev_hash`."""
        return hashlib.sha256(self.signed_bytes() + self.signature).hexdigest()

    def to_wire(self) -> dict[str, object]:
        return {
            "context": self.context,
            "sender": self.sender,
            "receiver": self.receiver,
            "epoch": self.epoch,
            "cost": self.cost,
            "nonce": self.nonce,
            "prev_hash": self.prev_hash,
            "signature": self.signature.hex(),
            **({"layers": [[name, list(amount)] for name, amount in self.layers]} if self.layers else {}),
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, object]) -> Receipt:
        """Decode `to_wire` output; malformed input raises `ReceiptError`."""
        try:
            fields = {k: data[k] for k in ("context", "sender", "receiver", "prev_hash", "signature")}
            numbers = {k: data[k] for k in ("epoch", "cost", "nonce")}
            if not all(isinstance(v, str) for v in fields.values()):
                raise TypeError("text fields must be strings")
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in numbers.values()):
                raise TypeError("epoch, cost and nonce must be integers")
            return cls(
                context=str(fields["context"]),
                sender=str(fields["sender"]),
                receiver=str(fields["receiver"]),
                epoch=int(str(numbers["epoch"])),
                cost=int(str(numbers["cost"])),
                nonce=int(str(numbers["nonce"])),
                prev_hash=str(fields["prev_hash"]),
                signature=bytes.fromhex(str(fields["signature"])),
                layers=_layers_from_wire(data.get("layers", [])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ReceiptError(f"malformed receipt: {exc}") from exc


MAX_RECEIPT_LAYERS = 64
"""More privacy layers than this in a received receipt is malformed input, not a policy."""


def _layers_from_wire(raw: object) -> tuple[LayerCharge, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_RECEIPT_LAYERS:
        raise TypeError(f"layers must be a list of at most {MAX_RECEIPT_LAYERS} [name, [e, n, g]]")
    layers: list[LayerCharge] = []
    for item in raw:
        name, amount = item if isinstance(item, list) and len(item) == 2 else (None, None)
        if not isinstance(name, str) or not isinstance(amount, list) or len(amount) != 3:
            raise TypeError("a layer is [name, [external, neighbor, group]]")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in amount):
            raise TypeError("a layer's charge is three integers")
        layers.append((name, (int(amount[0]), int(amount[1]), int(amount[2]))))
    return tuple(layers)


ChainKey = tuple[str, str]
"""(context, peer device)."""


class ReceiptSigner:
    """Issues the receipts of one device, one hash chain per (context, receiver).

    `issue` advances the chain at once, so sends prepared concurrently get consecutive nonces in the
    order they were issued (which is the order they enter the channel). `release` gives a refused
    send's place back when nothing was issued after it, so the receiver never sees a gap.
    """

    def __init__(self, key: DeviceKey) -> None:
        self.key = key
        self._last: dict[ChainKey, tuple[int, str]] = {}

    def issue(
        self, context: str, receiver: str, *, epoch: int, cost: int, layers: tuple[LayerCharge, ...] = ()
    ) -> Receipt:
        chain = (context, receiver)
        last_nonce, last_hash = self._last.get(chain, (0, GENESIS_HASH))
        unsigned = Receipt(
            context, self.key.device, receiver, epoch, cost, last_nonce + 1, last_hash, b"", layers
        )
        body = unsigned.signed_bytes()
        receipt = replace(unsigned, signature=self.key.private_key.sign(body))
        receipt.__dict__["_signed"] = body  # the same fields but the signature: the same bytes
        self._last[chain] = (receipt.nonce, receipt.digest())
        return receipt

    def forget(self, finished: Callable[[str], bool]) -> None:
        """Drop the chains whose context `finished` names (their session is over: none will extend)."""
        for chain in [c for c in self._last if finished(c[0])]:
            del self._last[chain]

    def chains(self) -> int:
        """How many chains this signer holds."""
        return len(self._last)

    def release(self, receipt: Receipt) -> bool:
        """Undo `issue` of a receipt that was never sent; False if a later receipt already follows it."""
        chain = (receipt.context, receipt.receiver)
        if self._last.get(chain) != (receipt.nonce, receipt.digest()):
            return False
        if receipt.nonce == 1:
            del self._last[chain]
        else:
            self._last[chain] = (receipt.nonce - 1, receipt.prev_hash)
        return True


class ReceiptVerifier:
    """Verifies receipts arriving at one device: signature, chain, and replay (epoch, nonce)."""

    def __init__(self, device: str, public_keys: Mapping[str, Ed25519PublicKey | bytes]) -> None:
        self.device = device
        self._keys = {
            d: (Ed25519PublicKey.from_public_bytes(k) if isinstance(k, bytes) else k)
            for d, k in public_keys.items()
        }
        self._last: dict[ChainKey, tuple[int, int, str]] = {}

    def add_key(self, device: str, public_key: Ed25519PublicKey | bytes) -> None:
        self._keys[device] = (
            Ed25519PublicKey.from_public_bytes(public_key) if isinstance(public_key, bytes) else public_key
        )

    def forget(self, finished: Callable[[str], bool]) -> None:
        """Drop the chains whose context `finished` names (their session is over; a replay of one of its
        frames finds no endpoint to deliver to)."""
        for chain in [c for c in self._last if finished(c[0])]:
            del self._last[chain]

    def chains(self) -> int:
        """How many chains this verifier holds."""
        return len(self._last)

    def verify(self, receipt: Receipt, *, role: str | None = None, session: str | None = None) -> None:
        """Accept `receipt` or raise `ReceiptError` (forged, replayed, out of chain, misaddressed)."""

        def reject(why: str) -> ReceiptError:
            return ReceiptError(f"receipt from {receipt.sender} rejected: {why}", role=role, session=session)

        if receipt.receiver != self.device:
            raise reject(f"addressed to {receipt.receiver}, not {self.device}")
        key = self._keys.get(receipt.sender)
        if key is None:
            raise reject("unknown sender device (no public key)")
        try:
            key.verify(receipt.signature, receipt.signed_bytes())
        except InvalidSignature:
            raise reject("bad signature") from None
        chain = (receipt.context, receipt.sender)
        last_epoch, last_nonce, last_hash = self._last.get(chain, (-1, 0, GENESIS_HASH))
        if receipt.epoch < last_epoch:
            raise reject(f"replay: epoch {receipt.epoch} older than {last_epoch}")
        if receipt.epoch == last_epoch and receipt.nonce <= last_nonce:
            raise reject(
                f"replay: nonce {receipt.nonce} not larger than {last_nonce} in epoch {receipt.epoch}"
            )
        if receipt.prev_hash != last_hash:
            raise reject("does not extend the receipt chain seen so far")
        self._last[chain] = (receipt.epoch, receipt.nonce, receipt.digest())
