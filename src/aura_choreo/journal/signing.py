"""Author signatures of journal facts (SPEC §5.4, §5.6): a relayed fact is only as good as its author's key.

Journals merge facts on `journal_merge` steps, and a delta carries every fact the receiver lacks,
whoever wrote it: a device relays what it merged from others. Without signatures a sender could put
facts in a delta that it claims a third device wrote (an approval from a custodian that never gave
it), and a guard counting such facts would be satisfied by a forgery. So in a keyed journal (a deployed
device, `run --key`, whose peers' public keys the policy pins) every fact is signed by its author with
its Ed25519 device key, the signature is stored with the fact and travels with it, and a receiver
checks every fact it would merge against its author's pinned key before merging any of them.

What this module decides: which bytes a fact's signature covers (`signed_bytes`), and what a keyed
journal signs and accepts (`FactAuthors`). What it leaves to its callers: where the keys come from
(the guard layer's `DeviceKey` and the policy's pinned keys).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from aura_choreo.errors import ForgedFact
from aura_choreo.journal.facts import Fact, with_signature

_DOMAIN = b"aura-choreo journal fact v1\n"
"""Prefixed to the signed bytes: a fact's signature can never pass for a receipt's (whose bytes are a
JSON array) or anything else the same key signs."""


def signed_bytes(fact: Fact) -> bytes:
    """The canonical bytes a fact's signature covers: every field of its value (id, name, where it was
    written, Lamport time, data with sorted keys), not the signature."""
    body: list[object] = [
        fact.id.device, fact.id.counter, fact.name, fact.protocol, fact.session, fact.role, fact.label,
        fact.lamport, sorted(fact.data.items()),
    ]  # fmt: skip
    return _DOMAIN + json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode()


class FactAuthors:
    """What a keyed journal signs and which facts it accepts.

    `device`'s own facts are signed with `sign` (its private key's `sign`); a fact of any other device
    is accepted only with a signature that verifies against that device's key in `pinned` (raw 32-byte
    Ed25519 public keys). A device with no pinned key cannot author facts here: in a deployed run every
    device that takes part is pinned (SPEC §5.6), so such a fact has no author that could have signed it.
    """

    def __init__(self, device: str, sign: Callable[[bytes], bytes], pinned: Mapping[str, bytes]) -> None:
        self.device = device
        self._sign = sign
        self._pinned = dict(pinned)
        self._keys: dict[str, Ed25519PublicKey] = {}

    def sign(self, fact: Fact) -> Fact:
        """`fact` (one of this device's) with its signature; a fact already signed is returned as it is."""
        if fact.signature:
            return fact
        return with_signature(fact, self._sign(signed_bytes(fact)))

    def check(self, facts: Iterable[Fact], source: str) -> None:
        """Raise `ForgedFact` unless every fact of another device is signed by its author's pinned key.

        `source` names where the facts came from in the message ("dev-b's journal delta")."""
        for fact in facts:
            author = fact.id.device
            if author == self.device:
                continue  # the journal refuses those it does not hold itself (only it writes them)
            why = self._refusal(fact, author)
            if why is not None:
                raise ForgedFact(
                    f"{source} holds fact #{fact.id.counter} ({fact.name!r}) claimed to be written by "
                    f"{author}, but {why}: the delta is refused, nothing of it merged"
                )

    def _refusal(self, fact: Fact, author: str) -> str | None:
        key = self._keys.get(author)
        if key is None:
            raw = self._pinned.get(author)
            if raw is None:
                return f"{author} has no pinned public key to verify it against"
            try:
                key = self._keys[author] = Ed25519PublicKey.from_public_bytes(raw)
            except ValueError:
                return f"{author}'s pinned public key is not an Ed25519 key"
        if not fact.signature:
            return f"it carries no signature of {author}'s"
        try:
            key.verify(fact.signature, signed_bytes(fact))
        except InvalidSignature:
            return f"its signature does not verify against {author}'s pinned key"
        return None
