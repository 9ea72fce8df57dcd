"""TLS 1.3 material for the network carriers: our certificate from the device key, the anchor as the
only verify location, mutual authentication required (see `net.identity` for why that is sound)."""

from __future__ import annotations

import os
import ssl
import tempfile
from dataclasses import dataclass, field

from aura_choreo.transports.net.identity import Identity, anchor_pem, certificate_pem


def tls_context(identity: Identity, *, server: bool) -> ssl.SSLContext:
    """A TLS 1.3-only context presenting `identity`'s certificate and requiring the peer's."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    if server:  # nobody resumes a session (a connection lives as long as the transport): no tickets
        context.num_tickets = 0
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    anchor = anchor_pem()
    context.load_verify_locations(cadata=anchor.decode("ascii"))
    cert, key = certificate_pem(identity)
    # `ssl` loads certificates from files only: write them where nobody else can read, then delete.
    with tempfile.TemporaryDirectory(prefix="aura-tls-") as folder:
        cert_file, key_file = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        with open(cert_file, "wb") as out:
            out.write(cert + anchor)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key)
        context.load_cert_chain(cert_file, key_file)
    return context


@dataclass(frozen=True)
class Credentials:
    """A device's TLS material as each carrier needs it, built on first use and kept.

    tcp:// and ws:// take an `ssl.SSLContext`; quic:// (aioquic has its own TLS 1.3) takes the
    certificate chain and the key. Building a context costs a key file round trip, so a transport
    builds each at most once.
    """

    identity: Identity
    _contexts: dict[bool, ssl.SSLContext] = field(default_factory=dict, compare=False, repr=False)

    def ssl_context(self, *, server: bool) -> ssl.SSLContext:
        context = self._contexts.get(server)
        if context is None:
            context = self._contexts[server] = tls_context(self.identity, server=server)
        return context

    def chain_pem(self) -> bytes:
        """Our certificate followed by the anchor's (PEM), as the TLS handshake presents them."""
        return certificate_pem(self.identity)[0] + anchor_pem()
