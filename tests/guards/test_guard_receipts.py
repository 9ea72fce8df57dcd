"""Receipts: signatures, hash chains, replay and forgery rejection."""

from __future__ import annotations

from dataclasses import replace

import pytest

from aura_choreo.errors import ReceiptError
from aura_choreo.guards.receipts import DeviceKey, Receipt, ReceiptSigner, ReceiptVerifier


@pytest.fixture
def alice() -> ReceiptSigner:
    return ReceiptSigner(DeviceKey.from_seed("alice", b"alice"))


@pytest.fixture
def bob(alice: ReceiptSigner) -> ReceiptVerifier:
    return ReceiptVerifier("bob", {"alice": alice.key.public_bytes()})


def send(signer: ReceiptSigner, *, epoch: int = 0, cost: int = 10, context: str = "ctx") -> Receipt:
    return signer.issue(context, "bob", epoch=epoch, cost=cost)


def test_a_chain_of_receipts_verifies(alice: ReceiptSigner, bob: ReceiptVerifier) -> None:
    first, second = send(alice), send(alice)
    assert second.prev_hash == first.digest()
    assert second.nonce == first.nonce + 1
    bob.verify(first)
    bob.verify(second)


def test_forged_field_is_rejected(alice: ReceiptSigner, bob: ReceiptVerifier) -> None:
    receipt = send(alice, cost=10)
    with pytest.raises(ReceiptError, match="bad signature"):
        bob.verify(replace(receipt, cost=1))


def test_receipt_signed_by_another_key_is_rejected(alice: ReceiptSigner, bob: ReceiptVerifier) -> None:
    mallory = ReceiptSigner(DeviceKey.from_seed("alice", b"mallory"))
    with pytest.raises(ReceiptError, match="bad signature"):
        bob.verify(send(mallory))


def test_unknown_sender_is_rejected(bob: ReceiptVerifier) -> None:
    carol = ReceiptSigner(DeviceKey.from_seed("carol", b"carol"))
    with pytest.raises(ReceiptError, match="unknown sender"):
        bob.verify(send(carol))


def test_misaddressed_receipt_is_rejected(alice: ReceiptSigner) -> None:
    carol = ReceiptVerifier("carol", {"alice": alice.key.public_key})
    with pytest.raises(ReceiptError, match="addressed to bob"):
        carol.verify(send(alice))


def test_replay_of_the_same_receipt_is_rejected(alice: ReceiptSigner, bob: ReceiptVerifier) -> None:
    receipt = send(alice)
    bob.verify(receipt)
    with pytest.raises(ReceiptError, match="replay: nonce"):
        bob.verify(receipt)


def test_older_epoch_is_rejected(alice: ReceiptSigner, bob: ReceiptVerifier) -> None:
    bob.verify(send(alice, epoch=2))
    with pytest.raises(ReceiptError, match="replay: epoch 1 older than 2"):
        bob.verify(send(alice, epoch=1))


def test_skipped_receipt_breaks_the_chain(alice: ReceiptSigner, bob: ReceiptVerifier) -> None:
    send(alice)
    with pytest.raises(ReceiptError, match="chain"):
        bob.verify(send(alice))


def test_released_receipt_gives_its_place_back(alice: ReceiptSigner, bob: ReceiptVerifier) -> None:
    bob.verify(send(alice))
    refused = send(alice)
    assert alice.release(refused)
    accepted = send(alice)
    assert accepted.nonce == refused.nonce
    bob.verify(accepted)


def test_release_behind_a_later_receipt_is_refused(alice: ReceiptSigner) -> None:
    first, _second = send(alice), send(alice)
    assert not alice.release(first)


def test_receipts_issued_back_to_back_verify_in_issue_order(
    alice: ReceiptSigner, bob: ReceiptVerifier
) -> None:
    first, second = send(alice), send(alice)
    bob.verify(first)
    bob.verify(second)


def test_chains_are_per_context(alice: ReceiptSigner, bob: ReceiptVerifier) -> None:
    bob.verify(send(alice, context="a"))
    bob.verify(send(alice, context="b"))


def test_wire_round_trip(alice: ReceiptSigner, bob: ReceiptVerifier) -> None:
    receipt = send(alice)
    assert Receipt.from_wire(receipt.to_wire()) == receipt
    bob.verify(Receipt.from_wire(receipt.to_wire()))


@pytest.mark.parametrize(
    "wire",
    [
        {},
        {"context": 1},
        {**{k: "x" for k in ("context", "sender", "receiver", "prev_hash")}, "signature": "zz"},
    ],
)
def test_malformed_wire_receipt_is_a_receipt_error(wire: dict[str, object]) -> None:
    with pytest.raises(ReceiptError, match="malformed"):
        Receipt.from_wire(wire)


def test_seeded_keys_are_deterministic() -> None:
    assert DeviceKey.from_seed("d", b"s").public_bytes() == DeviceKey.from_seed("d", b"s").public_bytes()
    assert DeviceKey.generate("d").public_bytes() != DeviceKey.generate("d").public_bytes()


def test_a_receipts_signed_bytes_are_built_once_on_each_side(
    alice: ReceiptSigner, bob: ReceiptVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from aura_choreo.guards import receipts

    built: list[object] = []
    original = json.dumps

    def dumps(value: object, **options: object) -> str:
        built.append(value)
        return original(value, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(receipts.json, "dumps", dumps)
    receipt = send(alice)  # signed and digested (the chain's next prev_hash)
    assert len(built) == 1
    received = Receipt.from_wire(receipt.to_wire())
    bob.verify(received)  # verified and digested
    assert len(built) == 2
