"""nats:// frame signatures: libsodium (PyNaCl) and cryptography give the same bytes and agree on what
is sound, so devices with and without the faster library interoperate."""

from __future__ import annotations

import pytest

from aura_choreo.transports.net import signed
from aura_choreo.transports.net.identity import Identity, verify_signature
from aura_choreo.transports.net.signed import frame_signer, frame_verifier

ALICE, MALLORY = Identity.generate("alice"), Identity.generate("mallory")
DATA = b"aura-choreo/nats/v1\x00subject\x00alice\x00" + bytes(range(256))


@pytest.fixture(params=["installed", "without PyNaCl"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "installed":
        if signed.SODIUM is None:  # a venv made before PyNaCl joined the extras
            pytest.skip("PyNaCl is not installed (it is in the [nats] extra and dev: make venv)")
    else:
        monkeypatch.setattr(signed, "SODIUM", None)
    return str(request.param)


def test_the_signer_gives_the_same_bytes_as_the_device_key(backend: str) -> None:
    assert frame_signer(ALICE)(DATA) == ALICE.sign(DATA)
    assert verify_signature(ALICE.public_bytes, frame_signer(ALICE)(DATA), DATA)


def test_the_verifier_accepts_a_sound_signature(backend: str) -> None:
    assert frame_verifier(ALICE.public_bytes)(ALICE.sign(DATA), DATA)


@pytest.mark.parametrize(
    "signature, data",
    [
        (ALICE.sign(DATA), DATA + b"x"),  # data changed
        # signature changed: one bit flipped (overwriting a byte with 0 changed nothing when it was 0
        # already, which the last byte of an Ed25519 signature is about 1 time in 16)
        (bytes([ALICE.sign(DATA)[0] ^ 1]) + ALICE.sign(DATA)[1:], DATA),
        (MALLORY.sign(DATA), DATA),  # another key
        (ALICE.sign(DATA)[:63], DATA),  # too short
        (ALICE.sign(DATA) + b"\x00", DATA),  # too long
        (b"", DATA),
    ],
    # fixed ids: the keys are random per process, so ids made from the bytes would differ between
    # test processes (pytest-xdist refuses to run a suite whose workers collect different tests)
    ids=["data-changed", "bit-flipped", "another-key", "too-short", "too-long", "empty"],
)
def test_the_verifier_refuses_without_raising(backend: str, signature: bytes, data: bytes) -> None:
    assert not frame_verifier(ALICE.public_bytes)(signature, data)


def test_a_malformed_public_key_verifies_nothing(backend: str) -> None:
    for key in (b"", b"\x00" * 31, ALICE.public_bytes + b"\x00"):
        assert not frame_verifier(key)(ALICE.sign(DATA), DATA)
