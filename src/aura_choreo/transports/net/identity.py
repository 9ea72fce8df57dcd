"""Device identity: Ed25519 key files, the `ed25519:<base64>` public key text, TLS certificates.

A device is an Ed25519 key pair (SPEC §5.6). The private key lives in `DIR/DEVICE.key` (PKCS#8 PEM,
mode 0600); the policy pins the public key. TLS needs certificates, and Python's `ssl` can neither
verify a self-signed peer certificate nor call back into our code during verification, so every
device's certificate is issued by one *well-known anchor* whose private key is derived from a public
constant. The anchor proves nothing (anybody can issue with it): it only lets OpenSSL complete the
handshake, during which the peer proves possession of its leaf key (TLS 1.3 CertificateVerify). Trust
comes from the pin: after the handshake each side compares the leaf's public key with the policy's
before a single application frame is read (see `transports.tcp`).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import NameOID

from aura_choreo.errors import KeyFileError

PUBLIC_KEY_PREFIX = "ed25519:"
_ANCHOR_SEED = hashlib.sha256(b"aura-choreo pinning anchor v1 (not a secret, not a CA)").digest()
_EPOCH = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
_FOREVER = datetime.datetime(9999, 12, 31, tzinfo=datetime.UTC)


def format_public_key(raw: bytes) -> str:
    """`ed25519:<base64>` for a raw 32-byte public key."""
    return PUBLIC_KEY_PREFIX + base64.b64encode(raw).decode("ascii")


def parse_public_key(text: str) -> bytes:
    """The raw 32 bytes of `ed25519:<base64>` (or 64 hex digits); `ValueError` says what is wrong."""
    if text.startswith(PUBLIC_KEY_PREFIX):
        try:
            raw = base64.b64decode(text[len(PUBLIC_KEY_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("expected `ed25519:` followed by base64") from None
    else:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise ValueError("expected `ed25519:<base64>` (as `aura-choreo keygen` prints)") from None
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, this one is {len(raw)}")
    return raw


@dataclass(frozen=True)
class Identity:
    """A device name and its private key: what a process proves it is."""

    device: str
    private_key: Ed25519PrivateKey

    @property
    def public_bytes(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)

    @classmethod
    def generate(cls, device: str) -> Identity:
        return cls(device, Ed25519PrivateKey.generate())


def verify_signature(public_key: bytes, signature: bytes, data: bytes) -> bool:
    """Whether `signature` is `public_key`'s Ed25519 signature of `data` (never raises)."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


# ---------------------------------------------------------------- key files


def write_key_file(
    device: str, directory: str | os.PathLike[str], *, force: bool = False
) -> tuple[Path, str]:
    """Generate a key pair, write `directory/device.key` (mode 0600); return (path, public key text)."""
    if not device or "/" in device or device in (".", ".."):
        raise KeyFileError(f"`{device}` is not a usable device name for a key file")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{device}.key"
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path}: already exists (pass --force to replace it)") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot write: {exc.strerror or exc}") from None
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(pem)
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return path, format_public_key(public)


def load_identity(path: str | os.PathLike[str], device: str | None = None) -> Identity:
    """Read a key file written by `keygen`; the device defaults to the file's stem.

    Raises `KeyFileError` if the file is missing, readable by group or others (it must be 0600 or
    stricter, as ssh insists), or not an Ed25519 private key.
    """
    file = Path(path)
    try:
        mode = file.stat().st_mode
        data = file.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{file}: cannot read key file: {exc.strerror or exc}") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{file}: permissions {stat.S_IMODE(mode):04o} are too open: a private key must not be "
            f"readable by others (fix: chmod 600 {file})"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise KeyFileError(f"{file}: not a PEM private key (create one with `aura-choreo keygen`)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{file}: not an Ed25519 key ({type(key).__name__})")
    return Identity(device or file.stem, key)


# ---------------------------------------------------------------- TLS certificates


@functools.cache
def _anchor() -> tuple[Ed25519PrivateKey, x509.Certificate]:
    key = Ed25519PrivateKey.from_private_bytes(_ANCHOR_SEED)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aura-choreo pinning anchor")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(_EPOCH)
        .not_valid_after(_FOREVER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, None)
    )
    return key, cert


def anchor_pem() -> bytes:
    """The anchor certificate every side loads as its only verify location."""
    return _anchor()[1].public_bytes(serialization.Encoding.PEM)


def certificate_pem(identity: Identity) -> tuple[bytes, bytes]:
    """(certificate chain PEM, private key PEM) for `identity`'s TLS endpoint."""
    anchor_key, anchor_cert = _anchor()
    public = identity.private_key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, identity.device[:64] or "device")]))
        .issuer_name(anchor_cert.subject)
        .public_key(public)
        .serial_number(int.from_bytes(hashlib.sha256(identity.public_bytes).digest()[:16], "big") >> 1)
        .not_valid_before(_EPOCH)
        .not_valid_after(_FOREVER)
        .sign(anchor_key, None)
    )
    key_pem = identity.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def certificate_public_key(der: bytes | None) -> bytes | None:
    """The raw Ed25519 public key of a DER certificate, or None if there is none or it is not Ed25519."""
    if not der:
        return None
    try:
        public = x509.load_der_x509_certificate(der).public_key()
    except ValueError:
        return None
    if not isinstance(public, Ed25519PublicKey):
        return None
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
